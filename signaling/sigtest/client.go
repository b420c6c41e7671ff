package sigtest

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"careway/signaling"

	"github.com/pion/ice/v2"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
	"github.com/pion/webrtc/v3/pkg/media"
)

// Options shape a Client.
type Options struct {
	Publish     bool   // publish an audio and a video track of generated samples
	ResumeToken string // join with this token
	AudioOnly   bool   // join in audio-only mode
	NoJoin      bool   // do not send join (the test sends its own first message)
	TCP         bool   // reach the server by ICE over TCP only
	NoAnswer    bool   // leave offers unanswered (the test answers with Answer)
	WrapAtStart bool   // publish with sequence numbers that wrap after the first packet (65535, 0, 1, ...)
	UDPAndTCP   bool   // offer both UDP (through a socket BlockUDP can cut) and TCP candidates
}

// Client is a pion peer speaking the signaling protocol over a Conn.
type Client struct {
	tb   testing.TB
	PC   *webrtc.PeerConnection
	opts Options

	connMu sync.Mutex
	conn   signaling.Conn

	mu         sync.Mutex
	lastAnswer string // guarded by mu
	cond       *sync.Cond
	log        []signaling.Envelope
	taken      []bool
	answering  bool
	pending    []webrtc.ICECandidateInit
	offered    bool                      // an offer has arrived and is not yet applied
	remote     []webrtc.ICECandidateInit // the server's candidates that came with it
	readerEnd  chan struct{}

	recvMu   sync.Mutex
	received map[string]*atomic.Uint64 // "<participantId>/<kind>" → RTP packets received
	ssrcs    map[string]uint32

	keyframeRequests atomic.Uint64
	nacks            atomic.Uint64 // NACKs the server sent about the client's tracks
	reportsWithLSR   atomic.Uint64 // the server's reception reports on the client's tracks that answer a sender report
	duplicates       map[string]*atomic.Uint64
	lastSeqs         map[string]*atomic.Uint64 // 1<<16 | the last sequence number received
	unblock          []func()                  // end the remote tracks' readers (recvMu)
	senderReports    map[string]*atomic.Uint64

	tracks  []webrtc.TrackLocal // published, fed until Close
	udp     *blockableConn      // with UDPAndTCP: the UDP socket ICE uses
	stop    chan struct{}
	stopped sync.WaitGroup
	closed  atomic.Bool
}

// New starts a client on conn: it sends join (unless NoJoin), answers offers and trickles
// candidates. The client is closed when the test ends.
func New(tb testing.TB, conn signaling.Conn, opts Options) *Client {
	tb.Helper()
	c := &Client{tb: tb, conn: conn, opts: opts, received: map[string]*atomic.Uint64{}, ssrcs: map[string]uint32{},
		duplicates: map[string]*atomic.Uint64{}, lastSeqs: map[string]*atomic.Uint64{}, senderReports: map[string]*atomic.Uint64{}, stop: make(chan struct{})}
	c.cond = sync.NewCond(&c.mu)
	if opts.Publish {
		c.publish()
	}
	c.newPeer()
	tb.Cleanup(c.Close)
	c.startReader(conn)
	if !opts.NoJoin {
		c.Send(signaling.TypeJoin, signaling.JoinData{ResumeToken: opts.ResumeToken, AudioOnly: opts.AudioOnly})
	}
	return c
}

