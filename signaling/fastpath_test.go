package signaling_test

import (
	"testing"
	"time"

	"careway/signaling"
	"careway/signaling/sigtest"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"
)

// The fast path carries a call on the UDP mux: after each track's first packets (which pion's
// pipeline delivers until the track is published) every packet goes the fast way.
func TestFastPathForwards(t *testing.T) {
	h := newTestHub(t)
	doc, pat, docID, patID := admittedPair(t, h, "call-fast")
	eventually(t, 15*time.Second, "200 video packets each way", func() bool {
		return doc.Received(patID, "video") > 200 && pat.Received(docID, "video") > 200
	})
	fast, pion := h.ForwardedPackets()
	if fast == 0 || fast < 10*pion {
		t.Fatalf("forwarded %d packets by the fast path and %d through pion; want nearly all fast", fast, pion)
	}
	if doc.Received(patID, "audio") == 0 || pat.Received(docID, "audio") == 0 {
		t.Fatal("no audio")
	}
	// Every fast packet's time in the server is counted; on an idle loopback nearly all take
	// well under a second (a generous bound, not a timing target).
	d := h.ForwardDelay()
	var counted uint64
	for _, c := range d.Counts {
		counted += c
	}
	if counted == 0 || counted < fast/2 || d.Quantile(0.5) > time.Second {
		t.Fatalf("forward delay histogram: %d packets counted of %d fast, median %v", counted, fast, d.Quantile(0.5))
	}
}

// Tracks whose sequence numbers wrap after their first packet still reach the other party by
// the fast path. pion decrypts a track's first packets until the track is published, so the
// fast path's SRTP context meets the stream one rollover counter ahead of where it would start
// (before 672fec4 it dropped every packet of such a track: one participant in thousands got no
// video). Nothing is rejected on the way.
func TestTrackWrappingAtStartIsForwarded(t *testing.T) {
	h := newTestHub(t)
	doc, pat, docID, patID := admittedPairOpts(t, h, "call-wrap", sigtest.Options{Publish: true, WrapAtStart: true})
	eventually(t, 15*time.Second, "100 video packets each way", func() bool {
		return doc.Received(patID, "video") > 100 && pat.Received(docID, "video") > 100 &&
			doc.Received(patID, "audio") > 100 && pat.Received(docID, "audio") > 100
	})
	if fast, pion := h.ForwardedPackets(); fast < 10*pion {
		t.Fatalf("forwarded %d packets by the fast path and %d through pion; want nearly all fast", fast, pion)
	}
	if r := h.RejectedPackets(); r != 0 {
		t.Fatalf("%d packets did not decrypt", r)
	}
}

// A participant whose network stops passing UDP in mid-call comes back over ICE-TCP (resume,
// ICE restart), and its media stays with the fast path, whose SRTP contexts have counted every
// packet (pion's would be many rollovers behind once a stream has wrapped); when UDP passes
// again it goes back to the mux. Only the few packets that arrive between ICE selecting the TCP
// pair and the participant's goroutine moving it go through pion's pipeline; nothing fails to
// decrypt.
func TestMovingFromTheMuxToTCPStaysOnTheFastPath(t *testing.T) {
	h := newTestHub(t, func(p *signaling.Params) {
		p.Network.TCPPort = 0
		p.Limits.ResumeGrace = 10 * time.Second
	})
	opts := sigtest.Options{Publish: true, UDPAndTCP: true, WrapAtStart: true}
	doc, pat, docID, patID := admittedPairOpts(t, h, "call-move", opts)
	eventually(t, 10*time.Second, "media on the UDP mux", func() bool {
		return doc.Received(patID, "video") > 30 && pat.Received(docID, "video") > 30
	})
	if pair, err := pat.PC.SCTP().Transport().ICETransport().GetSelectedCandidatePair(); err != nil || pair.Local.Protocol != webrtc.ICEProtocolUDP {
		t.Fatalf("the call did not start on UDP: %v %v", pair, err)
	}
	_, pionBefore := h.ForwardedPackets()

	pat.BlockUDP()
	pat.Drop()
	h.resume(pat, "call-move", patient, patToken(t, pat))
	pat.Wait(signaling.TypeOffer, 5*time.Second) // the ICE restart
	eventually(t, 20*time.Second, "the patient's pair on TCP", func() bool {
		pair, err := pat.PC.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
		return err == nil && pair != nil && pair.Local.Protocol == webrtc.ICEProtocolTCP
	})
	before, beforeDoc := pat.Received(docID, "video"), doc.Received(patID, "video")
	eventually(t, 20*time.Second, "media both ways over TCP", func() bool {
		return pat.Received(docID, "video") > before+200 && doc.Received(patID, "video") > beforeDoc+200 &&
			pat.Received(docID, "audio") > 0 && doc.Received(patID, "audio") > 0
	})
	if _, pion := h.ForwardedPackets(); pion-pionBefore > 50 {
		t.Errorf("%d packets went through pion after the move to TCP, want only the few of the switch", pion-pionBefore)
	}

	// And back to the mux when UDP passes again.
	pat.UnblockUDP()
	pat.Drop()
	h.resume(pat, "call-move", patient, patToken(t, pat))
	pat.Wait(signaling.TypeOffer, 5*time.Second)
	eventually(t, 20*time.Second, "the patient's pair on UDP again", func() bool {
		pair, err := pat.PC.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
		return err == nil && pair != nil && pair.Local.Protocol == webrtc.ICEProtocolUDP
	})
	_, pionBefore = h.ForwardedPackets()
	before, beforeDoc = pat.Received(docID, "video"), doc.Received(patID, "video")
	eventually(t, 20*time.Second, "media both ways on the mux again", func() bool {
		return pat.Received(docID, "video") > before+100 && doc.Received(patID, "video") > beforeDoc+100
	})
	if _, pion := h.ForwardedPackets(); pion != pionBefore {
		t.Errorf("%d packets went through pion back on the mux, want none", pion-pionBefore)
	}
	if r := h.RejectedPackets(); r != 0 {
		t.Errorf("%d packets did not decrypt", r)
	}
}

