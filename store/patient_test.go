package store_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

// MustCreatePatient stores p, filling in a name, date of birth and times.
func MustCreatePatient(tb testing.TB, s *store.PatientStore, p *models.Patient) *models.Patient {
	tb.Helper()
	if p.Name == "" {
		p.Name = "Test Patient"
	}
	if p.DateOfBirth == "" {
		p.DateOfBirth = "1950-06-01"
	}
	p.CreatedAt, p.UpdatedAt = t0, t0
	if err := s.CreatePatient(context.Background(), p); err != nil {
		tb.Fatalf("CreatePatient(%s): %v", p.ID, err)
	}
	return p
}

func consent(home models.CareHomeID) *models.ProxyConsent {
	until := t0.AddDate(1, 0, 0)
	return &models.ProxyConsent{
		CareHomeID: home,
		Scopes:     []models.ProxyScope{models.ScopeBookAppointments, models.ScopeViewPlan},
		Basis:      models.BasisPatientConsent,
		From:       t0,
		Until:      &until,
		RecordedBy: "staff1",
		RecordedAt: t0,
	}
}

func TestPatientStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.NewPatientStore(storetest.MustOpen(t))

	want := MustCreatePatient(t, s, &models.Patient{
		ID: "pat1", NHSNumber: "9990000018", Name: "Ann Example", Sex: "female",
		PracticeID: "p1", CareHomeID: "home1", Proxy: consent("home1"),
	})

	t.Run("get", func(t *testing.T) {
		got, err := s.PatientByID(ctx, "pat1")
		MustNoErr(t, err)
		w := *want
		w.CreatedAt, w.UpdatedAt = ms(t0), ms(t0)
		w.Proxy = consent("home1")
		w.Proxy.From, w.Proxy.RecordedAt = ms(t0), ms(t0)
		until := ms(*w.Proxy.Until)
		w.Proxy.Until = &until
		if !reflect.DeepEqual(got, &w) {
			t.Errorf("PatientByID:\n got %+v (proxy %+v)\nwant %+v (proxy %+v)", got, got.Proxy, &w, w.Proxy)
		}
		_, err = s.PatientByID(ctx, "nobody")
		MustCode(t, err, models.ENOTFOUND)
	})

	t.Run("duplicate NHS number", func(t *testing.T) {
		err := s.CreatePatient(ctx, &models.Patient{ID: "pat2", NHSNumber: "9990000018", Name: "Other"})
		MustCode(t, err, models.ECONFLICT)
		if strings.Contains(err.Error(), "9990000018") {
			t.Errorf("error text %q quotes the NHS number", err)
		}
	})

	t.Run("patients without NHS numbers", func(t *testing.T) {
		MustCreatePatient(t, s, &models.Patient{ID: "nonum1"})
		MustCreatePatient(t, s, &models.Patient{ID: "nonum2"})
	})

	t.Run("duplicate id", func(t *testing.T) {
		err := s.CreatePatient(ctx, &models.Patient{ID: "pat1", NHSNumber: "9990000026"})
		MustCode(t, err, models.ECONFLICT)
		if got, want := models.ErrorMessage(err), "A patient with this id already exists."; got != want {
			t.Errorf("message = %q, want %q", got, want)
		}
	})

	t.Run("consent must name the patient's home", func(t *testing.T) {
		err := s.CreatePatient(ctx, &models.Patient{ID: "pat3", CareHomeID: "home1", Proxy: consent("home2")})
		MustFieldError(t, err, "proxyConsent.careHomeId")
	})
}

