package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v2"
)

// The bare relay is the ceiling the SFU is measured against: one UDP socket (as the SFU's ICE UDP
// mux has one), one goroutine, read a packet then write it to the other party of its call. No
// encryption, no RTP parsing, no allocation per packet. A client joins by sending
// relayJoin + its call number (4 bytes); the relay echoes the join so the client knows it arrived.
//
// With srtp set, the relay also decrypts every packet with the sender's SRTP context and
// encrypts it again with the receiver's (AES-128-GCM, as the SFU negotiates), still in the one
// goroutine: what an SFU's forwarding would cost without pion's per-connection goroutines and
// buffers. The keys are fixed (there is no DTLS): the figure is for CPU, not for security.
const relayJoin = 0xff

// relaySRTPKey and relaySRTPSalt key every SRTP context of the srtp relay and its clients.
var (
	relaySRTPKey  = []byte("careway-bench-16")
	relaySRTPSalt = []byte("bench-salt12")
)

// srtpPair is one participant's contexts: in decrypts what it sends, out encrypts what it receives.
type srtpPair struct{ in, out *srtp.Context }

func newSRTPPair() (srtpPair, error) {
	in, err := srtp.CreateContext(relaySRTPKey, relaySRTPSalt, srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		return srtpPair{}, err
	}
	out, err := srtp.CreateContext(relaySRTPKey, relaySRTPSalt, srtp.ProtectionProfileAeadAes128Gcm)
	return srtpPair{in, out}, err
}

// serveRelay runs the relay on addr until the process is told to stop.
func serveRelay(addr string, sockBuf int, withSRTP bool) error {
	exitOnStdinEOF()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return err
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return err
	}
	if err := errors.Join(conn.SetReadBuffer(sockBuf), conn.SetWriteBuffer(sockBuf)); err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "listening %s\n", conn.LocalAddr())
	peers := map[netip.AddrPort]netip.AddrPort{}
	waiting := map[uint32]netip.AddrPort{}
	keys := map[netip.AddrPort]srtpPair{}
	buf := make([]byte, 1500)
	plain, sealed := make([]byte, 1500), make([]byte, 1500)
	var hdr rtp.Header
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return err
		}
		if n == 5 && buf[0] == relayJoin {
			call := binary.BigEndian.Uint32(buf[1:5])
			if other, ok := waiting[call]; ok && other != from {
				peers[from], peers[other] = other, from
				delete(waiting, call)
			} else if _, paired := peers[from]; !paired {
				waiting[call] = from
			}
			if _, ok := keys[from]; withSRTP && !ok {
				if keys[from], err = newSRTPPair(); err != nil {
					return err
				}
			}
			_, _ = conn.WriteToUDPAddrPort(buf[:n], from)
			continue
		}
		to, ok := peers[from]
		if !ok {
			continue
		}
		pkt := buf[:n]
		if withSRTP {
			p, err := keys[from].in.DecryptRTP(plain, pkt, &hdr)
			if err != nil {
				continue
			}
			if pkt, err = keys[to].out.EncryptRTP(sealed, p, &hdr); err != nil {
				continue
			}
		}
		_, _ = conn.WriteToUDPAddrPort(pkt, to)
	}
}

// relayClient is one participant of the relay: its own UDP socket, a reader goroutine, and
// for the srtp relay its own SRTP contexts.
type relayClient struct {
	conn   *net.UDPConn
	tally  *tally
	keys   *srtpPair // nil: plain RTP
	sealed []byte
	hdr    rtp.Header
}

func (c *relayClient) send(_ byte, pkt []byte) error {
	if c.keys != nil {
		var err error
		if pkt, err = c.keys.out.EncryptRTP(c.sealed, pkt, &c.hdr); err != nil {
			return err
		}
	}
	_, err := c.conn.Write(pkt)
	return err
}

// dialRelay joins call number call on the relay at addr and starts reading.
func dialRelay(addr string, call uint32, withSRTP bool, clk clock, win *window) (*relayClient, error) {
	ra, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	conn, err := net.DialUDP("udp", nil, ra)
	if err != nil {
		return nil, err
	}
	join := []byte{relayJoin, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(join[1:], call)
	buf := make([]byte, 1500)
	joined := false
	for range 20 {
		if _, err := conn.Write(join); err != nil {
			conn.Close()
			return nil, err
		}
		_ = conn.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		if n, err := conn.Read(buf); err == nil && n == 5 {
			joined = true
			break
		}
	}
	_ = conn.SetReadDeadline(time.Time{})
	if !joined {
		conn.Close()
		return nil, errors.New("relay did not answer the join")
	}
	c := &relayClient{conn: conn, tally: newTally(), sealed: make([]byte, 1500)}
	if withSRTP {
		keys, err := newSRTPPair()
		if err != nil {
			conn.Close()
			return nil, err
		}
		c.keys = &keys
	}
	go func() {
		plain := make([]byte, 1500)
		var hdr rtp.Header
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			if n == 5 && buf[0] == relayJoin {
				continue
			}
			pkt := buf[:n]
			if c.keys != nil {
				if pkt, err = c.keys.in.DecryptRTP(plain, pkt, &hdr); err != nil {
					continue
				}
			}
			if p := rtpPayload(pkt); p != nil {
				c.tally.received(win, p, clk.now())
			}
		}
	}()
	return c, nil
}

func (c *relayClient) close() { c.conn.Close() }
