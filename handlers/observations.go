package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"

	"careway/auth"
	"careway/models"
)

// readingResult is the answer for one reading of an upload.
type readingResult struct {
	Index       int                 `json:"index"`
	ID          string              `json:"id,omitempty"`
	Status      int                 `json:"status"` // 201 stored, 200 stored before (a retry), 400 rejected, 409 id taken
	Observation *models.Observation `json:"observation,omitempty"`
	AlertID     models.AlertID      `json:"alertId,omitempty"`
	Errors      []models.FieldError `json:"errors,omitempty"`
}

// batchResponse answers an upload of {observations:[…]}.
type batchResponse struct {
	Items    []readingResult `json:"items"`
	Created  int             `json:"created"`
	Existing int             `json:"existing"`
	Rejected int             `json:"rejected"`
}

// handleObservationCreate stores one reading, or a batch of up to 500 sent as
// {observations:[…]}, each interpreted at once. A batch answers per item, and a bad item never
// costs the good ones. The client's UUID makes a retry return what was stored the first time.
func (s *server) handleObservationCreate(c *fiber.Ctx) error {
	raws, batch, err := decodeUpload(c)
	if err != nil {
		return err
	}
	// Each reading is decoded before anything else, as every body is; a batch keeps a bad
	// reading's error for its own answer, a single reading fails at once.
	ins := make([]*readingInput, len(raws))
	decodeErrs := make([]error, len(raws))
	for i, raw := range raws {
		ins[i], decodeErrs[i] = decodeReading(raw)
		if !batch && decodeErrs[i] != nil {
			return decodeErrs[i]
		}
	}
	p, err := s.patientFor(c, auth.ActWriteObservation)
	if err != nil {
		return err
	}
	results, err := s.storeReadings(c, p, ins, decodeErrs, batch)
	if err != nil {
		return err
	}
	if err := s.record(c, "observation.create", p.ID, "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	if !batch {
		r := results[0]
		switch r.Status {
		case fiber.StatusCreated, fiber.StatusOK:
			return c.Status(r.Status).JSON(r.Observation)
		case fiber.StatusConflict:
			return &models.Error{Code: models.ECONFLICT, Message: r.Errors[0].Message, Fields: r.Errors}
		}
		return &models.Error{Code: models.EINVALID, Message: r.Errors[0].Field + ": " + r.Errors[0].Message, Fields: r.Errors}
	}
	resp := batchResponse{Items: results}
	for _, r := range results {
		switch r.Status {
		case fiber.StatusCreated:
			resp.Created++
		case fiber.StatusOK:
			resp.Existing++
		default:
			resp.Rejected++
		}
	}
	return c.JSON(resp)
}

// decodeUpload splits the body into its readings, still raw: a batch {observations:[…]} or one
// reading. Each reading is decoded on its own later, so that one malformed reading is that
// reading's problem only.
func decodeUpload(c *fiber.Ctx) (raws []json.RawMessage, batch bool, err error) {
	ct := strings.ToLower(c.Get(fiber.HeaderContentType))
	if ct != "" && !strings.HasPrefix(ct, fiber.MIMEApplicationJSON) {
		return nil, false, fiber.NewError(fiber.StatusUnsupportedMediaType, "Send the body as application/json.")
	}
	body := bytes.TrimSpace(c.Body())
	if len(body) == 0 {
		return nil, false, fieldError("", "a JSON body is required")
	}
	if body[0] != '{' {
		return nil, false, fieldError("", "the body must be one reading or {\"observations\": [...]}")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, false, jsonError(err)
	}
	list, ok := top["observations"]
	if !ok {
		return []json.RawMessage{body}, false, nil
	}
	for k := range top {
		if k != "observations" {
			return nil, true, fieldError(k, "is not a field of a batch; send {\"observations\": [...]} only")
		}
	}
	if err := json.Unmarshal(list, &raws); err != nil || raws == nil {
		return nil, true, fieldError("observations", "must be an array of readings")
	}
	switch {
	case len(raws) == 0:
		return nil, true, fieldError("observations", "must hold at least one reading")
	case len(raws) > maxBatch:
		return nil, true, fieldError("observations", "holds "+strconv.Itoa(len(raws))+" readings; send at most 500 per request")
	}
	return raws, true, nil
}

