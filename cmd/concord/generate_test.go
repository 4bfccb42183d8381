package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/projections/company"
)

// TestGenerateWritesTheCompany generates the demo size into a new SQLite
// store and reads it back: the store holds the generator's log, event for
// event (ids, streams, versions, hashes, recorded times, data), with
// intact hash chains.
func TestGenerateWritesTheCompany(t *testing.T) {
	ctx := context.Background()
	want, err := companyLog()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "gen.db")
	env, out, errOut := testEnv(nil)
	if err := run(ctx, env, []string{"generate", "--size", "demo", "--seed", "7", "--store", "sqlite://" + path}); err != nil {
		t.Fatalf("generate: %v\n%s", err, errOut)
	}
	if !strings.Contains(out.String(), fmt.Sprintf("%d events in ", len(want.Events))) {
		t.Errorf("generate output = %q, want %d events", out, len(want.Events))
	}
	s := openSQLite(t, path)
	var got []eventstore.RecordedEvent
	for after := eventstore.Start; ; { // a read returns at most a page
		page, err := s.ReadAll(ctx, after, len(want.Events)+1)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		after = page[len(page)-1].Position
	}
	if len(got) != len(want.Events) {
		t.Fatalf("the store holds %d events, the generated log %d", len(got), len(want.Events))
	}
	for i, g := range got {
		w := want.Events[i]
		if g.ID != w.ID || g.Stream != w.Stream || g.Version != w.Version || string(g.Hash) != string(w.Hash) ||
			!g.RecordedAt.Equal(w.RecordedAt) || string(g.Data) != string(w.Data) {
			t.Fatalf("event %d = %s %s v%d at %v, want %s %s v%d at %v", i+1, g.ID, g.Stream, g.Version, g.RecordedAt, w.ID, w.Stream, w.Version, w.RecordedAt)
		}
	}
	if rep, err := eventstore.Verify(ctx, s, eventstore.VerifyOptions{}); err != nil || rep.Events != uint64(len(got)) {
		t.Errorf("Verify = %d, %v; want %d events, no break", rep.Events, err, len(got))
	}
}

func TestGenerateRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	full := filepath.Join(dir, "full.db")
	env, _, errOut := testEnv(nil)
	if err := run(ctx, env, []string{"generate", "--size", "demo", "--store", "sqlite://" + full}); err != nil {
		t.Fatalf("generate: %v\n%s", err, errOut)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"a store that is not empty", []string{"--size", "demo", "--store", "sqlite://" + full}, `the store is not empty: it holds stream "dimension-bu"`},
		{"an unknown size", []string{"--size", "huge", "--store", "sqlite://" + filepath.Join(dir, "x.db")}, `--size "huge": want demo, realistic or large`},
		{"no size", []string{"--store", "sqlite://" + filepath.Join(dir, "y.db")}, `--size "": want`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _, _ := testEnv(nil)
			err := run(ctx, env, append([]string{"generate"}, tt.args...))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("generate %v error = %v, want one saying %q", tt.args, err, tt.want)
			}
		})
	}
}

// failingStore refuses its n-th import.
type failingStore struct {
	importStore
	n, calls int
}

var errDiskFull = errors.New("disk full")

func (f *failingStore) Import(ctx context.Context, stream string, events []eventstore.RecordedEvent) (eventstore.AppendResult, error) {
	f.calls++
	if f.calls == f.n {
		return eventstore.AppendResult{}, errDiskFull
	}
	return f.importStore.Import(ctx, stream, events)
}

// TestGenerateStopsWhenAWriteFails checks that a failed import stops the
// generation and is reported with the stream it was writing, and that what
// was written before is an intact prefix of the log.
func TestGenerateStopsWhenAWriteFails(t *testing.T) {
	ctx := context.Background()
	s := &failingStore{importStore: openSQLite(t, filepath.Join(t.TempDir(), "f.db")), n: 10}
	var last uint64
	_, err := generate(ctx, company.Small(7), s, func(n uint64) { last = n })
	if !errors.Is(err, errDiskFull) || !strings.Contains(err.Error(), "generate: write stream") {
		t.Fatalf("generate error = %v, want errDiskFull naming the stream", err)
	}
	got, err := s.ReadAll(ctx, eventstore.Start, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(got)) != last || len(got) == 0 {
		t.Errorf("the store holds %d events, progress reported %d written", len(got), last)
	}
	if s.calls != s.n {
		t.Errorf("generate went on importing after the failure: %d imports, failed at %d", s.calls, s.n)
	}
	if rep, err := eventstore.Verify(ctx, s, eventstore.VerifyOptions{}); err != nil || rep.Events != uint64(len(got)) {
		t.Errorf("Verify = %d, %v", rep.Events, err)
	}
}
