package signaling_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"careway/models"
	"careway/signaling"
	"careway/signaling/sigtest"

	"github.com/pion/rtcp"
)

// admitted joins a clinician and a patient (both publishing) and admits the patient.
func admittedPair(t *testing.T, h *testHub, call string) (doc, pat *sigtest.Client, docID, patID string) {
	t.Helper()
	return admittedPairOpts(t, h, call, sigtest.Options{Publish: true})
}

// admittedPairOpts is admittedPair with both clients made with opts.
func admittedPairOpts(t *testing.T, h *testHub, call string, opts sigtest.Options) (doc, pat *sigtest.Client, docID, patID string) {
	t.Helper()
	doc = h.join(models.CallID(call), clinician, opts)
	docID = doc.Joined().ParticipantID
	pat = h.join(models.CallID(call), patient, opts)
	patID = pat.Joined().ParticipantID
	doc.Send(signaling.TypeAdmit, signaling.TargetData{ParticipantID: patID})
	pat.Wait(signaling.TypeAdmitted, 5*time.Second)
	eventually(t, 10*time.Second, "media both ways", func() bool {
		return doc.Received(patID, "video") > 3 && pat.Received(docID, "video") > 3
	})
	return doc, pat, docID, patID
}

func TestThreePartyCallWithGuest(t *testing.T) {
	h := newTestHub(t)
	doc, pat, docID, patID := admittedPair(t, h, "call-3")
	g := h.join("call-3", guest, sigtest.Options{Publish: true})
	gj := g.Joined()
	if gj.Admitted || len(gj.Participants) != 1 {
		t.Fatalf("waiting guest joined = %+v; want not admitted, seeing only itself", gj)
	}
	// The patient must not learn of the waiting guest.
	doc.Wait(signaling.TypeParticipantJoined, 5*time.Second)
	doc.Send(signaling.TypeAdmit, signaling.TargetData{ParticipantID: gj.ParticipantID})
	ad := decode[signaling.AdmittedData](t, g, signaling.TypeAdmitted)
	if len(ad.Participants) != 3 {
		t.Fatalf("admitted guest sees %d participants, want 3", len(ad.Participants))
	}
	pj := decode[signaling.ParticipantEvent](t, pat, signaling.TypeParticipantJoined)
	if pj.Participant.ID != gj.ParticipantID {
		t.Fatalf("patient told of %s, want the guest %s", pj.Participant.ID, gj.ParticipantID)
	}
	clients := map[string]*sigtest.Client{docID: doc, patID: pat, gj.ParticipantID: g}
	eventually(t, 15*time.Second, "everyone receives everyone's audio and video", func() bool {
		for id, c := range clients {
			for from := range clients {
				if from != id && (c.Received(from, "audio") < 3 || c.Received(from, "video") < 3) {
					return false
				}
			}
		}
		return true
	})
}

func TestWaitingPatientReceivesNothingUntilAdmitted(t *testing.T) {
	h := newTestHub(t)
	doc := h.join("call-w", clinician, sigtest.Options{Publish: true})
	docID := doc.Joined().ParticipantID
	g := h.join("call-w", guest, sigtest.Options{Publish: true}) // admitted first, so media is flowing
	gID := g.Joined().ParticipantID
	doc.Send(signaling.TypeAdmit, signaling.TargetData{ParticipantID: gID})
	eventually(t, 10*time.Second, "clinician and guest media", func() bool { return g.Received(docID, "video") > 3 })

	pat := h.join("call-w", patient, sigtest.Options{Publish: true})
	pj := pat.Joined()
	if len(pj.Participants) != 1 || pj.Participants[0].ID != pj.ParticipantID {
		t.Fatalf("waiting patient's roster = %+v; want only itself", pj.Participants)
	}
	time.Sleep(1500 * time.Millisecond) // others are sending all this time
	if n := pat.ReceivedTotal(); n != 0 {
		t.Fatalf("waiting patient received %d RTP packets, want 0", n)
	}
	if doc.Received(pj.ParticipantID, "audio")+g.Received(pj.ParticipantID, "audio") != 0 {
		t.Fatal("a waiting patient's media reached someone")
	}
	if pat.Has(signaling.TypeOffer) || pat.Has(signaling.TypeParticipantJoined) || pat.Has(signaling.TypeQuality) {
		t.Fatalf("waiting patient got %v; want no offer and no one else's arrival", pat.Types())
	}
	if _, ok := g.WaitFor(signaling.TypeParticipantJoined, 100*time.Millisecond); ok {
		t.Fatal("admitted guest was told of the waiting patient")
	}
	if w := h.Waiting("call-w"); len(w) != 1 || w[0].ID != pj.ParticipantID {
		t.Fatalf("Waiting = %+v", w)
	}
	doc.Send(signaling.TypeAdmit, signaling.TargetData{ParticipantID: pj.ParticipantID})
	eventually(t, 10*time.Second, "admitted patient receives both", func() bool {
		return pat.Received(docID, "video") > 3 && pat.Received(gID, "audio") > 3 && g.Received(pj.ParticipantID, "video") > 3
	})
	if w := h.Waiting("call-w"); len(w) != 0 {
		t.Fatalf("Waiting after admit = %+v", w)
	}
}