// newPeer makes the client's peer connection and adds its tracks.
func (c *Client) newPeer() {
	var pc *webrtc.PeerConnection
	var err error
	if c.opts.UDPAndTCP {
		pc, err = c.newBlockablePeer()
	} else {
		pc, err = NewPeerConnection(c.opts.TCP)
	}
	if err != nil {
		c.tb.Fatalf("sigtest: peer connection: %v", err)
	}
	c.PC = pc
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return
		}
		init := cand.ToJSON()
		c.mu.Lock()
		if c.answering {
			c.pending = append(c.pending, init)
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		c.Send(signaling.TypeCandidate, init)
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		key := t.StreamID() + "/" + t.Kind().String()
		n := c.counter(t.StreamID(), t.Kind().String())
		c.recvMu.Lock()
		c.ssrcs[key] = uint32(t.SSRC())
		dups, srs, last := counterIn(c.duplicates, key), counterIn(c.senderReports, key), counterIn(c.lastSeqs, key)
		// pion v3.3.6 does not close the streams of a receiver it replaces when the server
		// reuses a media section for a new track, and closing the peer connection does not
		// either: Close ends those readers by deadline.
		c.unblock = append(c.unblock, func() {
			_ = t.SetReadDeadline(time.Now())
			_ = r.SetReadDeadline(time.Now())
		})
		c.recvMu.Unlock()
		c.stopped.Add(2)
		go func() {
			// Reading the receiver's RTCP lets the report interceptor see the server's sender
			// reports, so its receiver reports carry LSR/DLSR (the server's RTT measure).
			defer c.stopped.Done()
			for {
				pkts, _, err := r.ReadRTCP()
				if err != nil {
					if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || c.closed.Load() {
						return
					}
					continue
				}
				for _, p := range pkts {
					if sr, ok := p.(*rtcp.SenderReport); ok && sr.SSRC == uint32(t.SSRC()) {
						srs.Add(1)
					}
				}
			}
		}()
		go func() {
			defer c.stopped.Done()
			buf := make([]byte, 1500)
			var seen [1 << 16]bool // by sequence number; the half ahead is cleared as it goes
			for {
				k, _, err := t.Read(buf)
				if err != nil {
					return
				}
				n.Add(1)
				if k >= 12 {
					seq := binary.BigEndian.Uint16(buf[2:4])
					if seen[seq] {
						dups.Add(1)
					}
					seen[seq], seen[seq+1<<15] = true, false
					last.Store(1<<16 | uint64(seq))
				}
			}
		}()
	})
	for _, t := range c.tracks {
		s, err := pc.AddTrack(t)
		if err != nil {
			c.tb.Fatalf("sigtest: add track: %v", err)
		}
		c.stopped.Add(1)
		go func() {
			defer c.stopped.Done()
			for {
				pkts, _, err := s.ReadRTCP()
				if err != nil {
					if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || c.closed.Load() {
						return
					}
					continue
				}
				for _, p := range pkts {
					switch p := p.(type) {
					case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
						c.keyframeRequests.Add(1)
					case *rtcp.TransportLayerNack:
						c.nacks.Add(1)
					case *rtcp.ReceiverReport:
						for _, r := range p.Reports {
							if r.LastSenderReport != 0 {
								c.reportsWithLSR.Add(1)
							}
						}
					}
				}
			}
		}()
	}
}

// KeyframeRequests is how many PLIs and FIRs the server has sent for the client's tracks.
func (c *Client) KeyframeRequests() uint64 { return c.keyframeRequests.Load() }

// Nacks is how many NACKs the server has sent about the client's tracks.
func (c *Client) Nacks() uint64 { return c.nacks.Load() }

// ReportsWithLSR is how many of the server's reception reports on the client's tracks answered
// one of the client's sender reports.
func (c *Client) ReportsWithLSR() uint64 { return c.reportsWithLSR.Load() }

// Duplicates is how many RTP packets of kind from participant from arrived a second time.
func (c *Client) Duplicates(from, kind string) uint64 {
	c.recvMu.Lock()
	defer c.recvMu.Unlock()
	return counterIn(c.duplicates, from+"/"+kind).Load()
}

// LastSeq is the sequence number of the last RTP packet of kind from participant from.
func (c *Client) LastSeq(from, kind string) (uint16, bool) {
	c.recvMu.Lock()
	defer c.recvMu.Unlock()
	v := counterIn(c.lastSeqs, from+"/"+kind).Load()
	return uint16(v), v != 0
}

// SenderReports is how many sender reports arrived for the track of kind from participant from.
func (c *Client) SenderReports(from, kind string) uint64 {
	c.recvMu.Lock()
	defer c.recvMu.Unlock()
	return counterIn(c.senderReports, from+"/"+kind).Load()
}

// counterIn returns m's counter for key, making it; the caller holds recvMu.
func counterIn(m map[string]*atomic.Uint64, key string) *atomic.Uint64 {
	n := m[key]
	if n == nil {
		n = &atomic.Uint64{}
		m[key] = n
	}
	return n
}

// RemoteSSRC is the SSRC of the track of kind received from participant from (0 if none yet).
func (c *Client) RemoteSSRC(from, kind string) uint32 {
	c.recvMu.Lock()
	defer c.recvMu.Unlock()
	return c.ssrcs[from+"/"+kind]
}

// NewPeerConnection makes a pion peer connection restricted to loopback UDP (TCP if tcp), with
// the codecs the server forwards and pion's default interceptors (NACK, reports).
func NewPeerConnection(tcp bool) (*webrtc.PeerConnection, error) {
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	if tcp {
		networks = []webrtc.NetworkType{webrtc.NetworkTypeTCP4}
	}
	return newPeerConnection(networks, nil)
}

