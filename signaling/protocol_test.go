package signaling_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"careway/signaling"
	"careway/signaling/sigtest"
)

// errorFor waits for the next error message and checks its code and the type it refers to.
func errorFor(t *testing.T, c *sigtest.Client, code, forType string) {
	t.Helper()
	e := decode[signaling.ErrorData](t, c, signaling.TypeError)
	if e.Code != code || e.For != forType {
		t.Fatalf("error = %+v, want code %q for %q", e, code, forType)
	}
}

func TestMuteAndUnmute(t *testing.T) {
	h := newTestHub(t)
	doc, pat, _, patID := admittedPair(t, h, "call-m")
	for _, step := range []struct {
		kind  string
		muted bool
	}{{"audio", true}, {"video", true}, {"audio", false}, {"video", false}} {
		pat.Send(signaling.TypeMute, signaling.MuteData{Kind: step.kind, Muted: step.muted})
		var got signaling.ParticipantInfo
		eventually(t, 5*time.Second, "mute event", func() bool {
			env, ok := doc.WaitFor(signaling.TypeParticipantUpdated, time.Second)
			if !ok {
				return false
			}
			var ev signaling.ParticipantEvent
			sigtest.Decode(t, env, &ev)
			got = ev.Participant
			m := got.AudioMuted
			if step.kind == "video" {
				m = got.VideoMuted
			}
			return got.ID == patID && m == step.muted
		})
	}
	pat.Send(signaling.TypeMute, signaling.MuteData{Kind: "screen", Muted: true})
	errorFor(t, pat, signaling.ErrInvalid, signaling.TypeMute)
}

func TestAudioOnlyStopsVideoToThatParticipant(t *testing.T) {
	h := newTestHub(t)
	doc, pat, docID, patID := admittedPair(t, h, "call-a")
	pat.Send(signaling.TypeAudioOnly, signaling.AudioOnlyData{Enabled: true})
	eventually(t, 5*time.Second, "audio-only shown to the clinician", func() bool {
		env, ok := doc.WaitFor(signaling.TypeParticipantUpdated, time.Second)
		var ev signaling.ParticipantEvent
		if ok {
			sigtest.Decode(t, env, &ev)
		}
		return ev.Participant.ID == patID && ev.Participant.AudioOnly
	})
	pat.Wait(signaling.TypeOffer, 5*time.Second) // the renegotiation dropping the video track
	time.Sleep(300 * time.Millisecond)
	v, a := pat.Received(docID, "video"), pat.Received(docID, "audio")
	time.Sleep(time.Second)
	if got := pat.Received(docID, "video"); got != v {
		t.Fatalf("audio-only patient still receives video: %d → %d packets", v, got)
	}
	if pat.Received(docID, "audio") < a+10 {
		t.Fatal("audio-only patient stopped receiving audio")
	}
	if doc.Received(patID, "video") == 0 {
		t.Fatal("the clinician should still get the patient's video")
	}
	pat.Send(signaling.TypeAudioOnly, signaling.AudioOnlyData{Enabled: false})
	eventually(t, 10*time.Second, "video back", func() bool { return pat.Received(docID, "video") > v+10 })
}

func TestClinicianMessagesWaitingPatient(t *testing.T) {
	h := newTestHub(t)
	doc := h.join("call-msg", clinician, sigtest.Options{})
	docID := doc.Joined().ParticipantID
	pat := h.join("call-msg", patient, sigtest.Options{})
	patID := pat.Joined().ParticipantID
	doc.Send(signaling.TypeMessage, signaling.MessageData{To: patID, Text: "Running 10 minutes late"})
	m := decode[signaling.MessageData](t, pat, signaling.TypeMessage)
	if m.From != docID || m.FromRole != signaling.RoleClinician || m.Text != "Running 10 minutes late" || m.SentAt.IsZero() {
		t.Fatalf("message = %+v", m)
	}
	pat.Send(signaling.TypeMessage, signaling.MessageData{To: docID, Text: "ok"})
	errorFor(t, pat, signaling.ErrForbidden, signaling.TypeMessage)
	doc.Send(signaling.TypeMessage, signaling.MessageData{To: patID, Text: "  "})
	errorFor(t, doc, signaling.ErrInvalid, signaling.TypeMessage)
	doc.Send(signaling.TypeMessage, signaling.MessageData{To: patID, Text: strings.Repeat("x", 2001)})
	errorFor(t, doc, signaling.ErrInvalid, signaling.TypeMessage)
	doc.Send(signaling.TypeMessage, signaling.MessageData{To: "nobody", Text: "hi"})
	errorFor(t, doc, signaling.ErrNotFound, signaling.TypeMessage)
}

