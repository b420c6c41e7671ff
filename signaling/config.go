package signaling

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"careway/models"

	"github.com/pion/webrtc/v3"
)

// Params is everything a Hub needs. Zero values take the defaults noted on each field.
type Params struct {
	Logger  *slog.Logger     // default: slog.Default()
	Clock   func() time.Time // default: time.Now
	Network Network
	Limits  Limits
	// OnClose, if set, is called once when a call's room closes: ended by a clinician, by
	// Hub.End, or because everyone left. It runs on its own goroutine; handlers store the summary.
	OnClose func(call models.CallID, s Summary)
}

// Network configures how peers reach the server.
type Network struct {
	// ListenIP is the address the media ports bind to; "" binds every interface.
	ListenIP string
	// UDPPort is the one UDP port every call shares (ICE UDP mux). 0 picks a free port; -1 turns
	// the mux off and each peer connection opens its own ephemeral port.
	UDPPort int
	// TCPPort is the ICE-over-TCP port for networks that block UDP. 0 picks a free port; -1 turns
	// ICE over TCP off.
	TCPPort int
	// SocketBuffer sizes the UDP socket's kernel buffers (default 4 MiB; the kernel may cap it at
	// net.core.rmem_max).
	SocketBuffer int
	// Readers is how many sockets, each with its own reader, share the UDP port (SO_REUSEPORT):
	// the kernel spreads peers over them by address. 0 is one per two cores (at least 1, at
	// most 8): with batched reads one reader carried 100 calls on 2 cores for less CPU per
	// packet than two (docs/benchmarks.md), and leaves the other core to pion and signaling.
	Readers int
	// PublicIPs, when the server is behind 1:1 NAT, replace the host candidates' addresses.
	PublicIPs []string
	// STUNURLs and TURNURLs are handed to clients as ICE servers, TURN with credentials made from
	// TURNSecret by the TURN REST convention, valid for TURNTTL (default 12 h).
	STUNURLs   []string
	TURNURLs   []string
	TURNSecret string
	TURNTTL    time.Duration
}

// Limits bound what one call and one socket may use.
type Limits struct {
	MaxParticipants int           // per call, default 6
	MaxMessageBytes int           // per socket message, default 64 KiB
	MessagesPerSec  float64       // per socket, default 50
	MessageBurst    int           // per socket, default 200 (a burst of candidates)
	ResumeGrace     time.Duration // default 30 s
	QualityInterval time.Duration // default 3 s
	SendQueue       int           // signaling messages queued per socket before it is closed as too slow, default 256
	MediaQueue      int           // RTP packets queued per subscriber before new ones are dropped, default 128 (~190 KB)
	MaxTextBytes    int           // per chat message, default 2000
	KeyframeEvery   time.Duration // fewest time between keyframe requests forwarded to a publisher, default 500 ms
}

func (l *Limits) defaults() {
	setDefault(&l.MaxParticipants, 6)
	setDefault(&l.MaxMessageBytes, 64<<10)
	setDefault(&l.MessagesPerSec, 50)
	setDefault(&l.MessageBurst, 200)
	setDefault(&l.ResumeGrace, 30*time.Second)
	setDefault(&l.QualityInterval, 3*time.Second)
	setDefault(&l.SendQueue, 256)
	setDefault(&l.MediaQueue, 128)
	setDefault(&l.MaxTextBytes, 2000)
	setDefault(&l.KeyframeEvery, 500*time.Millisecond)
}

func setDefault[T int | float64 | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

func (p *Params) validate() error {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Clock == nil {
		p.Clock = time.Now
	}
	p.Limits.defaults()
	n := &p.Network
	setDefault(&n.SocketBuffer, 4<<20)
	setDefault(&n.TURNTTL, 12*time.Hour)
	if len(n.TURNURLs) > 0 && n.TURNSecret == "" {
		return errors.New("signaling: TURN URLs need a TURN secret")
	}
	if n.UDPPort < -1 || n.UDPPort > 65535 || n.TCPPort < -1 || n.TCPPort > 65535 {
		return fmt.Errorf("signaling: media ports must be -1 (off), 0 (any) or 1-65535")
	}
	if n.Readers < 0 || n.Readers > MaxReaders {
		return fmt.Errorf("signaling: readers of the UDP port must be 0 (automatic) to %d", MaxReaders)
	}
	return nil
}

// ICEServers returns the ICE servers to give one client: the STUN URLs as they are, and the
// TURN URLs with a username and password valid until now+TURNTTL (TURN REST convention:
// username "expiry:userId", credential base64(HMAC-SHA1(secret, username)), as coturn's
// use-auth-secret expects).
func (n Network) ICEServers(userID string, now time.Time) []webrtc.ICEServer {
	servers := []webrtc.ICEServer{}
	if len(n.STUNURLs) > 0 {
		servers = append(servers, webrtc.ICEServer{URLs: n.STUNURLs})
	}
	if len(n.TURNURLs) > 0 {
		user, cred := TURNCredentials(n.TURNSecret, userID, now.Add(n.TURNTTL))
		servers = append(servers, webrtc.ICEServer{URLs: n.TURNURLs, Username: user, Credential: cred})
	}
	return servers
}

// TURNCredentials returns a TURN REST username and password for userID valid until expiry.
func TURNCredentials(secret, userID string, expiry time.Time) (username, credential string) {
	username = strconv.FormatInt(expiry.Unix(), 10) + ":" + userID
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(username))
	return username, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