// newBlockablePeer makes a peer connection with UDP and TCP candidates, its UDP on one socket
// that BlockUDP can cut.
func (c *Client) newBlockablePeer() (*webrtc.PeerConnection, error) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	c.udp = &blockableConn{PacketConn: conn}
	mux := ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: c.udp})
	c.tb.Cleanup(func() { _ = mux.Close() })
	return newPeerConnection([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeTCP4}, mux)
}

// BlockUDP drops everything the client's UDP socket sends or receives from now on, as a network
// that blocks UDP would (UDPAndTCP only).
func (c *Client) BlockUDP() { c.udp.blocked.Store(true) }

// UnblockUDP lets the client's UDP through again.
func (c *Client) UnblockUDP() { c.udp.blocked.Store(false) }

// blockableConn is a UDP socket whose traffic can be cut.
type blockableConn struct {
	net.PacketConn
	blocked atomic.Bool
}

func (b *blockableConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := b.PacketConn.ReadFrom(p)
		if err != nil || !b.blocked.Load() {
			return n, addr, err
		}
	}
}

func (b *blockableConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if b.blocked.Load() {
		return len(p), nil
	}
	return b.PacketConn.WriteTo(p, addr)
}

// newPeerConnection makes the peer connection on networks, ICE's UDP through udpMux if not nil.
func newPeerConnection(networks []webrtc.NetworkType, udpMux ice.UDPMux) (*webrtc.PeerConnection, error) {
	me := &webrtc.MediaEngine{}
	if err := signaling.RegisterCodecs(me); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, reg); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes(networks)
	if udpMux != nil {
		se.SetICEUDPMux(udpMux)
	}
	se.SetIncludeLoopbackCandidate(true)
	// Without replay protection a packet the server sends again reaches the track reader, so
	// tests can see NACKs answered (Duplicates).
	se.DisableSRTPReplayProtection(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	return api.NewPeerConnection(webrtc.Configuration{})
}

func (c *Client) counter(from, kind string) *atomic.Uint64 {
	c.recvMu.Lock()
	defer c.recvMu.Unlock()
	return counterIn(c.received, from+"/"+kind)
}

// Received is how many RTP packets of kind ("audio" or "video") arrived from participant from.
func (c *Client) Received(from, kind string) uint64 { return c.counter(from, kind).Load() }

// ReceivedTotal is every RTP packet received, from anyone.
func (c *Client) ReceivedTotal() uint64 {
	c.recvMu.Lock()
	defer c.recvMu.Unlock()
	var n uint64
	for _, v := range c.received {
		n += v.Load()
	}
	return n
}

// publish adds an Opus and a VP8 track fed with generated samples until Close.
func (c *Client) publish() {
	opus := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}
	vp8 := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}
	c.stopped.Add(2)
	if c.opts.WrapAtStart {
		audio, _ := webrtc.NewTrackLocalStaticRTP(opus, "audio", "self")
		video, _ := webrtc.NewTrackLocalStaticRTP(vp8, "video", "self")
		c.tracks = []webrtc.TrackLocal{audio, video}
		go c.feed(20*time.Millisecond, 120, packetsFrom(audio, 960))
		go c.feed(33*time.Millisecond, 900, packetsFrom(video, 3000))
		return
	}
	audio, _ := webrtc.NewTrackLocalStaticSample(opus, "audio", "self")
	video, _ := webrtc.NewTrackLocalStaticSample(vp8, "video", "self")
	c.tracks = []webrtc.TrackLocal{audio, video}
	samples := func(t *webrtc.TrackLocalStaticSample, every time.Duration) func([]byte) {
		return func(payload []byte) { _ = t.WriteSample(media.Sample{Data: payload, Duration: every}) }
	}
	go c.feed(20*time.Millisecond, 120, samples(audio, 20*time.Millisecond))
	go c.feed(33*time.Millisecond, 900, samples(video, 33*time.Millisecond))
}

// feed writes a payload of size bytes every interval until Close.
func (c *Client) feed(every time.Duration, size int, write func(payload []byte)) {
	defer c.stopped.Done()
	tick := time.NewTicker(every)
	defer tick.Stop()
	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i)
	}
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
			write(payload)
		}
	}
}

// packetsFrom writes each payload to t as one RTP packet, numbered from 65535 so that the
// sequence number wraps after the first, with the timestamp advancing by step.
func packetsFrom(t *webrtc.TrackLocalStaticRTP, step uint32) func([]byte) {
	seq, ts := uint16(65535), uint32(0)
	return func(payload []byte) {
		_ = t.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts}, Payload: payload})
		seq++
		ts += step
	}
}

