package handlers

import (
	"context"
	"crypto/subtle"
	"time"

	"github.com/gofiber/fiber/v2"
)

// handleHealthz answers 200 while the process runs.
func (s *server) handleHealthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// handleReadyz answers 200 when the database answers a ping within two seconds, 503 otherwise,
// so a load balancer stops sending traffic while the database is away and resumes when it is
// back, without a restart.
func (s *server) handleReadyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"status": "ready"})
}

// handleJWKS publishes the public keys that verify access tokens.
func (s *server) handleJWKS(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(s.keys.JWKS())
}

// handleOpenAPI serves the OpenAPI document of every endpoint.
func (s *server) handleOpenAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "application/yaml")
	return c.Send(s.openAPI)
}

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
