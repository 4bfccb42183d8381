package api

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/concord-planning/concord/domain/decimal"
)

// FuzzAmount: no input panics; an accepted amount is a JSON string or
// number whose text is kept, and never a NaN or an infinity.
func FuzzAmount(f *testing.F) {
	for _, s := range []string{`"12.50"`, `12.5`, `-3`, `"NaN"`, `1e999`, `true`, `null`, `"inf"`, `{}`, `"+0.1"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var a amount
		err := json.Unmarshal([]byte(in), &a)
		if err != nil {
			return
		}
		if f, err := strconv.ParseFloat(string(a), 64); err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
			t.Fatalf("amount %q (%v) accepted from %q", a, f, in)
		}
		if d, err := decimal.Parse(string(a)); err == nil && !strings.HasPrefix(strings.TrimSpace(in), `"`) && d.String() == "" {
			t.Fatalf("parsed %q to an empty decimal", in)
		}
	})
}

// FuzzDecodeStrict: no body panics the strict decoder; a body it accepts
// is a JSON object of known fields.
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{`{"node":"a","metric":"m","span":"FY2027","amount":"1","reason":"r"}`, `{"actor":"x"}`, `{`, `[]`, `{"amount":NaN}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var v targetIn
		if err := unmarshalStrict([]byte(in), &v); err != nil {
			var re *requestError
			if !errors.As(err, &re) || re.status != 400 {
				t.Fatalf("unmarshalStrict error %v is not a 400", err)
			}
		}
	})
}