// Send writes one message.
func (c *Client) Send(typ string, data any) {
	raw, err := json.Marshal(data)
	if err != nil {
		c.tb.Errorf("sigtest: marshal %s: %v", typ, err)
		return
	}
	c.SendRaw(mustJSON(signaling.Envelope{Type: typ, Data: raw}))
}

// SendRaw writes bytes as they are (for bad-input tests).
func (c *Client) SendRaw(b []byte) {
	c.connMu.Lock()
	conn := c.conn
	c.connMu.Unlock()
	_ = conn.WriteMessage(b)
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func (c *Client) startReader(conn signaling.Conn) {
	done := make(chan struct{})
	c.mu.Lock()
	c.readerEnd = done
	c.mu.Unlock()
	c.stopped.Add(1)
	go func() {
		defer c.stopped.Done()
		defer close(done)
		for {
			b, err := conn.ReadMessage()
			if err != nil {
				c.mu.Lock()
				c.cond.Broadcast()
				c.mu.Unlock()
				return
			}
			var env signaling.Envelope
			if err := json.Unmarshal(b, &env); err != nil {
				c.tb.Errorf("sigtest: server sent something that is not an envelope: %q", b)
				continue
			}
			switch env.Type {
			case signaling.TypeOffer:
				c.mu.Lock()
				c.offered = true
				c.mu.Unlock()
				if !c.opts.NoAnswer {
					c.Answer(env)
				}
			case signaling.TypeCandidate:
				var init webrtc.ICECandidateInit
				if err := json.Unmarshal(env.Data, &init); err == nil {
					c.mu.Lock()
					held := c.offered
					if held {
						c.remote = append(c.remote, init)
					}
					c.mu.Unlock()
					if !held {
						_ = c.PC.AddICECandidate(init)
					}
				}
			}
			c.mu.Lock()
			c.log = append(c.log, env)
			c.taken = append(c.taken, false)
			c.cond.Broadcast()
			c.mu.Unlock()
		}
	}()
}

// Answer applies an offer and sends the answer, then any candidates gathered meanwhile.
func (c *Client) Answer(env signaling.Envelope) {
	var d signaling.SDPData
	if err := json.Unmarshal(env.Data, &d); err != nil {
		c.tb.Errorf("sigtest: offer: %v", err)
		return
	}
	// pion refuses to start gathering (as an ICE restart does) while it is still gathering from
	// the last answer; a browser copes. Let the last gathering finish first.
	if c.PC.ICEGatheringState() == webrtc.ICEGatheringStateGathering {
		select {
		case <-webrtc.GatheringCompletePromise(c.PC):
		case <-time.After(3 * time.Second):
		}
	}
	c.mu.Lock()
	c.answering = true
	c.mu.Unlock()
	err := c.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: d.SDP})
	c.mu.Lock()
	remote := c.remote
	c.remote, c.offered = nil, false
	c.mu.Unlock()
	for _, r := range remote {
		_ = c.PC.AddICECandidate(r)
	}
	var ans webrtc.SessionDescription
	if err == nil {
		ans, err = c.PC.CreateAnswer(nil)
	}
	if err == nil {
		err = c.PC.SetLocalDescription(ans)
	}
	if err != nil {
		if !c.closed.Load() {
			c.tb.Errorf("sigtest: answering: %v", err)
		}
		return
	}
	c.Send(signaling.TypeAnswer, signaling.SDPData{SDP: ans.SDP})
	c.mu.Lock()
	c.lastAnswer = ans.SDP
	pending := c.pending
	c.pending, c.answering = nil, false
	c.mu.Unlock()
	for _, p := range pending {
		c.Send(signaling.TypeCandidate, p)
	}
}

// LastAnswer returns the SDP of the last answer the client sent ("" before the first). Tests
// read it rather than PC.LocalDescription, which pion does not guard against a concurrent
// SetLocalDescription.
func (c *Client) LastAnswer() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastAnswer
}

// Wait returns the next message of type typ not returned before, waiting up to timeout; it
// fails the test if none comes.
func (c *Client) Wait(typ string, timeout time.Duration) signaling.Envelope {
	c.tb.Helper()
	env, ok := c.WaitFor(typ, timeout)
	if !ok {
		c.tb.Fatalf("sigtest: no %q message within %v; got %s", typ, timeout, c.Types())
	}
	return env
}