func TestPatientStore_Consent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.NewPatientStore(storetest.MustOpen(t))
	MustCreatePatient(t, s, &models.Patient{ID: "res1", PracticeID: "p1", CareHomeID: "home1"})
	later := t0.Add(time.Hour)

	t.Run("set", func(t *testing.T) {
		c := consent("home1")
		c.RecordedAt = time.Time{}
		got, err := s.SetProxyConsent(ctx, "res1", "p1", c, later)
		MustNoErr(t, err)
		if got.Proxy == nil || !got.Proxy.Allows("home1", models.ScopeViewPlan, later) {
			t.Fatalf("Proxy = %+v, want a consent allowing view_plan", got.Proxy)
		}
		if !got.Proxy.RecordedAt.Equal(ms(later)) || !got.UpdatedAt.Equal(ms(later)) {
			t.Errorf("RecordedAt, UpdatedAt = %v, %v, want both %v", got.Proxy.RecordedAt, got.UpdatedAt, ms(later))
		}
		stored, err := s.PatientByID(ctx, "res1")
		MustNoErr(t, err)
		if !reflect.DeepEqual(stored, got) {
			t.Errorf("stored %+v, returned %+v", stored, got)
		}
	})

	t.Run("another home", func(t *testing.T) {
		_, err := s.SetProxyConsent(ctx, "res1", "p1", consent("home2"), later)
		MustFieldError(t, err, "careHomeId")
	})

	t.Run("unknown patient", func(t *testing.T) {
		_, err := s.SetProxyConsent(ctx, "nobody", "p1", consent("home1"), later)
		MustCode(t, err, models.ENOTFOUND)
		_, err = s.SetProxyConsent(ctx, "nobody", "p1", nil, later)
		MustCode(t, err, models.ENOTFOUND)
	})

	t.Run("registration changed since the caller was authorised", func(t *testing.T) {
		_, err := s.SetProxyConsent(ctx, "res1", "p2", consent("home1"), later)
		MustCode(t, err, models.ECONFLICT)
		_, err = s.SetProxyConsent(ctx, "res1", "p2", nil, later)
		MustCode(t, err, models.ECONFLICT)
		got, err := s.PatientByID(ctx, "res1")
		MustNoErr(t, err)
		if got.Proxy == nil {
			t.Error("a refused withdrawal removed the consent")
		}
	})

	t.Run("withdraw", func(t *testing.T) {
		got, err := s.SetProxyConsent(ctx, "res1", "p1", nil, later)
		MustNoErr(t, err)
		if got.Proxy != nil {
			t.Errorf("Proxy = %+v, want nil", got.Proxy)
		}
	})
}

func TestPatientStore_UpdateRegistration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.NewPatientStore(storetest.MustOpen(t))
	later := t0.Add(time.Hour)

	for _, tc := range []struct {
		name        string
		practice    models.PracticeID
		home        models.CareHomeID
		keepConsent bool
	}{
		{"same home, new practice", "p2", "home1", true},
		{"another home", "p1", "home2", false},
		{"leaves the home", "p1", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := models.PatientID(models.NewID())
			MustCreatePatient(t, s, &models.Patient{ID: id, PracticeID: "p1", CareHomeID: "home1", Proxy: consent("home1")})
			got, err := s.UpdateRegistration(ctx, id, "p1", tc.practice, tc.home, later)
			MustNoErr(t, err)
			if got.PracticeID != tc.practice || got.CareHomeID != tc.home || !got.UpdatedAt.Equal(ms(later)) {
				t.Errorf("got practice %q, home %q, updated %v; want %q, %q, %v",
					got.PracticeID, got.CareHomeID, got.UpdatedAt, tc.practice, tc.home, ms(later))
			}
			if kept := got.Proxy != nil; kept != tc.keepConsent {
				t.Errorf("consent kept = %v, want %v", kept, tc.keepConsent)
			}
			stored, err := s.PatientByID(ctx, id)
			MustNoErr(t, err)
			if !reflect.DeepEqual(stored, got) {
				t.Errorf("stored %+v, returned %+v", stored, got)
			}
		})
	}

	t.Run("unknown patient", func(t *testing.T) {
		_, err := s.UpdateRegistration(ctx, "nobody", "p1", "p1", "home1", later)
		MustCode(t, err, models.ENOTFOUND)
		_, err = s.UpdateRegistration(ctx, "nobody", "p1", "p1", "", later)
		MustCode(t, err, models.ENOTFOUND)
	})

	t.Run("registration changed since the caller was authorised", func(t *testing.T) {
		id := models.PatientID(models.NewID())
		MustCreatePatient(t, s, &models.Patient{ID: id, PracticeID: "p2"})
		for _, home := range []models.CareHomeID{"", "home1"} {
			_, err := s.UpdateRegistration(ctx, id, "p1", "p1", home, later)
			MustCode(t, err, models.ECONFLICT)
		}
		got, err := s.PatientByID(ctx, id)
		MustNoErr(t, err)
		if got.PracticeID != "p2" {
			t.Errorf("practice = %q after a refused update, want p2", got.PracticeID)
		}
	})

	t.Run("a patient with no practice", func(t *testing.T) {
		id := models.PatientID(models.NewID())
		MustCreatePatient(t, s, &models.Patient{ID: id})
		got, err := s.UpdateRegistration(ctx, id, "", "p1", "", later)
		MustNoErr(t, err)
		if got.PracticeID != "p1" {
			t.Errorf("practice = %q, want p1", got.PracticeID)
		}
	})
}

