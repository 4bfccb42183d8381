package eventstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// ErrUnknownType matches every *UnknownTypeError.
var ErrUnknownType = errors.New("eventstore: unknown event type")

// UnknownTypeError reports a stored event whose type is not registered, or a
// Go value whose type is not: such events are reported, never dropped.
type UnknownTypeError struct {
	Type     string // the stored type name, or the Go type for Encode
	Stream   string
	Position Position
}

func (e *UnknownTypeError) Error() string {
	if e.Stream == "" {
		return fmt.Sprintf("eventstore: event type %s is not registered", e.Type)
	}
	return fmt.Sprintf("eventstore: event type %q of stream %q at position %v is not registered", e.Type, e.Stream, e.Position)
}

// Is makes errors.Is(err, ErrUnknownType) true.
func (e *UnknownTypeError) Is(target error) bool { return target == ErrUnknownType }

// Upcaster rewrites the data of one schema version into the next.
type Upcaster func(data []byte) ([]byte, error)

// Registry maps stable event type names to Go types. Register every type at
// start-up; after that a Registry is safe for concurrent use.
type Registry struct {
	byName map[string]*registration
	byType map[reflect.Type]*registration
}

type registration struct {
	name      string
	version   int
	goType    reflect.Type
	upcasters []Upcaster // upcasters[i] turns version i+1 into i+2
	decode    func([]byte) (any, error)
	zero      any // the zero value of goType
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{byName: map[string]*registration{}, byType: map[reflect.Type]*registration{}}
}

// Register maps name to the struct type E at schema version len(upcasters)+1.
// upcasters[i] rewrites stored data of version i+1 into version i+2, so old
// events decode into today's E. It panics on a duplicate name or type, or on
// a non-struct E: registration is wiring, and a mistake there is a
// programmer error.
func Register[E any](r *Registry, name string, upcasters ...Upcaster) {
	t := reflect.TypeFor[E]()
	if t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("eventstore.Register(%q): %v is not a struct type", name, t))
	}
	if _, dup := r.byName[name]; dup {
		panic(fmt.Sprintf("eventstore.Register: type name %q registered twice", name))
	}
	if prev, dup := r.byType[t]; dup {
		panic(fmt.Sprintf("eventstore.Register: %v already registered as %q", t, prev.name))
	}
	flat := newFlatDecoder(t)
	reg := &registration{
		name:      name,
		version:   len(upcasters) + 1,
		goType:    t,
		upcasters: upcasters,
		zero:      *new(E),
		decode: func(b []byte) (any, error) {
			var e E
			if flat != nil && flat.decode(b, reflect.ValueOf(&e).Elem()) {
				return e, nil
			}
			e = *new(E)
			if err := json.Unmarshal(b, &e); err != nil {
				return nil, err
			}
			return e, nil
		},
	}
	r.byName[name] = reg
	r.byType[t] = reg
}

// Name returns the registered name of event's type.
func (r *Registry) Name(event any) (string, bool) {
	reg, ok := r.byType[reflect.TypeOf(event)]
	if !ok {
		return "", false
	}
	return reg.name, true
}

// Names returns every registered type name.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.byName))
	for n := range r.byName {
		out = append(out, n)
	}
	return out
}

// TypeInfo describes one registered event type.
type TypeInfo struct {
	Name    string
	Version int          // the current schema version, which Encode writes
	Type    reflect.Type // the struct type its data decodes into
}

// Types returns every registered type, sorted by name.
func (r *Registry) Types() []TypeInfo {
	out := make([]TypeInfo, 0, len(r.byName))
	for _, reg := range r.byName {
		out = append(out, TypeInfo{Name: reg.name, Version: reg.version, Type: reg.goType})
	}
	slices.SortFunc(out, func(a, b TypeInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Encode turns a registered event value into EventData with the given ID and
// metadata, at the type's current schema version.
func (r *Registry) Encode(id uuid.UUID, event any, md Metadata) (EventData, error) {
	reg, ok := r.byType[reflect.TypeOf(event)]
	if !ok {
		return EventData{}, &UnknownTypeError{Type: fmt.Sprintf("%T", event)}
	}
	data, err := json.Marshal(event)
	if err != nil {
		return EventData{}, fmt.Errorf("eventstore: encode %s: %w", reg.name, err)
	}
	return EventData{ID: id, Type: reg.name, SchemaVersion: reg.version, Data: data, Metadata: md}, nil
}

// DecodeError reports stored data that cannot be decoded into its type.
type DecodeError struct {
	Type     string
	Stream   string
	Position Position
	Err      error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("eventstore: decode %q of stream %q at position %v: %v", e.Type, e.Stream, e.Position, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Zero returns the zero value of the registered type of rec, checking its
// type and schema version as Decode does but not decoding its data: for a
// reader that only needs to know what kind of event rec is (a fold that
// skips the events it does not use, which then cost no decoding).
func (r *Registry) Zero(rec RecordedEvent) (any, error) {
	reg, err := r.registration(rec)
	if err != nil {
		return nil, err
	}
	return reg.zero, nil
}

// registration returns the registration of rec's type, checking that this
// build knows its schema version.
func (r *Registry) registration(rec RecordedEvent) (*registration, error) {
	reg, ok := r.byName[rec.Type]
	if !ok {
		return nil, &UnknownTypeError{Type: rec.Type, Stream: rec.Stream, Position: rec.Position}
	}
	if rec.SchemaVersion < 1 || rec.SchemaVersion > reg.version {
		return nil, &DecodeError{Type: rec.Type, Stream: rec.Stream, Position: rec.Position,
			Err: fmt.Errorf("schema version %d, this build knows 1 to %d", rec.SchemaVersion, reg.version)}
	}
	return reg, nil
}

// Decode returns the event value (of the registered struct type, not a
// pointer) stored in rec, upcasting older schema versions first.
func (r *Registry) Decode(rec RecordedEvent) (any, error) {
	reg, err := r.registration(rec)
	if err != nil {
		return nil, err
	}
	data := rec.Data
	for v := rec.SchemaVersion; v < reg.version; v++ {
		var err error
		if data, err = reg.upcasters[v-1](data); err != nil {
			return nil, &DecodeError{Type: rec.Type, Stream: rec.Stream, Position: rec.Position,
				Err: fmt.Errorf("upcast from version %d: %w", v, err)}
		}
	}
	e, err := reg.decode(data)
	if err != nil {
		return nil, &DecodeError{Type: rec.Type, Stream: rec.Stream, Position: rec.Position, Err: err}
	}
	return e, nil
}