func TestResumeKeepsPlaceAndRestoresMedia(t *testing.T) {
	h := newTestHub(t, func(p *signaling.Params) { p.Limits.ResumeGrace = 10 * time.Second })
	doc, pat, docID, patID := admittedPair(t, h, "call-r")
	pat.Drop()
	up := decode[signaling.ParticipantEvent](t, doc, signaling.TypeParticipantUpdated)
	for up.Participant.State != signaling.StateReconnecting {
		up = decode[signaling.ParticipantEvent](t, doc, signaling.TypeParticipantUpdated)
	}
	if up.Participant.ID != patID {
		t.Fatalf("reconnecting participant = %s, want %s", up.Participant.ID, patID)
	}
	h.resume(pat, "call-r", patient, patToken(t, pat))
	rj := pat.Joined()
	if !rj.Resumed || !rj.Admitted || rj.ParticipantID != patID {
		t.Fatalf("resumed joined = %+v; want resumed, admitted, same id", rj)
	}
	pat.Wait(signaling.TypeOffer, 5*time.Second) // the ICE restart offer
	before := pat.Received(docID, "video")
	beforeDoc := doc.Received(patID, "video")
	eventually(t, 10*time.Second, "media after resume", func() bool {
		return pat.Received(docID, "video") > before+10 && doc.Received(patID, "video") > beforeDoc+10
	})
	if w := h.Waiting("call-r"); len(w) != 0 {
		t.Fatalf("resumed patient is waiting again: %+v", w)
	}
}

// patToken returns the resume token from the client's first joined message.
func patToken(t *testing.T, c *sigtest.Client) string {
	t.Helper()
	return c.FirstJoined().ResumeToken
}

func TestGracePeriodRemovesParticipant(t *testing.T) {
	h := newTestHub(t, func(p *signaling.Params) { p.Limits.ResumeGrace = 500 * time.Millisecond })
	doc, pat, _, patID := admittedPair(t, h, "call-g")
	token := patToken(t, pat)
	pat.Drop()
	left := decode[signaling.LeftData](t, doc, signaling.TypeParticipantLeft)
	if left.ParticipantID != patID || left.Reason != signaling.LeftTimeout {
		t.Fatalf("left = %+v, want %s timeout", left, patID)
	}
	server, client := sigtest.Pipe()
	go func() { _ = h.Join(t.Context(), "call-g", patient, server) }()
	late := sigtest.New(t, client, sigtest.Options{ResumeToken: token})
	e := decode[signaling.ErrorData](t, late, signaling.TypeError)
	if e.Code != signaling.ErrResumeExpired {
		t.Fatalf("late resume error = %+v", e)
	}
	<-client.Closed()
	if got := client.CloseCode(); got != signaling.CloseResumeExpired {
		t.Fatalf("close code = %d, want %d", got, signaling.CloseResumeExpired)
	}
}

func TestResumeTokenIsBoundToThePerson(t *testing.T) {
	h := newTestHub(t)
	_, pat, _, _ := admittedPair(t, h, "call-b")
	token := patToken(t, pat)
	server, client := sigtest.Pipe()
	go func() { _ = h.Join(t.Context(), "call-b", guest, server) }()
	thief := sigtest.New(t, client, sigtest.Options{ResumeToken: token})
	if e := decode[signaling.ErrorData](t, thief, signaling.TypeError); e.Code != signaling.ErrResumeExpired {
		t.Fatalf("someone else's token: error = %+v", e)
	}
}

