//go:build linux

package signaling

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Batched UDP I/O for the fast path. A bare relay's cost per packet is system calls and
// goroutine wake-ups, not copying (PERFORMANCE.md). recvmmsg takes every datagram already waiting
// on the socket in one call, and sendmmsg sends what one read batch produced in one call, so a
// batch shares one call's cost, and one wake-up's when packets come faster than the reader wakes.
//
// The kernel reads and writes the headers, names and buffers below behind Go's back: they are
// allocated once in newBatchConn and held by the batchConn, and the system calls run inside the
// RawConn callbacks, so the socket cannot be closed and its descriptor reused under them.

// batchConn reads and writes several datagrams per system call on one UDP socket, without
// allocating after newBatchConn.
//
// The read side (read, data, from) is one goroutine's and the write side (sendBuf, queue,
// flush) one goroutine's, which may be another: they share only the socket, whose reads and
// writes Go's poller locks separately. Others may still use the conn itself (pion writes on it).
type batchConn struct {
	raw   syscall.RawConn
	inet6 bool // AF_INET6 socket (dual-stack or v6-only): names are sockaddr_in6, IPv4 v4-mapped

	// Read side. rmsgs[i] points at rnames[i] and riov[i], which points at rbuf's i-th slice.
	rmsgs   []unix.Mmsghdr
	riov    []unix.Iovec
	rnames  []unix.RawSockaddrInet6 // room for either family's name
	rbuf    []byte
	rdata   [][]byte // the last read's datagrams, truncated ones left out
	rfrom   []netip.AddrPort
	rctl    []byte        // each message's control data: the kernel's receive timestamp
	rat     []int64       // the last read's receive times, Unix nanoseconds (0: not stamped)
	rgot    int           // datagrams the last recvmmsg returned
	rerrno  syscall.Errno // its error
	readFn  func(fd uintptr) bool
	dropped atomic.Uint64 // datagrams dropped for being larger than receiveMTU

	// Write side. wmsgs[i] points at wnames[i] and wiov[i], which points at the queued datagram.
	wmsgs   []unix.Mmsghdr
	wiov    []unix.Iovec
	wnames  []unix.RawSockaddrInet6
	wbuf    []byte // sendBuf's buffers, sendBufSize each
	wn      int    // datagrams queued
	wdone   int    // of which sent or given up on
	wsent   int    // datagrams sent since flush last returned
	werr    error  // the first error since flush last returned
	werrno  syscall.Errno
	retried bool // the datagram at wdone has failed once already
	writeFn func(fd uintptr) bool
}

// newBatchConn prepares batched I/O on c for up to size datagrams per call (1..1024). It reads
// the socket's family once; c stays the caller's to close.
func newBatchConn(c *net.UDPConn, size int) (*batchConn, error) {
	if err := checkBatchSize(size); err != nil {
		return nil, err
	}
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var sa unix.Sockaddr
	var serr error
	if err := raw.Control(func(fd uintptr) { sa, serr = unix.Getsockname(int(fd)) }); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, os.NewSyscallError("getsockname", serr)
	}
	b := &batchConn{raw: raw}
	switch sa.(type) {
	case *unix.SockaddrInet4:
	case *unix.SockaddrInet6:
		b.inet6 = true
	default:
		return nil, fmt.Errorf("signaling: batched I/O on a %T socket", sa)
	}

	b.rmsgs = make([]unix.Mmsghdr, size)
	b.riov = make([]unix.Iovec, size)
	b.rnames = make([]unix.RawSockaddrInet6, size)
	b.rbuf = make([]byte, size*receiveMTU)
	b.rdata = make([][]byte, size)
	b.rfrom = make([]netip.AddrPort, size)
	b.rctl = make([]byte, size*stampSpace)
	b.rat = make([]int64, size)
	// The kernel stamps each datagram as it arrives (SO_TIMESTAMPNS), so the time a packet waits
	// in the socket's buffer for the reader counts in the delay the server adds. Best effort: no
	// stamp reads as 0. The kernel turns stamping on a moment after the first socket asks, and
	// stamps the datagrams that arrived before then as they are read.
	_ = raw.Control(func(fd uintptr) { _ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1) })
	for i := range b.rmsgs {
		b.riov[i].Base = &b.rbuf[i*receiveMTU]
		b.riov[i].SetLen(receiveMTU)
		h := &b.rmsgs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&b.rnames[i]))
		h.Iov = &b.riov[i]
		h.SetIovlen(1)
		h.Control = &b.rctl[i*stampSpace]
	}

	b.wmsgs = make([]unix.Mmsghdr, size)
	b.wiov = make([]unix.Iovec, size)
	b.wnames = make([]unix.RawSockaddrInet6, size)
	b.wbuf = make([]byte, size*sendBufSize)
	for i := range b.wmsgs {
		h := &b.wmsgs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&b.wnames[i]))
		h.Iov = &b.wiov[i]
		h.SetIovlen(1)
	}

	// Method values made once: made per call they would be allocated per call.
	b.readFn = b.recv
	b.writeFn = b.send
	return b, nil
}

