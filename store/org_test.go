package store_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

func TestOrgStore_Practices(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.NewOrgStore(storetest.MustOpen(t))

	want := &models.Practice{ID: "p1", Name: "Riverside Surgery", ODSCode: "Y12345", Phone: "01632 960000", CreatedAt: t0}
	MustNoErr(t, s.CreatePractice(ctx, want))
	want.CreatedAt = ms(t0)

	got, err := s.PracticeByID(ctx, "p1")
	MustNoErr(t, err)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PracticeByID:\n got %+v\nwant %+v", got, want)
	}
	_, err = s.PracticeByID(ctx, "nowhere")
	MustCode(t, err, models.ENOTFOUND)

	t.Run("duplicate ODS code", func(t *testing.T) {
		err := s.CreatePractice(ctx, &models.Practice{ID: "p2", Name: "Copy", ODSCode: "Y12345"})
		MustCode(t, err, models.ECONFLICT)
	})
	t.Run("practices without ODS codes", func(t *testing.T) {
		MustNoErr(t, s.CreatePractice(ctx, &models.Practice{ID: "p3", Name: "Pop-up clinic"}))
		MustNoErr(t, s.CreatePractice(ctx, &models.Practice{ID: "p4", Name: "Another pop-up"}))
	})
	t.Run("duplicate id", func(t *testing.T) {
		MustCode(t, s.CreatePractice(ctx, &models.Practice{ID: "p1", Name: "Same id"}), models.ECONFLICT)
	})
	t.Run("list", func(t *testing.T) {
		got, sizes := collectPages(t, 2, 5, func(p models.Page) ([]*models.Practice, string, error) { return s.ListPractices(ctx, p) })
		var ids []models.PracticeID
		for _, p := range got {
			ids = append(ids, p.ID)
		}
		if want := []models.PracticeID{"p1", "p3", "p4"}; !reflect.DeepEqual(ids, want) {
			t.Errorf("ListPractices = %v (pages %v), want %v", ids, sizes, want)
		}
	})
}

func TestOrgStore_SitesAndHomes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.NewOrgStore(storetest.MustOpen(t))
	MustNoErr(t, s.CreatePractice(ctx, &models.Practice{ID: "p1", Name: "Riverside"}))
	MustNoErr(t, s.CreatePractice(ctx, &models.Practice{ID: "p2", Name: "Hilltop"}))
	addr := models.Address{Line1: "1 High Street", Town: "Anytown", Postcode: "AB1 2CD"}

	t.Run("sites", func(t *testing.T) {
		want := &models.Site{ID: "s1", PracticeID: "p1", Name: "Main", Address: addr, StepFreeAccess: true, Parking: true, CreatedAt: t0}
		MustNoErr(t, s.CreateSite(ctx, want))
		want.CreatedAt = ms(t0)
		got, err := s.SiteByID(ctx, "s1")
		MustNoErr(t, err)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("SiteByID:\n got %+v\nwant %+v", got, want)
		}
		_, err = s.SiteByID(ctx, "nowhere")
		MustCode(t, err, models.ENOTFOUND)
		MustCode(t, s.CreateSite(ctx, &models.Site{ID: "s9", PracticeID: "nowhere", Name: "Orphan"}), models.ENOTFOUND)
		MustCode(t, s.CreateSite(ctx, &models.Site{ID: "s1", PracticeID: "p1", Name: "Same id"}), models.ECONFLICT)

		for i := 2; i <= 5; i++ {
			MustNoErr(t, s.CreateSite(ctx, &models.Site{ID: models.SiteID(fmt.Sprintf("s%d", i)), PracticeID: "p1", Name: "Branch"}))
		}
		MustNoErr(t, s.CreateSite(ctx, &models.Site{ID: "s6", PracticeID: "p2", Name: "Other practice"}))
		got2, _ := collectPages(t, 2, 5, func(p models.Page) ([]*models.Site, string, error) { return s.ListSites(ctx, "p1", p) })
		var ids []models.SiteID
		for _, site := range got2 {
			ids = append(ids, site.ID)
		}
		if want := []models.SiteID{"s1", "s2", "s3", "s4", "s5"}; !reflect.DeepEqual(ids, want) {
			t.Errorf("ListSites(p1) = %v, want %v", ids, want)
		}
	})

	t.Run("care homes", func(t *testing.T) {
		want := &models.CareHome{ID: "h1", Name: "Oak House", Address: addr, PracticeID: "p1", CreatedAt: t0}
		MustNoErr(t, s.CreateCareHome(ctx, want))
		want.CreatedAt = ms(t0)
		got, err := s.CareHomeByID(ctx, "h1")
		MustNoErr(t, err)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("CareHomeByID:\n got %+v\nwant %+v", got, want)
		}
		_, err = s.CareHomeByID(ctx, "nowhere")
		MustCode(t, err, models.ENOTFOUND)
		MustCode(t, s.CreateCareHome(ctx, &models.CareHome{ID: "h9", PracticeID: "nowhere"}), models.ENOTFOUND)
		MustCode(t, s.CreateCareHome(ctx, &models.CareHome{ID: "h1", PracticeID: "p1"}), models.ECONFLICT)

		MustNoErr(t, s.CreateCareHome(ctx, &models.CareHome{ID: "h2", Name: "Elm Lodge", PracticeID: "p2"}))
		MustNoErr(t, s.CreateCareHome(ctx, &models.CareHome{ID: "h3", Name: "Ash Court", PracticeID: "p1"}))
		for _, tc := range []struct {
			practice models.PracticeID
			want     []models.CareHomeID
		}{
			{"", []models.CareHomeID{"h1", "h2", "h3"}},
			{"p1", []models.CareHomeID{"h1", "h3"}},
			{"p3", nil},
		} {
			got, _ := collectPages(t, 1, 5, func(p models.Page) ([]*models.CareHome, string, error) {
				return s.ListCareHomes(ctx, tc.practice, p)
			})
			var ids []models.CareHomeID
			for _, h := range got {
				ids = append(ids, h.ID)
			}
			if !reflect.DeepEqual(ids, tc.want) {
				t.Errorf("ListCareHomes(%q) = %v, want %v", tc.practice, ids, tc.want)
			}
		}
	})
}
