package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"careway/models"
	"careway/signaling"
)

// Config is Careway's configuration, read once from the environment and validated.
type Config struct {
	Addr            string
	MongoURI        string
	DBName          string
	DataDir         string
	AdminEmail      string
	AdminPassword   string
	Demo            bool
	DemoWeeks       int
	DemoPassword    string
	SigningKeyFile  string
	TokenIssuer     string
	TokenAudience   string
	CORSOrigins     []string
	TrustedProxies  []netip.Prefix
	BodyLimit       int
	ReadTimeout     time.Duration
	WriteTimeout    time.Duration
	ShutdownTimeout time.Duration
	LogLevel        slog.Level
	LogFormat       string
	AccessLog       bool
	MetricsToken    string
	RegisterPerIP   int
	HashConcurrency int
	HashWait        time.Duration
	// Booking.
	NotifyWebhookURL     string
	NotifyWebhookTimeout time.Duration

	// Video consultations.
	WebRTCUDPPort  int
	WebRTCReaders  int
	WebRTCTCPPort  int
	WebRTCListenIP string
	WebRTCPublicIP []string
	STUNURLs       []string
	TURNURLs       []string
	TURNSecret     string
	TURNTTL        time.Duration
	WSOrigins      []string
	InviteTTL      time.Duration
}

// setting describes one environment variable for `careway -h` and for loading.
type setting struct {
	name, def, help string
	shown           string // what -h prints as the default when def is not the whole story
	load            func(c *Config, v string) error
}