// storeReadings checks, interprets, stores and escalates the readings of one upload and
// answers for each.
func (s *server) storeReadings(c *fiber.Ctx, p *models.Patient, ins []*readingInput, decodeErrs []error, batch bool) ([]readingResult, error) {
	ctx, now := c.UserContext(), s.now().UTC()
	a := actorOf(c)
	rc := &readingContext{patient: p, now: now, actor: a.UserID, role: a.Role}
	results := make([]readingResult, len(ins))
	obs := make([]*models.Observation, len(ins))
	prefix := func(i int) string {
		if batch {
			return "observations[" + strconv.Itoa(i) + "]"
		}
		return ""
	}
	reject := func(i, status int, err error) {
		results[i].Status = status
		if batch {
			results[i].Errors = prefixed(err, prefix(i))
		} else {
			results[i].Errors = fieldsOf(err)
		}
	}
	firstOf := make(map[models.ObservationID]int, len(ins))
	needHeight := false
	for i, in := range ins {
		results[i].Index = i
		err := decodeErrs[i]
		if err == nil {
			results[i].ID = utils.CopyString(in.ID)
			obs[i], err = parseReading(in, rc)
		}
		if err != nil {
			reject(i, fiber.StatusBadRequest, err)
			continue
		}
		if j, dup := firstOf[obs[i].ID]; dup {
			reject(i, fiber.StatusConflict, fieldError("id", "repeats the id of "+orSelf(prefix(j), "another reading")+" in this upload"))
			obs[i] = nil
			continue
		}
		firstOf[obs[i].ID] = i
		needHeight = needHeight || obs[i].Code == models.CodeBodyWeight
	}

	ic, err := s.interpretationFor(ctx, p, now, obs, needHeight)
	if err != nil {
		return nil, err
	}
	var valid []*models.Observation
	var at []int
	for i, o := range obs {
		if o == nil {
			continue
		}
		if err := interpret(o, ic); err != nil {
			reject(i, fiber.StatusBadRequest, err)
			obs[i] = nil
			continue
		}
		valid = append(valid, o)
		at = append(at, i)
	}
	perItem, err := s.observations.InsertObservations(ctx, valid)
	if err != nil {
		return nil, err
	}
	var dupIDs []models.ObservationID
	var fresh []int
	for k, e := range perItem {
		i := at[k]
		switch models.ErrorCode(e) {
		case "":
			results[i].Status, results[i].Observation = fiber.StatusCreated, obs[i]
			fresh = append(fresh, i)
		case models.ECONFLICT:
			dupIDs = append(dupIDs, obs[i].ID)
		default:
			return nil, e
		}
	}
	var retried []int
	if len(dupIDs) > 0 {
		stored, err := s.observations.ObservationsByID(ctx, dupIDs)
		if err != nil {
			return nil, err
		}
		for k, e := range perItem {
			i := at[k]
			if models.ErrorCode(e) != models.ECONFLICT {
				continue
			}
			prev := stored[obs[i].ID]
			if prev != nil && prev.PatientID == p.ID && prev.Fingerprint == obs[i].Fingerprint {
				results[i].Status, results[i].Observation = fiber.StatusOK, prev
				retried = append(retried, i)
				continue
			}
			reject(i, fiber.StatusConflict, fieldError("id", "is already used by a different reading; a retry must send the same reading, a new reading needs a new id"))
		}
	}
	if err := s.escalateReadings(ctx, p, results, fresh, retried); err != nil {
		return nil, err
	}
	return results, nil
}

