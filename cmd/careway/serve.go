package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"careway/auth"
	"careway/docs"
	"careway/handlers"
	"careway/models"
	"careway/signaling"
	"careway/store"
	"careway/store/embedded"
)

// serve runs Careway until ctx ends, then drains in-flight requests and stops.
func serve(ctx context.Context, cfg *Config, stdout io.Writer) error {
	lw := newLogWriter(stdout)
	defer lw.Close()
	log := newLogger(cfg, lw)
	// The data directory is made (mode 0700) by what needs it: the embedded server and the key
	// ring. With MONGODB_URI and a configured key file Careway needs none.

	uri := cfg.MongoURI
	var srv *embedded.Server
	if uri == "" {
		var err error
		if srv, err = embedded.Start(ctx, embedded.Params{DataDir: cfg.DataDir, Logger: log}); err != nil {
			return fmt.Errorf("embedded database: %w", err)
		}
		defer srv.Close()
		uri = srv.URI()
		log.Info("embedded database started", "dataDir", cfg.DataDir)
	}
	db, err := store.Open(ctx, uri, cfg.DBName, log)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if srv != nil {
		// FerretDB's own _id index does not serve its _id lookups (embedded.IndexIDs).
		if _, err := srv.IndexIDs(ctx, cfg.DBName); err != nil {
			db.Close(context.WithoutCancel(ctx))
			return fmt.Errorf("embedded database: %w", err)
		}
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		db.Close(cctx)
	}()
	users, patients, orgs := store.NewUserStore(db), store.NewPatientStore(db), store.NewOrgStore(db)
	audits, refresh, conds := store.NewAuditStore(db), store.NewRefreshTokenStore(db), store.NewConditionStore(db)
	observations, plans, alerts := store.NewObservationStore(db), store.NewPlanStore(db), store.NewAlertStore(db)

	keys, err := loadKeys(cfg)
	if err != nil {
		return err
	}
	hasher := auth.NewHasher(cfg.HashConcurrency).WithSlotWait(cfg.HashWait)
	tokens := auth.NewTokens(auth.TokenParams{Keys: keys, Issuer: cfg.TokenIssuer, Audience: cfg.TokenAudience}) // TTL: auth.DefaultAccessTTL, 15 minutes
	svc := auth.NewService(auth.ServiceParams{Users: users, Refresh: refresh, Hasher: hasher, Tokens: tokens,
		Throttle: auth.NewThrottle(auth.ThrottleParams{})})

	if cfg.Demo {
		if err := seedDemo(ctx, seedParams{Users: users, Patients: patients, Orgs: orgs, Conditions: conds, Hasher: hasher,
			Password: cfg.DemoPassword, Out: lw, Log: log}); err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
		if _, err := seedDemoAdjustments(ctx, patients, time.Now()); err != nil {
			return fmt.Errorf("demo adjustments: %w", err)
		}
	}
	if cfg.AdminEmail != "" {
		if err := bootstrapAdmin(ctx, users, hasher, cfg.AdminEmail, cfg.AdminPassword, log); err != nil {
			return fmt.Errorf("bootstrap admin: %w", err)
		}
	}

	// Booking.
	bk := newBookingParts(cfg, db, log)
	if cfg.Demo {
		n, err := seedDemoBooking(ctx, bk.service, bk.sessions, orgs, time.Now())
		if err != nil {
			return fmt.Errorf("demo sessions: %w", err)
		}
		log.Info("demo sessions published", "new", n)
	}
	triage, calls := store.NewTriageStore(db), store.NewCallStore(db)
	network := mediaNetwork(cfg)
	hub, err := signaling.NewHub(signaling.Params{Logger: log, Network: network, OnClose: handlers.CallRecorder(calls, log)})
	if err != nil {
		return fmt.Errorf("media server: %w", err)
	}
	hubClosed := false
	closeHub := func() {
		if !hubClosed {
			hubClosed = true
			if err := hub.Close(); err != nil {
				log.Warn("media server close", "err", err)
			}
		}
	}
	defer closeHub()
	log.Info("media server started", "udp", addrList(hub.UDPAddrs()), "tcp", addrString(hub.TCPAddr()))

	app := handlers.NewApp(handlers.Params{
		Population: store.NewPopulationStore(db), ChangeSources: []models.ChangeSource{observations, plans, alerts, bk.appointments},
		Sessions: bk.sessions, Slots: bk.slots, Appointments: bk.appointments, Policies: bk.policies,
		Notifications: bk.notifications, Invitations: bk.invitations, Booking: bk.service,
		DB: db, Users: users, Patients: patients, Orgs: orgs, Audit: audits, Conditions: conds,
		Observations: observations, Plans: plans, Alerts: alerts, AlertTriage: triage,
		Triage: triage, Calls: calls, Media: hub, ICEServers: network.ICEServers, WSOrigins: cfg.WSOrigins,
		InviteTTL: cfg.InviteTTL,
		Auth:      svc, Tokens: tokens, Keys: keys, Hasher: hasher,
		Registry: mediaMetrics(prometheus.NewRegistry(), hub), Logger: log, OpenAPI: docs.OpenAPI,
		CORSOrigins: cfg.CORSOrigins, TrustedProxies: cfg.TrustedProxies, BodyLimit: cfg.BodyLimit,
		ReadTimeout: cfg.ReadTimeout, WriteTimeout: cfg.WriteTimeout, MetricsToken: cfg.MetricsToken,
		AccessLog: cfg.AccessLog, RegisterPerIP: cfg.RegisterPerIP,
	})

	if cfg.MetricsToken == "" && !cfg.Demo {
		log.Warn("GET /metrics is open to anyone who can reach this port; set CAREWAY_METRICS_TOKEN or keep the port private")
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Fprintf(lw, "careway listening on http://%s\n", ln.Addr())
	lw.Flush()
	log.Info("listening", "addr", ln.Addr().String())

	go janitor(ctx, log,
		cleanup{"expired refresh tokens", refresh.DeleteExpiredRefreshTokens},
		cleanup{"expired call tickets", calls.DeleteExpiredCallTickets})
	bk.run(ctx, db, log) // booking reconciler and reminders

	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	// Demo plans, readings and triage requests go through the API, so they are seeded once it
	// is up, in the background: sign-in works at once, and a stop cuts the seed short between
	// two patients (the next start completes it).
	seeded := make(chan struct{})
	go func() {
		defer close(seeded)
		if !cfg.Demo {
			return
		}
		n, err := seedDemoLTC(ctx, demoLTCParams{App: app, Tokens: tokens, Plans: plans, Observations: observations, Weeks: cfg.DemoWeeks}, time.Now())
		if err != nil && ctx.Err() == nil {
			log.Error("demo readings", "err", err)
			return
		}
		log.Info("demo readings stored", "new", n)
		// Triage requests after the readings: their priority weighs the alerts those raised.
		n, err = seedDemoTriage(ctx, demoTriageParams{App: app, Tokens: tokens, Keys: keys, Users: users, Patients: patients,
			Orgs: orgs, Audit: audits, Observations: observations, Alerts: alerts, Triage: triage, Log: log,
			Readings: cfg.DemoWeeks > 0}, time.Now())
		if err != nil && ctx.Err() == nil {
			log.Error("demo triage requests", "err", err)
			return
		}
		log.Info("demo triage requests stored", "new", n)
	}()
	defer func() { <-seeded }()
	select {
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	// Call sockets first, with 1001 (going away) and graceful peer-connection closes: Fiber's
	// shutdown waits for every open connection, and a call socket stays open until closed.
	closeHub()
	if err := app.ShutdownWithTimeout(cfg.ShutdownTimeout); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn("shutdown", "err", err)
	}
	<-served
	log.Info("stopped")
	return nil
}

func newLogger(cfg *Config, lw *logWriter) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var h slog.Handler = slog.NewJSONHandler(lw, opts)
	if cfg.LogFormat == "text" {
		h = slog.NewTextHandler(lw, opts)
	}
	return slog.New(flushOnWarn{Handler: h, lw: lw})
}

