package signaling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strconv"

	"github.com/pion/dtls/v2"
	"github.com/pion/ice/v2"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v3"
)

// media owns the shared network sockets and makes peer connections.
type media struct {
	settings webrtc.SettingEngine
	fast     *fastTable
	udp      ice.UDPMux // nil when the mux is off
	tcp      ice.TCPMux
	tcpLocal net.Addr // the ICE-TCP listener's address; nil when ICE-TCP is off
	closers  []func() error
}

// newMedia opens the shared UDP (and TCP) ports.
func newMedia(n Network, log *slog.Logger) (*media, error) {
	m := &media{fast: newFastTable()}
	se := webrtc.SettingEngine{LoggerFactory: pionLogs{log}}
	// GCM first: it costs a fifth of AES-CM per packet (PERFORMANCE.md).
	se.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AEAD_AES_256_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.DisableActiveTCP(true)
	// The server has only host candidates, so waiting for a "better" remote candidate type before
	// nominating buys nothing; pion's defaults (prflx 1 s, srflx 500 ms) delayed one call in six
	// by a second (docs/benchmarks.md, media).
	se.SetPrflxAcceptanceMinWait(0)
	se.SetSrflxAcceptanceMinWait(0)
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4}
	var listenIP net.IP
	if n.ListenIP != "" {
		listenIP = net.ParseIP(n.ListenIP)
		if listenIP == nil {
			return nil, fmt.Errorf("signaling: listen IP %q is not an IP address", n.ListenIP)
		}
		se.SetIPFilter(func(ip net.IP) bool { return ip.Equal(listenIP) })
		if listenIP.IsLoopback() {
			se.SetIncludeLoopbackCandidate(true)
		}
	}
	if len(n.PublicIPs) > 0 {
		se.SetNAT1To1IPs(n.PublicIPs, webrtc.ICECandidateTypeHost)
	}
	if n.UDPPort >= 0 {
		if err := m.openUDP(n, listenIP, log); err != nil {
			return nil, err
		}
		se.SetICEUDPMux(m.udp)
	}
	if n.TCPPort >= 0 {
		addr := ""
		if listenIP != nil {
			addr = listenIP.String()
		}
		l, err := net.Listen("tcp4", net.JoinHostPort(addr, strconv.Itoa(n.TCPPort)))
		if err != nil {
			m.close()
			return nil, fmt.Errorf("signaling: TCP port: %w", err)
		}
		m.tcp = newFastTCPMux(webrtc.NewICETCPMux(pionLogs{log}.NewLogger("tcpmux"), l, 64), m.fast)
		m.tcpLocal = l.Addr()
		m.closers = append(m.closers, m.tcp.Close)
		se.SetICETCPMux(m.tcp)
		networks = append(networks, webrtc.NetworkTypeTCP4)
	}
	se.SetNetworkTypes(networks)
	m.settings = se
	return m, nil
}

// openUDP opens the shared UDP port (on every local IPv4 address when no listen IP is set)
// behind pion's ICE mux, each address served by readersPerPort sockets for the fast path.
func (m *media) openUDP(n Network, listenIP net.IP, log *slog.Logger) error {
	ips := []net.IP{listenIP}
	if listenIP == nil {
		var err error
		if ips, err = localIPv4s(); err != nil {
			return fmt.Errorf("signaling: UDP port: %w", err)
		}
	}
	var muxes []ice.UDPMux
	fail := func(err error) error {
		for _, mx := range muxes {
			_ = mx.Close()
		}
		return fmt.Errorf("signaling: UDP port: %w", err)
	}
	for _, ip := range ips {
		conns, err := listenShared(&net.UDPAddr{IP: ip, Port: n.UDPPort}, n.readersPerPort(), n.SocketBuffer)
		if err != nil {
			return fail(err)
		}
		fm, err := newFastMux(m.fast, conns)
		if err != nil {
			for _, c := range conns {
				_ = c.Close()
			}
			return fail(err)
		}
		muxes = append(muxes, webrtc.NewICEUDPMux(pionLogs{log}.NewLogger("udpmux"), fm))
	}
	if len(muxes) == 1 {
		m.udp = muxes[0]
	} else {
		m.udp = ice.NewMultiUDPMuxDefault(muxes...)
	}
	m.closers = append(m.closers, m.udp.Close)
	return nil
}

// MaxReaders bounds Network.Readers (and CAREWAY_WEBRTC_READERS): more sockets than cores only
// add wake-ups.
const MaxReaders = 64

// readersPerPort is how many sockets share the UDP port (Network.Readers).
func (n *Network) readersPerPort() int {
	if n.Readers > 0 {
		return n.Readers
	}
	return max(1, min(runtime.GOMAXPROCS(0)/2, 8))
}

