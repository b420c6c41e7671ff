package booking_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"careway/booking"
	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// fixture is a booking service on a fresh database with one practice's session of slots.
type fixture struct {
	t       *testing.T
	db      *store.DB
	svc     *booking.Service
	slots   *store.SlotStore
	appts   *store.AppointmentStore
	notes   *store.NotificationStore
	now     time.Time
	clock   *atomic.Int64 // unix nanos; tests move it
	patient *models.Patient
	other   *models.Patient
	session *models.Session
	hooks   *booking.Hooks
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := storetest.MustOpen(t)
	f := &fixture{t: t, db: db, slots: store.NewSlotStore(db), appts: store.NewAppointmentStore(db), notes: store.NewNotificationStore(db),
		now: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC), clock: new(atomic.Int64), hooks: &booking.Hooks{}}
	f.clock.Store(f.now.UnixNano())
	now := func() time.Time { return time.Unix(0, f.clock.Load()).UTC() }
	notifier := &booking.Notifier{Store: f.notes, Logger: storetest.Logger(), Now: now}
	f.svc = booking.New(booking.Params{Sessions: store.NewSessionStore(db), Slots: f.slots, Appointments: f.appts,
		Policies: store.NewBookingPolicyStore(db), Notifier: notifier, Grace: time.Minute, Now: now,
		Hooks: booking.Hooks{
			AfterClaim:  func(id models.AppointmentID) error { return call(f.hooks.AfterClaim, id) },
			AfterInsert: func(id models.AppointmentID) error { return call(f.hooks.AfterInsert, id) },
		}})
	f.patient = &models.Patient{ID: models.PatientID(models.NewID()), PracticeID: "practice-1"}
	f.other = &models.Patient{ID: models.PatientID(models.NewID()), PracticeID: "practice-1"}
	f.session = f.publish("clin-1", f.now.Add(24*time.Hour), 6, true)
	return f
}

func call(h func(models.AppointmentID) error, id models.AppointmentID) error {
	if h == nil {
		return nil
	}
	return h(id)
}

