package signaling

import (
	"strings"
	"unicode/utf8"

	"careway/models"

	"github.com/pion/webrtc/v3"
)

// AdmittedData tells a participant it was admitted, with everyone it may now see.
type AdmittedData struct {
	Participants []ParticipantInfo `json:"participants"`
}

func newID() string { return models.NewID() }

// dispatch is the one type switch over client messages; true when the participant is gone.
// A refused message gets an error message and changes nothing.
func (p *participant) dispatch(env Envelope) bool {
	bad := func(err error) { p.sendError(ErrBadJSON, env.Type+": "+err.Error(), env.Type) }
	switch env.Type {
	case TypeJoin:
		p.sendError(ErrOutOfOrder, "already joined", env.Type)
	case TypeAnswer:
		var d SDPData
		if err := decodeData(env, &d); err != nil {
			bad(err)
			return false
		}
		if strings.TrimSpace(d.SDP) == "" {
			p.sendError(ErrInvalid, "sdp is required", env.Type)
			return false
		}
		p.onAnswer(d.SDP)
	case TypeCandidate:
		var c webrtc.ICECandidateInit
		if err := decodeData(env, &c); err != nil {
			bad(err)
			return false
		}
		if c.Candidate == "" {
			return false // end of candidates: nothing to do
		}
		p.onCandidate(c)
	case TypeRestartICE:
		if p.peer() == nil {
			p.sendError(ErrOutOfOrder, "no media session yet", env.Type)
			return false
		}
		p.negotiate(true)
	case TypeMute:
		var d MuteData
		if err := decodeData(env, &d); err != nil {
			bad(err)
			return false
		}
		switch d.Kind {
		case "audio":
			p.room.update(p, func() { p.audioMuted = d.Muted })
		case "video":
			p.room.update(p, func() { p.videoMuted = d.Muted })
		default:
			p.sendError(ErrInvalid, `kind must be "audio" or "video"`, env.Type)
		}
	case TypeAudioOnly:
		var d AudioOnlyData
		if err := decodeData(env, &d); err != nil {
			bad(err)
			return false
		}
		p.room.update(p, func() { p.audioOnly = d.Enabled })
		p.syncSubs(false)
	case TypeAdmit, TypeRemove:
		var d TargetData
		if err := decodeData(env, &d); err != nil {
			bad(err)
			return false
		}
		if p.who.Role != RoleClinician {
			p.sendError(ErrForbidden, "only a clinician may "+env.Type, env.Type)
			return false
		}
		var code string
		if env.Type == TypeAdmit {
			code = p.room.admit(p, d.ParticipantID)
		} else {
			code = p.room.remove(p, d.ParticipantID)
		}
		if code != "" {
			p.sendError(code, env.Type+": no such participant", env.Type)
		}
	case TypeMessage:
		var d MessageData
		if err := decodeData(env, &d); err != nil {
			bad(err)
			return false
		}
		p.message(d)
	case TypeEnd:
		if p.who.Role != RoleClinician {
			p.sendError(ErrForbidden, "only a clinician may end the call", env.Type)
			return false
		}
		if p.room.check {
			p.quit(LeftLeft, CloseNormal, nil)
			return true
		}
		// end waits for every participant's goroutine, this one included: run it elsewhere.
		h := p.room.hub
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			p.room.end(p)
		}()
	case TypeLeave:
		p.quit(LeftLeft, CloseNormal, nil)
		return true
	default:
		p.sendError(ErrUnknownType, "unknown message type", env.Type)
	}
	return false
}

// message delivers a clinician's text to one participant.
func (p *participant) message(d MessageData) {
	if p.who.Role != RoleClinician {
		p.sendError(ErrForbidden, "only a clinician may send messages", TypeMessage)
		return
	}
	text := strings.TrimSpace(d.Text)
	if text == "" || len(text) > p.room.hub.p.Limits.MaxTextBytes || !utf8.ValidString(text) {
		p.sendError(ErrInvalid, "text must be 1 to 2000 bytes of UTF-8", TypeMessage)
		return
	}
	r := p.room
	r.mu.Lock()
	to := r.members[d.To]
	r.mu.Unlock()
	if to == nil || to == p {
		p.sendError(ErrNotFound, "message: no such participant", TypeMessage)
		return
	}
	to.send(TypeMessage, MessageData{From: p.id, FromRole: p.who.Role, Text: text, SentAt: r.hub.p.Clock().UTC()})
}