// listenShared opens n UDP sockets on addr, all on the same port (the first picks it when
// addr's port is 0), each with a buffer of bufBytes (best effort: the kernel caps it at
// net.core.[rw]mem_max). Where the system cannot share a port, it opens one.
func listenShared(addr *net.UDPAddr, n, bufBytes int) ([]*net.UDPConn, error) {
	if !canSharePort {
		n = 1
	}
	if n > 1 && addr.Port != 0 {
		// A second server started on the same port (a restart that overlaps the old one, a
		// copied configuration) must fail as it would without SO_REUSEPORT, not quietly take
		// half the calls: a socket without the option cannot bind a port that is in use.
		probe, err := net.ListenUDP("udp4", addr)
		if err != nil {
			return nil, err
		}
		_ = probe.Close()
	}
	var conns []*net.UDPConn
	var lc net.ListenConfig // one socket: no sharing, so a second server cannot bind the port
	if n > 1 {
		lc.Control = sharePort
	}
	for i := range n {
		pc, err := lc.ListenPacket(context.Background(), "udp4", addr.String())
		if err != nil {
			for _, c := range conns {
				_ = c.Close()
			}
			return nil, err
		}
		c := pc.(*net.UDPConn)
		_ = c.SetReadBuffer(bufBytes)
		_ = c.SetWriteBuffer(bufBytes)
		conns = append(conns, c)
		if i == 0 {
			addr = c.LocalAddr().(*net.UDPAddr) // the port the first one got
		}
	}
	return conns, nil
}

// localIPv4s lists the addresses of the interfaces that are up: not loopback unless there is
// nothing else, never link-local (as pion's own multi-socket mux chooses).
func localIPv4s() ([]net.IP, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var ips, loopback []net.IP
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.To4() == nil || ipn.IP.IsLinkLocalUnicast() {
				continue
			}
			if ipn.IP.IsLoopback() {
				loopback = append(loopback, ipn.IP.To4())
			} else {
				ips = append(ips, ipn.IP.To4())
			}
		}
	}
	if len(ips) == 0 {
		ips = loopback
	}
	if len(ips) == 0 {
		return nil, errors.New("no IPv4 address on any interface")
	}
	return ips, nil
}

// UDPAddr is the shared UDP port's address (nil when the mux is off).
func (m *media) udpAddrs() []net.Addr {
	if m.udp == nil {
		return nil
	}
	return m.udp.GetListenAddresses()
}

func (m *media) tcpAddr() net.Addr { return m.tcpLocal }

func (m *media) close() error {
	var errs []error
	for _, c := range m.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// newPeerConnection makes a peer connection with its own media engine. It has no interceptors:
// the server answers NACKs and exchanges reports itself (forward.go), on both media paths.
// The API is returned too: it makes the senders of reused media sections.
func (m *media) newPeerConnection() (*webrtc.PeerConnection, *webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := RegisterCodecs(me); err != nil {
		return nil, nil, err
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(&interceptor.Registry{}), webrtc.WithSettingEngine(m.settings))
	pc, err := api.NewPeerConnection(webrtc.Configuration{
		SDPSemantics:  webrtc.SDPSemanticsUnifiedPlan,
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	})
	return pc, api, err
}

// RegisterCodecs registers the codecs Careway forwards: Opus for audio; VP8 and H.264
// (constrained baseline, which every phone can decode in hardware) for video. No RTX: lost
// packets are resent from the server's ring of each track's recent packets (forward.go), which
// keeps one SSRC per track.
func RegisterCodecs(me *webrtc.MediaEngine) error {
	videoFB := []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}
	codecs := []struct {
		p    webrtc.RTPCodecParameters
		kind webrtc.RTPCodecType
	}{
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}, PayloadType: 111}, webrtc.RTPCodecTypeAudio},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFB}, PayloadType: 96}, webrtc.RTPCodecTypeVideo},
		{webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000, SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", RTCPFeedback: videoFB}, PayloadType: 102}, webrtc.RTPCodecTypeVideo},
	}
	for _, c := range codecs {
		if err := me.RegisterCodec(c.p, c.kind); err != nil {
			return err
		}
	}
	return nil
}

// pionLogs sends pion's logs to slog, at one level lower than pion's own (pion warns about
// things that are routine for a server, such as a peer that went away).
type pionLogs struct{ log *slog.Logger }

func (p pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{p.log.With("scope", "pion/"+scope)}
}

type pionLogger struct{ log *slog.Logger }

func (l pionLogger) logf(level slog.Level, f string, a ...any) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, fmt.Sprintf(f, a...))
	}
}

func (l pionLogger) Trace(string)             {}
func (l pionLogger) Tracef(string, ...any)    {}
func (l pionLogger) Debug(string)             {}
func (l pionLogger) Debugf(string, ...any)    {}
func (l pionLogger) Info(m string)            { l.logf(slog.LevelDebug, "%s", m) }
func (l pionLogger) Infof(f string, a ...any) { l.logf(slog.LevelDebug, f, a...) }
func (l pionLogger) Warn(m string)            { l.logf(slog.LevelInfo, "%s", m) }
func (l pionLogger) Warnf(f string, a ...any) { l.logf(slog.LevelInfo, f, a...) }
func (l pionLogger) Error(m string)           { l.logf(slog.LevelWarn, "%s", m) }
func (l pionLogger) Errorf(f string, a ...any) {
	l.logf(slog.LevelWarn, f, a...)
}
