package handlers

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"careway/models"
)

// FHIR search (R4 "Search"): the parameters each search knows, parsed strictly. An unknown
// parameter, a modifier or a prefix Careway does not support is a 400 naming the parameter,
// as FHIR allows a server to do ("Prefer: handling=strict" behaviour always): silently
// ignoring a misspelt `patient` would widen a search of clinical data.

// fhirPagingParams are the parameters every search takes besides its own.
var fhirPagingParams = []string{"_count", "_format", "cursor"}

// fhirParams is the checked query of one FHIR search.
type fhirParams map[string][]string

// fhirQuery reads the query string, refusing any parameter that is not in known or
// fhirPagingParams. Values are copied (Fiber reuses its buffers).
func fhirQuery(c *fiber.Ctx, known ...string) (fhirParams, error) {
	q := fhirParams{}
	var probs models.Problems
	c.Request().URI().QueryArgs().VisitAll(func(k, v []byte) {
		name := string(k)
		if !slices.Contains(known, name) && !slices.Contains(fhirPagingParams, name) {
			base, _, modifier := strings.Cut(name, ":")
			if modifier && slices.Contains(known, base) {
				probs.Add(name, "modifiers are not supported on this search parameter")
			} else {
				probs.Add(name, "is not a search parameter of this resource; use "+strings.Join(known, ", ")+" or _count")
			}
			return
		}
		if len(v) == 0 {
			probs.Add(name, "must have a value")
			return
		}
		q[name] = append(q[name], string(v))
	})
	if f := q.one("_format", &probs); f != "" && f != "json" && f != "application/json" && f != fhirContentType {
		probs.Add("_format", "only json (application/fhir+json) is served")
	}
	return q, probs.Err()
}

// one returns the single value of a parameter ("" when absent), adding a problem if it is given
// more than once.
func (q fhirParams) one(name string, probs *models.Problems) string {
	vs := q[name]
	if len(vs) > 1 {
		probs.Add(name, "may be given only once")
	}
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// page reads _count (1 to 200, default 50) and the cursor of the next link.
func (q fhirParams) page() (models.Page, error) {
	var probs models.Problems
	p := models.Page{Limit: models.DefaultPageLimit}
	if s := q.one("_count", &probs); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > models.MaxPageLimit {
			probs.Add("_count", "must be a whole number from 1 to 200")
		} else {
			p.Limit = n
		}
	}
	if cur := q.one("cursor", &probs); cur != "" {
		if len(cur) > 512 {
			probs.Add("cursor", "is not a cursor this server issued")
		}
		p.Cursor = cur
	}
	return p, probs.Err()
}

// patient reads a reference search parameter naming one patient: `Patient/{id}` or a bare id.
// A search of patient data always names its patient: the policy decides per patient.
func (q fhirParams) patient(name string) (models.PatientID, error) {
	var probs models.Problems
	v := q.one(name, &probs)
	if err := probs.Err(); err != nil {
		return "", err
	}
	if v == "" {
		return "", fieldError(name, "is required: name the patient as Patient/{id}")
	}
	id := strings.TrimPrefix(v, "Patient/")
	if !models.IsUUID(id) {
		return "", fieldError(name, "must be a patient reference, Patient/{id}, with the patient's id")
	}
	return models.PatientID(id), nil
}

// token is one value of a token search parameter: system|code, code, or |code (no system).
type token struct {
	System    string
	HasSystem bool // the value named a system, possibly empty (|code)
	Code      string
}

// tokens reads a token parameter: a comma-separated list (any of them matches), at most one
// occurrence. No values gives nil.
func (q fhirParams) tokens(name string) ([]token, error) {
	var probs models.Problems
	v := q.one(name, &probs)
	if err := probs.Err(); err != nil || v == "" {
		return nil, err
	}
	var out []token
	for _, part := range strings.Split(v, ",") {
		sys, code, hasSystem := strings.Cut(part, "|")
		if !hasSystem {
			sys, code = "", part
		}
		if code == "" {
			return nil, fieldError(name, "each value must have a code: system|code or code")
		}
		out = append(out, token{System: sys, HasSystem: hasSystem, Code: code})
	}
	return out, nil
}

// matches reports whether the token names the given system and code.
func (t token) matches(system, code string) bool {
	if t.Code != code {
		return false
	}
	return !t.HasSystem || t.System == system
}

