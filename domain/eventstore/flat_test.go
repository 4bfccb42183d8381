package eventstore_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/concord-planning/concord/domain/eventstore"
)

// upper is a text value: its text is read upper-cased, and "bad" is refused.
type upper struct{ s string }

func (u upper) MarshalText() ([]byte, error) { return []byte(u.s), nil }
func (u *upper) UnmarshalText(b []byte) error {
	if string(b) == "bad" {
		return errors.New("bad text")
	}
	u.s = strings.ToUpper(string(b))
	return nil
}

// pair is a JSON value, stored as an object of two numbers.
type pair struct{ a, b int }

func (p pair) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, `{"a":%d,"b":%d}`, p.a, p.b), nil
}
func (p *pair) UnmarshalJSON(b []byte) error {
	var v struct{ A, B int }
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.A > v.B {
		return errors.New("a after b")
	}
	*p = pair{v.A, v.B}
	return nil
}

type label string

// Flat is an event of the kind the registry reads without encoding/json.
type Flat struct {
	Name  string `json:"name"`
	Code  upper  `json:"code"`
	Range pair   `json:"range"`
	Tag   label  `json:"tag"`
}

// TestFlatDecodeAsEncodingJSON: whatever the spelling of an event's data,
// Decode returns what encoding/json reads, or fails where it fails.
func TestFlatDecodeAsEncodingJSON(t *testing.T) {
	r := eventstore.NewRegistry()
	eventstore.Register[Flat](r, "flat.Event")
	for _, data := range flatSamples {
		got, gotErr := r.Decode(eventstore.RecordedEvent{Type: "flat.Event", SchemaVersion: 1, Data: []byte(data)})
		var want Flat
		wantErr := json.Unmarshal([]byte(data), &want)
		if (gotErr != nil) != (wantErr != nil) || (gotErr == nil && !reflect.DeepEqual(got, want)) {
			t.Errorf("Decode(%s) = %+v, %v; encoding/json reads %+v, %v", data, got, gotErr, want, wantErr)
		}
	}
	b, err := json.Marshal(Flat{Name: "n", Code: upper{"X"}, Range: pair{1, 2}, Tag: "t"})
	if err != nil || string(b) != flatSamples[0] {
		t.Fatalf("json.Marshal = %s, %v; want the first sample, %s", b, err, flatSamples[0])
	}
}

var flatSamples = []string{
	`{"name":"n","code":"X","range":{"a":1,"b":2},"tag":"t"}`,
	`{"name":"n","code":"x","range":{"a":1,"b":2},"tag":"t"}`,
	`{"name":"","code":"","range":{"a":0,"b":0},"tag":""}`,
	`{"name":"é—ü","code":"ß","range":{"a":-1,"b":2},"tag":"{}"}`,
	`{"name":"a\"b","code":"x","range":{"a":1,"b":2},"tag":"t"}`,
	`{"name":"a\u00e9","code":"x\n","range":{"a":1,"b":2},"tag":"t"}`,
	"{\"name\":\"\xff\",\"code\":\"x\",\"range\":{\"a\":1,\"b\":2},\"tag\":\"t\"}",
	`{"code":"x","name":"n","range":{"a":1,"b":2},"tag":"t"}`,
	`{"Name":"n","code":"x","range":{"a":1,"b":2},"tag":"t"}`,
	`{"name":"n","name":"m","code":"x","range":{"a":1,"b":2},"tag":"t"}`,
	`{"name":"n","code":"x","range":{"a":1,"b":2},"tag":"t","extra":1}`,
	`{"name":"n","code":"x","range":{"a":1,"b":2}}`,
	`{ "name":"n","code":"x","range":{"a":1,"b":2},"tag":"t"}`,
	`{"name":"n","code":"x","range":{"a":1, "b":2},"tag":"t"}`,
	`{"name":"n","code":"bad","range":{"a":1,"b":2},"tag":"t"}`,
	`{"name":"n","code":"x","range":{"a":3,"b":2},"tag":"t"}`,
	`{"name":"n","code":"x","range":{"a":1,"b":"2"},"tag":"t"}`,
	`{"name":"n","code":"x","range":{"a":1,"b":2,"c":{"d":"}"}},"tag":"t"}`,
	`{"name":"n","code":"x","range":{"a":1,"b":2},"tag":"t"`,
	`{"name":"n","code":"x","range":{"a":1,"b":2},"tag":"t"}x`,
	`{"name":"n","code":"x","range":{"a":1,"b":2},"tag":"t"} `,
	`{"name":1,"code":"x","range":{"a":1,"b":2},"tag":"t"}`,
	`{"name":null,"code":null,"range":null,"tag":"t"}`,
	`{"name":"n","code":"x","range":{"a":1,"b":2},"tag":"t\"}`,
	`{}`,
	`null`,
	``,
}

// FuzzFlatDecode checks TestFlatDecodeAsEncodingJSON's property on any data.
func FuzzFlatDecode(f *testing.F) {
	r := eventstore.NewRegistry()
	eventstore.Register[Flat](r, "flat.Event")
	for _, s := range flatSamples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, gotErr := r.Decode(eventstore.RecordedEvent{Type: "flat.Event", SchemaVersion: 1, Data: data})
		var want Flat
		wantErr := json.Unmarshal(data, &want)
		if (gotErr != nil) != (wantErr != nil) || (gotErr == nil && !reflect.DeepEqual(got, want)) {
			t.Errorf("Decode(%q) = %+v, %v; encoding/json reads %+v, %v", data, got, gotErr, want, wantErr)
		}
	})
}
