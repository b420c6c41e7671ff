package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"careway/handlers"
	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

// fhirWorld is a harness with every store the FHIR endpoints read, and a record for patient A
// (and resident 1) with data of every kind.
type fhirWorld struct {
	h                 *harness
	f                 *fhirClient
	obs               *store.ObservationStore
	plans             *store.PlanStore
	sessions          *store.SessionStore
	slots             *store.SlotStore
	appts             *store.AppointmentStore
	triage            *store.TriageStore
	calls             *store.CallStore
	weight, bp, error *models.Observation
	plan              *models.Plan
	session           *models.Session
	appt              *models.Appointment
	request           *models.TriageRequest
	call              *models.Call
}

func newFHIRWorld(t *testing.T) *fhirWorld {
	t.Helper()
	db := storetest.MustOpen(t)
	fw := &fhirWorld{obs: store.NewObservationStore(db), plans: store.NewPlanStore(db), sessions: store.NewSessionStore(db),
		slots: store.NewSlotStore(db), appts: store.NewAppointmentStore(db), triage: store.NewTriageStore(db), calls: store.NewCallStore(db)}
	fw.h = newHarness(t, harnessOpts{db: db, params: func(p *handlers.Params) {
		p.Triage, p.Calls = fw.triage, fw.calls
		p.Observations, p.Plans, p.Sessions, p.Slots, p.Appointments = fw.obs, fw.plans, fw.sessions, fw.slots, fw.appts
	}})
	fw.f = newFHIRClient(fw.h)
	fw.seed(t)
	return fw
}

func fp(v float64) *float64 { return &v }

