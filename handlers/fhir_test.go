package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"careway/handlers/handlerstest"
	"careway/models"
)

// fhirClient sends requests to the FHIR endpoints through the harness (so every answer is also
// checked against docs/openapi.yaml) and queues every FHIR body, resources and
// OperationOutcomes alike, for the FHIR validator, which runs once when the test ends.
type fhirClient struct {
	h *harness
	v *handlerstest.FHIRBatch
}

func newFHIRClient(h *harness) *fhirClient {
	return &fhirClient{h: h, v: handlerstest.NewFHIRBatch(h.t)}
}

// get sends GET path and checks that the answer is FHIR JSON.
func (f *fhirClient) get(path, token string) *response {
	f.h.t.Helper()
	r := f.h.do(http.MethodGet, path, token, nil)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/fhir+json") {
		f.h.t.Fatalf("GET %s: Content-Type = %q, want application/fhir+json (status %d, body %s)", path, ct, r.Status, r.Body)
	}
	f.v.Add("GET "+path, r.Body)
	return r
}

// outcome decodes an OperationOutcome and checks that one of its issues has the given type and
// mentions want (a parameter name, say).
func (r *response) outcome(t *testing.T, issueType, want string) fhir.OperationOutcome {
	t.Helper()
	var oo fhir.OperationOutcome
	r.decode(t, &oo)
	for _, is := range oo.Issue {
		if is.Code.Code() == issueType && is.Diagnostics != nil && strings.Contains(*is.Diagnostics, want) {
			return oo
		}
	}
	t.Fatalf("OperationOutcome has no %s issue mentioning %q: %s", issueType, want, r.Body)
	return oo
}

