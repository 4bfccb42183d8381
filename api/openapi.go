package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
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

// queryParams returns the query parameters the OpenAPI document declares
// for method on path (Echo's notation under /api/v1, as in the route
// table): the only ones the route accepts.
func queryParams(method, path string) (map[string]bool, error) {
	d, err := Document()
	if err != nil {
		return nil, err
	}
	item := d.Paths.Find(echoParam.ReplaceAllString("/api/v1"+path, "{$1}"))
	if item == nil || item.GetOperation(method) == nil {
		return nil, fmt.Errorf("api: route %s %s is not documented in openapi.yaml", method, path)
	}
	out := map[string]bool{}
	for _, ps := range []openapi3.Parameters{item.Parameters, item.GetOperation(method).Parameters} {
		for _, p := range ps {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				out[p.Value.Name] = true
			}
		}
	}
	return out, nil
}

// echoParam matches a path parameter in Echo's notation (:plan).
var echoParam = regexp.MustCompile(`:(\w+)`)

// strictQuery refuses a request that carries a query parameter the route
// does not declare (a misspelt dimenson=region used to be ignored), naming
// every one of them.
func strictQuery(allowed map[string]bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			var unknown []string
			for name := range c.QueryParams() {
				if !allowed[name] {
					unknown = append(unknown, name)
				}
			}
			if len(unknown) == 0 {
				return next(c)
			}
			slices.Sort(unknown)
			known := slices.Sorted(maps.Keys(allowed))
			re := &requestError{status: http.StatusBadRequest, slug: "bad-parameter", title: "Bad parameter",
				detail: fmt.Sprintf("unknown query parameter(s) %s; this route takes %s", strings.Join(unknown, ", "), orNone(known))}
			for _, u := range unknown {
				re.errors = append(re.errors, FieldError{Field: u, Value: c.QueryParam(u), Reason: "not a parameter of this route"})
			}
			return re
		}
	}
}

// orNone lists names, or says there are none.
func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
