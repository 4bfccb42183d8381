package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/domain/planning/csvimport"
	"github.com/labstack/echo/v4"
)

// Media types the API reads.
const (
	mediaJSON = "application/json"
	mediaCSV  = "text/csv"
)

// mediaType returns the request's media type, without parameters.
func mediaType(r *http.Request) string {
	ct := r.Header.Get(echo.HeaderContentType)
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ct
	}
	return mt
}

func unsupported(got string, want ...string) *requestError {
	if got == "" {
		got = "none"
	}
	return &requestError{status: http.StatusUnsupportedMediaType, slug: "unsupported-media-type", title: "Unsupported media type",
		detail: fmt.Sprintf("Content-Type %s is not accepted here; send %s", got, strings.Join(want, " or "))}
}

func tooLarge(limit int64) *requestError {
	return &requestError{status: http.StatusRequestEntityTooLarge, slug: "too-large", title: "Request too large",
		detail: fmt.Sprintf("the body is larger than %d bytes", limit)}
}

// readBody reads the whole body, at most limit bytes (413 beyond).
func readBody(c echo.Context, limit int64) ([]byte, error) {
	r := c.Request()
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, limit))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, tooLarge(limit)
	}
	if err != nil {
		return nil, badRequest("reading the body: " + err.Error())
	}
	return b, nil
}

// decodeJSON reads the body into v strictly: application/json only (415),
// at most limit bytes (413), one JSON value, no unknown field, every
// field of its type (400, naming the field).
func decodeJSON(c echo.Context, limit int64, v any) error {
	if mt := mediaType(c.Request()); mt != mediaJSON {
		return unsupported(mt, mediaJSON)
	}
	b, err := readBody(c, limit)
	if err != nil {
		return err
	}
	return unmarshalStrict(b, v)
}

// unmarshalStrict decodes exactly one JSON value from b into v.
func unmarshalStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("the body holds more than one JSON value")
	}
	return nil
}

// jsonError explains a decoding error, naming the field where it can.
func jsonError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.Is(err, io.EOF):
		return badRequest("the body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("the body ends in the middle of a JSON value")
	case errors.As(err, &syn):
		return badRequest(fmt.Sprintf("malformed JSON at byte %d: %v", syn.Offset, syn))
	case errors.As(err, &typ):
		field := typ.Field
		reason := fmt.Sprintf("want %s, got %s", typeName(typ.Type), typ.Value)
		return badRequest(fmt.Sprintf("field %q: %s", field, reason), FieldError{Field: field, Value: typ.Value, Reason: reason})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		reason := "unknown field"
		if name == "actor" || name == "by" {
			reason = "unknown field: the actor is taken from the credentials, never from the body"
		}
		return badRequest(fmt.Sprintf("unknown field %q", name), FieldError{Field: name, Reason: reason})
	}
	return badRequest("malformed JSON: " + err.Error())
}

func typeName(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t {
	case reflect.TypeFor[amount]():
		return "a decimal number (a JSON number or string such as 1250.75)"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a finite number"
	case reflect.Slice:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return t.String()
}

// amount is a decimal as given in JSON: a number or a string. It keeps the
// text; the application parses it (and reports bad syntax with its row).
// NaN and infinities are not numbers here: they are refused while
// decoding, like any other wrong type.
type amount string

func (a *amount) UnmarshalJSON(b []byte) error {
	text := string(b)
	bad := func(v string) error {
		return &json.UnmarshalTypeError{Value: v, Type: reflect.TypeFor[amount]()}
	}
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		text = strings.TrimSpace(s)
		switch strings.ToLower(strings.TrimLeft(text, "+-")) {
		case "nan", "inf", "infinity":
			return bad(fmt.Sprintf("%q (not a finite number)", s))
		}
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		if f, err := strconv.ParseFloat(text, 64); err != nil || math.IsInf(f, 0) {
			return bad(fmt.Sprintf("%s (not a finite number)", text))
		}
	default:
		return bad(text)
	}
	*a = amount(text)
	return nil
}

// ifMatch reads the If-Match header: absent is nil (any version), "*" is
// eventstore.StreamExists, "\"7\"" (or W/"7") is eventstore.Exact(7).
func ifMatch(r *http.Request) (eventstore.ExpectedVersion, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return nil, nil
	}
	if h == "*" {
		return eventstore.StreamExists, nil
	}
	tag := strings.TrimPrefix(h, "W/")
	if len(tag) >= 2 && tag[0] == '"' && tag[len(tag)-1] == '"' {
		if v, err := strconv.ParseUint(tag[1:len(tag)-1], 10, 64); err == nil {
			return eventstore.Exact(v), nil
		}
	}
	return nil, badRequest(fmt.Sprintf(`If-Match %q: want one ETag as given by this API, such as "7", or *`, h),
		FieldError{Field: "If-Match", Value: h, Reason: `want one entity tag such as "7" (the stream version), or *`})
}

// etag formats a stream version as an entity tag.
func etag(version uint64) string { return `"` + strconv.FormatUint(version, 10) + `"` }

// csvError translates a CSV file that cannot be read as its format
// (csvimport.FormatError) into a 400 naming the line and column.
func csvError(err error) error {
	var fe *csvimport.FormatError
	if !errors.As(err, &fe) {
		return badRequest("malformed CSV: " + err.Error())
	}
	return badRequest(fe.Detail, problemList(fe.Problems)...)
}

// problemList lists planning problems as a Problem's Errors.
func problemList(ps []planning.Problem) []FieldError {
	out := make([]FieldError, len(ps))
	for i, p := range ps {
		out[i] = FieldError{Row: p.Row, Field: p.Field, Value: p.Value, Reason: p.Reason}
	}
	return out
}
