package audit_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/audit"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/domain/eventstore/storetest"
)

// TestAuditorCheckpoints: a checkpoint per new head, none for an unchanged
// log, the newest by position read back, and nothing signed once the log
// is broken.
func TestAuditorCheckpoints(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{Clock: func() time.Time { return time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	dir := filepath.Join(t.TempDir(), "checkpoints")
	at := time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)
	a := audit.NewAuditor(s, audit.Options{Dir: dir, Key: key, Clock: func() time.Time { return at }})

	var positions []eventstore.Position
	for i := range 3 {
		if _, err := s.Append(ctx, "plan-a", eventstore.Any, storetest.Event("plan.TargetSet", `{}`)); err != nil {
			t.Fatal(err)
		}
		cp, fresh, err := a.Checkpoint(ctx)
		if err != nil || !fresh || cp.Events != uint64(i+1) {
			t.Fatalf("Checkpoint after %d appends = %+v, %v, %v; want a new one of %d events", i+1, cp, fresh, err, i+1)
		}
		positions = append(positions, cp.Position)
		if _, fresh, err := a.Checkpoint(ctx); err != nil || fresh {
			t.Errorf("Checkpoint of an unchanged log = fresh %v, %v; want the last one again", fresh, err)
		}
	}
	latest, _, ok, err := audit.Latest(dir, key.Public().(ed25519.PublicKey))
	if err != nil || !ok || latest.Position != positions[2] {
		t.Errorf("Latest = %+v, %v, %v; want position %v", latest, ok, err, positions[2])
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("the directory holds %d files, want 3 checkpoints", len(entries))
	}

	broken := brokenStore{Store: s}
	b := audit.NewAuditor(broken, audit.Options{Dir: dir, Key: key, Clock: func() time.Time { return at }})
	if _, _, err := b.Checkpoint(ctx); !errors.Is(err, audit.ErrUnsigned) {
		t.Errorf("Checkpoint of a broken log = %v, want ErrUnsigned", err)
	}
	st, err := b.Status(ctx)
	if err != nil || len(st.Breaks) == 0 || st.Report.Anchored {
		t.Errorf("Status of a broken log = %+v, %v; want breaks, not anchored", st, err)
	}
}

// brokenStore alters the data of the first event as it is read.
type brokenStore struct{ eventstore.Store }

func (s brokenStore) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	out, err := s.Store.ReadAll(ctx, after, limit)
	for i := range out {
		if out[i].Position.Commit == 1 {
			out[i].Data = []byte(`{"x":1}`)
		}
	}
	return out, err
}
