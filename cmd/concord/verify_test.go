package main

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/domain/eventstore/storetest"
)

func testEnv(vars map[string]string) (*environment, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &environment{getenv: func(k string) string { return vars[k] }, stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}, &out, &errOut
}

func TestVerifyFindsTampering(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "concord.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, stream := range []string{"plan-a", "plan-b"} {
		if _, err := s.Append(ctx, stream, eventstore.NoStream,
			storetest.Event("plan.TargetSet", `{"amount":"1.00"}`), storetest.Event("plan.TargetRevised", `{"to":"2.00"}`)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	env, out, _ := testEnv(map[string]string{"CONCORD_STORE": "sqlite://" + path})
	if err := run(ctx, env, []string{"verify"}); err != nil {
		t.Fatalf("verify of an intact log: %v\n%s", err, out)
	}
	if !strings.Contains(out.String(), "checked 4 events") {
		t.Errorf("verify output = %q, want 4 events checked", out)
	}

	// Change the last byte of the data of the second event of plan-a,
	// behind the store's back.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE events SET envelope = substr(envelope, 1, length(envelope) - 1) || x'20' WHERE position = 2`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	env, out, _ = testEnv(nil)
	err = run(ctx, env, []string{"verify", "--store", "sqlite://" + path})
	if err == nil || !strings.Contains(err.Error(), "1 broken") {
		t.Fatalf("verify of a tampered log: error %v, want one broken link", err)
	}
	if !strings.Contains(out.String(), `BROKEN eventstore: stream "plan-a" version 2`) {
		t.Errorf("verify output = %q, want the break at plan-a version 2", out)
	}
}
