package models

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Every error that crosses a package boundary is a *Error with one of these codes, or
// is treated as EINTERNAL. The HTTP layer maps each code to one status, once.
const (
	EINVALID      = "invalid"      // the input is wrong; Fields says where
	EUNAUTHORIZED = "unauthorized" // who is asking is unknown or their credentials are bad
	EFORBIDDEN    = "forbidden"    // who is asking is known but may not do this
	ENOTFOUND     = "not_found"    // the thing does not exist (or may not be known to exist)
	ECONFLICT     = "conflict"     // the thing exists already, or changed under the caller
	ETOOMANY      = "too_many"     // throttled; RetryAfter says for how long
	EUNAVAILABLE  = "unavailable"  // a dependency (the database) does not answer
	EINTERNAL     = "internal"     // a bug or an unexpected failure; its text never reaches a client
)

// Error is Careway's one error type. Message is safe to show to the caller; it never carries
// patient data that the caller may not see.
type Error struct {
	Code       string
	Message    string
	Fields     []FieldError
	RetryAfter time.Duration // with ETOOMANY
	Err        error         // the underlying cause, logged but never shown
}

// FieldError names one bad field of an input and says what is wrong with it. Field is a JSON
// pointer-like path in the request's own camelCase names, e.g. "email" or "observations[3].value".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("careway error: code=%s message=%s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("careway error: code=%s message=%s", e.Code, e.Message)
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with the given code and message that keeps err as its hidden cause.
func Wrap(code string, err error, message string) *Error {
	return &Error{Code: code, Message: message, Err: err}
}

// ErrorCode returns the code of err: the code of the first *Error in its chain, "" for nil, and
// EINTERNAL for anything else.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err; for foreign errors a generic text.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// Problems collects field errors while validating an input.
type Problems []FieldError

// Add records that field is wrong, saying why.
func (p *Problems) Add(field, message string) {
	*p = append(*p, FieldError{Field: field, Message: message})
}

// Err returns nil when nothing was added, otherwise an EINVALID *Error listing every field.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	msg := p[0].Field + ": " + p[0].Message
	if len(p) > 1 {
		msg = fmt.Sprintf("%s (and %d more)", msg, len(p)-1)
	}
	return &Error{Code: EINVALID, Message: msg, Fields: append([]FieldError(nil), p...)}
}
