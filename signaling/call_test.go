package signaling_test

import (
	"testing"
	"time"

	"careway/signaling"
	"careway/signaling/sigtest"
)

func TestTwoPartyCall(t *testing.T) {
	h := newTestHub(t)
	doc := h.join("call-1", clinician, sigtest.Options{Publish: true})
	dj := doc.Joined()
	if !dj.Admitted || dj.Role != signaling.RoleClinician || dj.ResumeToken == "" {
		t.Fatalf("clinician joined = %+v", dj)
	}
	pat := h.join("call-1", patient, sigtest.Options{Publish: true})
	pj := pat.Joined()
	if pj.Admitted {
		t.Fatalf("patient admitted on join")
	}
	w := decode[signaling.ParticipantEvent](t, doc, signaling.TypeParticipantJoined)
	if w.Participant.ID != pj.ParticipantID || w.Participant.Admitted {
		t.Fatalf("clinician saw %+v, want waiting %s", w.Participant, pj.ParticipantID)
	}
	doc.Send(signaling.TypeAdmit, signaling.TargetData{ParticipantID: pj.ParticipantID})
	pat.Wait(signaling.TypeAdmitted, 5*time.Second)
	eventually(t, 10*time.Second, "media both ways", func() bool {
		return doc.Received(pj.ParticipantID, "audio") > 5 && doc.Received(pj.ParticipantID, "video") > 5 &&
			pat.Received(dj.ParticipantID, "audio") > 5 && pat.Received(dj.ParticipantID, "video") > 5
	})
}
