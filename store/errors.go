package store

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/x/mongo/driver/topology"

	"careway/models"
)

// Caller-safe messages shared by every store.
const (
	msgUnavailable = "The database is unavailable."
	msgInternal    = "Database error."
)

// wrapErr converts an error from the driver into a *models.Error: a missing document becomes
// ENOTFOUND, a duplicate key ECONFLICT, an unreachable or slow server EUNAVAILABLE, anything
// else EINTERNAL. Callers that can say more (which thing was not found, which key was taken)
// check for those cases first. op names the operation in the logged cause, e.g. "users.insert".
func wrapErr(op string, err error) error {
	var me *models.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &me):
		return err
	case errors.Is(err, mongo.ErrNoDocuments):
		return models.Errorf(models.ENOTFOUND, "Not found.")
	case mongo.IsDuplicateKeyError(err):
		return models.Wrap(models.ECONFLICT, &driverError{op: op, err: err}, "It already exists.")
	case unavailable(err):
		return models.Wrap(models.EUNAVAILABLE, &driverError{op: op, err: err}, msgUnavailable)
	}
	return models.Wrap(models.EINTERNAL, &driverError{op: op, err: err}, msgInternal)
}

// transientCodes are server error codes that mean "not now" rather than "never": the server
// is shutting down, stepping down, or a node cannot be reached.
var transientCodes = []int{
	6,     // HostUnreachable
	7,     // HostNotFound
	89,    // NetworkTimeout
	91,    // ShutdownInProgress
	189,   // PrimarySteppedDown
	262,   // ExceededTimeLimit
	9001,  // SocketException
	10107, // NotWritablePrimary
	11600, // InterruptedAtShutdown
	11602, // InterruptedDueToReplStateChange
	13435, // NotPrimaryNoSecondaryOk
	13436, // NotPrimaryOrSecondary
}

// unavailable reports whether err means the database could not be reached or did not answer
// in time. A cancelled context counts: the caller gave up waiting.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, mongo.ErrClientDisconnected) ||
		mongo.IsTimeout(err) || mongo.IsNetworkError(err) {
		return true
	}
	var sse topology.ServerSelectionError
	if errors.As(err, &sse) {
		return true
	}
	var se mongo.ServerError
	if errors.As(err, &se) {
		if se.HasErrorLabel("RetryableWriteError") {
			return true
		}
		for _, c := range transientCodes {
			if se.HasErrorCode(c) {
				return true
			}
		}
	}
	return false
}

// driverError keeps a driver error as the cause of a *models.Error while keeping document
// contents out of its text: a server's error message can quote the values of a document (a
// duplicate key error quotes the key, an NHS number or an email), and causes are logged. Only
// the codes of server errors are printed; errors.Is and errors.As still reach the original.
type driverError struct {
	op  string
	err error
}

func (e *driverError) Error() string { return "store: " + e.op + ": " + describe(e.err) }

func (e *driverError) Unwrap() error { return e.err }

// describe prints server errors by code and name only. Errors raised in the client (network,
// timeouts, encoding) carry addresses, types and field names, not values, and are printed as
// they are.
func describe(err error) string {
	var we mongo.WriteException
	if errors.As(err, &we) {
		var codes []int
		for _, w := range we.WriteErrors {
			codes = append(codes, w.Code)
		}
		if we.WriteConcernError != nil {
			codes = append(codes, we.WriteConcernError.Code)
		}
		return fmt.Sprintf("server write error, codes %v, labels %v", codes, we.Labels)
	}
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) {
		var codes []int
		for _, w := range bwe.WriteErrors {
			codes = append(codes, w.Code)
		}
		return fmt.Sprintf("server bulk write error, codes %v, labels %v", codes, bwe.Labels)
	}
	var ce mongo.CommandError
	if errors.As(err, &ce) {
		return fmt.Sprintf("server error %d (%s), labels %v", ce.Code, ce.Name, ce.Labels)
	}
	return err.Error()
}

// notFound returns the ENOTFOUND error for a missing document, or wrapErr's mapping for any
// other error.
func notFound(op string, err error, message string) error {
	if errors.Is(err, mongo.ErrNoDocuments) {
		return models.Errorf(models.ENOTFOUND, "%s", message)
	}
	return wrapErr(op, err)
}

// invalid returns an EINVALID error naming one field.
func invalid(field, message string) error {
	var p models.Problems
	p.Add(field, message)
	return p.Err()
}
