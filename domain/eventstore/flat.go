package eventstore

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"unicode/utf8"
)

// flatDecoder reads, without the general JSON decoder, the data of an event
// type whose fields are all strings, text values (encoding.TextUnmarshaler)
// or JSON values (json.Unmarshaler) and that is stored exactly as
// json.Marshal writes it: every field, in declaration order, its strings
// unescaped. Most events of a log are of such types, and decoding them was
// most of the time of a first fold (encoding/json scans the input twice
// and reflects on every field). Any other input is left to encoding/json,
// and what this reads is what encoding/json would have read: a key or
// string it could read differently (escapes, invalid UTF-8, another order,
// other spacing) sends the input there.
type flatDecoder struct {
	fields []flatField
}

// flatField is one field of a flatDecoder's type.
type flatField struct {
	index int
	key   string // `"name":`
	kind  flatKind
}

type flatKind int

const (
	flatString flatKind = iota
	flatText            // *T implements encoding.TextUnmarshaler; stored as a JSON string
	flatJSON            // *T implements json.Unmarshaler; stored as a JSON object
)

var (
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textMarshaler   = reflect.TypeFor[encoding.TextMarshaler]()
	jsonMarshaler   = reflect.TypeFor[json.Marshaler]()
)

// newFlatDecoder returns the decoder of struct type t, nil when t's fields
// are not all of the kinds it reads (the type is then always decoded by
// encoding/json).
func newFlatDecoder(t reflect.Type) *flatDecoder {
	if t.Kind() != reflect.Struct || t.NumField() == 0 {
		return nil
	}
	d := &flatDecoder{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || f.Anonymous || name == "-" || opts != "" || name == "" || strings.ContainsAny(name, `"\`) {
			return nil
		}
		ff := flatField{index: i, key: `"` + name + `":`}
		p := reflect.PointerTo(f.Type)
		switch {
		case p.Implements(jsonUnmarshaler) && f.Type.Implements(jsonMarshaler) && !p.Implements(textUnmarshaler):
			ff.kind = flatJSON
		case p.Implements(textUnmarshaler) && f.Type.Implements(textMarshaler) && !p.Implements(jsonUnmarshaler):
			ff.kind = flatText
		case f.Type.Kind() == reflect.String && !p.Implements(textUnmarshaler) && !p.Implements(jsonUnmarshaler):
			ff.kind = flatString
		default:
			return nil
		}
		d.fields = append(d.fields, ff)
	}
	return d
}

// decode reads b into the struct v points to and reports whether it
// could; when it reports false, v may be partly set and b is left to
// encoding/json.
func (d *flatDecoder) decode(b []byte, v reflect.Value) bool {
	if len(b) < 2 || b[0] != '{' {
		return false
	}
	b = b[1:]
	for i, f := range d.fields {
		if i > 0 {
			if len(b) == 0 || b[0] != ',' {
				return false
			}
			b = b[1:]
		}
		if !bytes.HasPrefix(b, []byte(f.key)) {
			return false
		}
		b = b[len(f.key):]
		field := v.Field(f.index)
		if f.kind == flatJSON {
			n := objectEnd(b)
			if n < 0 || !json.Valid(b[:n]) {
				return false
			}
			if err := field.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(b[:n]); err != nil {
				return false
			}
			b = b[n:]
			continue
		}
		s, rest, ok := plainString(b)
		if !ok {
			return false
		}
		b = rest
		if f.kind == flatString {
			field.SetString(string(s))
		} else if err := field.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText(s); err != nil {
			return false
		}
	}
	return len(b) == 1 && b[0] == '}'
}

// plainString returns the content of the JSON string b starts with, when it
// holds no escapes and is valid UTF-8 (so that it reads as its bytes), and
// what follows it.
func plainString(b []byte) (s, rest []byte, ok bool) {
	if len(b) == 0 || b[0] != '"' {
		return nil, nil, false
	}
	end := bytes.IndexByte(b[1:], '"')
	if end < 0 {
		return nil, nil, false
	}
	s = b[1 : 1+end]
	for _, c := range s {
		if c == '\\' || c < 0x20 {
			return nil, nil, false
		}
	}
	if !utf8.Valid(s) {
		return nil, nil, false
	}
	return s, b[end+2:], true
}

// objectEnd returns the length of the JSON object b starts with (its
// strings holding no escapes), or -1.
func objectEnd(b []byte) int {
	if len(b) == 0 || b[0] != '{' {
		return -1
	}
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '\\':
			return -1
		case '"':
			j := bytes.IndexByte(b[i+1:], '"')
			if j < 0 {
				return -1
			}
			i += j + 1
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}
