package handlerstest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// FHIRMessage is one finding of the FHIR validator about one resource.
type FHIRMessage struct {
	Severity string `json:"severity"` // fatal, error, warning or info
	Location string `json:"location"` // FHIRPath-like position, e.g. Observation.component[0].code
	Message  string `json:"message"`
}

func (m FHIRMessage) String() string { return m.Severity + " at " + m.Location + ": " + m.Message }

// FHIRProblems returns the messages that make a resource unacceptable. Careway's rule:
//
//   - fatal and error always count (FHIR.js runs with errorOnUnexpected, so an element R4 does
//     not define, or a wrong type or cardinality, is an error; web/tools/fhir-validate.js adds
//     the JSON rules: no nulls and no empty strings, arrays or objects);
//   - a warning counts too, with two exceptions, both "Code … not found in value set" from a
//     binding FHIR.js cannot check offline: where it has also said that it could not find that
//     value set at the same place (it carries FHIR's core value sets, but not, for instance,
//     observation-codes or the v3 ObservationInterpretation expansion, and then warns about
//     every code of a CodeableConcept), and where the code is from SNOMED CT or LOINC (its copy
//     of value sets defined over those systems keeps only the few concepts listed by hand, so
//     condition-code, "any SNOMED CT clinical finding", holds one concept). Such a warning says
//     nothing about the code; Careway's own tests check those codes against CLINICAL.md. A code
//     from another system outside a value set the validator does have (an example or preferred
//     binding) still fails the test: where FHIR offers a standard code, Careway uses it;
//   - info never counts.
func FHIRProblems(msgs []FHIRMessage) []FHIRMessage {
	unresolved := map[string]bool{}
	for _, m := range msgs {
		if m.Severity == "info" && strings.HasPrefix(m.Message, "Value set ") && strings.HasSuffix(m.Message, " could not be found.") {
			unresolved[m.Location] = true
		}
	}
	var out []FHIRMessage
	for _, m := range msgs {
		switch m.Severity {
		case "info":
			continue
		case "warning":
			if strings.HasSuffix(m.Message, "not found in value set") && (unresolved[m.Location] ||
				strings.Contains(m.Message, "(http://snomed.info/sct)") || strings.Contains(m.Message, "(http://loinc.org)")) {
				continue
			}
		}
		out = append(out, m)
	}
	return out
}

// ValidateFHIR runs the FHIR R4 validator (the npm fhir package through
// web/tools/fhir-validate.js) once over every resource and returns each one's messages, in
// order. It fails the test at once when Node.js or web/node_modules is missing: the FHIR output
// is part of the contract, so its check must never be skipped quietly.
func ValidateFHIR(tb testing.TB, resources ...[]byte) [][]FHIRMessage {
	tb.Helper()
	if len(resources) == 0 {
		return nil
	}
	script, err := fhirScript()
	if err != nil {
		tb.Fatalf("FHIR validator: %v", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		tb.Fatalf("FHIR validator: Node.js (node) is not on PATH; install Node.js 18 or later and run `npm ci --prefix web` (.ci/run does both)")
	}
	var in bytes.Buffer
	in.WriteByte('[')
	for i, r := range resources {
		if i > 0 {
			in.WriteByte(',')
		}
		if !json.Valid(r) {
			// Keep the batch parseable; the resource is reported as not JSON.
			r, _ = json.Marshal(string(r))
		}
		in.Write(r)
	}
	in.WriteByte(']')
	cmd := exec.Command(node, script)
	cmd.Dir = filepath.Dir(filepath.Dir(script)) // web/
	cmd.Stdin = &in
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		tb.Fatalf("FHIR validator failed: %v\n%s\n(if a module is missing, run `npm ci --prefix web`)", err, stderr.Bytes())
	}
	var results []struct {
		Messages []FHIRMessage `json:"messages"`
	}
	if err := json.Unmarshal(out.Bytes(), &results); err != nil || len(results) != len(resources) {
		tb.Fatalf("FHIR validator: unreadable answer (%v, %d results for %d resources): %.500s", err, len(results), len(resources), out.Bytes())
	}
	msgs := make([][]FHIRMessage, len(results))
	for i, r := range results {
		msgs[i] = r.Messages
	}
	return msgs
}

var (
	scriptOnce sync.Once
	scriptPath string
	scriptErr  error
)

// fhirScript finds the validator script once for the whole test binary.
func fhirScript() (string, error) {
	scriptOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			scriptErr = err
			return
		}
		scriptPath, scriptErr = locateFHIRScript(dir)
	})
	return scriptPath, scriptErr
}

// locateFHIRScript finds web/tools/fhir-validate.js from the module root (the nearest directory
// at or above dir that holds go.mod) and checks that web/node_modules holds the validator.
func locateFHIRScript(dir string) (string, error) {
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
	web := filepath.Join(dir, "web")
	if _, err := os.Stat(filepath.Join(web, "node_modules", "fhir", "package.json")); err != nil {
		return "", fmt.Errorf("%s has no node_modules/fhir: run `npm ci --prefix web` first (.ci/run does)", web)
	}
	script := filepath.Join(web, "tools", "fhir-validate.js")
	if _, err := os.Stat(script); err != nil {
		return "", err
	}
	return script, nil
}

// FHIRBatch collects the FHIR resources a test receives and validates them all in one Node.js
// process when the test ends (starting Node and loading the R4 definitions costs about a third
// of a second, so once per test rather than once per answer). Any problem (FHIRProblems) fails
// the test, naming the resource's label.
type FHIRBatch struct {
	tb     testing.TB
	mu     sync.Mutex
	labels []string
	bodies [][]byte
}

// NewFHIRBatch starts a batch that is checked when tb ends. It checks at once that the
// validator is installed, so a missing tool fails the test before any work is done.
func NewFHIRBatch(tb testing.TB) *FHIRBatch {
	tb.Helper()
	if _, err := fhirScript(); err != nil {
		tb.Fatalf("FHIR validator: %v", err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		tb.Fatalf("FHIR validator: Node.js (node) is not on PATH; install Node.js 18 or later and run `npm ci --prefix web` (.ci/run does both)")
	}
	b := &FHIRBatch{tb: tb}
	tb.Cleanup(b.check)
	return b
}

// Add queues one resource (a JSON body) under a label that says where it came from.
func (b *FHIRBatch) Add(label string, body []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.labels = append(b.labels, label)
	b.bodies = append(b.bodies, bytes.Clone(body))
}

// Len reports how many resources are queued.
func (b *FHIRBatch) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.bodies)
}

func (b *FHIRBatch) check() {
	b.mu.Lock()
	labels, bodies := b.labels, b.bodies
	b.labels, b.bodies = nil, nil
	b.mu.Unlock()
	if len(bodies) == 0 {
		return
	}
	for i, msgs := range ValidateFHIR(b.tb, bodies...) {
		if probs := FHIRProblems(msgs); len(probs) > 0 {
			var sb strings.Builder
			for _, p := range probs {
				sb.WriteString("\n  ")
				sb.WriteString(p.String())
			}
			b.tb.Errorf("FHIR validator rejects %s:%s\nresource: %.2000s", labels[i], sb.String(), bodies[i])
		}
	}
}