func orSelf(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

// interpretationFor gathers what interpreting a patient's readings needs: age, plan thresholds
// and, when weights are among them, the latest height (stored or in this upload).
func (s *server) interpretationFor(ctx context.Context, p *models.Patient, now time.Time, obs []*models.Observation, needHeight bool) (*interpretation, error) {
	plans, err := s.plans.ListPlans(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	ic := &interpretation{th: gatherThresholds(plans)}
	ic.age, ic.hasAge = p.Age(now)
	if !needHeight {
		return ic, nil
	}
	var latest time.Time
	h, err := s.observations.LatestObservation(ctx, p.ID, models.CodeBodyHeight, time.Time{})
	switch models.ErrorCode(err) {
	case "":
		ic.heightCM, latest = *h.Value, h.EffectiveAt
	case models.ENOTFOUND:
	default:
		return nil, err
	}
	for _, o := range obs {
		if o != nil && o.Code == models.CodeBodyHeight && o.EffectiveAt.After(latest) {
			ic.heightCM, latest = *o.Value, o.EffectiveAt
		}
	}
	return ic, nil
}

// handleObservationList lists a patient's readings, newest first (?order=asc for oldest
// first), by ?code=, ?from= and ?to= (RFC 3339; from inclusive, to exclusive), paged.
// Readings entered in error are left out unless ?includeEnteredInError=true.
func (s *server) handleObservationList(c *fiber.Ctx) error {
	f, err := observationFilter(c)
	if err != nil {
		return err
	}
	page, err := pageOf(c)
	if err != nil {
		return err
	}
	p, err := s.patientFor(c, auth.ActReadClinical)
	if err != nil {
		return err
	}
	f.PatientID = p.ID
	items, next, err := s.observations.ListObservations(c.UserContext(), f, page)
	if err != nil {
		return err
	}
	if err := s.record(c, "observation.read", p.ID, "", models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(newList(items, next))
}

// observationFilter reads the query of a reading list.
func observationFilter(c *fiber.Ctx) (models.ObservationFilter, error) {
	var f models.ObservationFilter
	var p models.Problems
	if code := c.Query("code"); code != "" {
		f.Code = models.ObservationCode(utils.CopyString(code))
		if !f.Code.Valid() {
			p.Add("code", "is not a reading code; use one of "+codeList())
		}
	}
	for _, q := range []struct {
		name string
		t    *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := c.Query(q.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				p.Add(q.name, "must be an RFC 3339 time such as 2026-03-01T09:30:00Z")
			}
			*q.t = t.UTC()
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		p.Add("to", "must be after from")
	}
	switch c.Query("order") {
	case "", "desc":
	case "asc":
		f.Ascending = true
	default:
		p.Add("order", "must be asc or desc")
	}
	switch c.Query("includeEnteredInError") {
	case "", "false":
	case "true":
		f.IncludeEnteredInError = true
	default:
		p.Add("includeEnteredInError", "must be true or false")
	}
	return f, p.Err()
}

// handleObservationGet returns one reading of a patient, also one entered in error.
func (s *server) handleObservationGet(c *fiber.Ctx) error {
	p, err := s.patientFor(c, auth.ActReadClinical)
	if err != nil {
		return err
	}
	o, err := s.observations.ObservationByID(c.UserContext(), p.ID, observationParam(c))
	if err != nil {
		return err
	}
	if err := s.record(c, "observation.read", p.ID, string(o.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(o)
}

func observationParam(c *fiber.Ctx) models.ObservationID {
	return models.ObservationID(strings.ToLower(utils.CopyString(c.Params("observationId"))))
}

type correctionRequest struct {
	Reason string `json:"reason"`
}

// handleObservationEnteredInError marks a reading entered in error: who, when and why are
// recorded, the reading stays (flagged), and it leaves trends and alerts.
func (s *server) handleObservationEnteredInError(c *fiber.Ctx) error {
	var req correctionRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	reason, err := requiredText("reason", req.Reason, 500, "say why the reading is wrong")
	if err != nil {
		return err
	}
	p, err := s.patientFor(c, auth.ActWriteObservation)
	if err != nil {
		return err
	}
	ctx, now, by := c.UserContext(), s.now().UTC(), actorOf(c).UserID
	o, err := s.observations.MarkEnteredInError(ctx, p.ID, observationParam(c), models.Correction{Reason: reason, By: by, At: now})
	if err != nil {
		return err
	}
	if _, err := s.alerts.DetachObservation(ctx, p.ID, o.ID, by, now); err != nil {
		return err
	}
	if err := s.record(c, "observation.correct", p.ID, string(o.ID), models.OutcomeSuccess, ""); err != nil {
		return err
	}
	return c.JSON(o)
}

// sortByTime orders indexes of readings by effectiveAt, so alerts see readings in the order
// they were taken.
func sortByTime(idx []int, results []readingResult) {
	sort.SliceStable(idx, func(a, b int) bool {
		return results[idx[a]].Observation.EffectiveAt.Before(results[idx[b]].Observation.EffectiveAt)
	})
}
