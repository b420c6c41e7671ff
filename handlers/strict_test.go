package handlers_test

import (
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"careway/handlers/handlerstest"
)

// TestEveryBodyIsStrict walks docs/openapi.yaml and sends every operation that takes a body an
// unknown field, and an operator object ({"$ne": null}) in each of its string fields. Every one
// must be refused with 400 naming the field, whoever sends it: decoding comes before anything
// else, so nothing can reach a store.
func TestEveryBodyIsStrict(t *testing.T) {
	h := newHarness(t)
	doc, _, err := handlerstest.Spec()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{
		"{patientId}":  string(h.w.resident1.ID),
		"{practiceId}": string(h.w.practiceA.ID),
		"{careHomeId}": string(h.w.home1.ID),
	}
	checked := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value.Content.Get("application/json") == nil {
				continue
			}
			schema := op.RequestBody.Value.Content.Get("application/json").Schema.Value
			url := path
			for k, v := range ids {
				url = strings.ReplaceAll(url, k, v)
			}
			token := ""
			if op.Security == nil || len(*op.Security) > 0 {
				token = h.w.superAdmin.token
			}
			t.Run(method+" "+path+" unknown field", func(t *testing.T) {
				r := h.do(method, url, token, `{"zzUnknown": 1}`).want(t, 400)
				if p := r.problem(t); !hasFieldError(p, "zzUnknown") {
					t.Errorf("problem does not name zzUnknown: %+v", p)
				}
			})
			for name, prop := range schema.Properties {
				if !prop.Value.Type.Is(openapi3.TypeString) {
					continue
				}
				checked++
				t.Run(method+" "+path+" operator in "+name, func(t *testing.T) {
					r := h.do(method, url, token, `{"`+name+`": {"$ne": null}}`).want(t, 400)
					if p := r.problem(t); !hasFieldError(p, name) {
						t.Errorf("problem does not name %s: %+v", name, p)
					}
				})
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d string fields checked; is the document read right?", checked)
	}
}

// TestEveryBodyNeedsJSON sends every operation that takes a body a form-encoded one: each must
// answer 415 as problem+json, and the document must say so (do checks the answer against it).
func TestEveryBodyNeedsJSON(t *testing.T) {
	h := newHarness(t)
	doc, _, err := handlerstest.Spec()
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil {
				continue
			}
			url := strings.NewReplacer("{patientId}", string(h.w.resident1.ID), "{practiceId}", string(h.w.practiceA.ID),
				"{careHomeId}", string(h.w.home1.ID)).Replace(path)
			t.Run(method+" "+path, func(t *testing.T) {
				req := newRequest(method, url, "email=a@example.org")
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Authorization", "Bearer "+h.w.superAdmin.token)
				h.send(req).want(t, 415).problem(t)
			})
		}
	}
}
