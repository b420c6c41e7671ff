package handlers

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"careway/models"
)

// FHIR R4 output. The resources are the samply/golang-fhir-models v0.3.2 types: every optional
// element is a pointer or a slice with omitempty, so what Careway leaves unset is left out (the
// FHIR JSON rules forbid nulls and empty values), and the tests run every answer through the
// FHIR validator (handlerstest.FHIRBatch) to keep it that way.

const (
	fhirBase        = "/fhir/r4"
	fhirContentType = "application/fhir+json"

	systemNHSNumber = "https://fhir.nhs.uk/Id/nhs-number"
	systemODS       = "https://fhir.nhs.uk/Id/ods-organization-code"
	systemLOINC     = "http://loinc.org"
	systemSNOMED    = "http://snomed.info/sct"
	systemUCUM      = "http://unitsofmeasure.org"
)

// isFHIRPath reports whether a request path is under the FHIR base, where errors are answered
// as OperationOutcome rather than problem+json.
func isFHIRPath(path string) bool {
	return path == fhirBase || strings.HasPrefix(path, fhirBase+"/")
}

// fhirJSON answers a FHIR resource as application/fhir+json.
func fhirJSON(c *fiber.Ctx, resource any) error {
	b, err := json.Marshal(resource)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fhirContentType+"; charset=utf-8")
	return c.Send(b)
}

// issueTypeOf maps Careway's error codes to OperationOutcome issue types.
var issueTypeOf = map[string]fhir.IssueType{
	models.EINVALID:      fhir.IssueTypeInvalid,
	models.EUNAUTHORIZED: fhir.IssueTypeLogin,
	models.EFORBIDDEN:    fhir.IssueTypeForbidden,
	models.ENOTFOUND:     fhir.IssueTypeNotFound,
	models.ECONFLICT:     fhir.IssueTypeConflict,
	models.ETOOMANY:      fhir.IssueTypeThrottled,
	models.EUNAVAILABLE:  fhir.IssueTypeTransient,
	models.EINTERNAL:     fhir.IssueTypeException,
}

// operationOutcome is the FHIR form of a problem: one issue for the error and one per bad field
// or search parameter, whose diagnostics start with its name. The request id rides in the
// resource id so that a support call can find the log line.
func operationOutcome(p Problem) fhir.OperationOutcome {
	code := strings.TrimPrefix(p.Type, problemTypeBase)
	typ, ok := issueTypeOf[code]
	if !ok {
		switch {
		case p.Status == http.StatusNotFound:
			typ = fhir.IssueTypeNotFound
		case p.Status == http.StatusMethodNotAllowed, p.Status == http.StatusUnsupportedMediaType:
			typ = fhir.IssueTypeNotSupported
		case p.Status == http.StatusRequestEntityTooLarge:
			typ = fhir.IssueTypeTooLong
		case p.Status == http.StatusRequestTimeout:
			typ = fhir.IssueTypeTimeout
		case p.Status >= 500:
			typ = fhir.IssueTypeException
		default:
			typ = fhir.IssueTypeInvalid
		}
	}
	detail := p.Detail
	if detail == "" {
		detail = p.Title
	}
	oo := fhir.OperationOutcome{Issue: []fhir.OperationOutcomeIssue{{
		Severity: fhir.IssueSeverityError, Code: typ, Diagnostics: ptr(detail),
	}}}
	if models.IsUUID(p.RequestID) || isFHIRID(p.RequestID) {
		oo.Id = ptr(p.RequestID)
	}
	for _, f := range p.Errors {
		oo.Issue = append(oo.Issue, fhir.OperationOutcomeIssue{
			Severity: fhir.IssueSeverityError, Code: typ, Diagnostics: ptr(f.Field + ": " + f.Message),
		})
	}
	return oo
}

// isFHIRID reports whether s fits the FHIR id type: 1 to 64 of A-Z, a-z, 0-9, '-' and '.'.
func isFHIRID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// writeOperationOutcome answers an error under /fhir as an OperationOutcome with the status the
// problem carries.
func writeOperationOutcome(c *fiber.Ctx, p Problem) error {
	c.Status(p.Status)
	return fhirJSON(c, operationOutcome(p))
}

func ptr[T any](v T) *T { return &v }

// reference returns a relative literal reference such as Patient/123.
func reference(resourceType, id string) fhir.Reference {
	return fhir.Reference{Reference: ptr(resourceType + "/" + id)}
}

// coding returns a Coding with a display when one is given.
func coding(system, code, display string) fhir.Coding {
	c := fhir.Coding{System: ptr(system), Code: ptr(code)}
	if display != "" {
		c.Display = ptr(display)
	}
	return c
}

// concept returns a CodeableConcept of the codings, with text when given.
func concept(text string, codings ...fhir.Coding) fhir.CodeableConcept {
	cc := fhir.CodeableConcept{Coding: codings}
	if text != "" {
		cc.Text = ptr(text)
	}
	return cc
}