// WaitFor is Wait without failing.
func (c *Client) WaitFor(typ string, timeout time.Duration) (signaling.Envelope, bool) {
	deadline := time.Now().Add(timeout)
	t := time.AfterFunc(timeout, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer t.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		for i, e := range c.log {
			if !c.taken[i] && e.Type == typ {
				c.taken[i] = true
				return e, true
			}
		}
		if time.Now().After(deadline) {
			return signaling.Envelope{}, false
		}
		select {
		case <-c.readerEnd:
			return signaling.Envelope{}, false
		default:
		}
		c.cond.Wait()
	}
}

// Has reports whether a message of type typ arrived (taken or not).
func (c *Client) Has(typ string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.log {
		if e.Type == typ {
			return true
		}
	}
	return false
}

// Types lists the types of every message received, in order.
func (c *Client) Types() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.log))
	for i, e := range c.log {
		out[i] = e.Type
	}
	return out
}

// Joined waits for the joined message and returns it.
func (c *Client) Joined() signaling.JoinedData {
	c.tb.Helper()
	var d signaling.JoinedData
	Decode(c.tb, c.Wait(signaling.TypeJoined, 5*time.Second), &d)
	return d
}

// FirstJoined returns the first joined message received (taken by Wait or not); it fails the
// test if there is none.
func (c *Client) FirstJoined() signaling.JoinedData {
	c.tb.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.log {
		if e.Type == signaling.TypeJoined {
			var d signaling.JoinedData
			Decode(c.tb, e, &d)
			return d
		}
	}
	c.tb.Fatal("sigtest: no joined message")
	return signaling.JoinedData{}
}

// Decode reads env's data into v or fails the test.
func Decode(tb testing.TB, env signaling.Envelope, v any) {
	tb.Helper()
	if err := json.Unmarshal(env.Data, v); err != nil {
		tb.Fatalf("sigtest: %s data %s: %v", env.Type, env.Data, err)
	}
}

// Resume switches the client to a new socket and sends join with token; the peer connection is
// kept (the server restarts ICE).
func (c *Client) Resume(conn signaling.Conn, token string) {
	c.connMu.Lock()
	c.conn = conn
	c.connMu.Unlock()
	c.startReader(conn)
	c.Send(signaling.TypeJoin, signaling.JoinData{ResumeToken: token})
}

// ResumeWithNewPeer is Resume for a client that lost its peer connection: it closes it, makes
// a new one with the same tracks, and sends join with token and newPeer. Call after Drop.
func (c *Client) ResumeWithNewPeer(conn signaling.Conn, token string) {
	_ = c.PC.Close()
	c.mu.Lock()
	c.offered, c.remote, c.pending, c.answering = false, nil, nil, false
	c.mu.Unlock()
	c.newPeer()
	c.connMu.Lock()
	c.conn = conn
	c.connMu.Unlock()
	c.startReader(conn)
	c.Send(signaling.TypeJoin, signaling.JoinData{ResumeToken: token, NewPeer: true})
}

// Drop closes the current socket without leaving, as a lost network would.
func (c *Client) Drop() {
	c.connMu.Lock()
	conn := c.conn
	c.connMu.Unlock()
	_ = conn.Close(1006, "dropped")
	c.mu.Lock()
	end := c.readerEnd
	c.mu.Unlock()
	<-end
}

// Connected waits until the peer connection is connected.
func (c *Client) Connected(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if c.PC.ConnectionState() == webrtc.PeerConnectionStateConnected {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return errors.New("sigtest: peer connection not connected: " + c.PC.ConnectionState().String())
}

// Close stops publishing, closes the socket and the peer connection, and waits for the
// client's goroutines.
func (c *Client) Close() {
	if c.closed.Swap(true) {
		return
	}
	close(c.stop)
	c.connMu.Lock()
	conn := c.conn
	c.connMu.Unlock()
	_ = conn.Close(1000, "")
	// pion v3.3.6 races if a peer connection closes just as its ICE transport finishes
	// starting: let a check in progress end first.
	if c.PC.RemoteDescription() != nil {
		for i := 0; i < 300 && (c.PC.ICEConnectionState() == webrtc.ICEConnectionStateNew || c.PC.ICEConnectionState() == webrtc.ICEConnectionStateChecking); i++ {
			time.Sleep(10 * time.Millisecond)
		}
	}
	_ = c.PC.Close()
	c.recvMu.Lock()
	for _, f := range c.unblock {
		f()
	}
	c.recvMu.Unlock()
	c.stopped.Wait()
}
