package view

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/klauspost/compress/zstd"

	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/plan"
)

// A snapshot is the live state at one position of the log with the marks
// of every event up to it, so that a Service restored from it answers as
// one that folded those events: the state for live reads, the marks for
// the position of a time and for as-of reads (which fold from the start of
// the log, or from the restored state, where the checkpoints before it
// are missing).
//
// It is written as a header — its length (4 bytes, big-endian) then JSON
// (snapshotHeader) — followed by the state, gob-encoded (snapshotState)
// and compressed with zstd. The header is read first: a snapshot of
// another schema is refused before anything is decoded.

// snapshotFormat is the manual part of the snapshot schema: raise it when
// the meaning of the encoded values changes while their types do not (the
// fingerprint of the types changes by itself).
const snapshotFormat = 3 // 2: the forecasts section is a count, then one gob value per run; 3: long columns apart, in chunks (encodeColumns)

// SnapshotSchema is the schema of the snapshots this code writes and
// reads: the format number and a fingerprint of the encoded types (their
// fields' names and types, recursively). A snapshot of another schema is
// refused (ErrSnapshotRefused), so a change to the encoded types discards
// the snapshots written before it.
var SnapshotSchema = fmt.Sprintf("%d-%s", snapshotFormat, typeFingerprint(reflect.TypeFor[snapshotState]()))

// ErrSnapshotRefused is returned (wrapped) by Service.Restore for a
// snapshot it does not use: of another schema, of another log (the event
// at its position is not the one it was taken at) or damaged. The caller
// folds the log from its start instead.
var ErrSnapshotRefused = errors.New("view: snapshot refused")

// snapshotHeader identifies a snapshot: the schema it was written with and
// the event it was taken after (position, id and chain hash), checked
// against the store before the snapshot is used.
type snapshotHeader struct {
	Schema    string              `json:"schema"`
	Position  eventstore.Position `json:"position"`
	EventID   uuid.UUID           `json:"event_id"`
	EventHash []byte              `json:"event_hash"`
	Events    int                 `json:"events"` // how many events the state folds
	Taken     time.Time           `json:"taken"`  // the wall clock when it was written, for operators
}

// snapshotState is a State and its marks as plain values. Collections are
// slices in a fixed order, so equal states encode to equal bytes (the
// tests compare states that way).
type snapshotState struct {
	Position eventstore.Position
	Time     time.Time

	Plans []keyedPlan // by key
	Dims  []keyedDimension
	Books []keyedBook

	Cells  []string // the cells of the actuals, each once
	Months []monthSnapshot
	Closed []int32

	Forecasts []vintageSnapshot
	Pending   []forecast.Requested // by run id
	Versions  []streamVersions     // by stream

	Marks markColumns
}

type keyedPlan struct {
	Key string
	plan.Snapshot
}

type keyedDimension struct {
	Key string
	dimension.Snapshot
}

type keyedBook struct {
	Key string
	commit.Snapshot
}

// monthSnapshot is the actuals of one metric and period, by cell (an
// index in snapshotState.Cells).
type monthSnapshot struct {
	Metric string
	Period int32
	Cell   []uint32
	Coef   []int64
	Scale  []uint8
}

type vintageSnapshot struct {
	forecast.Published
	Position eventstore.Position
	Time     time.Time
}

// streamVersions is where the versions of a plan stream were recorded.
type streamVersions struct {
	Stream  string
	Version []uint64
	Commit  []uint64
	Prepare []uint64
	Time    []int64 // Unix nanoseconds, UTC
}

// markColumns are the marks, as differences from the mark before, which
// gob writes in a byte or two each.
type markColumns struct {
	Commit  []uint64 // Commit − the previous mark's Commit
	Prepare []int64  // Prepare − Commit
	UpTo    []int64  // nanoseconds after the previous mark's upTo (the first: Unix nanoseconds)
	Changes []bool
}

