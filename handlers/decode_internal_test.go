package handlers

import (
	"errors"
	"strings"
	"testing"

	"careway/models"
)

// A wrong value in a time field is named by its full path in the API's form, wherever the
// field is: nested, in an array, behind a pointer or in an embedded struct; encoding/json's
// own paths are rewritten to the same form.
func TestDecodeNamesTheField(t *testing.T) {
	type Window struct {
		Until *jsonTime `json:"until"`
	}
	type body struct {
		Window
		Start jsonTime `json:"start"`
		Items []struct {
			At jsonTime `json:"at"`
		} `json:"items"`
		Answers []int `json:"answers"`
	}
	for _, c := range []struct{ json, field, says string }{
		{`{"start": {"$ne": null}}`, "start", "not an object"},
		{`{"start": 5}`, "start", "not a number"},
		{`{"start": "yesterday"}`, "start", "not a string in another format"},
		{`{"start": true}`, "start", "not true or false"},
		{`{"until": []}`, "until", "not an array"},
		{`{"items": [{"at": "2026-01-01T00:00:00Z"}, {"at": 7}]}`, "items[1].at", "not a number"},
		{`{"answers": [1, "2"]}`, "answers[1]", "whole number"},
		{`{"zz": 1}`, "zz", "not a field"},
	} {
		var v body
		err := decodeJSON([]byte(c.json), &v)
		var me *models.Error
		if !errors.As(err, &me) || len(me.Fields) != 1 || me.Fields[0].Field != c.field {
			t.Errorf("%s: %v, want one error naming %s", c.json, err, c.field)
			continue
		}
		if msg := me.Fields[0].Message; !strings.Contains(msg, c.says) {
			t.Errorf("%s: message %q does not say %q", c.json, msg, c.says)
		}
	}
	var v body
	if err := decodeJSON([]byte(`{"start": "2026-03-01T09:30:00+01:00", "until": null, "items": [{"at": "2026-03-01T09:30:00Z"}]}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.Start.Hour() != 8 || v.Until != nil || v.Items[0].At.IsZero() {
		t.Errorf("decoded %+v", v)
	}
}

func TestJSONPath(t *testing.T) {
	for in, want := range map[string]string{
		"Adjustments.stepFree":  "stepFree",
		"answers.0":             "answers[0]",
		"observations.3.value":  "observations[3].value",
		"plan.targets.12.range": "plan.targets[12].range",
		"":                      "",
	} {
		if got := jsonPath(in); got != want {
			t.Errorf("jsonPath(%q) = %q, want %q", in, got, want)
		}
	}
}
