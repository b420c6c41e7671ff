package handlers

import (
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"careway/models"
)

// statusOf maps each error code to its one HTTP status.
var statusOf = map[string]int{
	models.EINVALID:      http.StatusBadRequest,
	models.EUNAUTHORIZED: http.StatusUnauthorized,
	models.EFORBIDDEN:    http.StatusForbidden,
	models.ENOTFOUND:     http.StatusNotFound,
	models.ECONFLICT:     http.StatusConflict,
	models.ETOOMANY:      http.StatusTooManyRequests,
	models.EUNAVAILABLE:  http.StatusServiceUnavailable,
	models.EINTERNAL:     http.StatusInternalServerError,
}

// problemTypeBase prefixes the problem "type" URIs. They name the error kind; docs/openapi.yaml
// describes them.
const problemTypeBase = "https://careway.example/problems/"

// Problem is an RFC 9457 problem details body.
type Problem struct {
	Type      string              `json:"type"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Detail    string              `json:"detail,omitempty"`
	Instance  string              `json:"instance,omitempty"`
	RequestID string              `json:"requestId,omitempty"`
	Errors    []models.FieldError `json:"errors,omitempty"`
}

// errorHandler turns every error a handler returns into problem+json (an OperationOutcome under
// /fhir). It is the only place where errors become HTTP. Internal errors are logged with the
// request id and never shown: a driver error can carry patient data.
func errorHandler(logger *slog.Logger, ids *requestIDs) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		if requestID(c) == "" {
			// Errors fasthttp raises before any middleware runs (a body over the limit, a
			// malformed request) come here directly: give them an id and the headers that
			// matter for an error body.
			ids.assign(c)
			c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
			c.Set(fiber.HeaderCacheControl, "no-store")
		}
		p := Problem{RequestID: requestID(c)}
		var fe *fiber.Error
		var me *models.Error
		switch {
		case errors.As(err, &me):
			p.Status = statusOf[me.Code]
			if p.Status == 0 {
				p.Status = http.StatusInternalServerError
			}
			p.Type = problemTypeBase + me.Code
			p.Detail = me.Message
			p.Errors = me.Fields
			if me.Code == models.ETOOMANY && me.RetryAfter > 0 {
				c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(me.RetryAfter.Seconds()))))
			}
			if me.Code == models.EUNAVAILABLE {
				c.Set(fiber.HeaderRetryAfter, "5")
			}
		case errors.As(err, &fe):
			// Errors Fiber raises itself: unknown route, wrong method, body too large, timeouts.
			p.Status = fe.Code
			p.Type = problemTypeBase + slugOf(fe.Code)
			p.Detail = fiberDetail(fe)
		default:
			p.Status = http.StatusInternalServerError
			p.Type = problemTypeBase + models.EINTERNAL
		}
		p.Title = http.StatusText(p.Status)
		if p.Status >= 500 && p.Status != http.StatusServiceUnavailable {
			logger.Error("request failed", "requestId", p.RequestID, "method", c.Method(),
				"route", routeLabel(c), "status", p.Status, "err", err)
			p.Detail = "Something went wrong on our side. Quote the request id if you contact support."
		} else if p.Status == http.StatusServiceUnavailable {
			logger.Warn("dependency unavailable", "requestId", p.RequestID, "route", routeLabel(c), "err", err)
		}
		if isFHIRPath(c.Path()) {
			// FHIR clients expect an OperationOutcome (FHIR R4 "RESTful API": errors).
			return writeOperationOutcome(c, p)
		}
		c.Status(p.Status)
		c.Set(fiber.HeaderContentType, "application/problem+json")
		return c.JSON(p, "application/problem+json")
	}
}

func slugOf(status int) string {
	switch status {
	case http.StatusNotFound:
		return models.ENOTFOUND
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusRequestTimeout:
		return "timeout"
	case http.StatusTooManyRequests:
		return models.ETOOMANY
	}
	if status >= 500 {
		return models.EINTERNAL
	}
	return models.EINVALID
}

func fiberDetail(fe *fiber.Error) string {
	switch fe.Code {
	case http.StatusNotFound:
		return "There is nothing at this address."
	case http.StatusMethodNotAllowed:
		return "This address does not accept that method."
	case http.StatusRequestEntityTooLarge:
		return "The request body is larger than this server accepts."
	}
	if fe.Code >= 500 {
		return ""
	}
	return fe.Message
}
