package main

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"testing"
	"time"

	"careway/auth"
	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

// TestDemoSeedResumes: a first start was interrupted after creating the practice and one
// account, with a random password nobody saw. The next start completes the data set, and the
// password it prints works for every demo account, the early one included.
func TestDemoSeedResumes(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpen(t)
	users, patients, orgs := store.NewUserStore(db), store.NewPatientStore(db), store.NewOrgStore(db)
	h := auth.NewHasher(2)
	oldHash, err := h.Hash(ctx, "the lost random password")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := orgs.CreatePractice(ctx, &models.Practice{ID: models.PracticeID(demoID(kindPractice, 1)), Name: "Riverside Medical Practice", ODSCode: "Y99901", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	early := &models.User{ID: models.UserID(demoID(kindUser, 2)), Email: "gp1" + demoDomain, Name: "Dr Sarah Khan", Role: models.RoleClinician,
		Profession: "gp", PracticeID: models.PracticeID(demoID(kindPractice, 1)), PasswordHash: oldHash, CreatedAt: now, UpdatedAt: now}
	if err := users.CreateUser(ctx, early); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	p := seedParams{Users: users, Patients: patients, Orgs: orgs, Conditions: store.NewConditionStore(db), Hasher: h,
		Out: &out, Log: slog.New(slog.DiscardHandler)}
	if err := seedDemo(ctx, p); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`Password for every demo account: (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no password printed:\n%s", out.String())
	}
	for _, email := range []string{"gp1" + demoDomain, "admin" + demoDomain, "patient20" + demoDomain} {
		u, err := users.UserByEmail(ctx, email)
		if err != nil {
			t.Fatalf("%s: %v", email, err)
		}
		if ok, _, err := h.Verify(ctx, m[1], u.PasswordHash); err != nil || !ok {
			t.Errorf("%s: the printed password does not work (ok %v, err %v)", email, ok, err)
		}
	}
	// And a third start leaves everything alone.
	out.Reset()
	if err := seedDemo(ctx, p); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Errorf("a complete data set was seeded again:\n%s", out.String())
	}
}
