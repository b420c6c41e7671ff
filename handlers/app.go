// Package handlers is Careway's HTTP layer: NewApp builds the Fiber app, routes.go lists every
// route, and one file per resource holds its handlers. Handlers are thin: decode strictly,
// validate, authorise through auth.Can, call a store or a rule, answer JSON. Errors become HTTP
// once, in errorHandler.
package handlers

import (
	"context"
	"log/slog"
	"net/netip"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"careway/auth"
	"careway/booking"
	"careway/models"
)

// Pinger is the database as readiness sees it. Ping returns EUNAVAILABLE when it does not answer.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Params holds everything the HTTP layer needs. Zero values get the defaults noted.
type Params struct {
	DB         Pinger
	Users      models.UserStore
	Patients   models.PatientStore
	Orgs       models.OrgStore
	Audit      models.AuditStore
	Conditions models.ConditionStore

	// Long-term conditions.
	// Population answers the population view's bulk questions.
	Population models.PopulationStore
	// ChangeSources feed GET /patients/{id}/changes, one per kind of document (readings, plan
	// versions, alerts, appointments).
	ChangeSources []models.ChangeSource
	// ChangesSettle is how far the change feed's watermark stays behind now for writes in
	// progress on other nodes; 0 means DefaultChangesSettle, negative means none.
	ChangesSettle time.Duration
	Observations  models.ObservationStore
	Plans         models.PlanStore
	Alerts        models.AlertStore
	// AlertTriage opens the urgent triage request of each new alert (nil: alerts only).
	AlertTriage models.TriageStore

	// Triage and calls.
	Triage     models.TriageStore
	Calls      models.CallStore
	Media      MediaServer   // the signaling hub; nil: no sockets, no waiting rooms in the queue
	ICEServers ICEServerFunc // STUN/TURN servers handed to call participants; nil: none
	WSOrigins  []string      // browser origins, besides the server's own, allowed to open call sockets
	InviteTTL  time.Duration // how long a guest's invite link works; default 24 h

	// Booking.
	Sessions      models.SessionStore
	Slots         models.SlotStore
	Appointments  models.AppointmentStore
	Policies      models.BookingPolicyStore
	Notifications models.NotificationStore
	Invitations   models.InvitationStore
	Booking       *booking.Service

	// FHIR R4 reads the stores of the areas above.

	Auth   *auth.Service
	Tokens *auth.Tokens
	Keys   *auth.KeyRing
	Hasher *auth.Hasher

	Registry *prometheus.Registry // default: a new registry
	Logger   *slog.Logger         // default: slog.Default()
	OpenAPI  []byte               // served at /api/openapi.yaml

	CORSOrigins    []string       // browser origins allowed to call the API; none by default
	TrustedProxies []netip.Prefix // peers whose X-Forwarded-For is believed
	BodyLimit      int            // bytes; default 1 MiB
	ReadTimeout    time.Duration  // default 15 s
	WriteTimeout   time.Duration  // default 30 s
	IdleTimeout    time.Duration  // default 120 s
	MetricsToken   string         // if set, /metrics needs it as a bearer token
	AccessLog      bool           // one log line per request (ids only)
	RegisterPerIP  int            // self-registrations allowed per client address per hour; default 20

	Now func() time.Time // default time.Now
}

