package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/mongo"

	"careway/models"
)

func TestWrapErr(t *testing.T) {
	secret := "9990000018"
	dup := mongo.WriteException{WriteErrors: []mongo.WriteError{{Code: 11000, Message: "E11000 dup key: { nhsKey: \"nhs:" + secret + "\" }"}}}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"already ours", models.Errorf(models.EFORBIDDEN, "no"), models.EFORBIDDEN},
		{"no documents", mongo.ErrNoDocuments, models.ENOTFOUND},
		{"duplicate key", dup, models.ECONFLICT},
		{"deadline", fmt.Errorf("find: %w", context.DeadlineExceeded), models.EUNAVAILABLE},
		{"cancelled", context.Canceled, models.EUNAVAILABLE},
		{"disconnected", mongo.ErrClientDisconnected, models.EUNAVAILABLE},
		{"shutting down", mongo.CommandError{Code: 91, Name: "ShutdownInProgress"}, models.EUNAVAILABLE},
		{"network", mongo.CommandError{Labels: []string{"NetworkError"}}, models.EUNAVAILABLE},
		{"other server error", mongo.CommandError{Code: 2, Name: "BadValue", Message: "bad " + secret}, models.EINTERNAL},
		{"anything else", errors.New("boom"), models.EINTERNAL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := wrapErr("patients.insert", tc.err)
			if got := models.ErrorCode(err); got != tc.want {
				t.Errorf("code = %q, want %q (error: %v)", got, tc.want, err)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("error text %q quotes document contents", err)
			}
			// The cause stays reachable for logging and for callers that inspect it.
			var se mongo.ServerError
			if errors.As(tc.err, &se) && !errors.As(err, &se) {
				t.Errorf("errors.As(wrapped, ServerError) = false: the cause is lost")
			}
			if tc.want == models.EUNAVAILABLE || tc.want == models.EINTERNAL {
				if errors.As(tc.err, &se) {
					return // not comparable; checked above
				}
				if !errors.Is(err, tc.err) {
					t.Errorf("errors.Is(wrapped, cause) = false: the cause is lost")
				}
			}
		})
	}
}

func TestDecodeCursor(t *testing.T) {
	c := encodeCursor("1740821400123", "e05")
	got, err := decodeCursor(c, 2)
	if err != nil || len(got) != 2 || got[0] != "1740821400123" || got[1] != "e05" {
		t.Errorf("decodeCursor(encodeCursor(…)) = %v, %v", got, err)
	}
	for _, bad := range []string{"", "%%%", c + "=", encodeCursor("a"), encodeCursor("a", "")} {
		if _, err := decodeCursor(bad, 2); models.ErrorCode(err) != models.EINVALID {
			t.Errorf("decodeCursor(%q): error %v, want EINVALID", bad, err)
		}
	}
}
