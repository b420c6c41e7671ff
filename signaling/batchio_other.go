//go:build !linux

package signaling

import (
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"time"
)

// Without recvmmsg and sendmmsg a batchConn does one datagram per system call, behind the same
// methods as on Linux, so that the fast path has one shape everywhere.

// batchConn has the Linux version's methods and rules (see batchio_linux.go); here read returns
// one datagram at a time and flush writes the queued datagrams one by one, skipping one that
// fails without a second try.
type batchConn struct {
	conn *net.UDPConn

	rbuf    []byte // one byte over receiveMTU, so that a datagram too long for it shows
	rn      int
	rfrom   netip.AddrPort
	rat     int64 // when read took the datagram, Unix nanoseconds
	dropped atomic.Uint64

	wpkts [][]byte
	wto   []netip.AddrPort
	wbuf  []byte
	wn    int
	wsent int
	werr  error
}

func newBatchConn(c *net.UDPConn, size int) (*batchConn, error) {
	if err := checkBatchSize(size); err != nil {
		return nil, err
	}
	return &batchConn{
		conn:  c,
		rbuf:  make([]byte, receiveMTU+1),
		wpkts: make([][]byte, size),
		wto:   make([]netip.AddrPort, size),
		wbuf:  make([]byte, size*sendBufSize),
	}, nil
}

func (b *batchConn) read() (int, error) {
	for {
		n, from, err := b.conn.ReadFromUDPAddrPort(b.rbuf)
		if err != nil {
			return 0, err
		}
		if n > receiveMTU {
			b.dropped.Add(1)
			continue
		}
		b.rn, b.rfrom = n, netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		b.rat = time.Now().UnixNano() // no kernel stamp here: the wait in the socket is not seen
		return 1, nil
	}
}

func (b *batchConn) data(int) []byte         { return b.rbuf[:b.rn:receiveMTU] }
func (b *batchConn) from(int) netip.AddrPort { return b.rfrom }
func (b *batchConn) arrived(int) int64       { return b.rat }

func (b *batchConn) queue(pkt []byte, to netip.AddrPort) {
	if b.wn == len(b.wpkts) {
		b.sendQueued()
	}
	b.wpkts[b.wn], b.wto[b.wn] = pkt, to
	b.wn++
}

func (b *batchConn) sendQueued() {
	for i := range b.wn {
		_, err := b.conn.WriteToUDPAddrPort(b.wpkts[i], b.wto[i])
		if err == nil {
			b.wsent++
			continue
		}
		if b.werr == nil {
			b.werr = err
		}
		if errors.Is(err, net.ErrClosed) {
			break
		}
	}
	clear(b.wpkts[:b.wn]) // do not keep the caller's buffers alive
	b.wn = 0
}