// server carries the dependencies into the handlers.
type server struct {
	db         Pinger
	users      models.UserStore
	patients   models.PatientStore
	orgs       models.OrgStore
	audit      models.AuditStore
	conditions models.ConditionStore

	// Long-term conditions.
	population    models.PopulationStore
	changeSources []models.ChangeSource
	changesSettle time.Duration
	writes        *writeTracker
	observations  models.ObservationStore
	plans         models.PlanStore
	alerts        models.AlertStore
	alertTriage   models.TriageStore

	// Triage and calls.
	triage    models.TriageStore
	calls     models.CallStore
	media     MediaServer
	iceFunc   ICEServerFunc
	wsOrigins []string
	inviteTTL time.Duration

	// Booking.
	sessions      models.SessionStore
	slots         models.SlotStore
	appointments  models.AppointmentStore
	policies      models.BookingPolicyStore
	notifications models.NotificationStore
	invitations   models.InvitationStore
	booking       *booking.Service

	// FHIR R4.

	auth   *auth.Service
	tokens *auth.Tokens
	keys   *auth.KeyRing
	hasher *auth.Hasher

	registry     *prometheus.Registry
	metrics      *httpMetrics
	log          *slog.Logger
	openAPI      []byte
	proxies      []netip.Prefix
	metricsToken string
	accessLog    bool
	profiles     *ttlCache[models.UserID, profile]
	names        *ttlCache[models.UserID, string]
	ids          *requestIDs
	now          func() time.Time
}

// NewApp builds the Fiber app with every route and its middleware.
func NewApp(p Params) *fiber.App {
	if p.Registry == nil {
		p.Registry = prometheus.NewRegistry()
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.BodyLimit <= 0 {
		p.BodyLimit = 1 << 20
	}
	if p.ReadTimeout <= 0 {
		p.ReadTimeout = 15 * time.Second
	}
	if p.WriteTimeout <= 0 {
		p.WriteTimeout = 30 * time.Second
	}
	if p.IdleTimeout <= 0 {
		p.IdleTimeout = 120 * time.Second
	}
	if p.RegisterPerIP <= 0 {
		p.RegisterPerIP = 20
	}
	if p.InviteTTL <= 0 {
		p.InviteTTL = 24 * time.Hour
	}
	switch {
	case p.ChangesSettle == 0:
		p.ChangesSettle = DefaultChangesSettle
	case p.ChangesSettle < 0:
		p.ChangesSettle = 0
	}
	registerRuntimeCollectors(p.Registry)
	s := &server{
		db: p.DB, users: p.Users, patients: p.Patients, orgs: p.Orgs, audit: p.Audit, conditions: p.Conditions,
		sessions: p.Sessions, slots: p.Slots, appointments: p.Appointments, policies: p.Policies,
		notifications: p.Notifications, invitations: p.Invitations, booking: p.Booking,
		observations: p.Observations, plans: p.Plans, alerts: p.Alerts, alertTriage: p.AlertTriage,
		population: p.Population, changeSources: p.ChangeSources, changesSettle: p.ChangesSettle, writes: newWriteTracker(),
		auth: p.Auth, tokens: p.Tokens, keys: p.Keys, hasher: p.Hasher,
		registry: p.Registry, metrics: newHTTPMetrics(p.Registry), log: p.Logger,
		openAPI: p.OpenAPI, proxies: p.TrustedProxies, metricsToken: p.MetricsToken,
		accessLog: p.AccessLog, now: p.Now, ids: newRequestIDs(),
		triage: p.Triage, calls: p.Calls, media: p.Media, iceFunc: p.ICEServers, wsOrigins: p.WSOrigins, inviteTTL: p.InviteTTL,
		// Profiles change rarely and /me is called on every app start; 30 s of staleness is
		// far inside the 15-minute life of the access token that names the user anyway.
		profiles: newTTLCache[models.UserID, profile](30*time.Second, 50_000),
		names:    newTTLCache[models.UserID, string](5*time.Minute, 50_000),
	}
	app := fiber.New(fiber.Config{
		AppName:               "careway",
		ErrorHandler:          errorHandler(p.Logger, s.ids),
		BodyLimit:             p.BodyLimit,
		ReadTimeout:           p.ReadTimeout,
		WriteTimeout:          p.WriteTimeout,
		IdleTimeout:           p.IdleTimeout,
		DisableStartupMessage: true,
		// Header and path strings stay valid only during the handler; Careway copies what it
		// keeps (STYLE.md rule 13) rather than paying Fiber's Immutable cost on every request.
	})
	s.routes(app, p)
	return app
}
