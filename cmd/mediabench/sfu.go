package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"expvar" // the runtime's allocation count, for allocations per packet; the forwarding delay
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // profiles of the server under load
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"careway/models"
	"careway/signaling"

	fws "github.com/fasthttp/websocket"
	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/pion/webrtc/v3"
)

// serveSFU runs a signaling.Hub behind a Fiber WebSocket route on 127.0.0.1, as Careway serves
// it, but with the identity taken from the query (the bench has no accounts or tickets):
// /ws?call=ID&user=ID&role=clinician|patient. It also serves net/http/pprof and expvar (the
// runtime's allocation count) on another loopback port, announced as "debug ADDR".
func serveSFU(addr string, udpPort, readers int) error {
	exitOnStdinEOF()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	hub, err := signaling.NewHub(signaling.Params{
		Logger:  log,
		Network: signaling.Network{ListenIP: "127.0.0.1", UDPPort: udpPort, TCPPort: -1, Readers: readers},
	})
	if err != nil {
		return err
	}
	defer hub.Close()
	// The hub's own histogram of each packet's time in the server (kernel receive stamp to send).
	expvar.Publish("forwardDelay", expvar.Func(func() any { return hub.ForwardDelay() }))
	expvar.Publish("rejected", expvar.Func(func() any { return hub.RejectedPackets() }))
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/ws", func(c *fiber.Ctx) error {
		if !websocket.IsWebSocketUpgrade(c) {
			return fiber.ErrUpgradeRequired
		}
		return c.Next()
	}, websocket.New(func(c *websocket.Conn) {
		c.SetReadLimit(1 << 20)
		who := signaling.Identity{UserID: c.Query("user"), Role: signaling.Role(c.Query("role")), Name: "bench"}
		_ = hub.Join(context.Background(), models.CallID(c.Query("call")), who, wsConn{c.Conn})
	}, websocket.Config{WriteBufferPool: &sync.Pool{}}))
	dl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = http.Serve(dl, nil) }()
	fmt.Printf("debug %s\n", dl.Addr())
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		return err
	}
	fmt.Printf("listening %s\n", ln.Addr())
	return app.Listener(ln)
}

// wsConn adapts a WebSocket (server or client side) to signaling.Conn.
type wsConn struct{ c *fws.Conn }

func (w wsConn) ReadMessage() ([]byte, error) {
	for {
		typ, b, err := w.c.ReadMessage()
		if err != nil {
			return nil, err
		}
		if typ == fws.TextMessage {
			return b, nil
		}
	}
}

func (w wsConn) WriteMessage(b []byte) error { return w.c.WriteMessage(fws.TextMessage, b) }

func (w wsConn) Close(code int, reason string) error {
	_ = w.c.WriteControl(fws.CloseMessage, fws.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	return w.c.Close()
}

// sigClient is one participant's signaling socket, spoken as docs/signaling.md says. A clinician
// client admits every waiting participant it hears of, so calls start without a human.
type sigClient struct {
	ws      *fws.Conn
	role    signaling.Role
	opened  time.Time
	wmu     sync.Mutex
	pc      *webrtc.PeerConnection // nil for a socket that only waits
	offers  atomic.Int64           // offers received, to see renegotiation in steady state
	answers atomic.Int64           // answers sent
	joined  chan signaling.JoinedData
	errs    chan error
	readEnd chan struct{}
	// When the set-up stages were first reached (since opened), for setup -v.
	stages sync.Map
}

// dialSig opens a socket to the bench server at addr for call as user with role, and sends join.
// pc, when not nil, answers the server's offers and trickles candidates.
func dialSig(ctx context.Context, addr, call, user string, role signaling.Role, pc *webrtc.PeerConnection) (*sigClient, error) {
	u := url.URL{Scheme: "ws", Host: addr, Path: "/ws", RawQuery: url.Values{"call": {call}, "user": {user}, "role": {string(role)}}.Encode()}
	c := &sigClient{role: role, pc: pc, opened: time.Now(), joined: make(chan signaling.JoinedData, 1), errs: make(chan error, 4), readEnd: make(chan struct{})}
	d := fws.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 1024}
	ws, _, err := d.DialContext(ctx, u.String(), nil)
	if err != nil {
		return nil, err
	}
	c.ws = ws
	if pc != nil {
		pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) { c.stage("ice-" + s.String()) })
		pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) { c.stage("pc-" + s.String()) })
		pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
			if cand != nil {
				c.send(signaling.TypeCandidate, cand.ToJSON())
			}
		})
	}
	go c.read()
	c.send(signaling.TypeJoin, signaling.JoinData{})
	return c, nil
}