func TestPreCallCheckEchoesMedia(t *testing.T) {
	h := newTestHub(t)
	server, client := sigtest.Pipe()
	go func() { _ = h.Check(t.Context(), patient, server) }()
	c := sigtest.New(t, client, sigtest.Options{Publish: true})
	j := c.Joined()
	if !j.Check || !j.Admitted {
		t.Fatalf("check joined = %+v", j)
	}
	eventually(t, 10*time.Second, "own media echoed", func() bool {
		return c.Received(j.ParticipantID, "audio") > 10 && c.Received(j.ParticipantID, "video") > 10
	})
	var res signaling.CheckResultData
	eventually(t, 10*time.Second, "a check result with bitrate and RTT", func() bool {
		env, ok := c.WaitFor(signaling.TypeCheckResult, 2*time.Second)
		if !ok {
			return false
		}
		sigtest.Decode(t, env, &res)
		return res.UpKbps > 0 && res.DownKbps > 0 && res.RTTMs > 0 && res.AudioPackets > 0 && res.VideoPackets > 0
	})
	if res.UpLossPct != 0 {
		t.Errorf("loss on loopback = %v%%, want 0", res.UpLossPct)
	}
}

func TestICEOverTCP(t *testing.T) {
	h := newTestHub(t, func(p *signaling.Params) { p.Network.UDPPort, p.Network.TCPPort = -1, 0 })
	if h.TCPAddr() == nil {
		t.Fatal("no TCP listener")
	}
	doc := h.join("call-t", clinician, sigtest.Options{Publish: true, TCP: true})
	docID := doc.Joined().ParticipantID
	g := h.join("call-t", guest, sigtest.Options{Publish: true, TCP: true})
	gID := g.Joined().ParticipantID
	doc.Send(signaling.TypeAdmit, signaling.TargetData{ParticipantID: gID})
	eventually(t, 15*time.Second, "media over TCP", func() bool {
		return doc.Received(gID, "video") > 3 && g.Received(docID, "audio") > 3
	})
}

func TestResumeWithNewPeerConnection(t *testing.T) {
	h := newTestHub(t, func(p *signaling.Params) { p.Limits.ResumeGrace = 10 * time.Second })
	doc, pat, docID, patID := admittedPair(t, h, "call-np")
	token := patToken(t, pat)
	pat.Drop()
	server, client := sigtest.Pipe()
	go func() { _ = h.Join(t.Context(), "call-np", patient, server) }()
	pat.ResumeWithNewPeer(client, token)
	rj := pat.Joined()
	if !rj.Resumed || !rj.Admitted || rj.ParticipantID != patID {
		t.Fatalf("resumed joined = %+v", rj)
	}
	before, beforeDoc := pat.Received(docID, "video"), doc.Received(patID, "video")
	eventually(t, 10*time.Second, "media on the new peer connection", func() bool {
		return pat.Received(docID, "video") > before+10 && doc.Received(patID, "video") > beforeDoc+10
	})
}

