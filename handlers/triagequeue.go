package handlers

import (
	"encoding/base64"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"careway/auth"
	"careway/models"
	"careway/models/clinical"
)

// queueItem is one request in a practice's queue: the request, whose patient it is, the
// priority it stands at after waiting (clinical.QueuePriority) and how long it has waited.
type queueItem struct {
	*models.TriageRequest
	PatientName     string                `json:"patientName"`
	QueuePriority   models.TriagePriority `json:"queuePriority"`
	RaisedByWaiting bool                  `json:"raisedByWaiting"`
	WaitingSeconds  int64                 `json:"waitingSeconds"`
}

// waitingRoom is an open call of the practice with people waiting to be admitted now.
type waitingRoom struct {
	CallID          models.CallID          `json:"callId"`
	PatientID       models.PatientID       `json:"patientId"`
	TriageRequestID models.TriageRequestID `json:"triageRequestId,omitempty"`
	AppointmentID   models.AppointmentID   `json:"appointmentId,omitempty"`
	Waiting         []waitingPerson        `json:"waiting"`
}

// waitingPerson is someone in a waiting room: their participant id (for admit), role and name.
type waitingPerson struct {
	ParticipantID string `json:"participantId"`
	Role          string `json:"role"`
	Name          string `json:"name"`
}

type queueAnswer struct {
	list[queueItem]
	WaitingRooms []waitingRoom `json:"waitingRooms"`
}

// queueScan bounds how many open requests one queue read considers. A practice's open queue is
// tens to hundreds; beyond this the oldest are still listed first by the store.
const queueScan = 1000

// handleTriageQueue lists a practice's open requests (clinicians of that practice): by the
// priority each stands at after waiting, then longest waiting first; and the practice's calls
// with someone in the waiting room now. Each patient listed is an audited access.
func (s *server) handleTriageQueue(c *fiber.Ctx) error {
	page, err := pageOf(c)
	if err != nil {
		return err
	}
	practice := models.PracticeID(c.Params("practiceId"))
	if err := s.refusalAudited(c, "triage.queue", "", string(practice), auth.CanWorkTriageQueue(actorOf(c), practice)); err != nil {
		return err
	}
	ctx, now := c.UserContext(), s.now().UTC()
	open, err := s.triage.TriageQueue(ctx, practice, queueScan)
	if err != nil {
		return err
	}
	items := make([]queueItem, 0, len(open))
	for _, r := range open {
		waited := now.Sub(r.CreatedAt)
		if waited < 0 {
			waited = 0
		}
		qp, raised := clinical.QueuePriority(r.Priority, waited)
		items = append(items, queueItem{TriageRequest: r, QueuePriority: qp, RaisedByWaiting: raised,
			WaitingSeconds: int64(waited / time.Second)})
	}
	sort.SliceStable(items, func(i, j int) bool { return queueLess(items[i], items[j]) })

	start := 0
	if page.Cursor != "" {
		after, ok := parseQueueCursor(page.Cursor)
		if !ok {
			return fieldError("cursor", "is not a cursor this server issued")
		}
		start = sort.Search(len(items), func(i int) bool { return queueLess(after, items[i]) })
	}
	end := min(start+page.Limit, len(items))
	shown := make([]queueItem, 0, end-start)
	a := actorOf(c)
	for _, it := range items[start:end] {
		p, err := s.patients.PatientByID(ctx, it.PatientID)
		if err != nil {
			return err
		}
		if auth.Can(a, auth.ActReadTriage, p, now) != nil {
			continue // the patient has left the practice since
		}
		if err := s.record(c, "triage.queue", p.ID, string(it.ID), models.OutcomeSuccess, ""); err != nil {
			return err
		}
		it.PatientName = p.Name
		shown = append(shown, it)
	}
	next := ""
	if end < len(items) {
		next = queueCursor(items[end-1])
	}
	rooms, err := s.waitingRooms(c, practice)
	if err != nil {
		return err
	}
	return c.JSON(queueAnswer{list: newList(shown, next), WaitingRooms: rooms})
}

// queueLess orders the queue: higher queue priority first, then the longest waiting, then id.
func queueLess(a, b queueItem) bool {
	if ra, rb := a.QueuePriority.Rank(), b.QueuePriority.Rank(); ra != rb {
		return ra < rb
	}
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.Before(b.CreatedAt)
	}
	return a.ID < b.ID
}

// A queue cursor is the sort key of the last item shown: "rank:createdAt ms:id", base64url.
func queueCursor(it queueItem) string {
	key := strconv.Itoa(it.QueuePriority.Rank()) + ":" + strconv.FormatInt(it.CreatedAt.UnixMilli(), 10) + ":" + string(it.ID)
	return base64.RawURLEncoding.EncodeToString([]byte(key))
}

func parseQueueCursor(s string) (queueItem, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return queueItem{}, false
	}
	parts := strings.SplitN(string(b), ":", 3)
	if len(parts) != 3 {
		return queueItem{}, false
	}
	rank, err1 := strconv.Atoi(parts[0])
	ms, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil || rank < 0 || rank > 3 || !models.IsUUID(parts[2]) {
		return queueItem{}, false
	}
	prio := []models.TriagePriority{models.PriorityEmergency, models.PriorityUrgent, models.PrioritySoon, models.PriorityRoutine}[rank]
	return queueItem{TriageRequest: &models.TriageRequest{ID: models.TriageRequestID(parts[2]), CreatedAt: time.UnixMilli(ms).UTC()},
		QueuePriority: prio}, true
}

// waitingRooms lists the practice's open calls that have someone waiting to be admitted now,
// as the media server knows it. Each patient shown is an audited access.
func (s *server) waitingRooms(c *fiber.Ctx, practice models.PracticeID) ([]waitingRoom, error) {
	rooms := []waitingRoom{}
	if s.media == nil {
		return rooms, nil
	}
	calls, err := s.calls.ListOpenCalls(c.UserContext(), practice, 200)
	if err != nil {
		return nil, err
	}
	for _, call := range calls {
		waiting := s.media.Waiting(call.ID)
		if len(waiting) == 0 {
			continue
		}
		room := waitingRoom{CallID: call.ID, PatientID: call.PatientID, TriageRequestID: call.TriageRequestID,
			AppointmentID: call.AppointmentID, Waiting: make([]waitingPerson, 0, len(waiting))}
		for _, w := range waiting {
			room.Waiting = append(room.Waiting, waitingPerson{ParticipantID: w.ID, Role: string(w.Role), Name: w.Name})
		}
		if err := s.record(c, "call.waiting", call.PatientID, string(call.ID), models.OutcomeSuccess, ""); err != nil {
			return nil, err
		}
		rooms = append(rooms, room)
	}
	return rooms, nil
}