func (fw *fhirWorld) seed(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	w := fw.h.w
	now := time.Now().UTC().Truncate(time.Second)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	reading := func(p models.PatientID, code models.ObservationCode, at time.Time, level models.Level, set func(*models.Observation)) *models.Observation {
		o := &models.Observation{ID: models.ObservationID(models.NewID()), PatientID: p, Code: code, EffectiveAt: at,
			Status: models.ObservationFinal, RecordedBy: w.patient.user.ID, RecordedByRole: models.RolePatient, RecordedAt: at, UpdatedAt: at,
			Interpretation: models.Interpretation{Level: level, RuleID: string(code), Advice: "ok"}}
		set(o)
		return o
	}
	day := func(d int) time.Time { return time.Date(2026, 3, d, 9, 0, 0, 0, time.UTC) }
	fw.bp = reading(w.patientA.ID, models.CodeBloodPressure, day(1), models.LevelAmber, func(o *models.Observation) { o.Systolic, o.Diastolic = fp(150), fp(92) })
	fw.weight = reading(w.patientA.ID, models.CodeBodyWeight, day(2), models.LevelAmber, func(o *models.Observation) {
		o.Value, o.Unit, o.BMI = fp(90), "kg", fp(29.4)
		o.Interpretation.RuleID = "bmi.band"
	})
	hr := reading(w.patientA.ID, models.CodeHeartRate, day(3), models.LevelNormal, func(o *models.Observation) { o.Value, o.Unit = fp(70), "/min" })
	fw.error = reading(w.patientA.ID, models.CodeHeartRate, day(4), models.LevelNormal, func(o *models.Observation) { o.Value, o.Unit = fp(170), "/min" })
	score := 6
	news := reading(w.patientA.ID, models.CodeVitalSigns, day(5), models.LevelRed, func(o *models.Observation) {
		no := false
		o.RespiratoryRate, o.OxygenSaturation, o.OnOxygen, o.Systolic, o.Pulse, o.Consciousness, o.Temperature =
			fp(22), fp(95), &no, fp(105), fp(95), "A", fp(38.3)
		o.Interpretation.Score = &score
		o.Interpretation.SubScores = map[string]int{"respiratoryRate": 2, "oxygenSaturation": 1, "onOxygen": 0, "systolic": 1, "pulse": 1, "consciousness": 0, "temperature": 1}
	})
	res1 := reading(w.resident1.ID, models.CodeHeartRate, day(6), models.LevelNormal, func(o *models.Observation) { o.Value, o.Unit = fp(66), "/min" })
	perItem, err := fw.obs.InsertObservations(ctx, []*models.Observation{fw.bp, fw.weight, hr, fw.error, news, res1})
	must(err)
	for _, e := range perItem {
		must(e)
	}
	_, err = fw.obs.MarkEnteredInError(ctx, w.patientA.ID, fw.error.ID, models.Correction{Reason: "Another person's reading", By: w.clinicianA.user.ID, At: now})
	must(err)

	must(fw.h.conds.AddCondition(ctx, &models.Condition{ID: models.NewID(), PatientID: w.patientA.ID, Code: models.ConditionHypertension,
		SNOMED: "38341003", Display: "Hypertensive disorder", Status: "active", RecordedAt: now}))
	fw.plan = &models.Plan{ID: models.PlanID(models.NewID()), PatientID: w.patientA.ID, Condition: models.ConditionHypertension, Version: 1,
		Status: models.PlanActive, Goals: []models.Goal{{Description: "Home BP below 135/85", Code: models.CodeBloodPressure},
			{Description: "Weight down to 85 kg", Code: models.CodeBodyWeight, High: fp(85), Unit: "kg", By: "2026-12-31"}},
		Thresholds: models.Thresholds{BPTarget: &models.BPTarget{Systolic: 135, Diastolic: 85}},
		Monitoring: []models.Schedule{{Code: models.CodeBloodPressure, Times: 2, Per: "week"}}, Actions: []string{"Take ramipril every morning"},
		IfWorse: "Call the practice", ReviewDate: "2026-09-01", AuthorID: w.clinicianA.user.ID, CreatedAt: now}
	must(fw.plans.CreatePlan(ctx, fw.plan))
	v2 := *fw.plan
	v2.Version, v2.CreatedAt, v2.ReviewDate = 2, now.Add(time.Minute), "2026-10-01"
	must(fw.plans.AddPlanVersion(ctx, &v2))

	start := now.Add(48 * time.Hour).Truncate(time.Hour)
	fw.session = &models.Session{ID: models.SessionID(models.NewID()), PracticeID: w.practiceA.ID, SiteID: models.SiteID(models.NewID()),
		ClinicianID: w.clinicianA.user.ID, ServiceType: models.ServiceGP, Modes: []models.AppointmentMode{models.ModeFaceToFace, models.ModeVideo},
		Start: start, End: start.Add(time.Hour), SlotMinutes: 15, CreatedBy: w.clinicianA.user.ID, CreatedAt: now, UpdatedAt: now}
	must(fw.sessions.CreateSession(ctx, fw.session, true))
	slots, err := fw.slots.ListSessionSlots(ctx, fw.session.ID)
	must(err)
	if len(slots) != 4 {
		t.Fatalf("%d slots, want 4", len(slots))
	}
	fw.appt = &models.Appointment{ID: models.AppointmentID(models.NewID()), PatientID: w.patientA.ID, PracticeID: w.practiceA.ID,
		SlotID: slots[0].ID, SlotIDs: []models.SlotID{slots[0].ID}, SessionID: fw.session.ID, SiteID: fw.session.SiteID,
		ClinicianID: w.clinicianA.user.ID, ServiceType: models.ServiceGP, Mode: models.ModeVideo, Start: slots[0].Start, End: slots[0].End,
		Reason: "Blood pressure review", Adjustments: models.Adjustments{Interpreter: true, Language: "Polish", StepFree: true},
		Status: models.ApptBooked, BookedBy: w.patient.user.ID, BookedByRole: models.RolePatient, CreatedAt: now, UpdatedAt: now}
	must(fw.appts.CreateAppointment(ctx, fw.appt))
	_, err = fw.slots.ClaimSlot(ctx, slots[0].ID, fw.appt.ID, now)
	must(err)
	must(fw.slots.ConfirmSlot(ctx, slots[0].ID, fw.appt.ID))

	fw.request = &models.TriageRequest{ID: models.TriageRequestID(models.NewID()), PatientID: w.patientA.ID, PracticeID: w.practiceA.ID,
		Description: "Headaches every morning", PreferredMode: models.ModeVideo, RedFlags: []models.RedFlag{}, Symptoms: []string{"headache"},
		Source: models.SourcePatient, SubmittedBy: w.patient.user.ID, Priority: models.PrioritySoon, Status: models.TriageCompleted,
		Outcome:   &models.TriageOutcome{Kind: models.OutcomeVideoConsultation, Note: "See you on video", DecidedBy: w.clinicianA.user.ID, DecidedAt: now},
		CreatedAt: now, UpdatedAt: now}
	_, _, err = fw.triage.CreateTriageRequest(ctx, fw.request)
	must(err)
	ended := now.Add(20 * time.Minute)
	fw.call = &models.Call{ID: models.CallID(models.NewID()), PatientID: w.patientA.ID, PracticeID: w.practiceA.ID, TriageRequestID: fw.request.ID,
		AppointmentID: fw.appt.ID, CreatedBy: w.clinicianA.user.ID, Status: models.CallOpen, CreatedAt: now,
		Participants: []models.CallParticipant{
			{UserID: w.clinicianA.user.ID, Kind: models.KindClinician, Name: "Dr A", FirstAt: now},
			{UserID: w.patient.user.ID, Kind: models.KindPatient, Name: "Alice Patient", FirstAt: now},
			{UserID: "guest:" + models.UserID(models.NewID()), Kind: models.KindGuest, Name: "Interpreter", FirstAt: now},
		}}
	must(fw.calls.CreateCall(ctx, fw.call))
	_, err = fw.calls.EndCall(ctx, fw.call.ID, nil, ended)
	must(err)
}

