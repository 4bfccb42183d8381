package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
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

// twoPlans writes a store of two streams of two events each, plan-a first
// (positions 1, 2), then plan-b (3, 4), and returns its path.
func twoPlans(t *testing.T) string {
	t.Helper()
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
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// tamperSQL runs statements on the file at path, behind the store's back.
func tamperSQL(t *testing.T, path string, statements ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range statements {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	ctx := context.Background()
	path := twoPlans(t)
	env, out, _ := testEnv(map[string]string{"CONCORD_STORE": "sqlite://" + path})
	if err := run(ctx, env, []string{"verify"}); err != nil {
		t.Fatalf("verify of an intact log: %v\n%s", err, out)
	}
	if !strings.Contains(out.String(), "checked 4 events of 2 streams") || !strings.Contains(out.String(), "stream heads compared") ||
		!strings.Contains(out.String(), "hash rule 2 (recorded times covered) from position 1 on") {
		t.Errorf("verify output = %q, want 4 events of 2 streams checked, heads compared, rule 2 from position 1", out)
	}

	// Change the last byte of the data of the second event of plan-a.
	tamperSQL(t, path, `UPDATE events SET envelope = substr(envelope, 1, length(envelope) - 1) || x'20' WHERE position = 2`)
	env, out, _ = testEnv(nil)
	err := run(ctx, env, []string{"verify", "--store", "sqlite://" + path})
	if err == nil || !strings.Contains(err.Error(), "1 break(s)") {
		t.Fatalf("verify of a tampered log: error %v, want one break", err)
	}
	if !strings.Contains(out.String(), `BROKEN eventstore: stream "plan-a" version 2`) {
		t.Errorf("verify output = %q, want the break at plan-a version 2", out)
	}
}

// TestCheckpointAndVerify goes through the auditor's steps: make a key,
// sign a checkpoint, verify against it; then swap two events of different
// streams, which leaves every chain and the streams table intact, so that
// only the checkpoint reveals it.
func TestCheckpointAndVerify(t *testing.T) {
	ctx := context.Background()
	path := twoPlans(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "checkpoint.key")
	cp := filepath.Join(dir, "cp.json")
	store := "sqlite://" + path

	env, out, errOut := testEnv(nil)
	if err := run(ctx, env, []string{"keygen", "--out", key}); err != nil {
		t.Fatalf("keygen: %v %s", err, errOut)
	}
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key %v, %v; want mode 0600", fi, err)
	}
	if err := run(ctx, env, []string{"keygen", "--out", key}); err == nil {
		t.Errorf("keygen over an existing key succeeded, want an error")
	}
	env, out, errOut = testEnv(map[string]string{"CONCORD_CHECKPOINT_KEY": key})
	if err := run(ctx, env, []string{"checkpoint", "--store", store, "--out", cp}); err != nil {
		t.Fatalf("checkpoint: %v %s", err, errOut)
	}
	if !strings.Contains(errOut.String(), "checkpoint at position 4 (4 events)") {
		t.Errorf("checkpoint stderr = %q, want position 4, 4 events", errOut)
	}

	verify := func(extra ...string) (string, error) {
		env, out, _ := testEnv(nil)
		err := run(ctx, env, append([]string{"verify", "--store", store, "--checkpoint", cp, "--public-key", key + ".pub"}, extra...))
		return out.String(), err
	}
	got, err := verify("--exact")
	if err != nil || !strings.Contains(got, "anchored: the log up to position 4 (4 events)") {
		t.Fatalf("verify --checkpoint of the intact log = %v\n%s; want anchored", err, got)
	}

	// Another key's public half does not verify the checkpoint.
	other := filepath.Join(dir, "other.key")
	if err := run(ctx, env, []string{"keygen", "--out", other}); err != nil {
		t.Fatal(err)
	}
	env, out, _ = testEnv(nil)
	err = run(ctx, env, []string{"verify", "--store", store, "--checkpoint", cp, "--public-key", other + ".pub"})
	if !errors.Is(err, eventstore.ErrCheckpointSignature) {
		t.Errorf("verify with another public key = %v, want ErrCheckpointSignature", err)
	}

	tamperSQL(t, path, `UPDATE events SET position = 100 WHERE position = 2`, `UPDATE events SET position = 2 WHERE position = 3`,
		`UPDATE events SET position = 3 WHERE position = 100`)
	env, out, _ = testEnv(nil)
	if err := run(ctx, env, []string{"verify", "--store", store}); err != nil {
		t.Fatalf("verify without checkpoint of the swapped log = %v; the swap keeps every chain, it should pass\n%s", err, out)
	}
	got, err = verify()
	if err == nil || !strings.Contains(got, "BROKEN eventstore: checkpoint at position 4: the digest of the log up to it differs") {
		t.Errorf("verify --checkpoint of the swapped log = %v\n%s; want a checkpoint break", err, got)
	}
}

// TestReadOnlyCommandsRefuseMissingStore runs each command that only reads
// on a store path where nothing is: each must fail naming the path, and
// leave nothing behind.
func TestReadOnlyCommandsRefuseMissingStore(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "sub", "missing.db")
	store := "sqlite://" + missing
	tests := []struct {
		name string
		args []string
	}{
		{"verify", []string{"verify", "--store", store}},
		{"export", []string{"export", "variance", "--plan", "FY27", "--store", store}},
		{"replay", []string{"replay", "--store", store}},
		{"token list", []string{"token", "list", "--store", store}},
		{"checkpoint", []string{"checkpoint", "--store", store, "--key", filepath.Join(dir, "checkpoint.key")}},
	}
	env, _, _ := testEnv(nil)
	if err := run(context.Background(), env, []string{"keygen", "--out", filepath.Join(dir, "checkpoint.key")}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, out, errOut := testEnv(nil)
			err := run(context.Background(), env, tt.args)
			if !errors.Is(err, sqlite.ErrNoStore) || !strings.Contains(err.Error(), missing) {
				t.Errorf("%v = %v (stdout %q, stderr %q); want sqlite.ErrNoStore naming %s", tt.args, err, out, errOut, missing)
			}
			if _, err := os.Stat(filepath.Dir(missing)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%v left %s behind (%v)", tt.args, filepath.Dir(missing), err)
			}
		})
	}
	// A file that is not an event store is refused too, and left as it was.
	other := filepath.Join(dir, "notes.db")
	tamperSQL(t, other, `CREATE TABLE notes (body TEXT)`)
	if err := run(context.Background(), env, []string{"verify", "--store", "sqlite://" + other}); !errors.Is(err, sqlite.ErrNoStore) {
		t.Errorf("verify of a SQLite file without the store's tables = %v, want sqlite.ErrNoStore", err)
	}
}

func TestServeCheckpointFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--checkpoint-every", "15m"}, "--checkpoint-every needs --checkpoint-key and --checkpoint-dir"},
		{[]string{"--checkpoint-every", "15m", "--checkpoint-key", "k"}, "--checkpoint-every needs --checkpoint-key and --checkpoint-dir"},
		{[]string{"--checkpoint-every", "soon"}, `--checkpoint-every "soon": want a duration`},
		{[]string{"--checkpoint-every", "-1s", "--checkpoint-key", "k", "--checkpoint-dir", "d"}, `--checkpoint-every "-1s": want a duration`},
	}
	for _, tt := range tests {
		env, _, _ := testEnv(nil)
		err := run(context.Background(), env, append([]string{"serve", "--store", "sqlite://" + filepath.Join(t.TempDir(), "c.db")}, tt.args...))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("serve %v = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
}