// typeFingerprint returns a digest of t's structure: the names and types
// of its exported fields, recursively. Types that encode themselves (gob
// uses their GobEncode or MarshalBinary) count by name only.
func typeFingerprint(t reflect.Type) string {
	var b strings.Builder
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		fmt.Fprintf(&b, "%s.%s:%s(", t.PkgPath(), t.Name(), t.Kind())
		defer b.WriteString(")")
		if seen[t] {
			return
		}
		seen[t] = true
		if encodesItself(t) {
			return
		}
		switch t.Kind() {
		case reflect.Struct:
			for i := range t.NumField() {
				if f := t.Field(i); f.IsExported() {
					b.WriteString(f.Name + " ")
					walk(f.Type)
				}
			}
		case reflect.Slice, reflect.Array, reflect.Pointer:
			walk(t.Elem())
		case reflect.Map:
			walk(t.Key())
			walk(t.Elem())
		}
	}
	walk(t)
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:8])
}

// snapshotOf returns st and its marks as plain values.
func snapshotOf(st *State, marks []mark) *snapshotState {
	out := &snapshotState{Position: st.Position, Time: st.Time}
	for _, k := range slices.Sorted(maps.Keys(st.plans)) {
		out.Plans = append(out.Plans, keyedPlan{k, st.plans[k].Snapshot()})
	}
	for _, k := range slices.Sorted(maps.Keys(st.dims)) {
		out.Dims = append(out.Dims, keyedDimension{k, st.dims[k].Snapshot()})
	}
	for _, k := range slices.Sorted(maps.Keys(st.books)) {
		out.Books = append(out.Books, keyedBook{k, st.books[k].Snapshot()})
	}
	cells := map[string]uint32{}
	months := slices.SortedFunc(maps.Keys(st.actuals), func(a, b monthOf) int {
		return cmp.Or(strings.Compare(a.metric, b.metric), cmp.Compare(a.period, b.period))
	})
	for _, k := range months {
		m := st.actuals[k]
		ms := monthSnapshot{Metric: k.metric, Period: int32(k.period), Cell: make([]uint32, 0, len(m)), Coef: make([]int64, 0, len(m)), Scale: make([]uint8, 0, len(m))}
		for _, cell := range slices.Sorted(maps.Keys(m)) {
			i, ok := cells[cell]
			if !ok {
				i = uint32(len(out.Cells))
				cells[cell] = i
				out.Cells = append(out.Cells, cell)
			}
			v := m[cell]
			ms.Cell, ms.Coef, ms.Scale = append(ms.Cell, i), append(ms.Coef, v.Coef()), append(ms.Scale, uint8(v.Scale()))
		}
		out.Months = append(out.Months, ms)
	}
	for _, p := range slices.Sorted(maps.Keys(st.closed)) {
		out.Closed = append(out.Closed, int32(p))
	}
	for _, v := range st.forecasts {
		out.Forecasts = append(out.Forecasts, vintageSnapshot{Published: v.Published, Position: v.position, Time: v.time})
	}
	for _, id := range slices.Sorted(maps.Keys(st.pending)) {
		out.Pending = append(out.Pending, st.pending[id])
	}
	for _, stream := range slices.Sorted(maps.Keys(st.versions)) {
		n := len(st.versions[stream]) // the columns at their length: grown by append, a Large plan stream's were copied over and over
		sv := streamVersions{Stream: stream, Version: make([]uint64, 0, n), Commit: make([]uint64, 0, n), Prepare: make([]uint64, 0, n), Time: make([]int64, 0, n)}
		for _, v := range st.versions[stream] {
			sv.Version, sv.Commit, sv.Prepare = append(sv.Version, v.version), append(sv.Commit, v.position.Commit), append(sv.Prepare, v.position.Prepare)
			sv.Time = append(sv.Time, v.time.UnixNano())
		}
		out.Versions = append(out.Versions, sv)
	}
	mc := &out.Marks
	mc.Commit, mc.Prepare, mc.UpTo, mc.Changes = make([]uint64, len(marks)), make([]int64, len(marks)), make([]int64, len(marks)), make([]bool, len(marks))
	var commit uint64
	var upTo int64
	for i, m := range marks {
		mc.Commit[i] = m.position.Commit - commit
		mc.Prepare[i] = int64(m.position.Prepare - m.position.Commit)
		mc.UpTo[i] = m.upTo - upTo
		mc.Changes[i] = m.changes
		commit, upTo = m.position.Commit, m.upTo
	}
	return out
}