// bundle fetches a search and returns its entries' resources, following next links.
func (fw *fhirWorld) search(t *testing.T, path, token string) []json.RawMessage {
	t.Helper()
	var out []json.RawMessage
	for pages := 0; path != ""; pages++ {
		if pages > 20 {
			t.Fatal("paging does not end")
		}
		var b fhir.Bundle
		fw.f.get(path, token).want(t, 200).decode(t, &b)
		if b.Type != fhir.BundleTypeSearchset {
			t.Fatalf("bundle type %v", b.Type)
		}
		path = ""
		for _, l := range b.Link {
			if l.Relation == "next" {
				path = strings.TrimPrefix(l.Url, "http://example.com")
			}
		}
		for _, e := range b.Entry {
			out = append(out, e.Resource)
		}
	}
	return out
}

func ids(t *testing.T, raws []json.RawMessage) []string {
	t.Helper()
	var out []string
	for _, r := range raws {
		var v struct{ ID string }
		if err := json.Unmarshal(r, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v.ID)
	}
	return out
}

func TestFHIRObservationEndpoints(t *testing.T) {
	fw := newFHIRWorld(t)
	w := fw.h.w
	pat := "Patient/" + string(w.patientA.ID)
	t.Run("all, newest first, paged by two", func(t *testing.T) {
		all := ids(t, fw.search(t, "/fhir/r4/Observation?patient="+pat, w.patient.token))
		paged := ids(t, fw.search(t, "/fhir/r4/Observation?_count=2&patient="+pat, w.clinicianA.token))
		if len(all) != 6 || strings.Join(all, ",") != strings.Join(paged, ",") {
			t.Fatalf("all %v, paged %v; want 6 (5 readings and a BMI), the same", all, paged)
		}
		if all[len(all)-1] != string(fw.bp.ID) {
			t.Errorf("oldest last: %v", all)
		}
	})
	t.Run("by code", func(t *testing.T) {
		for q, want := range map[string]int{
			"http://loinc.org|85354-9": 1, "85354-9": 1, "8867-4": 2, "http://snomed.info/sct|364075005": 2,
			"http://loinc.org|39156-5": 1, "29463-7,39156-5": 2, "1104051000000101": 1, "http://snomed.info/sct|8867-4": 0, "9999-9": 0,
		} {
			got := fw.search(t, "/fhir/r4/Observation?patient="+pat+"&code="+q, w.patient.token)
			if len(got) != want {
				t.Errorf("code=%s: %d entries, want %d", q, len(got), want)
			}
		}
	})
	t.Run("by date", func(t *testing.T) {
		for q, want := range map[string]int{
			"2026-03-02": 2, "ge2026-03-04": 2, "gt2026-03-04": 1, "le2026-03-02": 3, "lt2026-03-02": 1,
			"ge2026-03-02&date=lt2026-03-04": 3, "2026-03": 6, "2026-03-01T09:00:00Z": 1, "2025": 0,
		} {
			got := fw.search(t, "/fhir/r4/Observation?patient="+pat+"&date="+q, w.patient.token)
			if len(got) != want {
				t.Errorf("date=%s: %d entries, want %d", q, len(got), want)
			}
		}
	})
	t.Run("read, BMI and entered in error", func(t *testing.T) {
		var o fhir.Observation
		fw.f.get("/fhir/r4/Observation/"+string(fw.error.ID), w.patient.token).want(t, 200).decode(t, &o)
		if o.Status != fhir.ObservationStatusEnteredInError {
			t.Errorf("status %v, want entered-in-error", o.Status)
		}
		fw.f.get("/fhir/r4/Observation/"+string(fw.weight.ID)+"-bmi", w.patient.token).want(t, 200).decode(t, &o)
		if o.ValueQuantity == nil || o.ValueQuantity.Value.String() != "29.4" {
			t.Errorf("BMI = %+v", o.ValueQuantity)
		}
		fw.f.get("/fhir/r4/Observation/"+string(fw.bp.ID)+"-bmi", w.patient.token).want(t, 404).outcome(t, "not-found", "")
		fw.f.get("/fhir/r4/Observation/"+models.NewID(), w.patient.token).want(t, 404).outcome(t, "not-found", "")
	})
	t.Run("permissions", func(t *testing.T) {
		search := "/fhir/r4/Observation?patient=" + pat
		read := "/fhir/r4/Observation/" + string(fw.bp.ID)
		for _, tc := range []struct {
			name, token string
		}{{"another patient", w.patient2.token}, {"clinician of another practice", w.clinicianB.token},
			{"administrator", w.adminA.token}, {"care-home staff, not a resident", w.staff1.token}} {
			fw.f.get(search, tc.token).want(t, 403).outcome(t, "forbidden", "")
			fw.f.get(read, tc.token).want(t, 403).outcome(t, "forbidden", "")
		}
		res1 := "/fhir/r4/Observation?patient=" + string(w.resident1.ID)
		if got := fw.search(t, res1, w.staff1.token); len(got) != 1 {
			t.Errorf("staff with consent see %d readings, want 1", len(got))
		}
		fw.f.get("/fhir/r4/Observation?patient="+string(w.resident2.ID), w.staff1.token).want(t, 403).outcome(t, "forbidden", "record_observations")
		fw.f.get(res1, w.staff2.token).want(t, 403)
		if n := fw.h.auditCount(w.patientA.ID, "clinical.read", models.OutcomeDenied); n < 8 {
			t.Errorf("%d denied reads audited, want at least 8", n)
		}
		if n := fw.h.auditCount(w.patientA.ID, "observation.read", models.OutcomeSuccess); n == 0 {
			t.Error("successful reads were not audited")
		}
	})
	t.Run("bad parameters", func(t *testing.T) {
		for q, param := range map[string]string{
			"date=2026-13-01":          "date",
			"date=sa2026-03-01":        "date",
			"date=ge2026-03-01,2026-4": "date",
			"code=":                    "code",
			"code=|":                   "code",
			"_count=1000":              "_count",
			"cursor=nonsense":          "cursor",
			"value-quantity=5":         "value-quantity",
			"subject=" + pat:           "subject",
		} {
			fw.f.get("/fhir/r4/Observation?patient="+pat+"&"+q, w.patient.token).want(t, 400).outcome(t, "invalid", param)
		}
		fw.f.get("/fhir/r4/Observation", w.patient.token).want(t, 400).outcome(t, "invalid", "patient")
	})
}