func (c *sigClient) send(typ string, data any) {
	raw, err := json.Marshal(data)
	if err == nil {
		raw, err = json.Marshal(signaling.Envelope{Type: typ, Data: raw})
	}
	if err != nil {
		c.fail(err)
		return
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := c.ws.WriteMessage(fws.TextMessage, raw); err != nil {
		c.fail(err)
	}
}

// stage records the first time the client reached a set-up stage.
func (c *sigClient) stage(name string) {
	c.stages.LoadOrStore(name, time.Since(c.opened).Round(time.Millisecond))
}

// stageList lists the recorded stages in time order.
func (c *sigClient) stageList() string {
	type st struct {
		name string
		at   time.Duration
	}
	var l []st
	c.stages.Range(func(k, v any) bool { l = append(l, st{k.(string), v.(time.Duration)}); return true })
	slices.SortFunc(l, func(a, b st) int { return cmp.Compare(a.at, b.at) })
	var b strings.Builder
	for _, s := range l {
		fmt.Fprintf(&b, " %s@%s", s.name, s.at)
	}
	return b.String()
}

func (c *sigClient) fail(err error) {
	select {
	case c.errs <- err:
	default:
	}
}

func (c *sigClient) read() {
	defer close(c.readEnd)
	for {
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var env signaling.Envelope
		if json.Unmarshal(msg, &env) != nil {
			continue
		}
		if err := c.handle(env); err != nil {
			c.fail(fmt.Errorf("%s: %w", env.Type, err))
		}
	}
}

func (c *sigClient) handle(env signaling.Envelope) error {
	switch env.Type {
	case signaling.TypeJoined:
		c.stage("joined")
		var j signaling.JoinedData
		if err := json.Unmarshal(env.Data, &j); err != nil {
			return err
		}
		select {
		case c.joined <- j:
		default:
		}
		for _, p := range j.Participants {
			c.admitIfWaiting(p)
		}
	case signaling.TypeParticipantJoined, signaling.TypeParticipantUpdated:
		var e signaling.ParticipantEvent
		if err := json.Unmarshal(env.Data, &e); err != nil {
			return err
		}
		c.admitIfWaiting(e.Participant)
	case signaling.TypeOffer:
		c.stage("offer")
		c.offers.Add(1)
		if c.pc == nil {
			return errors.New("an offer to a socket without media")
		}
		var sdp signaling.SDPData
		if err := json.Unmarshal(env.Data, &sdp); err != nil {
			return err
		}
		if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp.SDP}); err != nil {
			return err
		}
		answer, err := c.pc.CreateAnswer(nil)
		if err != nil {
			return err
		}
		if err := c.pc.SetLocalDescription(answer); err != nil {
			return err
		}
		c.send(signaling.TypeAnswer, signaling.SDPData{SDP: answer.SDP})
		c.answers.Add(1)
		c.stage("answered")
	case signaling.TypeCandidate:
		if c.pc == nil {
			return nil
		}
		var cand webrtc.ICECandidateInit
		if err := json.Unmarshal(env.Data, &cand); err != nil {
			return err
		}
		return c.pc.AddICECandidate(cand)
	case signaling.TypeError:
		var e signaling.ErrorData
		_ = json.Unmarshal(env.Data, &e)
		return fmt.Errorf("server refused %s: %s (%s)", e.For, e.Code, e.Message)
	}
	return nil
}

func (c *sigClient) admitIfWaiting(p signaling.ParticipantInfo) {
	if c.role == signaling.RoleClinician && !p.Admitted && p.Role != signaling.RoleClinician {
		c.send(signaling.TypeAdmit, signaling.TargetData{ParticipantID: p.ID})
	}
}

// waitJoined waits for the server's joined message.
func (c *sigClient) waitJoined(ctx context.Context) (signaling.JoinedData, error) {
	select {
	case j := <-c.joined:
		return j, nil
	case err := <-c.errs:
		return signaling.JoinedData{}, err
	case <-c.readEnd:
		return signaling.JoinedData{}, errors.New("socket closed before joined")
	case <-ctx.Done():
		return signaling.JoinedData{}, ctx.Err()
	}
}

