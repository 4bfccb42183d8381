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
	"unicode/utf8"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/domain/planning/csvimport"
	"github.com/concord-planning/concord/domain/text"
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

// bodyReader returns the request body, to be read as a stream of at most
// limit bytes: a declared length beyond it is refused at once (413), and
// reading beyond it fails (see bodyError).
func bodyReader(c echo.Context, limit int64) (io.Reader, error) {
	r := c.Request()
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	return http.MaxBytesReader(c.Response(), r.Body, limit), nil
}

// bodyError translates an error met reading a body from bodyReader.
func bodyError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge(limit)
	}
	return badRequest("reading the body: " + err.Error())
}

// readBody reads the whole body, at most limit bytes (413 beyond).
func readBody(c echo.Context, limit int64) ([]byte, error) {
	r, err := bodyReader(c, limit)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, bodyError(err, limit)
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

// unmarshalStrict decodes exactly one JSON value from b into v, and
// refuses (400, naming the field) any string of it that is not text
// (text.Problem): invalid UTF-8, which the decoder would replace
// silently, and control characters, which it would keep.
func unmarshalStrict(b []byte, v any) error {
	if !utf8.Valid(b) {
		return invalidUTF8(b)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("the body holds more than one JSON value")
	}
	return checkText(reflect.ValueOf(v), "")
}

// maxValueShown is the most bytes of a refused value a problem repeats.
const maxValueShown = 100

func shown(v string) string {
	if len(v) <= maxValueShown {
		return v
	}
	return strings.ToValidUTF8(v[:maxValueShown], "") + "…"
}

// notText is the 400 answer to a string that is not text.
func notText(field, value, why string) error {
	return badRequest(fmt.Sprintf("field %q %s", field, why), FieldError{Field: field, Value: shown(value), Reason: why})
}

// checkText walks a decoded body and refuses the first string (value or
// map key) that text.Problem refuses, naming it by its JSON path
// (rows[3].cell). Raw JSON (a forecast's model) is walked token by token.
func checkText(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return checkText(v.Elem(), path)
	case reflect.String:
		if why := text.Problem(v.String()); why != "" {
			return notText(path, v.String(), why)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if err := checkText(v.Field(i), join(path, name)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type() == reflect.TypeFor[json.RawMessage]() {
			return checkRawText(v.Bytes(), path)
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil
		}
		for i := range v.Len() {
			if err := checkText(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			k := fmt.Sprint(it.Key().Interface())
			if why := text.Problem(k); why != "" {
				return notText(join(path, k), k, "key "+why)
			}
			if err := checkText(it.Value(), join(path, k)); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// checkRawText refuses the first string of raw JSON, key or value, that
// is not text, naming it by its path below path.
func checkRawText(raw []byte, path string) error {
	var walkErr error
	walk(raw, path, func(p func() string, tok json.Token, _ []byte, _ int, key bool) bool {
		s, ok := tok.(string)
		if !ok {
			return true
		}
		if why := text.Problem(s); why != "" {
			if key {
				why = "key " + why
			}
			walkErr = notText(p(), s, why)
			return false
		}
		return true
	})
	return walkErr
}

// invalidUTF8 names the first string of b (not valid UTF-8) whose bytes
// are not UTF-8.
func invalidUTF8(b []byte) error {
	field, at := "", 0
	walk(b, "", func(p func() string, tok json.Token, raw []byte, off int, _ bool) bool {
		if _, ok := tok.(string); ok && !utf8.Valid(raw) {
			field, at = p(), off
			return false
		}
		return true
	})
	if field == "" {
		return badRequest("the body is not valid UTF-8")
	}
	return badRequest(fmt.Sprintf("field %q is not valid UTF-8 (the string at byte %d)", field, at),
		FieldError{Field: field, Reason: "not valid UTF-8"})
}

// walk tokenizes raw JSON and calls f with each token (but delimiters), a
// function returning its path (built only when asked: walking stays
// linear however deep the JSON), its bytes as sent, its offset and whether
// it is an object key, until f returns false; it stops silently at a
// syntax error, which the decoder reports.
func walk(raw []byte, path string, f func(path func() string, tok json.Token, b []byte, off int, key bool) bool) {
	type frame struct {
		obj     bool
		key     string
		idx     int
		wantKey bool
	}
	var stack []*frame
	here := func() string {
		p := path
		for _, fr := range stack {
			if fr.obj {
				p = join(p, fr.key)
			} else {
				p = fmt.Sprintf("%s[%d]", p, fr.idx)
			}
		}
		return p
	}
	done := func() { // a value of the innermost container ended
		if n := len(stack); n > 0 {
			if fr := stack[n-1]; fr.obj {
				fr.wantKey = true
			} else {
				fr.idx++
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return
		}
		end := dec.InputOffset()
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				stack = append(stack, &frame{obj: d == '{', wantKey: d == '{'})
			default:
				stack = stack[:len(stack)-1]
				done()
			}
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].wantKey {
			k, _ := tok.(string)
			stack[n-1].key, stack[n-1].wantKey = k, false
			if !f(here, tok, raw[start:end], int(start), true) {
				return
			}
			continue
		}
		if !f(here, tok, raw[start:end], int(start), false) {
			return
		}
		done()
	}
}

// jsonError explains a decoding error, naming the field where it can.
func jsonError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		re  *requestError
	)
	switch {
	case errors.As(err, &re), errors.Is(err, planning.ErrTooManyRows):
		return err
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
// (csvimport.FormatError) into a 400 naming the line and column; a file
// beyond the row limit stays planning.ErrTooManyRows (413), and a body
// beyond limit bytes is 413 too.
func csvError(err error, limit int64) error {
	var (
		fe  *csvimport.FormatError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.Is(err, planning.ErrTooManyRows):
		return err
	case errors.As(err, &mbe):
		return tooLarge(limit)
	case errors.As(err, &fe):
		return badRequest(fe.Detail, problemList(fe.Problems)...)
	}
	return badRequest("malformed CSV: " + err.Error())
}

// rowList is a batch's rows as a JSON array, decoded one row at a time:
// an array longer than planning.MaxRows is refused (planning.ErrTooManyRows,
// 413) at its row MaxRows+1, so that no upload materialises more rows
// than a batch may hold, whatever its size. A row's problem names it
// (errors[].row, 1-based).
type rowList[T any] []T

func (l *rowList[T]) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		*l = nil
		return nil
	}
	if tok != json.Delim('[') {
		return badRequest(`field "rows": want an array`, FieldError{Field: "rows", Value: fmt.Sprint(tok), Reason: "want an array"})
	}
	*l = (*l)[:0]
	for dec.More() {
		if len(*l) == planning.MaxRows {
			return fmt.Errorf("%w: more than %d rows; split the batch", planning.ErrTooManyRows, planning.MaxRows)
		}
		var row T
		if err := dec.Decode(&row); err != nil {
			return rowError(len(*l)+1, jsonError(err))
		}
		*l = append(*l, row)
	}
	return nil
}

// rowError says that err concerns row (1-based) of a batch.
func rowError(row int, err error) error {
	var re *requestError
	if !errors.As(err, &re) {
		return err
	}
	out := *re
	out.detail = fmt.Sprintf("rows[%d]: %s", row-1, re.detail)
	out.errors = make([]FieldError, len(re.errors))
	for i, fe := range re.errors {
		fe.Row = row
		out.errors[i] = fe
	}
	return &out
}

// problemList lists planning problems as a Problem's Errors.
func problemList(ps []planning.Problem) []FieldError {
	out := make([]FieldError, len(ps))
	for i, p := range ps {
		out[i] = FieldError{Row: p.Row, Field: p.Field, Value: p.Value, Reason: p.Reason}
	}
	return out
}