func TestFHIRCarePlanAndGoal(t *testing.T) {
	fw := newFHIRWorld(t)
	w := fw.h.w
	pat := "Patient/" + string(w.patientA.ID)
	var cp fhir.CarePlan
	fw.f.get("/fhir/r4/CarePlan/"+string(fw.plan.ID), w.patient.token).want(t, 200).decode(t, &cp)
	if cp.Meta == nil || *cp.Meta.VersionId != "2" || cp.Status != fhir.RequestStatusActive || len(cp.Goal) != 2 || len(cp.Activity) != 2 || len(cp.Addresses) != 1 {
		t.Errorf("care plan = %+v", cp)
	}
	plans := fw.search(t, "/fhir/r4/CarePlan?patient="+pat, w.clinicianA.token)
	goals := ids(t, fw.search(t, "/fhir/r4/Goal?patient="+pat+"&_count=1", w.patient.token))
	if len(plans) != 1 || len(goals) != 2 {
		t.Fatalf("%d plans, goals %v", len(plans), goals)
	}
	var g fhir.Goal
	fw.f.get("/fhir/r4/Goal/"+goals[1], w.patient.token).want(t, 200).decode(t, &g)
	if len(g.Target) != 1 || g.Target[0].DetailRange == nil || g.Target[0].DetailRange.High.Value.String() != "85" || *g.Target[0].DueDate != "2026-12-31" {
		t.Errorf("goal = %+v", g)
	}
	fw.f.get("/fhir/r4/Goal/"+string(fw.plan.ID)+"-goal-3", w.patient.token).want(t, 404).outcome(t, "not-found", "")
	fw.f.get("/fhir/r4/Goal/"+string(fw.plan.ID)+"-goal-01", w.patient.token).want(t, 404)
	fw.f.get("/fhir/r4/CarePlan/"+models.NewID(), w.patient.token).want(t, 404)
	for _, tok := range []string{w.patient2.token, w.clinicianB.token, w.adminA.token, w.staff1.token} {
		fw.f.get("/fhir/r4/CarePlan/"+string(fw.plan.ID), tok).want(t, 403).outcome(t, "forbidden", "")
		fw.f.get("/fhir/r4/Goal/"+goals[0], tok).want(t, 403).outcome(t, "forbidden", "")
		fw.f.get("/fhir/r4/CarePlan?patient="+pat, tok).want(t, 403).outcome(t, "forbidden", "")
		fw.f.get("/fhir/r4/Goal?patient="+pat, tok).want(t, 403).outcome(t, "forbidden", "")
	}
	// Staff with only the view-plan scope may read a resident's plans; without it, not.
	fw.f.get("/fhir/r4/CarePlan?patient="+string(w.resident2.ID), w.staff1.token).want(t, 200)
	fw.f.get("/fhir/r4/CarePlan?patient="+string(w.resident3.ID), w.staff1.token).want(t, 403).outcome(t, "forbidden", "view_plan")
	fw.f.get("/fhir/r4/CarePlan?patient="+pat+"&status=active", w.patient.token).want(t, 400).outcome(t, "invalid", "status")
	fw.f.get("/fhir/r4/Goal?patient="+pat+"&_count=-1", w.patient.token).want(t, 400).outcome(t, "invalid", "_count")
	if n := fw.h.auditCount(w.patientA.ID, "plan.read", models.OutcomeDenied); n < 16 {
		t.Errorf("%d denied plan reads audited, want 16", n)
	}
}