// settings lists every variable Careway reads, in the order `careway -h` prints them.
var settings = []setting{
	{"CAREWAY_ADDR", ":8080", "HTTP listen address", "", func(c *Config, v string) error { c.Addr = v; return nil }},
	{"MONGODB_URI", "", "MongoDB connection string; unset starts the embedded database", "", func(c *Config, v string) error { c.MongoURI = v; return nil }},
	{"CAREWAY_DB", "careway", "database name", "", func(c *Config, v string) error { c.DBName = v; return nil }},
	{"CAREWAY_DATA_DIR", "./data", "embedded database files and generated signing keys", "", func(c *Config, v string) error { c.DataDir = v; return nil }},
	{"CAREWAY_ADMIN_EMAIL", "", "with CAREWAY_ADMIN_PASSWORD: create this partnership admin at start-up if missing", "", func(c *Config, v string) error { c.AdminEmail = v; return nil }},
	{"CAREWAY_ADMIN_PASSWORD", "", "password of the bootstrap admin", "", func(c *Config, v string) error { c.AdminPassword = v; return nil }},
	{"CAREWAY_DEMO", "", "seed the demo data set into an empty database", "true with the embedded database, else false", func(c *Config, v string) error { return parseBool(&c.Demo, v) }},
	{"CAREWAY_DEMO_PASSWORD", "", "password of every demo account", "random, printed when the demo is seeded", func(c *Config, v string) error { c.DemoPassword = v; return nil }},
	{"CAREWAY_DEMO_WEEKS", "3", "weeks of demo readings, seeded through the API in the background after start (0: plans only)", "", func(c *Config, v string) error { return parseInt(&c.DemoWeeks, v, 0, 12) }},
	{"CAREWAY_SIGNING_KEY_FILE", "", "Ed25519 PKCS#8 PEM key for access tokens; unset: keys generated in CAREWAY_DATA_DIR/keys", "", func(c *Config, v string) error { c.SigningKeyFile = v; return nil }},
	{"CAREWAY_TOKEN_ISSUER", "careway", "iss of access tokens", "", func(c *Config, v string) error { c.TokenIssuer = v; return nil }},
	{"CAREWAY_TOKEN_AUDIENCE", "careway-api", "aud of access tokens", "", func(c *Config, v string) error { c.TokenAudience = v; return nil }},
	{"CAREWAY_CORS_ORIGINS", "", "comma-separated browser origins allowed to call the API (none by default)", "", func(c *Config, v string) error { c.CORSOrigins = splitList(v); return nil }},
	{"CAREWAY_TRUSTED_PROXIES", "", "comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For is believed", "", func(c *Config, v string) error { return parsePrefixes(&c.TrustedProxies, v) }},
	{"CAREWAY_BODY_LIMIT", "2097152", "largest request body in bytes (413 beyond it)", "", func(c *Config, v string) error { return parseInt(&c.BodyLimit, v, 1024, 64<<20) }},
	{"CAREWAY_READ_TIMEOUT", "15s", "time allowed to read a request", "", func(c *Config, v string) error { return parseDuration(&c.ReadTimeout, v) }},
	{"CAREWAY_WRITE_TIMEOUT", "30s", "time allowed to write a response", "", func(c *Config, v string) error { return parseDuration(&c.WriteTimeout, v) }},
	{"CAREWAY_SHUTDOWN_TIMEOUT", "6s", "time in-flight requests get to finish on SIGTERM (at most 7s: closing the database takes the rest of the 10 s)", "", func(c *Config, v string) error { return parseDuration(&c.ShutdownTimeout, v) }},
	{"CAREWAY_LOG_LEVEL", "info", "debug, info, warn or error", "", func(c *Config, v string) error { return c.LogLevel.UnmarshalText([]byte(v)) }},
	{"CAREWAY_LOG_FORMAT", "json", "json or text", "", func(c *Config, v string) error { c.LogFormat = v; return nil }},
	{"CAREWAY_ACCESS_LOG", "true", "log one line per request (ids only, never personal data)", "", func(c *Config, v string) error { return parseBool(&c.AccessLog, v) }},
	{"CAREWAY_METRICS_TOKEN", "", "if set, GET /metrics needs 'Authorization: Bearer <token>'", "", func(c *Config, v string) error { c.MetricsToken = v; return nil }},
	{"CAREWAY_REGISTER_PER_IP", "20", "self-registrations allowed per client address per hour", "", func(c *Config, v string) error { return parseInt(&c.RegisterPerIP, v, 1, 1_000_000) }},
	{"CAREWAY_HASH_CONCURRENCY", "4", "password hashes computed at once (each takes 19 MiB)", "", func(c *Config, v string) error { return parseInt(&c.HashConcurrency, v, 1, 256) }},
	{"CAREWAY_HASH_WAIT", "2s", "how long a sign-in waits for a free hashing slot before it is told to retry (429)", "", func(c *Config, v string) error { return parseDuration(&c.HashWait, v) }},
	// Booking.
	{"CAREWAY_NOTIFY_WEBHOOK_URL", "", "if set, every notification (booking confirmations, changes, reminders) is also POSTed here as JSON; unset: logged (ids only)", "", func(c *Config, v string) error { c.NotifyWebhookURL = v; return nil }},
	{"CAREWAY_NOTIFY_WEBHOOK_TIMEOUT", "5s", "time a notification webhook call may take", "", func(c *Config, v string) error { return parseDuration(&c.NotifyWebhookTimeout, v) }},
	{"CAREWAY_WEBRTC_UDP_PORT", "50000", "the one UDP port every call's media uses (ICE UDP mux); 0 picks a free port", "", func(c *Config, v string) error { return parseInt(&c.WebRTCUDPPort, v, 0, 65535) }},
	{"CAREWAY_WEBRTC_READERS", "0", "sockets (each with a reader) sharing the UDP port; 0: one per two cores, at least 1", "", func(c *Config, v string) error { return parseInt(&c.WebRTCReaders, v, 0, signaling.MaxReaders) }},
	{"CAREWAY_WEBRTC_TCP_PORT", "50000", "ICE-over-TCP port for networks that block UDP; 0 turns it off", "", func(c *Config, v string) error { return parseInt(&c.WebRTCTCPPort, v, 0, 65535) }},
	{"CAREWAY_WEBRTC_LISTEN_IP", "", "address the media ports bind to; unset: every interface", "", func(c *Config, v string) error { return parseIPs(&c.WebRTCListenIP, v) }},
	{"CAREWAY_WEBRTC_PUBLIC_IP", "", "comma-separated public addresses announced to clients when the server is behind 1:1 NAT", "", func(c *Config, v string) error { return parsePublicIPs(&c.WebRTCPublicIP, v) }},
	{"CAREWAY_ICE_SERVERS", "", "comma-separated stun:, turn: and turns: URLs handed to call participants", "", func(c *Config, v string) error { return parseICEServers(c, v) }},
	{"CAREWAY_TURN_SECRET", "", "shared secret of the TURN server (TURN REST credentials, coturn use-auth-secret)", "", func(c *Config, v string) error { c.TURNSecret = v; return nil }},
	{"CAREWAY_TURN_TTL", "12h", "how long the TURN credentials handed to a participant work", "", func(c *Config, v string) error { return parseDuration(&c.TURNTTL, v) }},
	{"CAREWAY_WS_ORIGINS", "", "comma-separated browser origins, besides Careway's own, allowed to open call sockets", "CAREWAY_CORS_ORIGINS", func(c *Config, v string) error { c.WSOrigins = splitList(v); return nil }},
	{"CAREWAY_INVITE_TTL", "24h", "how long a guest's call invite link works (it works once)", "", func(c *Config, v string) error { return parseDuration(&c.InviteTTL, v) }},
}