func TestKeyframeRequestsReachThePublisherRateLimited(t *testing.T) {
	h := newTestHub(t, func(p *signaling.Params) { p.Limits.KeyframeEvery = 500 * time.Millisecond })
	doc, pat, _, patID := admittedPair(t, h, "call-pli")
	ssrc := doc.RemoteSSRC(patID, "video")
	if ssrc == 0 {
		t.Fatal("no video SSRC from the patient")
	}
	time.Sleep(700 * time.Millisecond) // past any keyframe request made at set-up
	before := pat.KeyframeRequests()
	for range 10 {
		if err := doc.PC.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 5*time.Second, "the PLI forwarded to the publisher", func() bool { return pat.KeyframeRequests() > before })
	time.Sleep(300 * time.Millisecond)
	// Written back to back, the ten reach the server within a few milliseconds, unless the
	// machine stalls the server for longer than the gap: then a second may pass.
	if got := pat.KeyframeRequests() - before; got < 1 || got > 2 {
		t.Fatalf("10 PLIs sent back to back reached the publisher as %d requests, want 1 (2 at most)", got)
	}
	time.Sleep(600 * time.Millisecond)
	n0 := pat.KeyframeRequests()
	if err := doc.PC.WriteRTCP([]rtcp.Packet{&rtcp.FullIntraRequest{FIR: []rtcp.FIREntry{{SSRC: ssrc}}}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "a FIR after the gap forwarded too", func() bool { return pat.KeyframeRequests() > n0 })
}

func TestPublicIPReplacesHostCandidates(t *testing.T) {
	h := newTestHub(t, func(p *signaling.Params) { p.Network.PublicIPs = []string{"203.0.113.7"} })
	doc := h.join("call-nat", clinician, sigtest.Options{NoAnswer: true})
	doc.Joined()
	offer := decode[signaling.SDPData](t, doc, signaling.TypeOffer)
	var cand map[string]any
	sigtest.Decode(t, doc.Wait(signaling.TypeCandidate, 5*time.Second), &cand)
	all := offer.SDP + fmt.Sprint(cand["candidate"])
	if !strings.Contains(all, "203.0.113.7") || strings.Contains(all, " 127.0.0.1 ") {
		t.Fatalf("candidate %v; want the public IP instead of 127.0.0.1", cand["candidate"])
	}
}

func TestSixParticipantsAllForwarded(t *testing.T) {
	if testing.Short() {
		t.Skip("six publishing peers")
	}
	h := newTestHub(t)
	doc := h.join("call-6", clinician, sigtest.Options{Publish: true})
	clients := map[string]*sigtest.Client{doc.Joined().ParticipantID: doc}
	for _, who := range []signaling.Identity{patient, guest, staff, {UserID: "g-2", Role: signaling.RoleGuest}, {UserID: "u-clin-2", Role: signaling.RoleClinician}} {
		c := h.join("call-6", who, sigtest.Options{Publish: true})
		id := c.Joined().ParticipantID
		clients[id] = c
		if who.Role != signaling.RoleClinician {
			doc.Send(signaling.TypeAdmit, signaling.TargetData{ParticipantID: id})
			c.Wait(signaling.TypeAdmitted, 5*time.Second)
		}
	}
	eventually(t, 30*time.Second, "each of six receives the other five's audio and video", func() bool {
		for id, c := range clients {
			for from := range clients {
				if from != id && (c.Received(from, "audio") < 3 || c.Received(from, "video") < 3) {
					return false
				}
			}
		}
		return true
	})
	// A seventh is turned away.
	server, client := sigtest.Pipe()
	go func() {
		_ = h.Join(t.Context(), "call-6", signaling.Identity{UserID: "g-3", Role: signaling.RoleGuest}, server)
	}()
	c7 := sigtest.New(t, client, sigtest.Options{})
	if e := decode[signaling.ErrorData](t, c7, signaling.TypeError); e.Code != signaling.ErrRoomFull {
		t.Fatalf("seventh: %+v", e)
	}
}

// A participant who comes back on a new peer connection again and again (a phone that keeps
// losing its network) publishes new tracks each time; the others' offers reuse the media
// sections of the tracks that ended instead of growing by two each time.
func TestRejoinsReuseMediaSections(t *testing.T) {
	h := newTestHub(t, func(p *signaling.Params) { p.Limits.ResumeGrace = 10 * time.Second })
	doc, pat, _, patID := admittedPair(t, h, "call-reuse")
	token := patToken(t, pat)
	for i := range 4 {
		pat.Drop()
		server, client := sigtest.Pipe()
		go func() { _ = h.Join(t.Context(), "call-reuse", patient, server) }()
		pat.ResumeWithNewPeer(client, token)
		if rj := pat.Joined(); !rj.Resumed || rj.ParticipantID != patID {
			t.Fatalf("rejoin %d: joined = %+v", i, rj)
		}
		ssrc := doc.RemoteSSRC(patID, "video")
		n := doc.Received(patID, "video")
		eventually(t, 15*time.Second, fmt.Sprintf("rejoin %d: the patient's new video reaches the clinician", i), func() bool {
			return doc.RemoteSSRC(patID, "video") != ssrc && doc.Received(patID, "video") > n+10
		})
	}
	eventually(t, 10*time.Second, "the clinician's last offer", func() bool {
		rd := doc.PC.RemoteDescription()
		return rd != nil && strings.Count(rd.SDP, "\r\nm=") <= 4
	})
}