func TestFHIRScheduleSlotAppointment(t *testing.T) {
	fw := newFHIRWorld(t)
	w := fw.h.w
	var sch fhir.Schedule
	fw.f.get("/fhir/r4/Schedule/"+string(fw.session.ID), w.patient.token).want(t, 200).decode(t, &sch)
	if sch.Active == nil || !*sch.Active || len(sch.Extension) != 2 {
		t.Errorf("schedule = %+v", sch)
	}
	sched := "/fhir/r4/Slot?schedule=Schedule/" + string(fw.session.ID)
	if got := fw.search(t, sched, w.patient.token); len(got) != 4 {
		t.Errorf("%d slots, want 4", len(got))
	}
	free := fw.search(t, sched+"&status=free", w.staff1.token)
	busy := fw.search(t, sched+"&status=busy&_count=1", w.clinicianB.token)
	if len(free) != 3 || len(busy) != 1 {
		t.Errorf("%d free, %d busy; want 3 and 1", len(free), len(busy))
	}
	if got := fw.search(t, sched+"&start=ge"+fw.session.Start.Add(30*time.Minute).Format(time.RFC3339), w.patient.token); len(got) != 2 {
		t.Errorf("%d slots in the second half hour, want 2", len(got))
	}
	var slot fhir.Slot
	fw.f.get("/fhir/r4/Slot/"+string(fw.appt.SlotID), w.patient2.token).want(t, 200).decode(t, &slot)
	if slot.Status != fhir.SlotStatusBusy || strings.Contains(fmt.Sprint(slot), string(w.patientA.ID)) {
		t.Errorf("booked slot = %+v", slot)
	}
	fw.f.get("/fhir/r4/Slot", w.patient.token).want(t, 400).outcome(t, "invalid", "schedule")
	fw.f.get(sched+"&status=taken", w.patient.token).want(t, 400).outcome(t, "invalid", "status")
	fw.f.get(sched+"&start=tomorrow", w.patient.token).want(t, 400).outcome(t, "invalid", "start")
	fw.f.get("/fhir/r4/Slot?schedule=Schedule/"+models.NewID(), w.patient.token).want(t, 404)
	fw.f.get("/fhir/r4/Schedule/"+models.NewID(), w.patient.token).want(t, 404).outcome(t, "not-found", "")
	fw.f.get("/fhir/r4/Schedule/"+string(fw.session.ID), "").want(t, 401).outcome(t, "login", "")

	var a fhir.Appointment
	fw.f.get("/fhir/r4/Appointment/"+string(fw.appt.ID), w.patient.token).want(t, 200).decode(t, &a)
	if a.Status != fhir.AppointmentStatusBooked || len(a.Extension) != 1 || *a.Extension[0].ValueCode != "Video" ||
		a.Comment == nil || !strings.Contains(*a.Comment, "Polish") || len(a.Slot) != 1 {
		t.Errorf("appointment = %+v", a)
	}
	pat := "Patient/" + string(w.patientA.ID)
	if got := fw.search(t, "/fhir/r4/Appointment?patient="+pat, w.adminA.token); len(got) != 1 {
		t.Errorf("%d appointments, want 1", len(got))
	}
	if got := fw.search(t, "/fhir/r4/Appointment?patient="+pat+"&status=cancelled", w.patient.token); len(got) != 0 {
		t.Errorf("%d cancelled appointments, want 0", len(got))
	}
	if got := fw.search(t, "/fhir/r4/Appointment?patient="+pat+"&status=waitlist", w.patient.token); len(got) != 0 {
		t.Errorf("waitlist matched %d", len(got))
	}
	fw.f.get("/fhir/r4/Appointment?patient="+pat+"&status=later", w.patient.token).want(t, 400).outcome(t, "invalid", "status")
	fw.f.get("/fhir/r4/Appointment?patient="+pat+"&date=x", w.patient.token).want(t, 400).outcome(t, "invalid", "date")
	for _, tok := range []string{w.patient2.token, w.clinicianB.token, w.adminB.token, w.staff1.token} {
		fw.f.get("/fhir/r4/Appointment/"+string(fw.appt.ID), tok).want(t, 403).outcome(t, "forbidden", "")
		fw.f.get("/fhir/r4/Appointment?patient="+pat, tok).want(t, 403).outcome(t, "forbidden", "")
	}
	fw.f.get("/fhir/r4/Appointment?patient="+string(w.resident2.ID), w.staff1.token).want(t, 403).outcome(t, "forbidden", "book_appointments")
	fw.f.get("/fhir/r4/Appointment?patient="+string(w.resident1.ID), w.staff1.token).want(t, 200)
}