func TestPatientStore_List(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.NewPatientStore(storetest.MustOpen(t))
	for i := range 12 {
		home := models.CareHomeID("")
		if i%3 == 0 {
			home = "home1"
		}
		MustCreatePatient(t, s, &models.Patient{ID: models.PatientID(fmt.Sprintf("pat%02d", i)), PracticeID: "p1", CareHomeID: home})
	}
	MustCreatePatient(t, s, &models.Patient{ID: "elsewhere", PracticeID: "p2"})

	list := func(f models.PatientFilter) func(models.Page) ([]*models.Patient, string, error) {
		return func(p models.Page) ([]*models.Patient, string, error) { return s.ListPatients(ctx, f, p) }
	}
	for _, tc := range []struct {
		f     models.PatientFilter
		limit int
		want  []string
	}{
		{models.PatientFilter{PracticeID: "p1"}, 5, []string{"pat00", "pat01", "pat02", "pat03", "pat04", "pat05", "pat06", "pat07", "pat08", "pat09", "pat10", "pat11"}},
		{models.PatientFilter{CareHomeID: "home1"}, 2, []string{"pat00", "pat03", "pat06", "pat09"}},
		{models.PatientFilter{PracticeID: "p2", CareHomeID: "home1"}, 0, nil},
	} {
		got, _ := collectPages(t, tc.limit, 10, list(tc.f))
		var ids []string
		for _, p := range got {
			ids = append(ids, string(p.ID))
		}
		if !reflect.DeepEqual(ids, tc.want) {
			t.Errorf("ListPatients(%+v) = %v, want %v", tc.f, ids, tc.want)
		}
	}

	_, _, err := s.ListPatients(ctx, models.PatientFilter{}, models.Page{})
	MustFieldError(t, err, "practiceId")
	_, _, err = s.ListPatients(ctx, models.PatientFilter{PracticeID: "p1"}, models.Page{Cursor: "x"})
	MustFieldError(t, err, "cursor")
}

func TestPatientStore_SetNHSNumber(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.NewPatientStore(storetest.MustOpen(t))
	later := t0.Add(time.Hour)
	MustCreatePatient(t, s, &models.Patient{ID: "known", NHSNumber: "9990000018", PracticeID: "p1"})
	MustCreatePatient(t, s, &models.Patient{ID: "claimant", ClaimedNHSNumber: "9990000018", PracticeID: "p1"})

	_, err := s.SetNHSNumber(ctx, "claimant", "p1", "9990000018", later)
	MustCode(t, err, models.ECONFLICT) // another record holds it
	_, err = s.SetNHSNumber(ctx, "claimant", "p2", "9990000026", later)
	MustCode(t, err, models.ECONFLICT) // registration changed
	_, err = s.SetNHSNumber(ctx, "nobody", "p1", "9990000026", later)
	MustCode(t, err, models.ENOTFOUND)

	got, err := s.SetNHSNumber(ctx, "claimant", "p1", "9990000026", later)
	MustNoErr(t, err)
	if got.NHSNumber != "9990000026" || got.ClaimedNHSNumber != "" {
		t.Errorf("after verification: number %q, claim %q; want the number and no claim", got.NHSNumber, got.ClaimedNHSNumber)
	}
	// The verified number is now unique like any other.
	err = s.CreatePatient(ctx, &models.Patient{NHSNumber: "9990000026", PracticeID: "p1"})
	MustCode(t, err, models.ECONFLICT)
}
