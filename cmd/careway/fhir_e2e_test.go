package main

import (
	"encoding/json"
	"strings"
	"testing"

	"careway/handlers/handlerstest"
)

// TestFHIRThroughProgram reads a demo patient's record as FHIR from the whole program, as
// wired by serve.go, and runs every answer through the FHIR validator.
func TestFHIRThroughProgram(t *testing.T) {
	batch := handlerstest.NewFHIRBatch(t)
	p := startProgram(t, demoEnv(t.TempDir()))
	defer p.stop()
	pat := p.login("patient7@demo.careway.test", demoPassword)
	_, body := p.call("GET", "/api/v1/me", pat, nil)
	var me struct{ PatientID string }
	json.Unmarshal(body, &me)
	for _, path := range []string{
		"/fhir/r4/Patient/" + me.PatientID,
		"/fhir/r4/Condition?patient=Patient/" + me.PatientID,
		"/fhir/r4/Observation?patient=Patient/" + me.PatientID,
		"/fhir/r4/CarePlan?patient=Patient/" + me.PatientID,
		"/fhir/r4/Goal?patient=Patient/" + me.PatientID,
		"/fhir/r4/Appointment?patient=Patient/" + me.PatientID,
		"/fhir/r4/Encounter?patient=Patient/" + me.PatientID,
		"/api/v1/patients/" + me.PatientID + "/export",
	} {
		status, body := p.call("GET", path, pat, nil)
		if status != 200 {
			t.Errorf("GET %s = %d %s", path, status, body)
			continue
		}
		batch.Add("GET "+path, body)
	}
	status, body := p.call("GET", "/fhir/r4/Observation?patient=Patient/"+me.PatientID+"&date=sometime", pat, nil)
	if status != 400 || !strings.Contains(string(body), "OperationOutcome") || !strings.Contains(string(body), "date") {
		t.Errorf("bad date = %d %s, want a 400 OperationOutcome naming date", status, body)
	}
	batch.Add("bad date", body)
}