// read waits in Go's poller until at least one datagram is waiting, then takes up to size of
// them without waiting for more. It returns how many (1..size); datagram i is data(i) from
// from(i), valid until the next read. A datagram longer than receiveMTU is dropped and counted
// (dropped): cut short it is no valid packet of any protocol on the port.
//
// Errors: one that errors.Is net.ErrClosed once the conn is closed (also when closed during the
// wait), which ends the caller's loop; os.ErrDeadlineExceeded past a read deadline; anything else
// (ECONNREFUSED: an ICMP report about an earlier datagram) is transient: read again.
func (b *batchConn) read() (int, error) {
	for {
		if err := b.raw.Read(b.readFn); err != nil {
			return 0, err
		}
		if b.rerrno != 0 {
			return 0, os.NewSyscallError("recvmmsg", b.rerrno)
		}
		n := 0
		for i := range b.rgot {
			m := &b.rmsgs[i]
			if m.Hdr.Flags&unix.MSG_TRUNC != 0 {
				b.dropped.Add(1)
				continue
			}
			off := i * receiveMTU
			b.rdata[n] = b.rbuf[off : off+int(m.Len) : off+receiveMTU]
			b.rfrom[n] = sockaddrToAddrPort(&b.rnames[i])
			b.rat[n] = b.stamp(i)
			n++
		}
		if n > 0 {
			return n, nil
		}
		// Every datagram was too long: wait for the next.
	}
}

// stampSpace is the room for one control message holding a struct timespec.
var stampSpace = unix.CmsgSpace(int(unsafe.Sizeof(unix.Timespec{})))

// stamp reads message i's receive timestamp, the first control message if it is one.
func (b *batchConn) stamp(i int) int64 {
	m := &b.rmsgs[i].Hdr
	if m.Controllen < uint64(unix.CmsgLen(int(unsafe.Sizeof(unix.Timespec{})))) {
		return 0
	}
	c := (*unix.Cmsghdr)(unsafe.Pointer(&b.rctl[i*stampSpace]))
	if c.Level != unix.SOL_SOCKET || c.Type != unix.SCM_TIMESTAMPNS {
		return 0
	}
	return (*unix.Timespec)(unsafe.Pointer(&b.rctl[i*stampSpace+unix.CmsgLen(0)])).Nano()
}

// arrived is when the kernel received the i-th datagram of the last read, in Unix nanoseconds
// (the wall clock, as time.Now), or 0 if it was not stamped.
func (b *batchConn) arrived(i int) int64 { return b.rat[i] }

// data is the i-th datagram of the last read. Its capacity ends at its own buffer.
func (b *batchConn) data(i int) []byte { return b.rdata[i] }

// from is the sender of the i-th datagram of the last read, IPv4 unmapped. A link-local IPv6
// sender's zone is its interface index ("2"), where net would give its name ("eth0").
func (b *batchConn) from(i int) netip.AddrPort { return b.rfrom[i] }

// recv is the read callback: false (the socket is empty) makes the poller wait.
func (b *batchConn) recv(fd uintptr) bool {
	for i := range b.rmsgs {
		b.rmsgs[i].Hdr.Namelen = unix.SizeofSockaddrInet6 // the kernel overwrites these two
		b.rmsgs[i].Hdr.SetControllen(stampSpace)
	}
	for {
		n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.rmsgs[0])),
			uintptr(len(b.rmsgs)), unix.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
			b.rgot, b.rerrno = int(n), 0
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			b.rgot, b.rerrno = 0, errno
			return true
		}
	}
}

// queue adds one datagram to send to to. pkt is not copied and must stay unchanged until the
// datagrams are sent: the next flush, or a queue or sendBuf that finds the queue full and flushes
// first. A destination the socket cannot reach (an IPv6 address on an IPv4 socket, an unknown
// zone) is not queued and its error is returned by flush.
func (b *batchConn) queue(pkt []byte, to netip.AddrPort) {
	if b.wn == len(b.wmsgs) {
		b.sendQueued()
	}
	h := &b.wmsgs[b.wn].Hdr
	n, err := b.putSockaddr(&b.wnames[b.wn], to)
	if err != nil {
		b.fail(err)
		return
	}
	h.Namelen = n
	iov := &b.wiov[b.wn]
	iov.Base = nil
	if len(pkt) > 0 {
		iov.Base = &pkt[0]
	}
	iov.SetLen(len(pkt))
	b.wn++
}

