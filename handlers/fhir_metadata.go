package handlers

import (
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// fhirCapabilities lists what /fhir/r4 serves: per resource type, whether it can be read by id
// and the search parameters of its search (none: no search). routes.go registers the same
// routes; TestFHIRCapabilityStatementMatchesRoutes keeps the two in step.
var fhirCapabilities = []struct {
	resource string
	read     bool
	search   []fhirSearchParam
}{
	{"Patient", true, []fhirSearchParam{{"identifier", fhir.SearchParamTypeToken}}},
	{"Condition", false, []fhirSearchParam{{"patient", fhir.SearchParamTypeReference}, {"code", fhir.SearchParamTypeToken}}},
	{"Observation", true, []fhirSearchParam{{"patient", fhir.SearchParamTypeReference}, {"code", fhir.SearchParamTypeToken}, {"date", fhir.SearchParamTypeDate}}},
	{"CarePlan", true, []fhirSearchParam{{"patient", fhir.SearchParamTypeReference}}},
	{"Goal", true, []fhirSearchParam{{"patient", fhir.SearchParamTypeReference}}},
	{"Schedule", true, nil},
	{"Slot", true, []fhirSearchParam{{"schedule", fhir.SearchParamTypeReference}, {"status", fhir.SearchParamTypeToken}, {"start", fhir.SearchParamTypeDate}}},
	{"Appointment", true, []fhirSearchParam{{"patient", fhir.SearchParamTypeReference}, {"date", fhir.SearchParamTypeDate}, {"status", fhir.SearchParamTypeToken}}},
	{"Encounter", true, []fhirSearchParam{{"patient", fhir.SearchParamTypeReference}}},
}

type fhirSearchParam struct {
	name string
	typ  fhir.SearchParamType
}

// handleFHIRMetadata answers GET /fhir/r4/metadata: the server's CapabilityStatement. It holds
// no personal data, and FHIR clients read it before signing in, so it needs no token.
func (s *server) handleFHIRMetadata(c *fiber.Ctx) error {
	rest := fhir.CapabilityStatementRest{Mode: fhir.RestfulCapabilityModeServer,
		Documentation: ptr("Read-only. Every request needs `Authorization: Bearer <access token>` from POST /api/v1/auth/login; " +
			"the access rules are the API's. Unknown search parameters are refused (400).")}
	for _, cap := range fhirCapabilities {
		var rt fhir.ResourceType
		if err := json.Unmarshal([]byte(`"`+cap.resource+`"`), &rt); err != nil {
			return err
		}
		res := fhir.CapabilityStatementRestResource{Type: rt}
		if cap.read {
			res.Interaction = append(res.Interaction, fhir.CapabilityStatementRestResourceInteraction{Code: fhir.TypeRestfulInteractionRead})
		}
		if len(cap.search) > 0 {
			res.Interaction = append(res.Interaction, fhir.CapabilityStatementRestResourceInteraction{Code: fhir.TypeRestfulInteractionSearchType})
			for _, p := range cap.search {
				res.SearchParam = append(res.SearchParam, fhir.CapabilityStatementRestResourceSearchParam{Name: p.name, Type: p.typ})
			}
			res.SearchParam = append(res.SearchParam, fhir.CapabilityStatementRestResourceSearchParam{Name: "_count", Type: fhir.SearchParamTypeNumber})
		}
		rest.Resource = append(rest.Resource, res)
	}
	cs := fhir.CapabilityStatement{
		Status:         fhir.PublicationStatusActive,
		Date:           s.now().UTC().Format(time.DateOnly),
		Kind:           fhir.CapabilityStatementKindInstance,
		Implementation: &fhir.CapabilityStatementImplementation{Description: "Careway FHIR R4 (read-only)", Url: ptr(c.BaseURL() + fhirBase)},
		FhirVersion:    fhir.FHIRVersion4_0_1,
		Format:         []string{"json"},
		Rest:           []fhir.CapabilityStatementRest{rest},
	}
	return fhirJSON(c, cs)
}
