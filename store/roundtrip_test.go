package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

// fill sets every field of the struct v points to, recursively, to a non-zero value: a string
// field to "x-" + its name (so the two CareHomeID fields of a patient and its consent agree),
// times to ms(t0), pointers to new values, slices to one element. A field that a store's
// BSON mapping forgets then shows up as a difference after a round trip.
func fill(v reflect.Value, name string) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("x-" + name)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(7)
	case reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), name)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0), name)
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(ms(t0)))
			return
		}
		for i := range v.NumField() {
			fill(v.Field(i), v.Type().Field(i).Name)
		}
	default:
		panic("fill: unhandled kind " + v.Kind().String() + " of " + name)
	}
}

func filled[T any]() *T {
	var x T
	fill(reflect.ValueOf(&x).Elem(), "")
	return &x
}

func TestRoundTripEveryField(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.MustOpen(t)

	check := func(t *testing.T, got, want any, err error) {
		t.Helper()
		MustNoErr(t, err)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("after a round trip:\n got %+v\nwant %+v", got, want)
		}
	}

	t.Run("user", func(t *testing.T) {
		s, want := store.NewUserStore(db), filled[models.User]()
		MustNoErr(t, s.CreateUser(ctx, want))
		got, err := s.UserByID(ctx, want.ID)
		check(t, got, want, err)
	})
	t.Run("patient", func(t *testing.T) {
		s, want := store.NewPatientStore(db), filled[models.Patient]()
		MustNoErr(t, s.CreatePatient(ctx, want))
		got, err := s.PatientByID(ctx, want.ID)
		check(t, got, want, err)
	})
	t.Run("organisations", func(t *testing.T) {
		s := store.NewOrgStore(db)
		p := filled[models.Practice]()
		p.ID = "x-PracticeID" // sites and homes refer to it by that name
		MustNoErr(t, s.CreatePractice(ctx, p))
		gotP, err := s.PracticeByID(ctx, p.ID)
		check(t, gotP, p, err)
		site := filled[models.Site]()
		MustNoErr(t, s.CreateSite(ctx, site))
		gotS, err := s.SiteByID(ctx, site.ID)
		check(t, gotS, site, err)
		home := filled[models.CareHome]()
		MustNoErr(t, s.CreateCareHome(ctx, home))
		gotH, err := s.CareHomeByID(ctx, home.ID)
		check(t, gotH, home, err)
	})
	t.Run("audit event", func(t *testing.T) {
		s, want := store.NewAuditStore(db), filled[models.AuditEvent]()
		MustNoErr(t, s.AppendAudit(ctx, want))
		got, _, err := s.ListAuditByPatient(ctx, want.PatientID, models.Page{})
		check(t, got, []*models.AuditEvent{want}, err)
	})
	t.Run("refresh token", func(t *testing.T) {
		s, want := store.NewRefreshTokenStore(db), filled[models.RefreshToken]()
		MustNoErr(t, s.CreateRefreshToken(ctx, want))
		got, err := s.RefreshTokenByHash(ctx, want.Hash)
		check(t, got, want, err)
	})
}
