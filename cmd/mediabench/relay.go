package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"
)

// The bare relay is the ceiling the SFU is measured against: one UDP socket (as the SFU's ICE UDP
// mux has one), one goroutine, read a packet then write it to the other party of its call. No
// encryption, no RTP parsing, no allocation per packet. A client joins by sending
// relayJoin + its call number (4 bytes); the relay echoes the join so the client knows it arrived.
const relayJoin = 0xff

// serveRelay runs the relay on addr until the process is told to stop.
func serveRelay(addr string, sockBuf int) error {
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
	buf := make([]byte, 1500)
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
			_, _ = conn.WriteToUDPAddrPort(buf[:n], from)
			continue
		}
		if to, ok := peers[from]; ok {
			_, _ = conn.WriteToUDPAddrPort(buf[:n], to)
		}
	}
}

// relayClient is one participant of the relay: its own UDP socket, a reader goroutine.
type relayClient struct {
	conn  *net.UDPConn
	tally *tally
}

func (c *relayClient) send(_ byte, pkt []byte) error {
	_, err := c.conn.Write(pkt)
	return err
}

// dialRelay joins call number call on the relay at addr and starts reading.
func dialRelay(addr string, call uint32, clk clock, win *window) (*relayClient, error) {
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
	c := &relayClient{conn: conn, tally: newTally()}
	go func() {
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			if n == 5 && buf[0] == relayJoin {
				continue
			}
			if p := rtpPayload(buf[:n]); p != nil {
				c.tally.received(win, p, clk.now())
			}
		}
	}()
	return c, nil
}

func (c *relayClient) close() { c.conn.Close() }