func TestFHIREncounter(t *testing.T) {
	fw := newFHIRWorld(t)
	w := fw.h.w
	var e fhir.Encounter
	fw.f.get("/fhir/r4/Encounter/"+string(fw.call.ID), w.patient.token).want(t, 200).decode(t, &e)
	if *e.Class.Code != "VR" || e.Status != fhir.EncounterStatusFinished || len(e.Participant) != 2 || e.Period.End == nil || len(e.Appointment) != 1 {
		t.Errorf("encounter = %+v", e)
	}
	pat := "Patient/" + string(w.patientA.ID)
	if got := fw.search(t, "/fhir/r4/Encounter?patient="+pat, w.clinicianA.token); len(got) != 1 {
		t.Errorf("%d encounters, want 1", len(got))
	}
	for _, tok := range []string{w.patient2.token, w.clinicianB.token, w.adminA.token, w.staff1.token} {
		fw.f.get("/fhir/r4/Encounter/"+string(fw.call.ID), tok).want(t, 403).outcome(t, "forbidden", "")
		fw.f.get("/fhir/r4/Encounter?patient="+pat, tok).want(t, 403).outcome(t, "forbidden", "")
	}
	fw.f.get("/fhir/r4/Encounter?patient="+string(w.resident2.ID), w.staff1.token).want(t, 403).outcome(t, "forbidden", "join_calls")
	fw.f.get("/fhir/r4/Encounter?patient="+pat+"&class=VR", w.patient.token).want(t, 400).outcome(t, "invalid", "class")
	fw.f.get("/fhir/r4/Encounter/"+models.NewID(), w.patient.token).want(t, 404).outcome(t, "not-found", "")
}

