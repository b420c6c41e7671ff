// Package docs embeds the documents Careway serves itself: the OpenAPI description of the API.
package docs

import _ "embed"

// OpenAPI is docs/openapi.yaml, served at /api/openapi.yaml and used by the tests to check
// every response.
//
//go:embed openapi.yaml
var OpenAPI []byte