func TestRemove(t *testing.T) {
	h := newTestHub(t)
	doc := h.join("call-rm", clinician, sigtest.Options{})
	doc.Joined()
	pat := h.join("call-rm", patient, sigtest.Options{})
	patID := pat.Joined().ParticipantID
	g := h.join("call-rm", guest, sigtest.Options{})
	gID := g.Joined().ParticipantID

	// A patient may not remove anyone: nothing happens.
	pat.Send(signaling.TypeRemove, signaling.TargetData{ParticipantID: gID})
	errorFor(t, pat, signaling.ErrForbidden, signaling.TypeRemove)
	if len(h.Waiting("call-rm")) != 2 {
		t.Fatal("a patient's remove took effect")
	}
	doc.Send(signaling.TypeRemove, signaling.TargetData{ParticipantID: "nobody"})
	errorFor(t, doc, signaling.ErrNotFound, signaling.TypeRemove)

	doc.Send(signaling.TypeRemove, signaling.TargetData{ParticipantID: patID})
	pat.Wait(signaling.TypeRemoved, 5*time.Second)
	left := decode[signaling.LeftData](t, doc, signaling.TypeParticipantLeft)
	if left.ParticipantID != patID || left.Reason != signaling.LeftRemoved {
		t.Fatalf("left = %+v", left)
	}
	if w := h.Waiting("call-rm"); len(w) != 1 || w[0].ID != gID {
		t.Fatalf("waiting after remove = %+v", w)
	}
}

