package store_test

import (
	"errors"
	"os"
	"testing"
	"time"

	"careway/models"
	"careway/store/storetest"
)

// TestMain shares one embedded server between the tests; each test opens its own database.
func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// t0 is a fixed time with sub-millisecond digits, which BSON dates drop.
var t0 = time.Date(2025, 3, 1, 9, 30, 0, 123456789, time.UTC)

// ms returns t as the database gives it back: UTC, to the millisecond.
func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// MustCode fails the test unless err carries the wanted *models.Error code.
func MustCode(tb testing.TB, err error, want string) {
	tb.Helper()
	if got := models.ErrorCode(err); got != want {
		tb.Fatalf("error code = %q, want %q (error: %v)", got, want, err)
	}
}

// MustNoErr fails the test on a non-nil err.
func MustNoErr(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("unexpected error: %v", err)
	}
}

// MustFieldError fails the test unless err is EINVALID naming field.
func MustFieldError(tb testing.TB, err error, field string) {
	tb.Helper()
	MustCode(tb, err, models.EINVALID)
	var e *models.Error
	errors.As(err, &e)
	if len(e.Fields) != 1 || e.Fields[0].Field != field {
		tb.Fatalf("fields = %+v, want one naming %q", e.Fields, field)
	}
}

// collectPages follows cursors from the first page to the last, failing on more than max
// pages, and returns every item and the size of each page.
func collectPages[T any](tb testing.TB, limit, max int, list func(models.Page) ([]T, string, error)) (all []T, sizes []int) {
	tb.Helper()
	p := models.Page{Limit: limit}
	for i := 0; ; i++ {
		if i == max {
			tb.Fatalf("more than %d pages", max)
		}
		items, next, err := list(p)
		if err != nil {
			tb.Fatalf("page %d: %v", i, err)
		}
		all = append(all, items...)
		sizes = append(sizes, len(items))
		if next == "" {
			return all, sizes
		}
		p.Cursor = next
	}
}
