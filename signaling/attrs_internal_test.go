package signaling

import (
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

func TestReuseAttrsGivesEachPacketItsHeaderWithoutAllocating(t *testing.T) {
	var next []byte
	src := interceptor.RTPReaderFunc(func(b []byte, _ interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(b, next), nil, nil
	})
	i, _ := reuseAttrs{}.NewInterceptor("")
	r := i.BindRemoteStream(&interceptor.StreamInfo{}, src)
	buf := make([]byte, 1500)
	for seq := uint16(65530); seq != 5; seq++ {
		next, _ = (&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, SSRC: 7}, Payload: []byte{1, 2, 3}}).Marshal()
		n, attrs, err := r.Read(buf, nil)
		if err != nil || n != len(next) {
			t.Fatalf("Read = %d, %v", n, err)
		}
		h, err := attrs.GetRTPHeader(buf[:n])
		if err != nil || h.SequenceNumber != seq || h.SSRC != 7 {
			t.Fatalf("header = %+v, %v; want seq %d", h, err, seq)
		}
	}
	if allocs := testing.AllocsPerRun(100, func() {
		n, attrs, _ := r.Read(buf, nil)
		_, _ = attrs.GetRTPHeader(buf[:n])
	}); allocs != 0 {
		t.Fatalf("%v allocations per packet, want 0", allocs)
	}
}

func TestSendQueueDropsWhenFullAndNeverBlocks(t *testing.T) {
	q := &sendQueue{slots: make([]slot, 4), wake: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{})}
	d := &downTrack{}
	for range 10 { // no writer running: the queue fills, then drops
		q.push(d, []byte("0123456789ab"))
	}
	if got := q.dropped.Load(); got != 6 {
		t.Fatalf("dropped %d, want 6", got)
	}
	if allocs := testing.AllocsPerRun(100, func() { q.push(d, []byte("0123456789ab")) }); allocs != 0 {
		t.Fatalf("push allocates %v", allocs)
	}
}