// loadKeys reads the configured signing key, or the key ring kept in the data directory
// (generating the first key on first start).
func loadKeys(cfg *Config) (*auth.KeyRing, error) {
	if cfg.SigningKeyFile != "" {
		k, err := auth.LoadKeyFile(cfg.SigningKeyFile)
		if err != nil {
			return nil, fmt.Errorf("signing key: %w", err)
		}
		return k, nil
	}
	k, err := auth.LoadOrCreateKeyRing(filepath.Join(cfg.DataDir, "keys"), time.Now())
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	return k, nil
}

// rotateKeys makes a new signing key in the data directory's key ring.
func rotateKeys(cfg *Config, stdout io.Writer) error {
	if cfg.SigningKeyFile != "" {
		return errors.New("CAREWAY_SIGNING_KEY_FILE is set: rotate that key where it is managed")
	}
	dir := filepath.Join(cfg.DataDir, "keys")
	k, err := auth.LoadOrCreateKeyRing(dir, time.Now())
	if err != nil {
		return err
	}
	kid, err := k.Rotate(dir, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "new signing key %s; tokens signed by earlier keys stay valid until they expire\n", kid)
	return nil
}

// bootstrapAdmin creates the partnership-wide administrator named in the configuration if no
// account has that email. An existing account is left exactly as it is.
func bootstrapAdmin(ctx context.Context, users models.UserStore, h *auth.Hasher, email, password string, log *slog.Logger) error {
	email = models.NormalizeEmail(email)
	if _, err := users.UserByEmail(ctx, email); err == nil {
		return nil
	} else if models.ErrorCode(err) != models.ENOTFOUND {
		return err
	}
	if !models.ValidEmail(email) {
		return errors.New("CAREWAY_ADMIN_EMAIL is not an email address")
	}
	if err := auth.CheckPassword(password, email, "Administrator"); err != nil {
		return fmt.Errorf("CAREWAY_ADMIN_PASSWORD: %s", models.ErrorMessage(err))
	}
	hash, err := h.Hash(ctx, password)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	u := &models.User{ID: models.UserID(models.NewID()), Email: email, Name: "Administrator", Role: models.RoleAdmin,
		PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	if err := users.CreateUser(ctx, u); err != nil && models.ErrorCode(err) != models.ECONFLICT {
		return err
	}
	log.Info("bootstrap admin created", "userId", string(u.ID))
	return nil
}

// cleanup is one periodic removal of expired records.
type cleanup struct {
	what string
	run  func(ctx context.Context, before time.Time) (int64, error)
}

// janitor runs every clean-up every hour: the embedded database has no TTL indexes.
func janitor(ctx context.Context, log *slog.Logger, jobs ...cleanup) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		for _, j := range jobs {
			n, err := j.run(ctx, time.Now())
			if err != nil && ctx.Err() == nil {
				log.Warn("clean-up failed", "what", j.what, "err", err)
			} else if n > 0 {
				log.Info("clean-up", "what", j.what, "count", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// mediaMetrics adds the media server's forwarding counters to reg: how many RTP packets went by
// the fast path and how many through pion's pipeline (a share of pion that grows means peers on
// ICE-TCP, or a fast path that gave up on someone).
func mediaMetrics(reg *prometheus.Registry, hub *signaling.Hub) *prometheus.Registry {
	for _, path := range []string{"fast", "pion"} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "careway_media_forwarded_packets_total", Help: "RTP packets received from publishers and forwarded, by path.",
			ConstLabels: prometheus.Labels{"path": path},
		}, func() float64 {
			fast, pion := hub.ForwardedPackets()
			if path == "fast" {
				return float64(fast)
			}
			return float64(pion)
		}))
	}
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "careway_media_control_packets_dropped_total",
		Help: "ICE, DTLS and RTCP packets dropped on the shared UDP port because pion's queue was full.",
	}, func() float64 { return float64(hub.ControlPacketsDropped()) }))
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "careway_media_rejected_packets_total",
		Help: "RTP packets of published tracks dropped because they did not decrypt (forged, replayed, or a packet index the server has wrong).",
	}, func() float64 { return float64(hub.RejectedPackets()) }))
	reg.MustRegister(forwardDelayMetric{hub: hub, desc: prometheus.NewDesc("careway_media_forward_delay_seconds",
		"Time each RTP packet forwarded by the fast path spent in the server, from the kernel's receive stamp to its send.", nil, nil)})
	return reg
}