// publish stores a session of n ten-minute slots for clinician from start.
func (f *fixture) publish(clin models.UserID, start time.Time, n int, stepFree bool) *models.Session {
	f.t.Helper()
	s := &models.Session{PracticeID: "practice-1", SiteID: "site-1", ClinicianID: clin, ServiceType: models.ServiceGP,
		Modes: []models.AppointmentMode{models.ModeFaceToFace, models.ModeVideo}, Start: start, End: start.Add(time.Duration(n) * 10 * time.Minute),
		SlotMinutes: 10, CreatedAt: f.now, UpdatedAt: f.now}
	if err := store.NewSessionStore(f.db).CreateSession(context.Background(), s, stepFree); err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (f *fixture) slot(n int) models.SlotID { return store.SlotIDFor(f.session.ID, n) }

func (f *fixture) slotStatus(n int) (string, models.AppointmentID) {
	f.t.Helper()
	s, err := f.slots.SlotByID(context.Background(), f.slot(n))
	if err != nil {
		f.t.Fatal(err)
	}
	return s.Status, s.AppointmentID
}

func (f *fixture) book(p *models.Patient, n int, adj models.Adjustments) (*models.Appointment, error) {
	a, _, err := f.svc.Book(context.Background(), booking.Request{ID: models.AppointmentID(models.NewID()), Patient: p, SlotID: f.slot(n),
		Reason: "cough", Adjustments: adj, By: booking.Actor{UserID: "u", Role: models.RolePatient}})
	return a, err
}

func mustCode(t *testing.T, err error, want string) {
	t.Helper()
	if got := models.ErrorCode(err); got != want {
		t.Fatalf("error code = %q, want %q (%v)", got, want, err)
	}
}

func TestBookConfirmsAndNotifies(t *testing.T) {
	f := newFixture(t)
	a, err := f.book(f.patient, 0, models.Adjustments{Interpreter: true, Language: "Polish"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != models.ApptBooked || a.Mode != models.ModeFaceToFace || !a.Start.Equal(f.session.Start) || !a.Adjustments.Interpreter {
		t.Fatalf("appointment = %+v", a)
	}
	if st, holder := f.slotStatus(0); st != models.SlotBooked || holder != a.ID {
		t.Fatalf("slot = %s held by %s, want booked by %s", st, holder, a.ID)
	}
	items, _, err := f.notes.ListNotifications(context.Background(), "nobody", f.patient.ID, models.Page{})
	if err != nil || len(items) != 1 || items[0].Kind != booking.KindConfirmed {
		t.Fatalf("inbox = %v, %v; want one confirmation", items, err)
	}
	if _, err := f.book(f.other, 0, models.Adjustments{}); models.ErrorCode(err) != models.ECONFLICT {
		t.Fatalf("second booking of the slot: %v, want ECONFLICT", err)
	}
}

func TestBookRetryReturnsFirst(t *testing.T) {
	f := newFixture(t)
	req := booking.Request{ID: models.AppointmentID(models.NewID()), Patient: f.patient, SlotID: f.slot(1), By: booking.Actor{Role: models.RolePatient}}
	a1, created1, err := f.svc.Book(context.Background(), req)
	if err != nil || !created1 {
		t.Fatal(err, created1)
	}
	a2, created2, err := f.svc.Book(context.Background(), req)
	if err != nil || created2 || a2.ID != a1.ID {
		t.Fatalf("retry: %v created=%v id=%s, want the first result", err, created2, a2.ID)
	}
	req.Patient = f.other
	_, _, err = f.svc.Book(context.Background(), req)
	mustCode(t, err, models.ECONFLICT)
}

func TestBookRules(t *testing.T) {
	f := newFixture(t)
	f.publish("clin-2", f.now.Add(30*time.Minute), 3, false) // inside the default 60-minute notice, no step-free
	s2 := store.SlotIDFor(f.mustSessionOf("clin-2"), 0)
	cases := []struct {
		name string
		req  booking.Request
		code string
	}{
		{"bad id", booking.Request{ID: "x", Patient: f.patient, SlotID: f.slot(0)}, models.EINVALID},
		{"unknown slot", booking.Request{ID: models.AppointmentID(models.NewID()), Patient: f.patient, SlotID: "nope"}, models.ENOTFOUND},
		{"phone not offered", booking.Request{ID: models.AppointmentID(models.NewID()), Patient: f.patient, SlotID: f.slot(0), Mode: models.ModePhone}, models.EINVALID},
		{"other practice", booking.Request{ID: models.AppointmentID(models.NewID()), Patient: &models.Patient{ID: "p", PracticeID: "elsewhere"}, SlotID: f.slot(0)}, models.EINVALID},
		{"minimum notice", booking.Request{ID: models.AppointmentID(models.NewID()), Patient: f.patient, SlotID: s2}, models.EINVALID},
		{"step-free needed", booking.Request{ID: models.AppointmentID(models.NewID()), Patient: f.patient, SlotID: s2,
			Adjustments: models.Adjustments{StepFree: true}, By: booking.Actor{Practice: true}}, models.EINVALID},
		{"longer at session end", booking.Request{ID: models.AppointmentID(models.NewID()), Patient: f.patient, SlotID: f.slot(5),
			Adjustments: models.Adjustments{Longer: true}}, models.EINVALID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := f.svc.Book(context.Background(), c.req)
			mustCode(t, err, c.code)
		})
	}
	// Practice staff may book inside the minimum notice.
	if _, _, err := f.svc.Book(context.Background(), booking.Request{ID: models.AppointmentID(models.NewID()), Patient: f.patient, SlotID: s2,
		By: booking.Actor{Practice: true}}); err != nil {
		t.Fatalf("practice booking inside the notice: %v", err)
	}
}

func (f *fixture) mustSessionOf(clin models.UserID) models.SessionID {
	f.t.Helper()
	items, _, err := store.NewSessionStore(f.db).ListSessions(context.Background(), models.SessionFilter{PracticeID: "practice-1", ClinicianID: clin}, models.Page{})
	if err != nil || len(items) == 0 {
		f.t.Fatal(err)
	}
	return items[0].ID
}

func TestLongerAppointmentTakesTwoSlots(t *testing.T) {
	f := newFixture(t)
	a, err := f.book(f.patient, 2, models.Adjustments{Longer: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.SlotIDs) != 2 || a.SlotIDs[1] != f.slot(3) || !a.End.Equal(f.session.Start.Add(40*time.Minute)) {
		t.Fatalf("appointment slots %v end %v", a.SlotIDs, a.End)
	}
	// The second slot taken: a longer booking on slot 1 (needs 1 and 2) fails and holds nothing.
	_, err = f.book(f.other, 1, models.Adjustments{Longer: true})
	mustCode(t, err, models.ECONFLICT)
	if st, _ := f.slotStatus(1); st != models.SlotFree {
		t.Fatalf("slot 1 is %s after a refused longer booking, want free", st)
	}
	if _, err := f.svc.Cancel(context.Background(), a, "better", booking.Actor{Practice: true}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{2, 3} {
		if st, _ := f.slotStatus(n); st != models.SlotFree {
			t.Fatalf("slot %d is %s after cancelling, want free", n, st)
		}
	}
}

// Fifty concurrent bookings of one slot: exactly one wins, the rest conflict.
func TestBookRaceOneSlot(t *testing.T) {
	f := newFixture(t)
	const n = 50
	var wins, conflicts atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &models.Patient{ID: models.PatientID(models.NewID()), PracticeID: "practice-1"}
			_, err := f.book(p, 0, models.Adjustments{})
			switch models.ErrorCode(err) {
			case "":
				wins.Add(1)
			case models.ECONFLICT:
				conflicts.Add(1)
			default:
				t.Errorf("booking %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || conflicts.Load() != n-1 {
		t.Fatalf("wins %d conflicts %d, want 1 and %d", wins.Load(), conflicts.Load(), n-1)
	}
}

// Longer bookings racing over overlapping pairs (k, k+1) never leave a slot held by a booking
// that did not succeed, and no slot is in two bookings.
func TestLongerRaceNoHalfHeld(t *testing.T) {
	f := newFixture(t)
	for round := 0; round < 3; round++ {
		var wg sync.WaitGroup
		results := make([]*models.Appointment, 5)
		for k := 0; k < 5; k++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := &models.Patient{ID: models.PatientID(models.NewID()), PracticeID: "practice-1"}
				a, err := f.book(p, k, models.Adjustments{Longer: true})
				if err != nil && models.ErrorCode(err) != models.ECONFLICT {
					t.Errorf("booking at %d: %v", k, err)
				}
				results[k] = a
			}()
		}
		wg.Wait()
		owner := map[models.SlotID]models.AppointmentID{}
		for _, a := range results {
			if a == nil {
				continue
			}
			for _, s := range a.SlotIDs {
				if prev, ok := owner[s]; ok {
					t.Fatalf("slot %s in two bookings %s and %s", s, prev, a.ID)
				}
				owner[s] = a.ID
			}
		}
		for n := 0; n < 6; n++ {
			st, holder := f.slotStatus(n)
			want, booked := owner[f.slot(n)]
			switch {
			case booked && (st != models.SlotBooked || holder != want):
				t.Fatalf("round %d slot %d: %s by %s, want booked by %s", round, n, st, holder, want)
			case !booked && st != models.SlotFree:
				t.Fatalf("round %d slot %d: %s by %s, want free (half-held)", round, n, st, holder)
			}
		}
		for _, a := range results {
			if a != nil {
				if _, err := f.svc.Cancel(context.Background(), a, "again", booking.Actor{Practice: true}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

var errCrash = errors.New("simulated crash")

func TestReconcileAfterCrashBeforeInsert(t *testing.T) {
	f := newFixture(t)
	f.hooks.AfterClaim = func(models.AppointmentID) error { return errCrash }
	if _, err := f.book(f.patient, 0, models.Adjustments{Longer: true}); !errors.Is(err, errCrash) {
		t.Fatalf("err = %v, want the crash", err)
	}
	f.hooks.AfterClaim = nil
	if st, _ := f.slotStatus(0); st != models.SlotHeld {
		t.Fatalf("slot after crash: %s, want held", st)
	}
	// Within the grace period the reconciler leaves a booking in progress alone.
	r, err := f.svc.Reconcile(context.Background(), time.Hour)
	if err != nil || r.Freed != 0 {
		t.Fatalf("reconcile in grace: %+v %v", r, err)
	}
	f.clock.Add(int64(2 * time.Minute))
	r, err = f.svc.Reconcile(context.Background(), time.Hour)
	if err != nil || r.Freed != 2 {
		t.Fatalf("reconcile: %+v %v, want 2 freed", r, err)
	}
	for _, n := range []int{0, 1} {
		if st, _ := f.slotStatus(n); st != models.SlotFree {
			t.Fatalf("slot %d: %s, want free", n, st)
		}
	}
	if _, err := f.book(f.other, 0, models.Adjustments{}); err != nil {
		t.Fatalf("booking the freed slot: %v", err)
	}
}

func TestReconcileAfterCrashBeforeConfirm(t *testing.T) {
	f := newFixture(t)
	f.hooks.AfterInsert = func(models.AppointmentID) error { return errCrash }
	req := booking.Request{ID: models.AppointmentID(models.NewID()), Patient: f.patient, SlotID: f.slot(0), By: booking.Actor{Role: models.RolePatient}}
	if _, _, err := f.svc.Book(context.Background(), req); !errors.Is(err, errCrash) {
		t.Fatalf("err = %v, want the crash", err)
	}
	f.hooks.AfterInsert = nil
	f.clock.Add(int64(2 * time.Minute))
	r, err := f.svc.Reconcile(context.Background(), time.Hour)
	if err != nil || r.Confirmed != 1 || r.Freed != 0 {
		t.Fatalf("reconcile: %+v %v, want 1 confirmed", r, err)
	}
	if st, holder := f.slotStatus(0); st != models.SlotBooked || holder != req.ID {
		t.Fatalf("slot: %s by %s", st, holder)
	}
	// The client's retry returns the booking.
	a, created, err := f.svc.Book(context.Background(), req)
	if err != nil || created || a.ID != req.ID {
		t.Fatalf("retry: %v %v", err, created)
	}
}

func TestRetryAfterCrashFinishesBooking(t *testing.T) {
	f := newFixture(t)
	f.hooks.AfterClaim = func(models.AppointmentID) error { return errCrash }
	req := booking.Request{ID: models.AppointmentID(models.NewID()), Patient: f.patient, SlotID: f.slot(0), By: booking.Actor{Role: models.RolePatient}}
	if _, _, err := f.svc.Book(context.Background(), req); !errors.Is(err, errCrash) {
		t.Fatal(err)
	}
	f.hooks.AfterClaim = nil
	a, created, err := f.svc.Book(context.Background(), req)
	if err != nil || !created || a.Status != models.ApptBooked {
		t.Fatalf("retry after crash: %v created=%v", err, created)
	}
	if st, _ := f.slotStatus(0); st != models.SlotBooked {
		t.Fatalf("slot %s", st)
	}
}

// An appointment whose slot claim is missing gets the slot back if it is free, and is flagged
// for rebooking (never given another patient's slot) if it is not.
func TestReconcileMissingClaim(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, err := f.book(f.patient, 0, models.Adjustments{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.book(f.patient, 1, models.Adjustments{})
	if err != nil {
		t.Fatal(err)
	}
	// Lose both claims behind the appointments' backs; slot 1 is then taken by another.
	for _, x := range []*models.Appointment{a, b} {
		if err := f.slots.ReleaseSlot(ctx, x.SlotID, x.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.book(f.other, 1, models.Adjustments{}); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(int64(2 * time.Minute))
	r, err := f.svc.Reconcile(ctx, time.Hour)
	if err != nil || r.Reclaimed != 1 || r.Flagged != 1 {
		t.Fatalf("reconcile: %+v %v, want 1 reclaimed 1 flagged", r, err)
	}
	if st, holder := f.slotStatus(0); st != models.SlotBooked || holder != a.ID {
		t.Fatalf("slot 0: %s by %s", st, holder)
	}
	got, _ := f.appts.AppointmentByID(ctx, b.ID)
	if got.Status != models.ApptNeedsRebooking {
		t.Fatalf("b: %s, want needs_rebooking", got.Status)
	}
}

func TestCancelCutoffAndReschedule(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, err := f.book(f.patient, 0, models.Adjustments{})
	if err != nil {
		t.Fatal(err)
	}
	patient := booking.Actor{UserID: "u", Role: models.RolePatient}
	// Reschedule to a slot another patient holds: the old booking stands.
	if _, err := f.book(f.other, 1, models.Adjustments{}); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Reschedule(ctx, a, f.patient, f.slot(1), "", patient)
	mustCode(t, err, models.ECONFLICT)
	if st, holder := f.slotStatus(0); st != models.SlotBooked || holder != a.ID {
		t.Fatalf("old slot after failed reschedule: %s by %s", st, holder)
	}
	moved, err := f.svc.Reschedule(ctx, a, f.patient, f.slot(2), models.ModeVideo, patient)
	if err != nil {
		t.Fatal(err)
	}
	if moved.SlotID != f.slot(2) || moved.Mode != models.ModeVideo || moved.History[len(moved.History)-1].Action != "rescheduled" {
		t.Fatalf("moved = %+v", moved)
	}
	if st, _ := f.slotStatus(0); st != models.SlotFree {
		t.Fatalf("old slot after reschedule: %s, want free", st)
	}
	// Inside the cut-off (default two hours) the patient cannot cancel; the practice can.
	f.clock.Store(moved.Start.Add(-time.Hour).UnixNano())
	_, err = f.svc.Cancel(ctx, moved, "busy", patient)
	mustCode(t, err, models.EFORBIDDEN)
	_, err = f.svc.Cancel(ctx, moved, " ", booking.Actor{Practice: true})
	mustCode(t, err, models.EINVALID)
	c, err := f.svc.Cancel(ctx, moved, "clinician ill", booking.Actor{Practice: true})
	if err != nil || c.Status != models.ApptCancelled || c.CancelReason != "clinician ill" {
		t.Fatalf("cancel: %v %+v", err, c)
	}
	if st, _ := f.slotStatus(2); st != models.SlotFree {
		t.Fatalf("slot after cancel: %s", st)
	}
	_, err = f.svc.Cancel(ctx, c, "again", booking.Actor{Practice: true})
	mustCode(t, err, models.ECONFLICT)
}

func TestAttendance(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, _ := f.book(f.patient, 0, models.Adjustments{})
	staff := booking.Actor{UserID: "gp", Role: models.RoleClinician, Practice: true}
	if _, err := f.svc.Attend(ctx, a, "booked", staff); models.ErrorCode(err) != models.EINVALID {
		t.Fatalf("bad status: %v", err)
	}
	got, err := f.svc.Attend(ctx, a, models.ApptArrived, staff)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Attend(ctx, got, models.ApptNoShow, staff); models.ErrorCode(err) != models.ECONFLICT {
		t.Fatalf("noshow after arrived: %v", err)
	}
	got, err = f.svc.Attend(ctx, got, models.ApptFulfilled, staff)
	if err != nil || got.Status != models.ApptFulfilled || len(got.History) != 3 {
		t.Fatalf("fulfilled: %v %+v", err, got)
	}
}

func TestCancelSessionFlagsRebooking(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, _ := f.book(f.patient, 0, models.Adjustments{})
	sess, flagged, err := f.svc.CancelSession(ctx, f.session.ID, "clinician ill", booking.Actor{Practice: true})
	if err != nil || flagged != 1 || sess.Status != models.SessionCancelled {
		t.Fatalf("cancel session: %v flagged=%d", err, flagged)
	}
	got, _ := f.appts.AppointmentByID(ctx, a.ID)
	if got.Status != models.ApptNeedsRebooking {
		t.Fatalf("appointment %s, want needs_rebooking", got.Status)
	}
	items, _, _ := f.notes.ListNotifications(ctx, "", f.patient.ID, models.Page{})
	if len(items) != 2 || (items[0].Kind != booking.KindNeedsRebooking && items[1].Kind != booking.KindNeedsRebooking) {
		t.Fatalf("inbox = %+v", items)
	}
	if _, err := f.book(f.other, 3, models.Adjustments{}); models.ErrorCode(err) != models.ECONFLICT {
		t.Fatalf("booking a cancelled session's slot: %v", err)
	}
	// Cancelling again repeats nothing harmful.
	if _, flagged, err := f.svc.CancelSession(ctx, f.session.ID, "again", booking.Actor{Practice: true}); err != nil || flagged != 0 {
		t.Fatalf("again: %v %d", err, flagged)
	}
}

// A video appointment gets its call, once, ready for the waiting room; a face-to-face one none.
func TestVideoAppointmentGetsCall(t *testing.T) {
	f := newFixture(t)
	calls := store.NewCallStore(f.db)
	f.svc = booking.New(booking.Params{Sessions: store.NewSessionStore(f.db), Slots: f.slots, Appointments: f.appts,
		Policies: store.NewBookingPolicyStore(f.db), Calls: booking.StoreCalls{Calls: calls, Now: time.Now},
		Now: func() time.Time { return time.Unix(0, f.clock.Load()).UTC() }})
	ctx := context.Background()
	req := booking.Request{ID: models.AppointmentID(models.NewID()), Patient: f.patient, SlotID: f.slot(0), Mode: models.ModeVideo}
	a, _, err := f.svc.Book(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if a.CallID == "" {
		t.Fatal("video appointment without a call")
	}
	c, err := calls.CallByID(ctx, a.CallID)
	if err != nil || c.AppointmentID != a.ID || c.Status != models.CallOpen || c.PatientID != f.patient.ID || c.CreatedBy != "clin-1" {
		t.Fatalf("call = %+v, %v", c, err)
	}
	again, err := booking.StoreCalls{Calls: calls, Now: time.Now}.CreateAppointmentCall(ctx, a)
	if err != nil || again != a.CallID {
		t.Fatalf("second call %s (%v), want the first %s", again, err, a.CallID)
	}
	b, err := f.book(f.other, 1, models.Adjustments{})
	if err != nil || b.CallID != "" {
		t.Fatalf("face-to-face appointment: call %q (%v)", b.CallID, err)
	}
	// Rescheduling a face-to-face appointment to video gives it a call.
	moved, err := f.svc.Reschedule(ctx, b, f.other, f.slot(2), models.ModeVideo, booking.Actor{Practice: true})
	if err != nil || moved.CallID == "" {
		t.Fatalf("rescheduled to video: call %q (%v)", moved.CallID, err)
	}
}