func TestEndByClinicianOnly(t *testing.T) {
	h := newTestHub(t)
	doc, pat, _, _ := admittedPair(t, h, "call-e")
	pat.Send(signaling.TypeEnd, nil)
	errorFor(t, pat, signaling.ErrForbidden, signaling.TypeEnd)
	pat.Send(signaling.TypeAdmit, signaling.TargetData{ParticipantID: "x"})
	errorFor(t, pat, signaling.ErrForbidden, signaling.TypeAdmit)
	time.Sleep(1600 * time.Millisecond) // a few quality samples for the summary
	doc.Send(signaling.TypeEnd, nil)
	docEnded := decode[signaling.EndedData](t, pat, signaling.TypeEnded)
	if docEnded.By == "" {
		t.Fatal("ended without who")
	}
	doc.Wait(signaling.TypeEnded, 5*time.Second)
	select {
	case call := <-h.done:
		if call != "call-e" {
			t.Fatalf("closed %s", call)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnClose not called")
	}
	h.mu.Lock()
	s := h.closed["call-e"]
	h.mu.Unlock()
	if s.EndedBy != clinician.UserID || len(s.Participants) != 2 {
		t.Fatalf("summary = %+v", s)
	}
	for _, p := range s.Participants {
		if p.LeftReason != signaling.LeftEnded || !p.Admitted || p.Quality.Samples == 0 || p.Quality.AvgUpKbps <= 0 {
			t.Errorf("participant summary = %+v", p)
		}
	}
	if got, _ := json.Marshal(s); !strings.Contains(string(got), `"avgUpKbps"`) {
		t.Errorf("summary JSON = %s", got)
	}
}

func TestLeaveTellsOthers(t *testing.T) {
	h := newTestHub(t)
	doc, pat, _, patID := admittedPair(t, h, "call-l")
	pat.Send(signaling.TypeLeave, nil)
	left := decode[signaling.LeftData](t, doc, signaling.TypeParticipantLeft)
	if left.ParticipantID != patID || left.Reason != signaling.LeftLeft {
		t.Fatalf("left = %+v", left)
	}
	doc.Send(signaling.TypeLeave, nil)
	select {
	case <-h.done: // the room closed once empty
	case <-time.After(5 * time.Second):
		t.Fatal("empty room not closed")
	}
}

func TestQualityPushedToClinicians(t *testing.T) {
	h := newTestHub(t)
	doc, pat, _, patID := admittedPair(t, h, "call-q")
	qualityUntil(t, doc, "quality for the patient with bitrate", func(p signaling.Quality) bool {
		return p.ParticipantID == patID && p.UpKbps > 0 && p.DownKbps > 0 && p.RTTMs > 0
	}, 1)
	// The patient gets its own figures only.
	for range 3 {
		q := decode[signaling.QualityData](t, pat, signaling.TypeQuality)
		if len(q.Participants) != 1 || q.Participants[0].ParticipantID != patID {
			t.Fatalf("patient's quality = %+v; want only its own", q)
		}
	}
}

func TestRestartICEMakesNewOffer(t *testing.T) {
	h := newTestHub(t)
	_, pat, docID, _ := admittedPair(t, h, "call-ice")
	before := pat.LastAnswer()
	pat.Send(signaling.TypeRestartICE, nil)
	offer := decode[signaling.SDPData](t, pat, signaling.TypeOffer)
	for offer.SDP == "" {
		offer = decode[signaling.SDPData](t, pat, signaling.TypeOffer)
	}
	eventually(t, 5*time.Second, "new ICE credentials", func() bool {
		return iceUfrag(pat.LastAnswer()) != iceUfrag(before)
	})
	n := pat.Received(docID, "video")
	eventually(t, 10*time.Second, "media after restart", func() bool { return pat.Received(docID, "video") > n+10 })
}

func iceUfrag(sdp string) string {
	for _, l := range strings.Split(sdp, "\r\n") {
		if strings.HasPrefix(l, "a=ice-ufrag:") {
			return l
		}
	}
	return ""
}

func TestBadInput(t *testing.T) {
	h := newTestHub(t)
	doc := h.join("call-bad", clinician, sigtest.Options{NoJoin: true, NoAnswer: true})
	// Before join, anything else is out of order.
	doc.Send(signaling.TypeAnswer, signaling.SDPData{SDP: "v=0"})
	errorFor(t, doc, signaling.ErrOutOfOrder, signaling.TypeAnswer)
	doc.SendRaw([]byte(`{"type":"join","data":{"resumeToken":5}}`))
	errorFor(t, doc, signaling.ErrBadJSON, signaling.TypeJoin)
	doc.Send(signaling.TypeJoin, signaling.JoinData{})
	doc.Joined()
	offer := doc.Wait(signaling.TypeOffer, 5*time.Second)

	cases := []struct {
		name    string
		msg     []byte
		code    string
		forType string
	}{
		{"not JSON", []byte("{{{"), signaling.ErrBadJSON, ""},
		{"no type", []byte(`{"data":{}}`), signaling.ErrBadJSON, ""},
		{"array", []byte(`[1,2]`), signaling.ErrBadJSON, ""},
		{"unknown type", []byte(`{"type":"launch"}`), signaling.ErrUnknownType, "launch"},
		{"unknown field", []byte(`{"type":"mute","data":{"kind":"audio","muted":true,"all":true}}`), signaling.ErrBadJSON, "mute"},
		{"wrong type of field", []byte(`{"type":"admit","data":{"participantId":{"$ne":null}}}`), signaling.ErrBadJSON, "admit"},
		{"oversized", []byte(`{"type":"message","data":{"to":"x","text":"` + strings.Repeat("a", 70<<10) + `"}}`), signaling.ErrTooLarge, ""},
		{"join twice", []byte(`{"type":"join"}`), signaling.ErrOutOfOrder, "join"},
		{"empty answer", []byte(`{"type":"answer","data":{"sdp":""}}`), signaling.ErrInvalid, "answer"},
		{"SDP garbage", []byte(`{"type":"answer","data":{"sdp":"v=0\r\nthis is not sdp\r\n"}}`), signaling.ErrBadSDP, "answer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc.SendRaw(c.msg)
			errorFor(t, doc, c.code, c.forType)
		})
	}
	// An ICE restart asked for while the first offer is unanswered waits for the answer: never
	// two offers in flight.
	doc.Send(signaling.TypeRestartICE, nil)
	if _, ok := doc.WaitFor(signaling.TypeOffer, 300*time.Millisecond); ok {
		t.Fatal("two offers in flight")
	}
	doc.Answer(offer)
	second := doc.Wait(signaling.TypeOffer, 5*time.Second)
	doc.Answer(second)
	if err := doc.Connected(10 * time.Second); err != nil {
		t.Fatalf("after all the bad input: %v", err)
	}
	// A candidate that is not one.
	doc.SendRaw([]byte(`{"type":"candidate","data":{"candidate":"candidate:garbage"}}`))
	errorFor(t, doc, signaling.ErrBadCandidate, signaling.TypeCandidate)
}