func TestFHIRPatientRead(t *testing.T) {
	h := newHarness(t)
	f := newFHIRClient(h)
	ctx := context.Background()
	h.w.practiceA.ODSCode = "Y12345"
	pr := &models.Practice{ID: models.PracticeID(models.NewID()), Name: "Calder Practice", ODSCode: "Y54321", CreatedAt: time.Now()}
	if err := h.orgs.CreatePractice(ctx, pr); err != nil {
		t.Fatal(err)
	}
	// A verified NHS number, sex and a practice with an ODS code.
	full := &models.Patient{ID: models.PatientID(models.NewID()), NHSNumber: nextNHSNumber(), Name: "Fay Full",
		DateOfBirth: "1961-02-03", Sex: "female", PracticeID: pr.ID, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	// A self-registered patient: the NHS number is only claimed, no practice yet.
	claimed := &models.Patient{ID: models.PatientID(models.NewID()), ClaimedNHSNumber: nextNHSNumber(), Name: "Cal Claim",
		DateOfBirth: "1990-07-08", RequestedPracticeID: h.w.practiceA.ID, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	for _, p := range []*models.Patient{full, claimed} {
		if err := h.patients.CreatePatient(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	clin := h.w.clinicianA.token
	_ = clin

	t.Run("every element", func(t *testing.T) {
		var got fhir.Patient
		f.get("/fhir/r4/Patient/"+string(full.ID), h.w.superAdmin.token).want(t, 200).decode(t, &got)
		if got.Id == nil || *got.Id != string(full.ID) {
			t.Errorf("id = %v, want %s", got.Id, full.ID)
		}
		if len(got.Identifier) != 1 || *got.Identifier[0].System != "https://fhir.nhs.uk/Id/nhs-number" || *got.Identifier[0].Value != full.NHSNumber {
			t.Errorf("identifier = %+v, want the NHS number", got.Identifier)
		}
		if len(got.Name) != 1 || *got.Name[0].Text != "Fay Full" {
			t.Errorf("name = %+v", got.Name)
		}
		if got.BirthDate == nil || *got.BirthDate != "1961-02-03" {
			t.Errorf("birthDate = %v", got.BirthDate)
		}
		if got.Gender == nil || *got.Gender != fhir.AdministrativeGenderFemale {
			t.Errorf("gender = %v", got.Gender)
		}
		if len(got.GeneralPractitioner) != 1 || *got.GeneralPractitioner[0].Display != "Calder Practice" ||
			*got.GeneralPractitioner[0].Identifier.Value != "Y54321" || *got.GeneralPractitioner[0].Type != "Organization" {
			t.Errorf("generalPractitioner = %+v", got.GeneralPractitioner)
		}
	})
	t.Run("a claimed NHS number is not an identifier", func(t *testing.T) {
		r := f.get("/fhir/r4/Patient/"+string(claimed.ID), h.w.adminA.token).want(t, 200)
		if strings.Contains(string(r.Body), claimed.ClaimedNHSNumber) || strings.Contains(string(r.Body), "identifier") {
			t.Errorf("a claimed number was shown: %s", r.Body)
		}
	})
	t.Run("who may read", func(t *testing.T) {
		w := h.w
		cases := []struct {
			name    string
			token   string
			patient *models.Patient
			want    int
		}{
			{"patient, own record", w.patient.token, w.patientA, 200},
			{"patient, another's record", w.patient2.token, w.patientA, 403},
			{"clinician of the practice", w.clinicianA.token, w.patientA, 200},
			{"clinician of another practice", w.clinicianB.token, w.patientA, 403},
			{"admin of the practice", w.adminA.token, w.patientA, 200},
			{"admin of another practice", w.adminB.token, w.patientA, 403},
			{"staff of the home, consent", w.staff1.token, w.resident1, 200},
			{"staff of the home, view_plan only", w.staff1.token, w.resident2, 200}, // any current scope lets staff see who the resident is
			{"staff of the home, no consent", w.staff1.token, w.resident3, 403},
			{"staff of another home", w.staff2.token, w.resident1, 403},
			{"staff, not a resident", w.staff1.token, w.patientA, 403},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := h.auditCount(tc.patient.ID, "patient.read", outcomeFor(tc.want))
				r := f.get("/fhir/r4/Patient/"+string(tc.patient.ID), tc.token).want(t, tc.want)
				if tc.want == 403 {
					r.outcome(t, "forbidden", "")
				}
				if after := h.auditCount(tc.patient.ID, "patient.read", outcomeFor(tc.want)); after != before+1 {
					t.Errorf("audit events %s = %d, want %d", outcomeFor(tc.want), after, before+1)
				}
			})
		}
	})
	t.Run("errors are OperationOutcome", func(t *testing.T) {
		f.get("/fhir/r4/Patient/"+models.NewID(), clin).want(t, 404).outcome(t, "not-found", "")
		f.get("/fhir/r4/Patient/not-an-id", clin).want(t, 404).outcome(t, "not-found", "")
		f.get("/fhir/r4/Patient/"+string(h.w.patientA.ID), "").want(t, 401).outcome(t, "login", "")
		f.get("/fhir/r4/Patient/"+string(h.w.patientA.ID), "garbage").want(t, 401).outcome(t, "login", "")
		f.get("/fhir/r4/Nothing/1", clin).want(t, 404).outcome(t, "not-found", "")
	})
}

func outcomeFor(status int) string {
	if status == 200 {
		return models.OutcomeSuccess
	}
	return models.OutcomeDenied
}

func TestFHIRConditionSearch(t *testing.T) {
	h := newHarness(t)
	f := newFHIRClient(h)
	ctx := context.Background()
	w := h.w
	var ids []string
	for i, code := range []models.ConditionCode{models.ConditionHypertension, models.ConditionAsthma, models.ConditionType2Diabetes} {
		info := models.Conditions[code]
		cond := &models.Condition{ID: models.NewID(), PatientID: w.patientA.ID, Code: code, SNOMED: info.SNOMED, Display: info.Display,
			Status: "active", Onset: "2019-04-01", RecordedAt: time.Now().Add(time.Duration(i) * time.Second)}
		if i == 2 {
			cond.Status, cond.Onset = "resolved", ""
		}
		if err := h.conds.AddCondition(ctx, cond); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, cond.ID)
	}
	base := "/fhir/r4/Condition?patient=Patient/" + string(w.patientA.ID)

	t.Run("all, then paged", func(t *testing.T) {
		var b fhir.Bundle
		f.get(base, w.patient.token).want(t, 200).decode(t, &b)
		if b.Type != fhir.BundleTypeSearchset || len(b.Entry) != 3 || b.Total == nil || *b.Total != 3 {
			t.Fatalf("bundle: type %v, %d entries, total %v", b.Type, len(b.Entry), b.Total)
		}
		var seen []string
		next := base + "&_count=2"
		for pages := 0; next != ""; pages++ {
			if pages > 3 {
				t.Fatal("paging does not end")
			}
			var pb fhir.Bundle
			f.get(next, w.clinicianA.token).want(t, 200).decode(t, &pb)
			next = ""
			for _, l := range pb.Link {
				if l.Relation == "next" {
					next = strings.TrimPrefix(l.Url, "http://example.com")
				}
			}
			for _, e := range pb.Entry {
				var cond fhir.Condition
				if err := json.Unmarshal(e.Resource, &cond); err != nil {
					t.Fatal(err)
				}
				seen = append(seen, *cond.Id)
			}
		}
		if strings.Join(seen, ",") != strings.Join(ids, ",") {
			t.Errorf("paged ids = %v, want %v", seen, ids)
		}
	})
	t.Run("by code", func(t *testing.T) {
		for _, q := range []string{"&code=http://snomed.info/sct|195967001", "&code=195967001", "&code=1,195967001"} {
			var b fhir.Bundle
			f.get(base+q, w.patient.token).want(t, 200).decode(t, &b)
			if len(b.Entry) != 1 {
				t.Errorf("%s: %d entries, want the asthma one", q, len(b.Entry))
			}
		}
		var b fhir.Bundle
		f.get(base+"&code=http://loinc.org|195967001", w.patient.token).want(t, 200).decode(t, &b)
		if len(b.Entry) != 0 {
			t.Errorf("a code of another system matched")
		}
	})
	t.Run("permissions", func(t *testing.T) {
		f.get(base, w.patient2.token).want(t, 403).outcome(t, "forbidden", "")
		f.get(base, w.clinicianB.token).want(t, 403).outcome(t, "forbidden", "")
		f.get(base, w.adminA.token).want(t, 403).outcome(t, "forbidden", "")
		f.get("/fhir/r4/Condition?patient="+string(w.resident2.ID), w.staff1.token).want(t, 403).outcome(t, "forbidden", "record_observations")
		f.get("/fhir/r4/Condition?patient="+string(w.resident1.ID), w.staff1.token).want(t, 200)
		f.get("/fhir/r4/Condition?patient="+string(w.resident4.ID), w.staff1.token).want(t, 403)
	})
	t.Run("bad parameters name themselves", func(t *testing.T) {
		for _, tc := range []struct{ query, param string }{
			{"", "patient"},
			{"?patient=nobody", "patient"},
			{"?patient=Practice/" + string(w.patientA.ID), "patient"},
			{"?patient=" + string(w.patientA.ID) + "&patient=" + string(w.patientA.ID), "patient"},
			{"?patient=" + string(w.patientA.ID) + "&subject=x", "subject"},
			{"?patient=" + string(w.patientA.ID) + "&code:text=asthma", "code:text"},
			{"?patient=" + string(w.patientA.ID) + "&code=sys|", "code"},
			{"?patient=" + string(w.patientA.ID) + "&_count=0", "_count"},
			{"?patient=" + string(w.patientA.ID) + "&_count=201", "_count"},
			{"?patient=" + string(w.patientA.ID) + "&_count=x", "_count"},
			{"?patient=" + string(w.patientA.ID) + "&cursor=99", "cursor"},
			{"?patient=" + string(w.patientA.ID) + "&_format=xml", "_format"},
		} {
			f.get("/fhir/r4/Condition"+tc.query, w.clinicianA.token).want(t, 400).outcome(t, "invalid", tc.param)
		}
	})
}

func TestFHIRMetadata(t *testing.T) {
	h := newHarness(t)
	f := newFHIRClient(h)
	var cs fhir.CapabilityStatement
	f.get("/fhir/r4/metadata", "").want(t, 200).decode(t, &cs)
	if cs.FhirVersion != fhir.FHIRVersion4_0_1 || len(cs.Rest) != 1 || len(cs.Rest[0].Resource) != 9 {
		t.Errorf("capability statement = %+v", cs)
	}
}

func TestFHIRPatientSearchByNHSNumber(t *testing.T) {
	h := newHarness(t)
	f := newFHIRClient(h)
	w := h.w
	ctx := context.Background()
	claimed := &models.Patient{ID: models.PatientID(models.NewID()), ClaimedNHSNumber: nextNHSNumber(), Name: "Cal Claim",
		DateOfBirth: "1990-07-08", RequestedPracticeID: w.practiceA.ID, CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := h.patients.CreatePatient(ctx, claimed); err != nil {
		t.Fatal(err)
	}
	search := func(t *testing.T, q, token string) []string {
		t.Helper()
		var b fhir.Bundle
		f.get("/fhir/r4/Patient?identifier="+q, token).want(t, 200).decode(t, &b)
		var ids []string
		for _, e := range b.Entry {
			var p fhir.Patient
			if err := json.Unmarshal(e.Resource, &p); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, *p.Id)
		}
		return ids
	}
	nhs := w.patientA.NHSNumber
	for _, q := range []string{"https://fhir.nhs.uk/Id/nhs-number|" + nhs, nhs} {
		if got := search(t, q, w.clinicianA.token); len(got) != 1 || got[0] != string(w.patientA.ID) {
			t.Errorf("%s: %v, want patient A", q, got)
		}
	}
	// Those who may not see the patient get an empty Bundle, not a 403 that would confirm the
	// number belongs to someone; the refusal is audited.
	before := h.auditCount(w.patientA.ID, "patient.read", models.OutcomeDenied)
	for _, tok := range []string{w.clinicianB.token, w.patient2.token, w.staff1.token} {
		if got := search(t, nhs, tok); len(got) != 0 {
			t.Errorf("a caller who may not see patient A found %v", got)
		}
	}
	if after := h.auditCount(w.patientA.ID, "patient.read", models.OutcomeDenied); after != before+3 {
		t.Errorf("denied searches audited %d, want 3", after-before)
	}
	if got := search(t, claimed.ClaimedNHSNumber, w.superAdmin.token); len(got) != 0 {
		t.Errorf("a claimed number matched: %v", got)
	}
	if got := search(t, nextNHSNumber(), w.superAdmin.token); len(got) != 0 {
		t.Errorf("an unknown number matched: %v", got)
	}
	for _, q := range []string{"", "?identifier=123", "?identifier=9434765918", "?identifier=http://other|" + nhs,
		"?identifier=" + nhs + "," + nhs, "?name=Alice"} {
		param := "identifier"
		if strings.Contains(q, "name") {
			param = "name"
		}
		f.get("/fhir/r4/Patient"+q, w.clinicianA.token).want(t, 400).outcome(t, "invalid", param)
	}
}