func TestPatientExport(t *testing.T) {
	fw := newFHIRWorld(t)
	w := fw.h.w
	path := "/api/v1/patients/" + string(w.patientA.ID) + "/export"
	fw.f.get("/fhir/r4/Patient/"+string(w.patientA.ID), w.clinicianA.token).want(t, 200) // an access for the log
	r := fw.f.get(path, w.patient.token).want(t, 200)
	if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
		t.Errorf("Content-Disposition = %q", cd)
	}
	var b fhir.Bundle
	r.decode(t, &b)
	if b.Type != fhir.BundleTypeCollection {
		t.Errorf("type %v, want collection", b.Type)
	}
	count := map[string]int{}
	urls := map[string]bool{}
	for _, e := range b.Entry {
		var v struct{ ResourceType string }
		if err := json.Unmarshal(e.Resource, &v); err != nil {
			t.Fatal(err)
		}
		count[v.ResourceType]++
		key := *e.FullUrl + string(e.Resource[:0])
		if v.ResourceType != "CarePlan" && urls[key] {
			t.Errorf("fullUrl %s twice", key)
		}
		urls[key] = true
	}
	want := map[string]int{"Patient": 1, "Condition": 1, "Observation": 6, "CarePlan": 2, "Goal": 2, "Appointment": 1,
		"ServiceRequest": 1, "Encounter": 1}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%d %s, want %d (all: %v)", count[k], k, n, count)
		}
	}
	if count["AuditEvent"] < 1 {
		t.Errorf("%d AuditEvents, want the accesses so far", count["AuditEvent"])
	}
	if n := fw.h.auditCount(w.patientA.ID, "patient.export", models.OutcomeSuccess); n != 1 {
		t.Errorf("export audited %d times, want 1", n)
	}
	fw.f.get(path, w.clinicianA.token).want(t, 200)
	for _, tc := range []struct {
		name, token, path string
		status            int
	}{
		{"another patient", w.patient2.token, path, 403},
		{"clinician of another practice", w.clinicianB.token, path, 403},
		{"administrator", w.adminA.token, path, 403},
		{"care-home staff, even with every scope", w.staff1.token, "/api/v1/patients/" + string(w.resident1.ID) + "/export", 403},
		{"unknown patient", w.clinicianA.token, "/api/v1/patients/" + models.NewID() + "/export", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fw.h.do(http.MethodGet, tc.path, tc.token, nil).want(t, tc.status).problem(t)
		})
	}
	if n := fw.h.auditCount(w.patientA.ID, "patient.export", models.OutcomeDenied); n != 3 {
		t.Errorf("%d denied exports audited, want 3", n)
	}
}

