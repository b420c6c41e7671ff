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
	return decodeJSON(body, v)
}

// decodeJSON is decode's reading of one JSON value, for a body or a part of one.
func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fieldError("", "the body must hold one JSON value and nothing after it")
	}
	return badTime(reflect.ValueOf(v), "")
}

// jsonPath is the field path of an encoding/json error as the caller wrote it, in the API's
// own form (`observations[3].value`): encoding/json may put the Go name of an embedded struct in
// the path ("Adjustments.stepFree"), and every JSON name of the API is camelCase, so segments
// that start with a capital letter are left out; an element of an array, which it writes as a
// segment of digits ("answers.0"), is written as an index.
func jsonPath(field string) string {
	var b strings.Builder
	for _, p := range strings.Split(field, ".") {
		switch {
		case p == "" || unicode.IsUpper(rune(p[0])):
		case strings.Trim(p, "0123456789") == "":
			b.WriteString("[" + p + "]")
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(p)
		}
	}
	return b.String()
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
//
// UnmarshalJSON cannot report that itself: since Go 1.27, encoding/json returns an error from a
// type's own UnmarshalJSON without the path of the field it was in. So it notes what was wrong
// and decode, once the body is read, finds the time (badTime) and names it.
type jsonTime struct {
	time.Time
	bad string // what the value was instead of an RFC 3339 string; "" when it was one (or null)
}

// UnmarshalJSON accepts only an RFC 3339 string (or null: absent); anything else is noted in bad.
func (t *jsonTime) UnmarshalJSON(b []byte) error {
	t.bad = ""
	if len(b) == 0 || b[0] != '"' {
		t.bad = "a number"
		switch {
		case len(b) == 0:
			t.bad = "nothing"
		case b[0] == '{':
			t.bad = "an object"
		case b[0] == '[':
			t.bad = "an array"
		case b[0] == 't' || b[0] == 'f':
			t.bad = "true or false"
		case b[0] == 'n':
			t.bad = "" // null: absent
		}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		t.bad = "a malformed string"
		return nil
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.bad = "a string in another format"
		return nil
	}
	t.Time = v.UTC()
	return nil
}

var jsonTimeType = reflect.TypeOf(jsonTime{})

// badTime finds the first jsonTime in v that was not a time and names it by its path under
// prefix, in the API's form (`observations[3].effectiveAt`).
func badTime(v reflect.Value, prefix string) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return badTime(v.Elem(), prefix)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if err := badTime(v.Index(i), fmt.Sprintf("%s[%d]", prefix, i)); err != nil {
				return err
			}
		}
	case reflect.Struct:
		if v.Type() == jsonTimeType {
			if bad := v.Field(1).String(); bad != "" {
				return fieldError(prefix, "must be "+describeJSONType("struct", "time.Time")+", not "+bad)
			}
			return nil
		}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch {
			case name == "-":
				continue
			case name == "" && f.Anonymous:
				name = prefix // an embedded struct's fields are the outer object's
			case name == "":
				name = f.Name
				fallthrough
			default:
				if prefix != "" {
					name = prefix + "." + name
				}
			}
			if err := badTime(v.Field(i), name); err != nil {
				return err
			}
		}
	}
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