// forwardDelayMetric is the hub's forwarding-delay histogram as Prometheus reads it.
type forwardDelayMetric struct {
	hub  *signaling.Hub
	desc *prometheus.Desc
}

func (m forwardDelayMetric) Describe(ch chan<- *prometheus.Desc) { ch <- m.desc }

func (m forwardDelayMetric) Collect(ch chan<- prometheus.Metric) {
	d := m.hub.ForwardDelay()
	buckets := make(map[float64]uint64, len(d.Upper))
	var n uint64
	for i, upper := range d.Upper {
		n += d.Counts[i]
		buckets[upper.Seconds()] = n // Prometheus buckets are cumulative
	}
	n += d.Counts[len(d.Counts)-1]
	ch <- prometheus.MustNewConstHistogram(m.desc, n, d.Sum.Seconds(), buckets)
}

// mediaNetwork turns the configuration into the media server's network settings. A TCP port
// of 0 turns ICE over TCP off.
func mediaNetwork(cfg *Config) signaling.Network {
	tcp := cfg.WebRTCTCPPort
	if tcp == 0 {
		tcp = -1
	}
	return signaling.Network{ListenIP: cfg.WebRTCListenIP, UDPPort: cfg.WebRTCUDPPort, Readers: cfg.WebRTCReaders, TCPPort: tcp,
		PublicIPs: cfg.WebRTCPublicIP, STUNURLs: cfg.STUNURLs, TURNURLs: cfg.TURNURLs, TURNSecret: cfg.TURNSecret,
		TURNTTL: cfg.TURNTTL}
}

func addrList(as []net.Addr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

func addrString(a net.Addr) string {
	if a == nil {
		return "off"
	}
	return a.String()
}