// Over ICE-TCP (no UDP mux) media takes pion's pipeline, and still arrives.
func TestPionPathOverTCP(t *testing.T) {
	h := newTestHub(t, func(p *signaling.Params) { p.Network.UDPPort, p.Network.TCPPort = -1, 0 })
	doc, pat, docID, patID := admittedPairOpts(t, h, "call-slow", sigtest.Options{Publish: true, TCP: true})
	eventually(t, 15*time.Second, "video both ways", func() bool {
		return doc.Received(patID, "video") > 50 && pat.Received(docID, "video") > 50
	})
	if fast, pion := h.ForwardedPackets(); fast != 0 || pion == 0 {
		t.Fatalf("forwarded %d fast and %d through pion; want all through pion", fast, pion)
	}
}

// A subscriber's NACK for a recent packet is answered from the server's ring: the packet
// arrives again. A NACK for a packet the server no longer holds goes to the publisher.
func TestNackAnsweredFromRingOrPassedToPublisher(t *testing.T) {
	for _, tc := range []struct {
		name string
		tcp  bool
	}{{"fast path", false}, {"through pion", true}} {
		t.Run(tc.name, func(t *testing.T) {
			tweak := func(*signaling.Params) {}
			if tc.tcp {
				tweak = func(p *signaling.Params) { p.Network.UDPPort, p.Network.TCPPort = -1, 0 }
			}
			h := newTestHub(t, tweak)
			doc, pat, _, patID := admittedPairOpts(t, h, "call-nack", sigtest.Options{Publish: true, TCP: tc.tcp})
			ssrc := doc.RemoteSSRC(patID, "video")
			seq, ok := doc.LastSeq(patID, "video")
			if ssrc == 0 || !ok {
				t.Fatal("no video from the patient yet")
			}
			dups := doc.Duplicates(patID, "video")
			if err := doc.PC.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{seq})}}); err != nil {
				t.Fatal(err)
			}
			eventually(t, 5*time.Second, "the NACKed packet sent again", func() bool { return doc.Duplicates(patID, "video") > dups })

			nacks := pat.Nacks()
			old := seq - 1000 // long gone from the ring
			if err := doc.PC.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers([]uint16{old})}}); err != nil {
				t.Fatal(err)
			}
			eventually(t, 5*time.Second, "the NACK passed to the publisher", func() bool { return pat.Nacks() > nacks })
		})
	}
}

// Each publisher's sender reports reach the subscribers as their own SSRC (for lip sync), and
// the server answers them with reception reports (the publisher's RTT); the quality figures
// carry the subscriber's RTT timed from the reports passed on.
func TestSenderReportsPassedOnAndAnswered(t *testing.T) {
	h := newTestHub(t)
	doc, pat, docID, patID := admittedPair(t, h, "call-sr")
	eventually(t, 15*time.Second, "sender reports both ways and answers", func() bool {
		return doc.SenderReports(patID, "video") > 0 && doc.SenderReports(patID, "audio") > 0 &&
			pat.SenderReports(docID, "video") > 0 && pat.ReportsWithLSR() > 0 && doc.ReportsWithLSR() > 0
	})
	qualityUntil(t, doc, "a quality report with both participants' RTT", func(p signaling.Quality) bool {
		return (p.ParticipantID == patID || p.ParticipantID == docID) && p.RTTMs > 0 && p.RTTMs < 1000
	}, 2)
}

// A network change (here an ICE restart that gathers new sockets, so the patient's address
// changes): the fast path follows the peer to its new address, both ways.
func TestNetworkChangeFollowedByFastPath(t *testing.T) {
	h := newTestHub(t)
	doc, pat, docID, patID := admittedPair(t, h, "call-move")
	localPort := func() uint16 {
		pair, err := pat.PC.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
		if err != nil || pair == nil {
			return 0
		}
		return pair.Local.Port
	}
	before := localPort()
	pat.Send(signaling.TypeRestartICE, nil)
	eventually(t, 15*time.Second, "the patient on a new address", func() bool {
		p := localPort()
		return p != 0 && p != before
	})
	fast0, pion0 := h.ForwardedPackets()
	n, m := pat.Received(docID, "video"), doc.Received(patID, "video")
	eventually(t, 15*time.Second, "media both ways from the new address", func() bool {
		return pat.Received(docID, "video") > n+50 && doc.Received(patID, "video") > m+50
	})
	fast, pion := h.ForwardedPackets()
	if fast-fast0 < 100 || pion-pion0 > (fast-fast0)/10 {
		t.Fatalf("after the move: %d packets fast, %d through pion; want nearly all fast", fast-fast0, pion-pion0)
	}
}