// state returns the State and marks ss holds, for a Service whose states
// share layouts and work; it fails when ss is not consistent (as a
// damaged snapshot would not be).
func (ss *snapshotState) state(layouts *layouts, work *pool) (*State, []mark, error) {
	var marks []mark
	var marksErr error
	var wg sync.WaitGroup
	wg.Go(func() { marks, marksErr = ss.Marks.marks() })
	st, err := ss.stateOnly(layouts, work)
	wg.Wait()
	if err := errors.Join(err, marksErr); err != nil {
		return nil, nil, err
	}
	if n := len(marks); n > 0 && marks[n-1].position != st.Position {
		return nil, nil, fmt.Errorf("the marks end at %s, the state is at %s", marks[n-1].position, st.Position)
	}
	return st, marks, nil
}

// stateOnly returns the State ss holds.
func (ss *snapshotState) stateOnly(layouts *layouts, work *pool) (*State, error) {
	st := next(nil)
	st.Position, st.Time, st.layouts, st.work = ss.Position, ss.Time, layouts, work
	for _, p := range ss.Plans {
		a, err := plan.FromSnapshot(p.Snapshot)
		if err != nil {
			return nil, err
		}
		st.plans[p.Key] = a
	}
	for _, d := range ss.Dims {
		a, err := dimension.FromSnapshot(d.Snapshot)
		if err != nil {
			return nil, err
		}
		st.dims[d.Key] = a
	}
	for _, b := range ss.Books {
		a, err := commit.FromSnapshot(b.Snapshot)
		if err != nil {
			return nil, err
		}
		st.books[b.Key] = a
	}
	for _, ms := range ss.Months {
		if len(ms.Coef) != len(ms.Cell) || len(ms.Scale) != len(ms.Cell) {
			return nil, fmt.Errorf("actuals of %s in %d: columns of unequal length", ms.Metric, ms.Period)
		}
		m := make(map[string]decimal.Decimal, len(ms.Cell))
		for i, c := range ms.Cell {
			if int(c) >= len(ss.Cells) || ms.Scale[i] > decimal.MaxScale {
				return nil, fmt.Errorf("actuals of %s in %d: value %d out of range", ms.Metric, ms.Period, i)
			}
			m[ss.Cells[c]] = decimal.New(ms.Coef[i], int(ms.Scale[i]))
		}
		st.actuals[monthOf{ms.Metric, fiscal.Period(ms.Period)}] = m
	}
	for _, p := range ss.Closed {
		st.closed[fiscal.Period(p)] = true
	}
	for _, v := range ss.Forecasts {
		st.forecasts = append(st.forecasts, vintage{Published: v.Published, position: v.Position, time: v.Time, cov: &runCovariance{}})
	}
	for _, r := range ss.Pending {
		st.pending[r.RunID] = r
	}
	for _, sv := range ss.Versions {
		n := len(sv.Version)
		if len(sv.Commit) != n || len(sv.Prepare) != n || len(sv.Time) != n {
			return nil, fmt.Errorf("versions of %s: columns of unequal length", sv.Stream)
		}
		vs := make([]versioned, n)
		for i := range n {
			vs[i] = versioned{sv.Version[i], recorded{eventstore.Position{Commit: sv.Commit[i], Prepare: sv.Prepare[i]}, time.Unix(0, sv.Time[i]).UTC()}}
		}
		st.versions[sv.Stream] = vs
	}
	st.done()
	return st, nil
}