// loadConfig reads the configuration from getenv and checks it.
func loadConfig(getenv func(string) string) (*Config, error) {
	c := &Config{}
	var probs models.Problems
	for _, s := range settings {
		v := strings.TrimSpace(getenv(s.name))
		if v == "" {
			v = s.def
		}
		if v == "" {
			continue
		}
		if err := s.load(c, v); err != nil {
			probs.Add(s.name, err.Error())
		}
	}
	if strings.TrimSpace(getenv("CAREWAY_DEMO")) == "" {
		c.Demo = c.MongoURI == ""
	}
	if (c.AdminEmail == "") != (c.AdminPassword == "") {
		probs.Add("CAREWAY_ADMIN_EMAIL", "set both CAREWAY_ADMIN_EMAIL and CAREWAY_ADMIN_PASSWORD, or neither")
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		probs.Add("CAREWAY_LOG_FORMAT", "must be json or text")
	}
	for _, o := range c.CORSOrigins {
		if o == "*" || !(strings.HasPrefix(o, "https://") || strings.HasPrefix(o, "http://")) {
			probs.Add("CAREWAY_CORS_ORIGINS", fmt.Sprintf("%q is not an origin like https://app.example.org (no wildcards)", o))
		}
	}
	if strings.TrimSpace(getenv("CAREWAY_WS_ORIGINS")) == "" {
		c.WSOrigins = c.CORSOrigins
	}
	for _, o := range c.WSOrigins {
		if o == "*" || !(strings.HasPrefix(o, "https://") || strings.HasPrefix(o, "http://")) {
			probs.Add("CAREWAY_WS_ORIGINS", fmt.Sprintf("%q is not an origin like https://app.example.org (no wildcards)", o))
		}
	}
	if len(c.TURNURLs) > 0 && c.TURNSecret == "" {
		probs.Add("CAREWAY_TURN_SECRET", "is required with turn: URLs in CAREWAY_ICE_SERVERS")
	}
	if c.ShutdownTimeout > 7*time.Second {
		probs.Add("CAREWAY_SHUTDOWN_TIMEOUT", "must be at most 7s so that Careway stops within 10 seconds")
	}
	if err := probs.Err(); err != nil {
		return nil, fmt.Errorf("configuration: %w", configError(probs))
	}
	return c, nil
}

type configError models.Problems

func (e configError) Error() string {
	var b strings.Builder
	for i, p := range e {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.Field + ": " + p.Message)
	}
	return b.String()
}

// usage prints the commands and every environment variable.
func usage(w io.Writer) {
	fmt.Fprint(w, `Careway: long-term-condition tracking, online triage, video consultations and booking.

Usage:
  careway               run the server
  careway rotate-keys   make a new access-token signing key (the old one still verifies
                        tokens until they expire); restart or let nodes reload to use it
  careway -h            this help

Configuration (environment variables):
`)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, s := range settings {
		def := s.def
		if s.shown != "" {
			def = s.shown
		} else if def == "" {
			def = "(unset)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.name, def, s.help)
	}
	tw.Flush()
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func parseBool(dst *bool, v string) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("must be true or false")
	}
	*dst = b
	return nil
}

func parseInt(dst *int, v string, min, max int) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		return fmt.Errorf("must be a whole number from %d to %d", min, max)
	}
	*dst = n
	return nil
}

func parseDuration(dst *time.Duration, v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return fmt.Errorf("must be a positive duration such as 15s")
	}
	*dst = d
	return nil
}

func parsePrefixes(dst *[]netip.Prefix, v string) error {
	for _, s := range splitList(v) {
		if p, err := netip.ParsePrefix(s); err == nil {
			*dst = append(*dst, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("%q is neither an address nor a CIDR range", s)
		}
		*dst = append(*dst, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return nil
}

// parseIPs reads one IP address.
func parseIPs(dst *string, v string) error {
	a, err := netip.ParseAddr(v)
	if err != nil {
		return fmt.Errorf("%q is not an IP address", v)
	}
	*dst = a.String()
	return nil
}

// parsePublicIPs reads a comma-separated list of IP addresses.
func parsePublicIPs(dst *[]string, v string) error {
	for _, s := range splitList(v) {
		var ip string
		if err := parseIPs(&ip, s); err != nil {
			return err
		}
		*dst = append(*dst, ip)
	}
	return nil
}

// parseICEServers sorts a comma-separated list of STUN and TURN URLs (RFC 7064, 7065).
func parseICEServers(c *Config, v string) error {
	for _, u := range splitList(v) {
		switch {
		case strings.HasPrefix(u, "stun:") || strings.HasPrefix(u, "stuns:"):
			c.STUNURLs = append(c.STUNURLs, u)
		case strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:"):
			c.TURNURLs = append(c.TURNURLs, u)
		default:
			return fmt.Errorf("%q is not a stun:, stuns:, turn: or turns: URL", u)
		}
	}
	return nil
}
