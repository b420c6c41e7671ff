package handlerstest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// A resource that is valid R4, with LOINC and v3 interpretation codes the offline validator
// cannot expand (their warnings are not problems).
const goodObservation = `{"resourceType":"Observation","id":"a1","status":"final",
 "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],
 "code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},
 "subject":{"reference":"Patient/p1"},"effectiveDateTime":"2026-01-02T10:00:00Z",
 "valueQuantity":{"value":72,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"},
 "interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"N"}]}]}`

// TestValidatorCatchesBrokenResources proves the harness would catch broken output: each of these
// resources has one fault, and the validator (with Careway's rule, FHIRProblems) must report it.
func TestValidatorCatchesBrokenResources(t *testing.T) {
	broken := []struct {
		name, json, where string
	}{
		{"unknown element", `{"resourceType":"Patient","id":"p1","nickname":"Al"}`, "Patient.nickname"},
		{"element misspelt", `{"resourceType":"Patient","id":"p1","birthdate":"1950-01-01"}`, "Patient.birthdate"},
		{"bad date", `{"resourceType":"Patient","id":"p1","birthDate":"1950-13-01"}`, "Patient.birthDate"},
		{"date in wrong form", `{"resourceType":"Patient","id":"p1","birthDate":"05/05/1950"}`, "Patient.birthDate"},
		{"gender not in required value set", `{"resourceType":"Patient","id":"p1","gender":"man"}`, "Patient.gender"},
		{"null from a missing omitempty", `{"resourceType":"Patient","id":"p1","gender":null}`, "Patient.gender"},
		{"empty array", `{"resourceType":"Patient","id":"p1","name":[]}`, "Patient.name"},
		{"empty string", `{"resourceType":"Patient","id":"p1","birthDate":""}`, "Patient.birthDate"},
		{"empty object", `{"resourceType":"Patient","id":"p1","meta":{}}`, "Patient.meta"},
		{"missing required status", strings.Replace(goodObservation, `"status":"final",`, "", 1), "Observation.status"},
		{"status not in value set", strings.Replace(goodObservation, `"status":"final"`, `"status":"done"`, 1), "Observation.status"},
		{"number as string", strings.Replace(goodObservation, `"value":72`, `"value":"72"`, 1), "Observation.valueQuantity.value"},
		{"two values of a choice element", strings.Replace(goodObservation, `"valueQuantity"`, `"valueString":"x","valueQuantity"`, 1), "Observation"},
		{"reference to the wrong type", strings.Replace(goodObservation, `"Patient/p1"`, `"Slot/p1"`, 1), "Observation.subject"},
		{"bad instant", `{"resourceType":"Patient","id":"p1","meta":{"lastUpdated":"2026-01-02"}}`, "Patient.meta.lastUpdated"},
		{"unknown resource type", `{"resourceType":"Patients","id":"p1"}`, ""},
		{"not a resource", `[1,2]`, ""},
		{"broken inside a Bundle", `{"resourceType":"Bundle","type":"searchset","entry":[{"fullUrl":"urn:uuid:6f1c2b1e-0000-4000-8000-000000000001","resource":{"resourceType":"Patient","id":"p1","sex":"female"}}]}`, "Patient.sex"},
		{"code outside a core value set", `{"resourceType":"Condition","subject":{"reference":"Patient/p1"},"category":[{"coding":[{"system":"http://example.org","code":"zzz"}]}]}`, "Condition.category[0]"},
		{"Bundle without type", `{"resourceType":"Bundle","entry":[]}`, "Bundle.type"},
	}
	bodies := [][]byte{[]byte(goodObservation)}
	for _, b := range broken {
		bodies = append(bodies, []byte(b.json))
	}
	results := ValidateFHIR(t, bodies...) // one Node process for all of them
	if probs := FHIRProblems(results[0]); len(probs) != 0 {
		t.Errorf("a valid Observation was rejected: %v (all messages %v)", probs, results[0])
	}
	for i, b := range broken {
		probs := FHIRProblems(results[i+1])
		found := false
		for _, p := range probs {
			if strings.HasPrefix(p.Location, b.where) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: the validator did not report a problem at %q; it said %v", b.name, b.where, results[i+1])
		}
	}
}

// recorder is a testing.TB that keeps what a batch reports instead of failing this test.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	errors   []string
	cleanups []func()
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

// TestBatchFailsTheTestOnABrokenResource checks that a batch fails its test, naming the label,
// when one of its resources is broken, and passes when all are valid.
func TestBatchFailsTheTestOnABrokenResource(t *testing.T) {
	rec := &recorder{TB: t}
	b := NewFHIRBatch(rec)
	b.Add("GET /fhir/r4/Observation/a1", []byte(goodObservation))
	b.Add("GET /fhir/r4/Patient/p1", []byte(`{"resourceType":"Patient","id":"p1","gender":"man"}`))
	for _, f := range rec.cleanups {
		f()
	}
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "GET /fhir/r4/Patient/p1") || !strings.Contains(rec.errors[0], "Patient.gender") {
		t.Fatalf("batch reported %q, want one error naming the Patient and its gender", rec.errors)
	}

	rec = &recorder{TB: t}
	b = NewFHIRBatch(rec)
	b.Add("good", []byte(goodObservation))
	for _, f := range rec.cleanups {
		f()
	}
	if len(rec.errors) != 0 {
		t.Fatalf("a valid resource was reported: %q", rec.errors)
	}
}

// TestMissingNodeModulesSaysWhatToRun checks that a checkout without web/node_modules gets a
// failure telling the developer to run npm ci, not a silent skip.
func TestMissingNodeModulesSaysWhatToRun(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(root, "handlers")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := locateFHIRScript(sub)
	if err == nil || !strings.Contains(err.Error(), "npm ci --prefix web") {
		t.Fatalf("err = %v, want one that says to run `npm ci --prefix web`", err)
	}
}
