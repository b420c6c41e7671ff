package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"
	"unicode"

	"github.com/gofiber/fiber/v2"

	"careway/models"
)

// decode reads the JSON body into v strictly: the content type must be JSON, unknown fields are
// refused, a value of the wrong JSON type (an object such as {"$ne": null} where a string
// belongs) is refused, and nothing may follow the value. Errors are EINVALID naming the field,
// so a body can never smuggle a query operator into the store.
func decode(c *fiber.Ctx, v any) error {
	ct := strings.ToLower(c.Get(fiber.HeaderContentType))
	if ct != "" && !strings.HasPrefix(ct, fiber.MIMEApplicationJSON) {
		return fiber.NewError(fiber.StatusUnsupportedMediaType, "Send the body as application/json.")
	}
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return fieldError("", "a JSON body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fieldError("", "the body must hold one JSON value and nothing after it")
	}
	return nil
}

// jsonPath is the field path of an encoding/json error as the caller wrote it: encoding/json
// puts the Go name of an embedded struct in the path ("Adjustments.stepFree"), and every JSON
// name of the API is camelCase, so segments that start with a capital letter are left out.
func jsonPath(field string) string {
	parts := strings.Split(field, ".")
	kept := parts[:0]
	for _, p := range parts {
		if p != "" && !unicode.IsUpper(rune(p[0])) {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, ".")
}

// jsonError turns an encoding/json error into a caller-safe EINVALID error naming the field.
func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := jsonPath(typeErr.Field)
		if field == "" {
			return fieldError("", "the body must be a JSON object")
		}
		return fieldError(field, "must be "+describeJSONType(typeErr.Type.Kind().String(), typeErr.Type.String())+", not "+typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fieldError("", fmt.Sprintf("is not valid JSON (at byte %d)", syntaxErr.Offset))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fieldError("", "is not valid JSON (it ends too early)")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return fieldError(name, "is not a field this endpoint accepts")
	}
	var me *models.Error
	if errors.As(err, &me) {
		return me // from a custom UnmarshalJSON
	}
	return fieldError("", "could not be read as JSON")
}

func describeJSONType(kind, name string) string {
	if name == "time.Time" {
		return "an RFC 3339 time such as 2026-03-01T09:30:00Z"
	}
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "a whole number"
	case "float32", "float64":
		return "a number"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return "a value of another type"
}

func fieldError(field, message string) error {
	var p models.Problems
	if field == "" {
		field = "body"
	}
	p.Add(field, message)
	return p.Err()
}

// jsonTime is a time in a request body. Unlike time.Time it reports a value of the wrong kind
// ({"$ne": null}, a number, a date in another format) as an error that names its field.
type jsonTime struct{ time.Time }

var timeType = reflect.TypeOf(time.Time{})

// UnmarshalJSON accepts only an RFC 3339 string.
func (t *jsonTime) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] != '"' {
		kind := "a number"
		switch b[0] {
		case '{':
			kind = "an object"
		case '[':
			kind = "an array"
		case 't', 'f':
			kind = "true or false"
		case 'n':
			return nil // null: absent
		}
		return &json.UnmarshalTypeError{Value: kind, Type: timeType}
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &json.UnmarshalTypeError{Value: "a malformed string", Type: timeType}
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return &json.UnmarshalTypeError{Value: "a string in another format", Type: timeType}
	}
	t.Time = v.UTC()
	return nil
}

// ptr returns the time as a pointer, nil when it was absent.
func (t *jsonTime) ptr() *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	v := t.Time
	return &v
}