// marks returns the marks mc holds.
func (mc markColumns) marks() ([]mark, error) {
	n := len(mc.Commit)
	if len(mc.Prepare) != n || len(mc.UpTo) != n || len(mc.Changes) != n {
		return nil, errors.New("marks: columns of unequal length")
	}
	// Room for the events after the snapshot: full, the first of them
	// doubled the slice (grown), copying the Large company's 9.7 million
	// marks (310 MB) within the restore's first Live, 3.9 s of its CPU.
	marks := make([]mark, n, n+n/4+1024)
	var commit uint64
	var upTo int64
	for i := range n {
		commit, upTo = commit+mc.Commit[i], upTo+mc.UpTo[i]
		marks[i] = mark{position: eventstore.Position{Commit: commit, Prepare: uint64(int64(commit) + mc.Prepare[i])}, upTo: upTo, changes: mc.Changes[i]}
	}
	return marks, nil
}

// The body of a snapshot is three sections — the state without its
// forecasts, the forecasts, the marks — each gob-encoded and compressed
// on its own, preceded by its compressed and decoded lengths (8 bytes
// each, big-endian), so that they are decoded at once on several cores.

// sections returns the values ss is written as, in order.
func (ss *snapshotState) sections() []any {
	rest, marks := *ss, ss.Marks
	rest.Forecasts, rest.Marks = nil, markColumns{}
	return []any{&rest, ss.Forecasts, &marks}
}

// encodeSnapshot writes the snapshot of st and marks, taken after event
// last, with header h (Schema, Position, EventID, EventHash and Events are
// set here).
func encodeSnapshot(st *State, marks []mark, last eventstore.RecordedEvent, h snapshotHeader) ([]byte, error) {
	h.Schema, h.Position, h.EventID, h.EventHash, h.Events = SnapshotSchema, last.Position, last.ID, last.Hash, len(marks)
	head, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(len(head)))
	out = append(out, head...)
	z, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	defer z.Close()
	var raw bytes.Buffer
	for _, v := range snapshotOf(st, marks).sections() {
		raw.Reset()
		if err := encodeSection(&raw, v); err != nil {
			return nil, fmt.Errorf("view: encoding the snapshot: %w", err)
		}
		packed := z.EncodeAll(raw.Bytes(), nil)
		out = binary.BigEndian.AppendUint64(out, uint64(len(packed)))
		out = binary.BigEndian.AppendUint64(out, uint64(raw.Len()))
		out = append(out, packed...)
	}
	return out, nil
}

// snapshotHead reads the header of snapshot data and returns it with the
// rest of data. It refuses a snapshot of another schema.
func snapshotHead(data []byte) (snapshotHeader, []byte, error) {
	var h snapshotHeader
	if len(data) < 4 || int(binary.BigEndian.Uint32(data)) > len(data)-4 {
		return h, nil, fmt.Errorf("%w: no header", ErrSnapshotRefused)
	}
	n := int(binary.BigEndian.Uint32(data))
	if err := json.Unmarshal(data[4:4+n], &h); err != nil {
		return h, nil, fmt.Errorf("%w: header: %w", ErrSnapshotRefused, err)
	}
	if h.Schema != SnapshotSchema {
		return h, nil, fmt.Errorf("%w: written with schema %s, this code reads %s", ErrSnapshotRefused, h.Schema, SnapshotSchema)
	}
	return h, data[4+n:], nil
}

