package store_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"careway/models"
	"careway/store"
	"careway/store/storetest"
)

// MustCreateUser stores a user with the given id, email and organisation fields.
func MustCreateUser(tb testing.TB, s *store.UserStore, u *models.User) *models.User {
	tb.Helper()
	if u.Name == "" {
		u.Name = "Test User"
	}
	if u.Role == "" {
		u.Role = models.RolePatient
	}
	u.PasswordHash = "$argon2id$test"
	u.CreatedAt, u.UpdatedAt = t0, t0
	if err := s.CreateUser(context.Background(), u); err != nil {
		tb.Fatalf("CreateUser(%s): %v", u.ID, err)
	}
	return u
}

func TestUserStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.NewUserStore(storetest.MustOpen(t))

	t.Run("count on an empty database", func(t *testing.T) {
		n, err := s.CountUsers(ctx)
		MustNoErr(t, err)
		if n != 0 {
			t.Errorf("CountUsers = %d, want 0", n)
		}
	})

	want := &models.User{
		ID: "u1", Email: "gp1@example.test", Name: "Dr One", Role: models.RoleClinician,
		Profession: "gp", PracticeID: "p1",
	}
	MustCreateUser(t, s, want)
	want.CreatedAt, want.UpdatedAt = ms(t0), ms(t0)

	t.Run("by id and by email", func(t *testing.T) {
		for name, get := range map[string]func() (*models.User, error){
			"UserByID":    func() (*models.User, error) { return s.UserByID(ctx, "u1") },
			"UserByEmail": func() (*models.User, error) { return s.UserByEmail(ctx, "gp1@example.test") },
		} {
			got, err := get()
			MustNoErr(t, err)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s:\n got %+v\nwant %+v", name, got, want)
			}
		}
	})

	t.Run("not found", func(t *testing.T) {
		_, err := s.UserByID(ctx, "nobody")
		MustCode(t, err, models.ENOTFOUND)
		_, err = s.UserByEmail(ctx, "nobody@example.test")
		MustCode(t, err, models.ENOTFOUND)
		// The store compares the email exactly; callers normalise it first.
		_, err = s.UserByEmail(ctx, "GP1@example.test")
		MustCode(t, err, models.ENOTFOUND)
	})

	t.Run("duplicate email", func(t *testing.T) {
		err := s.CreateUser(ctx, &models.User{ID: "u2", Email: "gp1@example.test", Role: models.RolePatient})
		MustCode(t, err, models.ECONFLICT)
		if got, want := models.ErrorMessage(err), "An account with this email already exists."; got != want {
			t.Errorf("message = %q, want %q", got, want)
		}
		if strings.Contains(err.Error(), "gp1@") {
			t.Errorf("error text %q quotes the email", err)
		}
	})

	t.Run("duplicate id", func(t *testing.T) {
		err := s.CreateUser(ctx, &models.User{ID: "u1", Email: "other@example.test", Role: models.RolePatient})
		MustCode(t, err, models.ECONFLICT)
	})

	t.Run("new id when empty", func(t *testing.T) {
		u := &models.User{Email: "fresh@example.test", Role: models.RolePatient}
		MustNoErr(t, s.CreateUser(ctx, u))
		if !models.IsUUID(string(u.ID)) {
			t.Errorf("ID = %q, want a new UUID", u.ID)
		}
	})

	t.Run("update password hash", func(t *testing.T) {
		MustNoErr(t, s.UpdatePasswordHash(ctx, "u1", "$argon2id$new"))
		got, err := s.UserByID(ctx, "u1")
		MustNoErr(t, err)
		if got.PasswordHash != "$argon2id$new" {
			t.Errorf("PasswordHash = %q, want the new hash", got.PasswordHash)
		}
		MustCode(t, s.UpdatePasswordHash(ctx, "nobody", "x"), models.ENOTFOUND)
	})

	t.Run("count", func(t *testing.T) {
		n, err := s.CountUsers(ctx)
		MustNoErr(t, err)
		if n != 2 {
			t.Errorf("CountUsers = %d, want 2", n)
		}
	})
}

func TestUserStore_List(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.NewUserStore(storetest.MustOpen(t))

	var clinicians, homeStaff []models.UserID
	for i := range 23 {
		id := models.UserID(fmt.Sprintf("c%02d", i))
		MustCreateUser(t, s, &models.User{ID: id, Email: string(id) + "@example.test", Role: models.RoleClinician, PracticeID: "p1"})
		clinicians = append(clinicians, id)
	}
	for i := range 3 {
		id := models.UserID(fmt.Sprintf("h%02d", i))
		MustCreateUser(t, s, &models.User{ID: id, Email: string(id) + "@example.test", Role: models.RoleCareHomeStaff, PracticeID: "p1", CareHomeID: "home1"})
		homeStaff = append(homeStaff, id)
	}
	MustCreateUser(t, s, &models.User{ID: "other", Email: "other@example.test", Role: models.RoleClinician, PracticeID: "p2"})

	ids := func(us []*models.User) []models.UserID {
		var out []models.UserID
		for _, u := range us {
			out = append(out, u.ID)
		}
		return out
	}
	list := func(f models.UserFilter) func(models.Page) ([]*models.User, string, error) {
		return func(p models.Page) ([]*models.User, string, error) { return s.ListUsers(ctx, f, p) }
	}

	t.Run("pages of a practice's clinicians", func(t *testing.T) {
		got, sizes := collectPages(t, 10, 10, list(models.UserFilter{PracticeID: "p1", Role: models.RoleClinician}))
		if !slices.Equal(ids(got), clinicians) {
			t.Errorf("ids = %v, want %v", ids(got), clinicians)
		}
		if want := []int{10, 10, 3}; !slices.Equal(sizes, want) {
			t.Errorf("page sizes = %v, want %v", sizes, want)
		}
	})

	t.Run("exactly one full page", func(t *testing.T) {
		got, sizes := collectPages(t, 3, 10, list(models.UserFilter{CareHomeID: "home1"}))
		if !slices.Equal(ids(got), homeStaff) {
			t.Errorf("ids = %v, want %v", ids(got), homeStaff)
		}
		if want := []int{3}; !slices.Equal(sizes, want) {
			t.Errorf("page sizes = %v, want %v (no empty last page)", sizes, want)
		}
	})

	t.Run("filters", func(t *testing.T) {
		for _, tc := range []struct {
			f    models.UserFilter
			want int
		}{
			{models.UserFilter{}, 27},
			{models.UserFilter{PracticeID: "p1"}, 26},
			{models.UserFilter{Role: models.RoleClinician}, 24},
			{models.UserFilter{CareHomeID: "home1", Role: models.RoleCareHomeStaff}, 3},
			{models.UserFilter{PracticeID: "p2", Role: models.RoleCareHomeStaff}, 0},
		} {
			got, _ := collectPages(t, 0, 5, list(tc.f))
			if len(got) != tc.want {
				t.Errorf("ListUsers(%+v): %d users, want %d", tc.f, len(got), tc.want)
			}
		}
	})

	t.Run("invalid cursor", func(t *testing.T) {
		for _, c := range []string{"!!!", "bm90IGpzb24", "WyJhIiwiYiJd" /* two keys */, "WyIiXQ" /* [""] */} {
			_, _, err := s.ListUsers(ctx, models.UserFilter{}, models.Page{Cursor: c})
			MustFieldError(t, err, "cursor")
		}
	})
}
