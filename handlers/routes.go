package handlers

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"github.com/gofiber/fiber/v2/middleware/helmet"
	"github.com/gofiber/fiber/v2/middleware/limiter"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"careway/auth"
	"careway/models"
)

// routes lists every route of Careway with its middleware, top to bottom.
func (s *server) routes(app *fiber.App, p Params) {
	app.Use(s.ids.middleware)
	app.Use(s.observe)
	app.Use(recover.New())
	app.Use(helmet.New(helmet.Config{
		ContentSecurityPolicy: "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
		HSTSMaxAge:            31536000,
		ReferrerPolicy:        "no-referrer",
	}))
	if len(p.CORSOrigins) > 0 {
		app.Use(cors.New(cors.Config{
			AllowOrigins:  strings.Join(p.CORSOrigins, ","),
			AllowMethods:  "GET,POST,PUT,PATCH,DELETE",
			AllowHeaders:  "Authorization,Content-Type",
			ExposeHeaders: "X-Request-Id,Retry-After",
			MaxAge:        600,
		}))
	}

	// Operations.
	app.Get("/healthz", s.handleHealthz)
	app.Get("/readyz", s.handleReadyz)
	app.Get("/metrics", s.handleMetrics())
	app.Get("/.well-known/jwks.json", s.handleJWKS)
	app.Get("/api/openapi.yaml", s.handleOpenAPI)

	api := app.Group("/api/v1", noStore)

	// Accounts and tokens: no access token needed.
	api.Post("/auth/register", s.limitPerClient(p.RegisterPerIP, time.Hour), s.handleRegister)
	api.Post("/auth/login", s.handleLogin) // throttled per account and address inside auth.Service
	api.Post("/auth/refresh", s.handleRefresh)

	// Video consultations without an access token: a browser cannot send one on a WebSocket,
	// and guests have no account. A single-use ticket, invite or guest token is the credential.
	api.Get("/calls/:callId/ws", s.handleCallSocket)
	api.Get("/echo/ws", s.handleEchoSocket)
	api.Post("/call-invites/redeem", s.limitPerClient(30, time.Minute), s.handleInviteRedeem)
	api.Post("/call-invites/tickets", s.limitPerClient(60, time.Minute), s.handleGuestTicket)
	api.Post("/call-invites/echo-tickets", s.limitPerClient(60, time.Minute), s.handleGuestEchoTicket)

	// Everything below needs a valid access token.
	api.Use(s.authenticate)
	api.Post("/auth/logout", s.handleLogout)
	api.Get("/me", s.handleMe)

	// Organisations and staff (administrators).
	api.Post("/practices", s.handlePracticeCreate)
	api.Get("/practices", s.handlePracticeList)
	api.Get("/practices/:practiceId", s.handlePracticeGet)
	api.Post("/practices/:practiceId/sites", s.handleSiteCreate)
	api.Get("/practices/:practiceId/sites", s.handleSiteList)
	api.Post("/care-homes", s.handleCareHomeCreate)
	api.Get("/care-homes", s.handleCareHomeList)
	api.Get("/care-homes/:careHomeId", s.handleCareHomeGet)
	api.Get("/care-homes/:careHomeId/residents", s.handleResidentList)
	api.Post("/users", s.handleUserCreate)
	api.Get("/users", s.handleUserList)

	// Patient records: every handler here goes through s.patientFor (policy and audit).
	api.Get("/practices/:practiceId/registration-requests", s.handleRegistrationRequests)
	api.Post("/patients", s.handlePatientCreate)
	api.Get("/patients/:patientId", s.handlePatientGet)
	api.Get("/patients/:patientId/conditions", s.handleConditionList)
	api.Put("/patients/:patientId/registration", s.handleRegistrationUpdate)
	api.Put("/patients/:patientId/proxy-consent", s.handleProxyConsentSet)
	api.Delete("/patients/:patientId/proxy-consent", s.handleProxyConsentDelete)
	api.Get("/patients/:patientId/access-log", s.handleAccessLog)

	// Long-term conditions: conditions, plans, readings, alerts, trends, sync, export.
	// Every write from here on is tracked while it runs, for the change feed's watermark
	// (writes.go); the summary route comes before .../observations/:observationId.
	api.Use(s.trackWrites)
	api.Get("/patients/:patientId/observations/summary", s.handleObservationSummary)
	api.Get("/patients/:patientId/adherence", s.handleAdherence)
	api.Get("/patients/:patientId/changes", s.handleChanges)
	api.Get("/practices/:practiceId/population", s.handlePopulation)
	api.Post("/patients/:patientId/conditions", s.handleConditionCreate)
	api.Patch("/patients/:patientId/conditions/:conditionId", s.handleConditionUpdate)
	api.Post("/patients/:patientId/plans", s.handlePlanCreate)
	api.Get("/patients/:patientId/plans", s.handlePlanList)
	api.Get("/patients/:patientId/plans/:planId", s.handlePlanGet)
	api.Put("/patients/:patientId/plans/:planId", s.handlePlanUpdate)
	api.Get("/patients/:patientId/plans/:planId/versions", s.handlePlanVersions)
	api.Post("/patients/:patientId/observations", s.handleObservationCreate)
	api.Get("/patients/:patientId/observations", s.handleObservationList)
	api.Get("/patients/:patientId/observations/:observationId", s.handleObservationGet)
	api.Post("/patients/:patientId/observations/:observationId/entered-in-error", s.handleObservationEnteredInError)
	api.Get("/patients/:patientId/alerts", s.handlePatientAlertList)
	api.Get("/practices/:practiceId/alerts", s.handlePracticeAlertList)
	api.Post("/alerts/:alertId/take", s.handleAlertTake)
	api.Post("/alerts/:alertId/resolve", s.handleAlertResolve)

	// Triage and video consultations.
	api.Post("/triage-requests", s.handleTriageCreate)
	api.Get("/triage-requests/:triageRequestId", s.handleTriageGet)
	api.Post("/triage-requests/:triageRequestId/take", s.handleTriageTake)
	api.Post("/triage-requests/:triageRequestId/outcome", s.handleTriageOutcome)
	api.Get("/patients/:patientId/triage-requests", s.handlePatientTriageList)
	api.Get("/practices/:practiceId/triage-queue", s.handleTriageQueue)
	api.Post("/calls", s.handleCallCreate)
	api.Get("/calls/:callId", s.handleCallGet)
	api.Post("/calls/:callId/tickets", s.handleCallTicket)
	api.Post("/calls/:callId/invites", s.handleCallInvite)
	api.Post("/echo/tickets", s.handleEchoTicket)
	api.Get("/ice-servers", s.handleICEServers)

	// Face-to-face, video and phone booking.
	api.Get("/practices/:practiceId/booking-policy", s.handleBookingPolicyGet)
	api.Put("/practices/:practiceId/booking-policy", s.handleBookingPolicySet)
	api.Post("/practices/:practiceId/sessions", s.handleSessionCreate)
	api.Get("/practices/:practiceId/sessions", s.handleSessionList)
	api.Post("/sessions/:sessionId/cancel", s.handleSessionCancel)
	api.Get("/slots", s.handleSlotSearch)
	api.Post("/appointments", s.handleAppointmentCreate)
	api.Get("/appointments/:appointmentId", s.handleAppointmentGet)
	api.Post("/appointments/:appointmentId/cancel", s.handleAppointmentCancel)
	api.Post("/appointments/:appointmentId/reschedule", s.handleAppointmentReschedule)
	api.Post("/appointments/:appointmentId/attendance", s.handleAppointmentAttendance)
	api.Get("/patients/:patientId/appointments", s.handlePatientAppointments)
	api.Post("/triage-requests/:triageRequestId/appointment", s.handleTriageAppointment)
	api.Post("/triage-requests/:triageRequestId/booking-invitation", s.handleTriageInvitation)
	api.Get("/patients/:patientId/booking-invitations", s.handlePatientInvitations)
	api.Get("/patients/:patientId/adjustments", s.handleAdjustmentsGet)
	api.Put("/patients/:patientId/adjustments", s.handleAdjustmentsSet)
	api.Get("/care-homes/:careHomeId/dashboard", s.handleCareHomeDashboard)
	api.Get("/me/notifications", s.handleNotificationList)
	api.Post("/me/notifications/:notificationId/read", s.handleNotificationRead)

	// FHIR R4 (the same policy as the API). Errors here are OperationOutcome (errorHandler).
	app.Get(fhirBase+"/metadata", s.handleFHIRMetadata) // before the group: no token needed
	fhirR4 := app.Group(fhirBase, noStore, s.authenticate)
	fhirR4.Get("/Patient", s.handleFHIRPatientSearch)
	fhirR4.Get("/Patient/:id", s.handleFHIRPatientRead)
	fhirR4.Get("/Condition", s.handleFHIRConditionSearch)
	fhirR4.Get("/Observation", s.handleFHIRObservationSearch)
	fhirR4.Get("/Observation/:id", s.handleFHIRObservationRead)
	fhirR4.Get("/CarePlan", s.handleFHIRCarePlanSearch)
	fhirR4.Get("/CarePlan/:id", s.handleFHIRCarePlanRead)
	fhirR4.Get("/Goal", s.handleFHIRGoalSearch)
	fhirR4.Get("/Goal/:id", s.handleFHIRGoalRead)
	fhirR4.Get("/Schedule/:id", s.handleFHIRScheduleRead)
	fhirR4.Get("/Slot", s.handleFHIRSlotSearch)
	fhirR4.Get("/Slot/:id", s.handleFHIRSlotRead)
	fhirR4.Get("/Appointment", s.handleFHIRAppointmentSearch)
	fhirR4.Get("/Appointment/:id", s.handleFHIRAppointmentRead)
	fhirR4.Get("/Encounter", s.handleFHIREncounterSearch)
	fhirR4.Get("/Encounter/:id", s.handleFHIREncounterRead)
	// The subject-access export: a FHIR Bundle, but under the API (problem+json errors).
	api.Get("/patients/:patientId/export", s.handlePatientExport)

	// Web console: the embedded files of package web, registered last so that no API path
	// reaches them; anything else falls through to 404.
	app.Use(consoleHandler())
}

// noStore keeps API answers, which carry personal data, out of every cache on the way.
func noStore(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Next()
}

// limitPerClient allows max requests per client address in each window, answering 429 with
// Retry-After beyond that.
func (s *server) limitPerClient(max int, window time.Duration) fiber.Handler {
	return limiter.New(limiter.Config{
		Max:          max,
		Expiration:   window,
		KeyGenerator: func(c *fiber.Ctx) string { return auth.ClientKey(s.clientAddr(c)) },
		LimitReached: func(c *fiber.Ctx) error {
			// The limiter has set Retry-After to the time left in the window; keep it.
			wait := window
			if secs, err := strconv.Atoi(c.GetRespHeader(fiber.HeaderRetryAfter)); err == nil && secs > 0 {
				wait = time.Duration(secs) * time.Second
			}
			return &models.Error{Code: models.ETOOMANY, Message: "Too many attempts from this address; try again later.", RetryAfter: wait}
		},
	})
}