func (c *sigClient) close() {
	c.wmu.Lock()
	_ = c.ws.WriteControl(fws.CloseMessage, fws.FormatCloseMessage(fws.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.wmu.Unlock()
	_ = c.ws.Close()
}

// sfuPart is a pion client joined to a call through the signaling socket.
type sfuPart struct {
	*pionClient
	sig *sigClient
}

func (p *sfuPart) offers() int64 { return p.sig.offers.Load() }

// describe says where a participant's set-up got to, for a step that failed.
func (p *sfuPart) describe() string {
	p.tally.mu.Lock()
	anything := p.tally.first != 0
	p.tally.mu.Unlock()
	return fmt.Sprintf("%s, %d offers, %d answers, pc %s, ice %s, remote tracks %d audio %d video, any packet received %v, transceivers%s, stages %s",
		p.sig.role, p.sig.offers.Load(), p.sig.answers.Load(), p.pc.ConnectionState(), p.pc.ICEConnectionState(),
		p.tracks[0].Load(), p.tracks[1].Load(), anything, p.transceivers(), p.sig.stageList())
}

// transceivers describes each of the client's transceivers: kind, direction, the SSRC its
// receiver expects, and for a receiving one whether RTP can be read from it within 500 ms. For
// a track pion never announced nobody else reads it, so this tells a server that never sent it
// from a client that never announced what it received; for an announced one it takes a packet
// from the tally's reader, which no longer matters once the step has failed.
func (p *sfuPart) transceivers() string {
	var b strings.Builder
	for _, tr := range p.pc.GetTransceivers() {
		fmt.Fprintf(&b, " [%s %s mid=%s", tr.Kind(), tr.Direction(), tr.Mid())
		if r := tr.Receiver(); r != nil && tr.Direction() != webrtc.RTPTransceiverDirectionSendonly {
			if t := r.Track(); t != nil {
				_ = t.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
				buf := make([]byte, 1500)
				n, _, err := t.Read(buf)
				fmt.Fprintf(&b, " expects ssrc %d, read %d bytes (err %v)", t.SSRC(), n, err)
			}
		}
		b.WriteString("]")
	}
	return b.String()
}

func (p *sfuPart) close() {
	p.sig.close()
	p.pionClient.close()
}

// joinSFU connects one participant (PeerConnection and socket) to call.
func joinSFU(ctx context.Context, api *webrtc.API, addr, call, user string, role signaling.Role, clk clock, win *window) (*sfuPart, error) {
	pc, err := newPionClient(api, clk, win)
	if err != nil {
		return nil, err
	}
	sig, err := dialSig(ctx, addr, call, user, role, pc.pc)
	if err != nil {
		pc.close()
		return nil, err
	}
	p := &sfuPart{pionClient: pc, sig: sig}
	if _, err := sig.waitJoined(ctx); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// startSFU starts the bench server as a child process.
func startSFU(cfg capacityConfig) (*child, error) {
	args := []string{"serve-sfu", "-addr", "127.0.0.1:0"}
	if cfg.noMux {
		args = append(args, "-udp-port", "-1")
	}
	if cfg.readers > 0 { // only when asked: an older build (sfu@PATH) has no such flag
		args = append(args, "-readers", strconv.Itoa(cfg.readers))
	}
	if cfg.memProfileRate > 0 {
		args = append(args, "-memprofilerate", strconv.Itoa(cfg.memProfileRate))
	}
	return startChild(cfg.log, cfg.serverExe, args...)
}

func dialSFUCalls(ctx context.Context, cfg capacityConfig, calls int, clk clock, win *window) (*callSet, error) {
	srv, err := startSFU(cfg)
	if err != nil {
		return nil, err
	}
	cs := &callSet{server: srv}
	api, err := newClientAPI()
	if err != nil {
		cs.close()
		return nil, err
	}
	for i := range calls {
		call := fmt.Sprintf("bench-call-%d", i)
		for _, role := range []signaling.Role{signaling.RoleClinician, signaling.RolePatient} {
			p, err := joinSFU(ctx, api, srv.addr, call, fmt.Sprintf("%s-%d", role, i), role, clk, win)
			if err != nil {
				cs.close()
				return nil, fmt.Errorf("call %d, %s: %w", i, role, err)
			}
			cs.parts = append(cs.parts, p)
			cs.tallies = append(cs.tallies, p.tally)
		}
	}
	return cs, nil
}
