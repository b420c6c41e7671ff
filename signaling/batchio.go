package signaling

import "fmt"

// What batched UDP I/O does the same on every system; batchio_linux.go and batchio_other.go
// hold the reading and sending, each with the fields used here (wbuf, wn, wsent, werr) and
// sendQueued.

// maxBatch is the most datagrams per call: the most the Linux kernel takes in one (UIO_MAXIOV).
const maxBatch = 1024

// sendBufSize is the room of each queued datagram's own buffer (sendBuf): the largest RTP packet
// the fast path forwards, with room for SRTP's tag as in fastPeer.sealed.
const sendBufSize = maxPacket + srtpOverhead

func checkBatchSize(size int) error {
	if size < 1 || size > maxBatch {
		return fmt.Errorf("signaling: batch of %d datagrams, want 1..%d", size, maxBatch)
	}
	return nil
}

// sendBuf is the next queued datagram's own buffer, empty with room for sendBufSize bytes, for a
// caller that builds the datagram in place and then queues it (as a cipher's seal destination):
// unlike a buffer of the caller's it cannot be overwritten by the next packet to the same peer
// before flush. Queue the datagram before the next queue or sendBuf, which may flush and hand
// the buffer out again. When the queue is full it flushes first.
func (b *batchConn) sendBuf() []byte {
	if b.wn == len(b.wbuf)/sendBufSize {
		b.sendQueued()
	}
	off := b.wn * sendBufSize
	return b.wbuf[off:off:(off + sendBufSize)]
}

// flush sends every queued datagram (on Linux a few per sendmmsg). It returns how many were sent
// since flush last returned (counting those sent by a full queue) and the first error since then.
func (b *batchConn) flush() (int, error) {
	b.sendQueued()
	n, err := b.wsent, b.werr
	b.wsent, b.werr = 0, nil
	return n, err
}
