package api_test

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/concord-planning/concord/api"
	"github.com/concord-planning/concord/domain/eventstore/audit"
	"github.com/concord-planning/concord/domain/planning"
	_ "modernc.org/sqlite" // registers the "sqlite" driver for the tampering
)

func getAudit(t *testing.T, e *env) api.AuditVerification {
	t.Helper()
	w := e.do(req{method: http.MethodGet, path: "/api/v1/audit/verify", as: "vera"})
	if w.Code != http.StatusOK {
		t.Fatalf("GET /api/v1/audit/verify as a viewer = %d %s", w.Code, w.Body)
	}
	var got api.AuditVerification
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestAuditVerify follows a server that signs checkpoints into a directory:
// the viewer sees the log intact and anchored; events appended after the
// checkpoint are counted; a checkpoint whose signature fails is reported;
// an edited event makes the status broken.
func TestAuditVerify(t *testing.T) {
	e := newEnv(t, api.Config{})
	if got := getAudit(t, e); got.Status != "intact" || got.Events == 0 || !got.StoreRecord || got.Checkpoint != nil || got.BreakCount != 0 ||
		got.HashRule != 2 || got.HashRuleSince != "1" {
		t.Fatalf("audit of a fresh store without checkpoints = %+v; want intact, the store's record compared, no checkpoint", got)
	}

	seed := make([]byte, ed25519.SeedSize)
	key := ed25519.NewKeyFromSeed(seed)
	dir := t.TempDir()
	at := now
	auditor := audit.NewAuditor(e.store, audit.Options{Dir: dir, Key: key, Clock: func() time.Time { return at }})
	srv, err := api.New(api.Config{Clock: clock}, api.Deps{Store: e.store, Registry: planning.NewRegistry(), Service: e.svc, Audit: auditor})
	if err != nil {
		t.Fatal(err)
	}
	e.srv, e.h = srv, srv.Handler()
	cp, fresh, err := auditor.Checkpoint(context.Background())
	if err != nil || !fresh {
		t.Fatalf("Checkpoint = %+v, %v, %v", cp, fresh, err)
	}
	if _, err := os.Stat(filepath.Join(dir, audit.Name(cp.Position))); err != nil {
		t.Fatalf("checkpoint file: %v", err)
	}
	got := getAudit(t, e)
	if got.Checkpoint == nil || !got.Checkpoint.Anchored || got.Checkpoint.Position != cp.Position.String() || got.Checkpoint.EventsAfter != 0 {
		t.Fatalf("audit after a checkpoint = %+v %+v; want anchored at %v", got, got.Checkpoint, cp.Position)
	}

	e.openPlan() // one more event after the checkpoint
	at = at.Add(2 * time.Minute)
	got = getAudit(t, e)
	if got.Status != "intact" || got.Checkpoint == nil || !got.Checkpoint.Anchored || got.Checkpoint.EventsAfter != 1 {
		t.Errorf("audit after one more event = %+v %+v; want intact, anchored, 1 event after", got, got.Checkpoint)
	}

	// A checkpoint file edited by hand no longer verifies.
	path := filepath.Join(dir, audit.Name(cp.Position))
	b, _ := os.ReadFile(path)
	var edited map[string]any
	if err := json.Unmarshal(b, &edited); err != nil {
		t.Fatal(err)
	}
	edited["events"] = cp.Events + 1
	b, _ = json.Marshal(edited)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	at = at.Add(2 * time.Minute)
	if got = getAudit(t, e); got.CheckpointError == "" || got.Checkpoint != nil {
		t.Errorf("audit with an edited checkpoint = %+v; want checkpoint_error and no checkpoint", got)
	}

	// Edit the data of an event behind the store's back.
	db, err := sql.Open("sqlite", e.store.Path())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE events SET envelope = substr(envelope, 1, length(envelope) - 1) || x'20' WHERE position = 3`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	at = at.Add(2 * time.Minute)
	if got = getAudit(t, e); got.Status != "broken" || got.BreakCount != 1 || len(got.Breaks) != 1 {
		t.Errorf("audit of an edited log = %+v; want broken, one break", got)
	}
}