// TestFHIRReadsWhileWriting reads and exports a record while readings are being added and one
// is corrected: every answer is a complete, valid Bundle (checked by the validator) and nothing
// fails.
func TestFHIRReadsWhileWriting(t *testing.T) {
	fw := newFHIRWorld(t)
	w := fw.h.w
	ctx := context.Background()
	paths := []string{
		"/fhir/r4/Observation?patient=" + string(w.patientA.ID) + "&_count=3",
		"/api/v1/patients/" + string(w.patientA.ID) + "/export",
		"/fhir/r4/CarePlan?patient=" + string(w.patientA.ID),
	}
	type answer struct {
		path   string
		status int
		body   []byte
		err    error
	}
	const requests = 12
	answers := make(chan answer, requests)
	// Four at a time: enough to interleave with the writer, few enough that the shared embedded
	// server on a loaded 2-core machine does not time out (503) instead.
	slots := make(chan struct{}, 4)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 10; i++ {
			at := time.Date(2026, 4, 1, 8, i, 0, 0, time.UTC)
			o := &models.Observation{ID: models.ObservationID(models.NewID()), PatientID: w.patientA.ID, Code: models.CodeHeartRate,
				EffectiveAt: at, Value: fp(60 + float64(i)), Unit: "/min", Status: models.ObservationFinal, RecordedBy: w.patient.user.ID,
				RecordedByRole: models.RolePatient, RecordedAt: at, UpdatedAt: at,
				Interpretation: models.Interpretation{Level: models.LevelNormal, RuleID: "news2.pulse", Advice: "ok"}}
			if _, err := fw.obs.InsertObservations(ctx, []*models.Observation{o}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < requests; i++ {
		go func(path string) {
			slots <- struct{}{}
			defer func() { <-slots }()
			req := newRequest(http.MethodGet, path, "")
			req.Header.Set("Authorization", "Bearer "+w.clinicianA.token)
			resp, err := fw.h.app.Test(req, -1)
			a := answer{path: path, err: err}
			if err == nil {
				a.status = resp.StatusCode
				a.body = make([]byte, 0, 4096)
				buf := make([]byte, 4096)
				for {
					n, rerr := resp.Body.Read(buf)
					a.body = append(a.body, buf[:n]...)
					if rerr != nil {
						break
					}
				}
				resp.Body.Close()
			}
			answers <- a
		}(paths[i%len(paths)])
	}
	for i := 0; i < requests; i++ {
		a := <-answers
		if a.err != nil || a.status != 200 {
			t.Errorf("GET %s = %d %v %s", a.path, a.status, a.err, a.body)
			continue
		}
		fw.f.v.Add("concurrent GET "+a.path, a.body)
	}
	<-done
}
