// Command fiberbare is the yardstick for Careway's HTTP overhead: a bare Fiber app with one JSON
// handler answering a body the size of GET /api/v1/me, with no middleware, no authentication and
// no database. docs/bench/me.sh measures both with wrk in the same run.
package main

import (
	"flag"
	"log"

	"github.com/gofiber/fiber/v2"
)

type profile struct {
	ID         string `json:"id"`
	Role       string `json:"role"`
	Name       string `json:"name"`
	Email      string `json:"email"`
	PracticeID string `json:"practiceId"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	flag.Parse()
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	p := profile{ID: "de000000-0000-4000-8000-050000000002", Role: "clinician", Name: "Dr Sarah Khan",
		Email: "gp1@demo.careway.test", PracticeID: "de000000-0000-4000-8000-010000000001"}
	app.Get("/api/v1/me", func(c *fiber.Ctx) error { return c.JSON(p) })
	log.Fatal(app.Listen(*addr))
}