// sendQueued sends every queued datagram, a few per sendmmsg, waiting in Go's poller while the
// socket buffer is full.
//
// A datagram the kernel refuses is tried once more, since the error may be a pending ICMP report
// about an earlier datagram (the kernel clears it as it returns it), then skipped: EMSGSIZE, a
// destination with no route. Once the conn is closed nothing more is sent and the error
// errors.Is net.ErrClosed.
func (b *batchConn) sendQueued() {
	for b.wdone < b.wn {
		b.werrno = 0
		if err := b.raw.Write(b.writeFn); err != nil {
			b.fail(err) // closed, or past a write deadline: the rest is dropped
			break
		}
		if b.werrno == 0 {
			continue
		}
		if !b.retried {
			b.retried = true
			continue
		}
		b.fail(os.NewSyscallError("sendmmsg", b.werrno))
		b.wdone++
		b.retried = false
	}
	clear(b.wiov[:b.wn]) // do not keep the caller's buffers alive
	b.wn, b.wdone, b.retried = 0, 0, false
}

// send is the write callback: false (the socket buffer is full) makes the poller wait. It stops
// at an error, which sendmmsg reports only for the first datagram it is given.
func (b *batchConn) send(fd uintptr) bool {
	for b.wdone < b.wn {
		n, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.wmsgs[b.wdone])),
			uintptr(b.wn-b.wdone), unix.MSG_DONTWAIT, 0, 0)
		switch {
		case errno == unix.EINTR:
		case errno == unix.EAGAIN:
			return false
		case errno != 0:
			b.werrno = errno
			return true
		case n == 0: // not seen from Linux; a loop that could never end is worse than an error
			b.werrno = unix.EIO
			return true
		default:
			b.wdone += int(n)
			b.wsent += int(n)
			b.retried = false
		}
	}
	return true
}

func (b *batchConn) fail(err error) {
	if b.werr == nil {
		b.werr = err
	}
}

// putSockaddr writes to's socket address into sa in the socket's family and returns its length.
func (b *batchConn) putSockaddr(sa *unix.RawSockaddrInet6, to netip.AddrPort) (uint32, error) {
	ip := to.Addr()
	if !b.inet6 {
		if !ip.Unmap().Is4() {
			return 0, &net.AddrError{Err: "not an IPv4 address on an IPv4 socket", Addr: to.String()}
		}
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		*sa4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: ip.Unmap().As4()}
		putPort(&sa4.Port, to.Port())
		return unix.SizeofSockaddrInet4, nil
	}
	if !ip.IsValid() {
		return 0, &net.AddrError{Err: "no address", Addr: to.String()}
	}
	*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: ip.As16()} // IPv4 comes out v4-mapped
	putPort(&sa.Port, to.Port())
	if z := ip.Zone(); z != "" {
		idx, err := zoneIndex(z)
		if err != nil {
			return 0, err
		}
		sa.Scope_id = idx
	}
	return unix.SizeofSockaddrInet6, nil
}

// zoneIndex is the interface index of a zone: read gives it as a number; a name is looked up
// (allocating: link-local peers are rare).
func zoneIndex(zone string) (uint32, error) {
	if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
		return uint32(n), nil
	}
	ifi, err := net.InterfaceByName(zone)
	if err != nil {
		return 0, err
	}
	return uint32(ifi.Index), nil
}

// sockaddrToAddrPort reads a name the kernel wrote, of either family.
func sockaddrToAddrPort(sa *unix.RawSockaddrInet6) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), getPort(&sa4.Port))
	case unix.AF_INET6:
		ip := netip.AddrFrom16(sa.Addr)
		if ip.Is4In6() {
			ip = ip.Unmap()
		} else if sa.Scope_id != 0 {
			ip = ip.WithZone(strconv.FormatUint(uint64(sa.Scope_id), 10))
		}
		return netip.AddrPortFrom(ip, getPort(&sa.Port))
	}
	return netip.AddrPort{}
}

// A socket address holds its port in network byte order whatever the machine's.
func getPort(p *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(p))
	return uint16(b[0])<<8 | uint16(b[1])
}

func putPort(p *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(p))
	b[0], b[1] = byte(port>>8), byte(port)
}
