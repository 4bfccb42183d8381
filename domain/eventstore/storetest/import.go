package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
)

// Recorded returns events as another store would have recorded them in
// stream from version from on, chained to prev (the hash of the stream's
// event before from, nil for version 1), event i recorded at
// at.Add(i × 1h1ms1ns) so that every time has nanoseconds. Positions are
// left zero: the events come from elsewhere.
func Recorded(stream string, from uint64, prev []byte, at time.Time, evs ...eventstore.EventData) []eventstore.RecordedEvent {
	out := make([]eventstore.RecordedEvent, len(evs))
	for i, e := range evs {
		out[i] = eventstore.Seal(prev, stream, from+uint64(i)-1, at.Add(time.Duration(i)*(time.Hour+time.Millisecond+time.Nanosecond)), e)[0]
		prev = out[i].Hash
	}
	return out
}

// importer returns s as an eventstore.Importer, or skips the test when the
// adapter does not declare the feature.
func importer(t *testing.T, s eventstore.Store, f Features) eventstore.Importer {
	t.Helper()
	if !f.Importer {
		t.Skip("adapter does not declare eventstore.Importer (Features.Importer)")
	}
	imp, ok := s.(eventstore.Importer)
	if !ok {
		t.Fatalf("Features.Importer is set, but %T does not implement eventstore.Importer", s)
	}
	return imp
}

func mustImport(t *testing.T, imp eventstore.Importer, stream string, evs []eventstore.RecordedEvent) eventstore.AppendResult {
	t.Helper()
	res, err := imp.Import(context.Background(), stream, evs)
	if err != nil {
		t.Fatalf("Import(%q, versions %d to %d) error %v", stream, evs[0].Version, evs[len(evs)-1].Version, err)
	}
	return res
}

// sameRecorded compares a stored event with the one imported, except the
// global position, which is the target's own.
func sameRecorded(t *testing.T, got, want eventstore.RecordedEvent) {
	t.Helper()
	if got.ID != want.ID || got.Type != want.Type || got.SchemaVersion != want.SchemaVersion ||
		got.Stream != want.Stream || got.Version != want.Version || string(got.Data) != string(want.Data) ||
		got.Metadata != want.Metadata || string(got.Hash) != string(want.Hash) {
		t.Errorf("imported event = {%s %s v%d %s@%d %q %+v %x}, want {%s %s v%d %s@%d %q %+v %x}",
			got.ID, got.Type, got.SchemaVersion, got.Stream, got.Version, got.Data, got.Metadata, got.Hash,
			want.ID, want.Type, want.SchemaVersion, want.Stream, want.Version, want.Data, want.Metadata, want.Hash)
	}
	if !got.RecordedAt.Equal(want.RecordedAt) {
		t.Errorf("imported event %s@%d recorded at %v, want the original %v", got.Stream, got.Version, got.RecordedAt, want.RecordedAt)
	}
}

func testImport(t *testing.T, newStore Factory, f Features) {
	s := newStore(t)
	imp := importer(t, s, f)
	a, b := uniqueStream("imported-a"), uniqueStream("imported-b")
	srcA := Recorded(a, 1, nil, time.Date(2024, 2, 29, 23, 59, 58, 123456789, time.UTC), events(5, "test.Imported")...)
	srcB := Recorded(b, 1, nil, time.Date(2019, 7, 1, 8, 0, 0, 1, time.UTC), events(2, "test.Imported")...)

	// Interleaved as a source log would be: a1–a3, b1–b2, a4–a5.
	r1 := mustImport(t, imp, a, srcA[:3])
	r2 := mustImport(t, imp, b, srcB)
	r3 := mustImport(t, imp, a, srcA[3:])
	if r1.Version != 3 || r2.Version != 2 || r3.Version != 5 {
		t.Errorf("Import results at versions %d, %d, %d, want 3, 2, 5", r1.Version, r2.Version, r3.Version)
	}
	if !r1.Position.Before(r2.Position) || !r2.Position.Before(r3.Position) {
		t.Errorf("Import positions %v, %v, %v do not increase", r1.Position, r2.Position, r3.Position)
	}
	gotA := readStream(t, s, a)
	if len(gotA) != len(srcA) {
		t.Fatalf("stream %q holds %d events after import, want %d", a, len(gotA), len(srcA))
	}
	for i := range srcA {
		sameRecorded(t, gotA[i], srcA[i])
	}
	wantOrder := []eventstore.RecordedEvent{srcA[0], srcA[1], srcA[2], srcB[0], srcB[1], srcA[3], srcA[4]}
	global := ownEvents(readAll(t, s, eventstore.Start), a, b)
	if len(global) != len(wantOrder) {
		t.Fatalf("global log holds %d imported events, want %d", len(global), len(wantOrder))
	}
	for i := range wantOrder {
		sameRecorded(t, global[i], wantOrder[i])
	}
	if global[6].Position != r3.Position {
		t.Errorf("last imported event at %v, Import returned %v", global[6].Position, r3.Position)
	}

	// Importing again is a no-op returning the first results.
	if again := mustImport(t, imp, a, srcA[:3]); again != r1 {
		t.Errorf("Import of stored events again = %+v, want the first result %+v", again, r1)
	}
	if again := mustImport(t, imp, b, srcB); again != r2 {
		t.Errorf("Import of stored events again = %+v, want the first result %+v", again, r2)
	}
	if n := len(ownEvents(readAll(t, s, eventstore.Start), a, b)); n != 7 {
		t.Errorf("global log holds %d imported events after importing again, want 7", n)
	}

	// An append after an import chains onto the imported hashes.
	mustAppend(t, s, a, eventstore.Exact(5), Event("test.AfterImport", `{}`))
	var v eventstore.Verifier
	for _, e := range readStream(t, s, a) {
		if err := v.Check(e); err != nil {
			t.Fatalf("hash chain after import and append: %v", err)
		}
	}
	if v.Checked() != 6 {
		t.Errorf("verified %d events of %q, want 6", v.Checked(), a)
	}
}

