package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/google/uuid"
)

// TestOpensFileWrittenBefore opens testdata/before-zombiezen.db, written by
// the store when it still went through database/sql (commit f682ba6, by
// testdata/mkbefore): the schema
// and the envelope format are unchanged, so both drivers must read it as
// written, verify its hash chains, and append to it.
func TestOpensFileWrittenBefore(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join("testdata", "before-zombiezen.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "events.db")
			if err := os.WriteFile(path, orig, 0o600); err != nil {
				t.Fatal(err)
			}
			s := openWith(t, path, driver)
			ctx := context.Background()
			all, err := s.ReadAll(ctx, eventstore.Start, 100)
			if err != nil {
				t.Fatalf("ReadAll error %v", err)
			}
			if len(all) != 13 {
				t.Fatalf("ReadAll read %d events, want 13", len(all))
			}
			for k, e := range all[:12] {
				i, j := k/4, k%4
				want := eventstore.RecordedEvent{
					ID:   uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "fixture-%d-%d", i, j)),
					Type: "ledger.ActualRecorded", SchemaVersion: 1, Stream: fmt.Sprintf("ledger-%d", i),
					Version: uint64(j + 1), Position: eventstore.Position{Commit: uint64(k + 1), Prepare: uint64(k + 1)},
					RecordedAt: time.Date(2027, 3, 31, 12, 0, i+1, 0, time.UTC),
					Metadata:   eventstore.Metadata{Actor: "importer", CorrelationID: fmt.Sprintf("req-%d", i), CausationID: "cmd-1"},
					Data:       fmt.Appendf(nil, `{"cell":"bu=%d","amount":"%d.50"}`, i, j),
				}
				if e.ID != want.ID || e.Type != want.Type || e.SchemaVersion != want.SchemaVersion || e.Stream != want.Stream ||
					e.Version != want.Version || e.Position != want.Position || !e.RecordedAt.Equal(want.RecordedAt) ||
					e.Metadata != want.Metadata || string(e.Data) != string(want.Data) {
					t.Errorf("event %d = %+v, want %+v", k, e, want)
				}
			}
			if last := all[12]; last.Stream != "ledger-0" || last.Version != 5 || last.Type != "ledger.Closed" || last.SchemaVersion != 2 {
				t.Errorf("last event = %+v, want ledger.Closed v2 at ledger-0 version 5", last)
			}
			if p, err := s.LoadCheckpoint(ctx, "plan"); err != nil || p.Commit != 7 {
				t.Errorf("LoadCheckpoint(plan) = %v, %v; want 7", p, err)
			}
			if _, err := s.Append(ctx, "ledger-1", eventstore.Exact(4), eventstore.EventData{ID: uuid.New(), Type: "ledger.Closed", SchemaVersion: 2, Data: []byte(`{}`)}); err != nil {
				t.Fatalf("Append to the old file error %v", err)
			}
			rep, err := eventstore.Verify(ctx, s, eventstore.VerifyOptions{})
			if err != nil || rep.Events != 14 || !rep.Ledger || rep.Rule != eventstore.ChainV2 || rep.RuleSince.Commit != 14 {
				t.Errorf("Verify = %+v, %v; want 14 events, no break, the streams table compared, rule 2 from position 14", rep, err)
			}
			// The old events keep their rule; the one appended now is under the current one.
			all, _ = s.ReadAll(ctx, eventstore.Start, 100)
			if all[0].Rule != eventstore.ChainV1 || all[13].Rule != eventstore.CurrentRule {
				t.Errorf("hash rules %d (first) and %d (appended now), want %d and %d", all[0].Rule, all[13].Rule, eventstore.ChainV1, eventstore.CurrentRule)
			}
		})
	}
}