func mustEnvelope(t *testing.T, typ string, data json.RawMessage) []byte {
	t.Helper()
	b, err := json.Marshal(signaling.Envelope{Type: typ, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAnswerWithoutOfferIsOutOfOrder(t *testing.T) {
	h := newTestHub(t)
	doc := h.join("call-ooo", clinician, sigtest.Options{})
	doc.Joined()
	doc.Wait(signaling.TypeOffer, 5*time.Second)
	eventually(t, 5*time.Second, "the client's answer", func() bool { return doc.LastAnswer() != "" })
	time.Sleep(300 * time.Millisecond) // the client's answer lands
	doc.Send(signaling.TypeAnswer, signaling.SDPData{SDP: doc.LastAnswer()})
	errorFor(t, doc, signaling.ErrOutOfOrder, signaling.TypeAnswer)
	// A waiting patient has no media session: candidates and restarts are out of order.
	pat := h.join("call-ooo", patient, sigtest.Options{})
	pat.Joined()
	pat.Send(signaling.TypeCandidate, map[string]any{"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host"})
	errorFor(t, pat, signaling.ErrOutOfOrder, signaling.TypeCandidate)
	pat.Send(signaling.TypeRestartICE, nil)
	errorFor(t, pat, signaling.ErrOutOfOrder, signaling.TypeRestartICE)
}

func TestRateLimit(t *testing.T) {
	h := newTestHub(t, func(p *signaling.Params) { p.Limits.MessagesPerSec, p.Limits.MessageBurst = 5, 10 })
	doc := h.join("call-rl", clinician, sigtest.Options{})
	doc.Joined()
	for range 40 {
		doc.Send(signaling.TypeMute, signaling.MuteData{Kind: "audio", Muted: true})
	}
	e := decode[signaling.ErrorData](t, doc, signaling.TypeError)
	if e.Code != signaling.ErrRateLimited {
		t.Fatalf("error = %+v", e)
	}
}

func TestRoomFull(t *testing.T) {
	h := newTestHub(t, func(p *signaling.Params) { p.Limits.MaxParticipants = 2 })
	h.join("call-f", clinician, sigtest.Options{}).Joined()
	h.join("call-f", patient, sigtest.Options{}).Joined()
	server, client := sigtest.Pipe()
	go func() { _ = h.Join(t.Context(), "call-f", guest, server) }()
	c := sigtest.New(t, client, sigtest.Options{})
	if e := decode[signaling.ErrorData](t, c, signaling.TypeError); e.Code != signaling.ErrRoomFull {
		t.Fatalf("error = %+v", e)
	}
	<-client.Closed()
	if client.CloseCode() != signaling.CloseRoomFull {
		t.Fatalf("close code = %d", client.CloseCode())
	}
}

func TestSlowSignalingClientIsDisconnectedAlone(t *testing.T) {
	h := newTestHub(t, func(p *signaling.Params) {
		p.Limits.MessagesPerSec, p.Limits.MessageBurst, p.Limits.SendQueue = 1e6, 1e6, 8
	})
	doc := h.join("call-slow", clinician, sigtest.Options{})
	doc.Joined()
	// A second clinician that never reads its socket.
	server, client := sigtest.Pipe()
	go func() {
		_ = h.Join(t.Context(), "call-slow", signaling.Identity{UserID: "u-2", Role: signaling.RoleClinician}, server)
	}()
	_ = client.WriteMessage([]byte(`{"type":"join"}`))
	time.Sleep(200 * time.Millisecond)
	for i := range 1500 {
		doc.Send(signaling.TypeMute, signaling.MuteData{Kind: "audio", Muted: i%2 == 0})
	}
	select {
	case <-client.Closed():
	case <-time.After(10 * time.Second):
		t.Fatal("slow client not disconnected")
	}
	if client.CloseCode() != signaling.ClosePolicy {
		t.Fatalf("close code = %d, want %d", client.CloseCode(), signaling.ClosePolicy)
	}
	doc.Send(signaling.TypeMute, signaling.MuteData{Kind: "video", Muted: true})
	doc.Wait(signaling.TypeParticipantUpdated, 5*time.Second)
}

func TestShutdownClosesSocketsGoingAway(t *testing.T) {
	h := newTestHub(t)
	server, client := sigtest.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = h.Join(t.Context(), "call-s", clinician, server)
	}()
	c := sigtest.New(t, client, sigtest.Options{Publish: true})
	c.Joined()
	if err := c.Connected(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	<-done
	if client.CloseCode() != signaling.CloseGoingAway {
		t.Fatalf("close code = %d, want 1001", client.CloseCode())
	}
	// A join after Close is turned away.
	s2, c2 := sigtest.Pipe()
	go func() { _ = h.Join(t.Context(), "call-s2", clinician, s2) }()
	_ = c2.WriteMessage([]byte(`{"type":"join"}`))
	<-c2.Closed()
	if c2.CloseCode() != signaling.CloseGoingAway {
		t.Fatalf("join after close: code %d", c2.CloseCode())
	}
}

func TestTURNCredentials(t *testing.T) {
	user, cred := signaling.TURNCredentials("s3cret", "alice", time.Unix(1700000000, 0))
	// echo -n "1700000000:alice" | openssl dgst -sha1 -hmac "s3cret" -binary | base64
	if user != "1700000000:alice" || cred != "TtElzSjT0GdnTQ9xdcRNxx96yQs=" {
		t.Fatalf("got %q %q", user, cred)
	}
	n := signaling.Network{STUNURLs: []string{"stun:stun.example.org"}, TURNURLs: []string{"turn:turn.example.org?transport=udp"}, TURNSecret: "s3cret", TURNTTL: time.Hour}
	servers := n.ICEServers("p1", time.Unix(1700000000, 0))
	if len(servers) != 2 || servers[1].Username != "1700003600:p1" || servers[1].Credential == "" {
		t.Fatalf("servers = %+v", servers)
	}
	if _, err := signaling.NewHub(signaling.Params{Network: signaling.Network{TURNURLs: []string{"turn:x"}}}); err == nil {
		t.Fatal("TURN without a secret accepted")
	}
}

func TestRepeatedRenegotiationKeepsMediaFlowing(t *testing.T) {
	h := newTestHub(t)
	_, pat, docID, _ := admittedPair(t, h, "call-toggle")
	for i := range 6 {
		pat.Send(signaling.TypeAudioOnly, signaling.AudioOnlyData{Enabled: i%2 == 0})
		pat.Wait(signaling.TypeOffer, 5*time.Second)
	}
	n := pat.Received(docID, "video")
	eventually(t, 10*time.Second, "video after six renegotiations", func() bool { return pat.Received(docID, "video") > n+10 })
	// A switch back reuses the video m-section an earlier switch emptied once the client has
	// answered that removal; switches faster than the answers add sections, never more than
	// one each (TestRejoinsReuseMediaSections checks the reuse itself).
	if got := strings.Count(pat.PC.RemoteDescription().SDP, "m=video"); got > 5 {
		t.Fatalf("video m-sections after six switches: %d, want at most 5", got)
	}
}