func testImportRefusals(t *testing.T, newStore Factory, f Features) {
	s := newStore(t)
	imp := importer(t, s, f)
	ctx := context.Background()
	at := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	a := uniqueStream("refuse")
	srcA := Recorded(a, 1, nil, at, events(4, "test.Imported")...)
	mustImport(t, imp, a, srcA[:2])

	conflicts := []struct {
		name   string
		events []eventstore.RecordedEvent
	}{
		{"gap after the tip", srcA[3:]},
		{"other event at a stored version", Recorded(a, 2, srcA[0].Hash, at, Event("test.Other", `{}`))},
		{"stored run and more", srcA[1:]},
	}
	for _, c := range conflicts {
		_, err := imp.Import(ctx, a, c.events)
		var ce *eventstore.ConflictError
		if !errors.As(err, &ce) || !errors.Is(err, eventstore.ErrConflict) {
			t.Errorf("%s: Import error = %v, want a *ConflictError", c.name, err)
			continue
		}
		if ce.Stream != a || ce.Actual != 2 {
			t.Errorf("%s: conflict = %+v, want stream %q at version 2", c.name, ce, a)
		}
	}

	tamperedData := Recorded(a, 3, srcA[1].Hash, at, srcA[2].EventData(), srcA[3].EventData())
	tamperedData[1].Data = []byte(`{"n":999}`)
	tamperedHash := Recorded(a, 3, srcA[1].Hash, at, srcA[2].EventData())
	tamperedHash[0].Hash = append([]byte(nil), tamperedHash[0].Hash...)
	tamperedHash[0].Hash[0] ^= 1
	brokenLink := Recorded(a, 3, nil, at, srcA[2].EventData())
	chains := []struct {
		name    string
		events  []eventstore.RecordedEvent
		version uint64
	}{
		{"data changed", tamperedData, 4},
		{"hash changed", tamperedHash, 3},
		{"not chained to the stored tip", brokenLink, 3},
	}
	for _, c := range chains {
		_, err := imp.Import(ctx, a, c.events)
		var ce *eventstore.ChainError
		if !errors.As(err, &ce) || !errors.Is(err, eventstore.ErrChainBroken) {
			t.Errorf("%s: Import error = %v, want a *ChainError", c.name, err)
			continue
		}
		if ce.Stream != a || ce.Version != c.version {
			t.Errorf("%s: chain error at %q version %d, want %q version %d", c.name, ce.Stream, ce.Version, a, c.version)
		}
	}

	noTime := Recorded(a, 3, srcA[1].Hash, at, srcA[2].EventData())
	noTime[0].RecordedAt = time.Time{}
	gap := Recorded(a, 3, srcA[1].Hash, at, srcA[2].EventData(), srcA[3].EventData())
	gap[1].Version = 5
	invalid := map[string]struct {
		stream string
		events []eventstore.RecordedEvent
	}{
		"no events":           {a, nil},
		"other stream":        {uniqueStream("elsewhere"), srcA[2:]},
		"versions not in row": {a, gap},
		"no recorded time":    {a, noTime},
		"version 0":           {a, Recorded(a, 0, nil, at, Event("test.Zero", `{}`))},
	}
	for name, c := range invalid {
		if _, err := imp.Import(ctx, c.stream, c.events); !errors.Is(err, eventstore.ErrInvalidEvent) {
			t.Errorf("%s: Import error = %v, want ErrInvalidEvent", name, err)
		}
	}

	if got := readStream(t, s, a); len(got) != 2 {
		t.Errorf("stream %q holds %d events after refused imports, want 2", a, len(got))
	}
	// The refusals left the stream as it was: the rest imports.
	if res := mustImport(t, imp, a, srcA[2:]); res.Version != 4 {
		t.Errorf("Import of the rest = version %d, want 4", res.Version)
	}
	for i, e := range readStream(t, s, a) {
		sameRecorded(t, e, srcA[i])
	}
}