// decodeSnapshot returns the state and marks of the snapshot body (after
// its header), decoding its sections at once.
func decodeSnapshot(body []byte) (*snapshotState, error) {
	var ss snapshotState
	var forecasts []vintageSnapshot
	var marks markColumns
	into := []any{&ss, &forecasts, &marks} // as sections writes them
	errs := make([]error, len(into))
	var wg sync.WaitGroup
	for k := range into {
		if len(body) < 16 {
			return nil, fmt.Errorf("section %d of %d is missing", k+1, len(into))
		}
		packed, raw := binary.BigEndian.Uint64(body), binary.BigEndian.Uint64(body[8:])
		if packed > uint64(len(body)-16) {
			return nil, fmt.Errorf("section %d of %d: %d bytes long, past the end of the snapshot", k+1, len(into), packed)
		}
		section := body[16 : 16+packed]
		body = body[16+packed:]
		// The decoded length sizes the buffer decompressed into; a damaged
		// one must not make it huge (the marks compress by 500:1).
		size := int(min(raw, 4096*packed+1<<20))
		wg.Go(func() { errs[k] = decodeSection(section, size, into[k]) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	ss.Forecasts, ss.Marks = forecasts, marks
	return &ss, nil
}

// encodeSection gob-encodes v into w: the forecasts (a slice of runs) as
// their count and then one value per run, anything else (a pointer) as
// one value with its long columns apart (encodeColumns).
func encodeSection(w io.Writer, v any) error {
	enc := gob.NewEncoder(w)
	fs, ok := v.([]vintageSnapshot)
	if !ok {
		return encodeColumns(enc, v)
	}
	if err := enc.Encode(len(fs)); err != nil {
		return err
	}
	for i := range fs {
		if err := enc.Encode(&fs[i]); err != nil {
			return err
		}
	}
	return nil
}

// decodeSection decompresses section and decodes it into v as
// encodeSection wrote it, as a stream: the forecasts, tens of megabytes
// decoded, one run at a time rather than from one buffer of them all (a
// restore of the Realistic company's snapshot spent half its time reading
// and copying that buffer and faulting its pages in). raw, the section's
// decoded length, bounds how much the stream may decode.
func decodeSection(section []byte, raw int, v any) error {
	z, err := zstd.NewReader(bytes.NewReader(section), zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(raw)+1<<20))
	if err != nil {
		return err
	}
	defer z.Close()
	dec := gob.NewDecoder(z)
	fs, ok := v.(*[]vintageSnapshot)
	if !ok {
		return decodeColumns(dec, v, raw)
	}
	var n int
	if err := dec.Decode(&n); err != nil {
		return err
	}
	if n < 0 || n > raw {
		return fmt.Errorf("%d forecast runs in a section of %d bytes", n, raw)
	}
	*fs = make([]vintageSnapshot, n)
	for i := range *fs {
		if err := dec.Decode(&(*fs)[i]); err != nil {
			return fmt.Errorf("forecast run %d of %d: %w", i+1, n, err)
		}
	}
	return nil
}

// Long columns. gob reads each value as one message, and a message over
// 10 MB into a buffer it grows as it reads; it grows a long slice as it
// decodes it too (both guard against a damaged length). A Large company's
// state section was one value of hundreds of megabytes, and 41% of its
// restore's CPU went to copying those growing buffers. So encodeColumns
// takes every long column (a slice of numbers or booleans of more than
// longColumn elements, anywhere in the value) out of the value and writes
// it after the value in chunks of at most columnChunk elements, each a
// gob value of at most 9 bytes an element (under gob's 10 MB); the reader
// allocates each column once, at its length, and decodes the chunks into
// it in place.
const (
	longColumn  = 1 << 12
	columnChunk = 1 << 20
)

// longColumns says which columns of a value were written apart: their
// ordinals among the value's columns (forColumns order), ascending, and
// their lengths.
type longColumns struct {
	At  []int
	Len []int
}

// encodeColumns writes v (a pointer), its long columns left out, then
// which columns those are, then their chunks. v is as it was when it
// returns.
func encodeColumns(enc *gob.Encoder, v any) error {
	var long longColumns
	var taken []reflect.Value // the long columns' slices, in order
	var fields []reflect.Value
	k := 0
	forColumns(reflect.ValueOf(v).Elem(), func(col reflect.Value) {
		if col.Len() > longColumn {
			long.At, long.Len = append(long.At, k), append(long.Len, col.Len())
			taken, fields = append(taken, reflect.ValueOf(col.Interface())), append(fields, col)
			col.SetZero()
		}
		k++
	})
	defer func() {
		for i, f := range fields {
			f.Set(taken[i])
		}
	}()
	if err := enc.Encode(v); err != nil {
		return err
	}
	if err := enc.Encode(long); err != nil {
		return err
	}
	for _, col := range taken {
		for off := 0; off < col.Len(); off += columnChunk {
			if err := enc.EncodeValue(col.Slice(off, min(off+columnChunk, col.Len()))); err != nil {
				return err
			}
		}
	}
	return nil
}

// decodeColumns reads into v (a pointer) what encodeColumns wrote. raw,
// the section's decoded length, bounds the columns' lengths (gob writes
// an element in a byte at least).
func decodeColumns(dec *gob.Decoder, v any, raw int) error {
	if err := dec.Decode(v); err != nil {
		return err
	}
	var long longColumns
	if err := dec.Decode(&long); err != nil {
		return fmt.Errorf("long columns: %w", err)
	}
	if len(long.At) != len(long.Len) {
		return fmt.Errorf("long columns: %d ordinals, %d lengths", len(long.At), len(long.Len))
	}
	var cols []reflect.Value
	forColumns(reflect.ValueOf(v).Elem(), func(col reflect.Value) { cols = append(cols, col) })
	for i, k := range long.At {
		switch n := long.Len[i]; {
		case k < 0 || k >= len(cols) || i > 0 && k <= long.At[i-1]:
			return fmt.Errorf("long column %d: ordinal %d of %d columns, out of order or range", i+1, k, len(cols))
		case n <= longColumn || n > raw:
			return fmt.Errorf("long column %d: %d elements in a section of %d bytes", i+1, n, raw)
		case cols[k].Len() != 0:
			return fmt.Errorf("long column %d: also written in its value", i+1)
		}
	}
	for i, k := range long.At {
		n := long.Len[i]
		col := reflect.MakeSlice(cols[k].Type(), n, n)
		for off := 0; off < n; off += columnChunk {
			m := min(columnChunk, n-off)
			chunk := reflect.New(col.Type())
			chunk.Elem().Set(col.Slice3(off, off, off+m)) // gob decodes into its capacity
			if err := dec.DecodeValue(chunk); err != nil {
				return fmt.Errorf("long column %d, elements from %d: %w", i+1, off, err)
			}
			if got := chunk.Elem(); got.Len() != m {
				return fmt.Errorf("long column %d, elements from %d: %d decoded, want %d", i+1, off, got.Len(), m)
			} else if got.Pointer() != col.Slice(off, off+m).Pointer() {
				reflect.Copy(col.Slice(off, off+m), got)
			}
		}
		cols[k].Set(col)
	}
	return nil
}

// forColumns calls f with each column in v (settable: a value a pointer
// points to): each slice of numbers or booleans reachable through exported
// struct fields, slices and arrays, in the order of the fields and
// elements. It does not enter pointers (gob leaves out a pointer whose
// value is all zeros, as one would be once its long columns were taken
// out, and the reader would not find its columns), maps, interfaces or
// types that encode themselves (gob writes those whole); their columns
// are written in their values.
func forColumns(v reflect.Value, f func(reflect.Value)) {
	t := v.Type()
	if encodesItself(t) {
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if t.Field(i).IsExported() {
				forColumns(v.Field(i), f)
			}
		}
	case reflect.Slice:
		if isColumnElement(t.Elem().Kind()) {
			f(v)
			return
		}
		fallthrough
	case reflect.Array:
		for i := range v.Len() {
			forColumns(v.Index(i), f)
		}
	}
}

var (
	gobEncoder      = reflect.TypeFor[gob.GobEncoder]()
	binaryMarshaler = reflect.TypeFor[interface{ MarshalBinary() ([]byte, error) }]()
)

// encodesItself reports whether gob writes a value of type t by its own
// GobEncode or MarshalBinary (of t or of *t) rather than field by field.
func encodesItself(t reflect.Type) bool {
	for _, t := range []reflect.Type{t, reflect.PointerTo(t)} {
		if t.Implements(gobEncoder) || t.Implements(binaryMarshaler) {
			return true
		}
	}
	return false
}

// isColumnElement reports whether gob writes an element of kind k as one
// number: booleans, integers and floating-point numbers.
func isColumnElement(k reflect.Kind) bool {
	switch k {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return true
	}
	return false
}