// dateRange reads every occurrence of a date parameter (they combine with AND) into a half-open
// interval [from, to); a zero bound is open. Prefixes eq (the default), gt, ge, lt and le are
// supported; a value's precision sets its range (date=2026-03 is the whole of March).
func (q fhirParams) dateRange(name string) (from, to time.Time, err error) {
	for _, v := range q[name] {
		prefix := "eq"
		if len(v) > 2 && v[0] >= 'a' && v[0] <= 'z' && v[1] >= 'a' && v[1] <= 'z' {
			prefix, v = v[:2], v[2:]
		}
		lo, hi, ok := fhirDateBounds(v)
		if !ok {
			return from, to, fieldError(name, "must be a date or date-time such as 2026-03-01 or 2026-03-01T09:00:00Z, optionally after a prefix ge, gt, le, lt or eq")
		}
		later := func(t time.Time) {
			if from.IsZero() || t.After(from) {
				from = t
			}
		}
		earlier := func(t time.Time) {
			if to.IsZero() || t.Before(to) {
				to = t
			}
		}
		switch prefix {
		case "eq":
			later(lo)
			earlier(hi)
		case "ge":
			later(lo)
		case "gt":
			later(hi)
		case "le":
			earlier(hi)
		case "lt":
			earlier(lo)
		default:
			return from, to, fieldError(name, "prefix "+prefix+" is not supported; use eq, ge, gt, le or lt")
		}
	}
	return from, to, nil
}

// fhirDateBounds turns a FHIR date or dateTime search value into the range it stands for.
// Values without a time zone are read as UTC.
func fhirDateBounds(v string) (lo, hi time.Time, ok bool) {
	layouts := []struct {
		layout string
		next   func(time.Time) time.Time
	}{
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{"2006-01-02T15:04Z07:00", func(t time.Time) time.Time { return t.Add(time.Minute) }},
		{"2006-01-02T15:04:05Z07:00", func(t time.Time) time.Time { return t.Add(time.Second) }},
		{"2006-01-02T15:04:05.999999999Z07:00", func(t time.Time) time.Time { return t.Add(time.Nanosecond) }},
	}
	for _, l := range layouts {
		if len(l.layout) == 2 && len(v) != 4 {
			continue
		}
		t, err := time.Parse(l.layout, v)
		if err != nil {
			continue
		}
		if l.layout == "2006-01-02T15:04:05.999999999Z07:00" && !strings.Contains(v, ".") {
			continue // whole seconds: the layout above owns it
		}
		t = t.UTC()
		return t, l.next(t), true
	}
	return lo, hi, false
}

// searchBundle builds a searchset Bundle of one page, with a self link and, when there is more,
// a next link that carries the store's cursor and the same parameters.
func (s *server) searchBundle(c *fiber.Ctx, q fhirParams, resourceType string, entries []fhirEntry, next string) (fhir.Bundle, error) {
	base := c.BaseURL() + fhirBase
	b := fhir.Bundle{Type: fhir.BundleTypeSearchset, Timestamp: ptr(s.now().UTC().Format(time.RFC3339))}
	b.Link = append(b.Link, fhir.BundleLink{Relation: "self", Url: base + "/" + resourceType + encodeQuery(q, "")})
	if next != "" {
		b.Link = append(b.Link, fhir.BundleLink{Relation: "next", Url: base + "/" + resourceType + encodeQuery(q, next)})
	}
	for _, e := range entries {
		raw, err := json.Marshal(e.resource)
		if err != nil {
			return b, err
		}
		b.Entry = append(b.Entry, fhir.BundleEntry{FullUrl: ptr(base + "/" + e.resourceType + "/" + e.id), Resource: raw,
			Search: &fhir.BundleEntrySearch{Mode: ptr(fhir.SearchEntryModeMatch)}})
	}
	if next == "" {
		// On the last page the number of matches is known only if this is also the first.
		if _, paged := q["cursor"]; !paged {
			b.Total = ptr(len(entries))
		}
	}
	return b, nil
}

// fhirEntry is one resource for a Bundle.
type fhirEntry struct {
	resourceType, id string
	resource         any
}

// encodeQuery writes the search's parameters back as a query string, with cursor replaced.
func encodeQuery(q fhirParams, cursor string) string {
	v := url.Values{}
	for k, vs := range q {
		if k == "cursor" {
			continue
		}
		v[k] = vs
	}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}
