package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
)

// openapiYAML is the API's OpenAPI 3 document, written by hand and kept
// true by the tests: every route is documented, every documented
// operation is a route, and the tests' responses validate against it.
//
//go:embed openapi.yaml
var openapiYAML []byte

var (
	docOnce sync.Once
	docJSON []byte
	docErr  error
	doc     *openapi3.T
)

// Document returns the OpenAPI document, loaded and validated.
func Document() (*openapi3.T, error) {
	docOnce.Do(func() {
		l := openapi3.NewLoader()
		doc, docErr = l.LoadFromData(openapiYAML)
		if docErr != nil {
			docErr = fmt.Errorf("api: openapi.yaml: %w", docErr)
			return
		}
		if docErr = doc.Validate(context.Background()); docErr != nil {
			docErr = fmt.Errorf("api: openapi.yaml is not a valid OpenAPI 3 document: %w", docErr)
			return
		}
		docJSON, docErr = json.Marshal(doc)
	})
	return doc, docErr
}

func (s *Server) openapi(c echo.Context) error {
	if _, err := Document(); err != nil {
		return err
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, docJSON)
}
