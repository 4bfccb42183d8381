package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
)

// keygenCommand writes a new Ed25519 key pair for signing checkpoints.
func keygenCommand(_ context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "keygen", "Usage: concord keygen --out PATH\n\n"+
		"Writes a new Ed25519 key pair for signing checkpoints: PATH (the private key, mode 0600; keep it away from the\n"+
		"event store) and PATH.pub (the public key, for auditors).")
	out := fs.String("out", "", "file of the private key; the public key goes to the same name with .pub")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		fmt.Fprintln(env.stderr, "concord keygen: --out is required")
		fs.Usage()
		return errUsage
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	private, public, err := eventstore.EncodeKeys(key)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("keygen: %w (an existing key is never overwritten)", err)
	}
	if _, err := f.Write(private); err != nil {
		f.Close()
		return fmt.Errorf("keygen: write %s: %w", *out, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("keygen: write %s: %w", *out, err)
	}
	if err := os.WriteFile(*out+".pub", public, 0o644); err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	fmt.Fprintf(env.stdout, "key %s: private key in %s, public key in %s.pub\n", eventstore.KeyID(key.Public().(ed25519.PublicKey)), *out, *out)
	return nil
}

// checkpointCommand verifies the log and signs a checkpoint of it.
func checkpointCommand(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "checkpoint", "Usage: concord checkpoint --key FILE [--out FILE|--dir DIR] [--store URL]\n\n"+
		"Verifies the whole log, then signs its head position and digest with the Ed25519 private key in FILE\n"+
		"(concord keygen) and writes the checkpoint as JSON to stdout, to --out, or to a new file in --dir.\n"+
		"A log with a broken hash chain is not signed.")
	st := storeFlags(fs, env)
	keyFile := envFlag(fs, env, "key", "CONCORD_CHECKPOINT_KEY", "", "file of the Ed25519 private key (PEM, PKCS #8), kept outside the event store")
	out := fs.String("out", "", "file to write the checkpoint to (default stdout)")
	dir := envFlag(fs, env, "dir", "CONCORD_CHECKPOINT_DIR", "", "directory to add the checkpoint to, as checkpoint-POSITION.json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *keyFile == "" {
		fmt.Fprintln(env.stderr, "concord checkpoint: --key is required")
		fs.Usage()
		return errUsage
	}
	key, err := readPrivateKey(*keyFile)
	if err != nil {
		return err
	}
	st.existing = true
	store, _, err := st.open(ctx, env)
	if err != nil {
		return err
	}
	defer store.close()
	cp, _, err := signLog(ctx, store.Store, key, time.Now())
	if err != nil {
		return err
	}
	var w io.Writer = env.stdout
	switch {
	case *dir != "":
		path, err := writeCheckpoint(*dir, cp)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stderr, "checkpoint at position %v (%d events) written to %s\n", cp.Position, cp.Events, path)
		return nil
	case *out != "" && *out != "-":
		b, _ := json.MarshalIndent(cp, "", "  ")
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		fmt.Fprintf(env.stderr, "checkpoint at position %v (%d events) written to %s\n", cp.Position, cp.Events, *out)
		return nil
	}
	return json.NewEncoder(w).Encode(cp)
}

// errUnsigned is returned when the log to sign has a broken chain.
var errUnsigned = errors.New("checkpoint: the log does not verify; nothing signed")

// signLog verifies the whole log of s and signs a checkpoint of its head.
func signLog(ctx context.Context, s eventstore.Store, key ed25519.PrivateKey, now time.Time) (eventstore.Checkpoint, eventstore.Report, error) {
	rep, err := eventstore.Verify(ctx, s, eventstore.VerifyOptions{})
	if errors.Is(err, eventstore.ErrChainBroken) {
		return eventstore.Checkpoint{}, rep, fmt.Errorf("%w: %w", errUnsigned, err)
	}
	if err != nil {
		return eventstore.Checkpoint{}, rep, err
	}
	return eventstore.SignCheckpoint(rep.Digest, now, key), rep, nil
}

func readPrivateKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint key: %w", err)
	}
	key, err := eventstore.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("checkpoint key %s: %w", path, err)
	}
	return key, nil
}

func readPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	key, err := eventstore.ParsePublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	return key, nil
}

// readCheckpoint reads the checkpoint in path and checks its signature.
func readCheckpoint(path string, pub ed25519.PublicKey) (eventstore.Checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return eventstore.Checkpoint{}, fmt.Errorf("checkpoint: %w", err)
	}
	cp, err := eventstore.ParseCheckpoint(b)
	if err == nil {
		err = cp.Check(pub)
	}
	if err != nil {
		return eventstore.Checkpoint{}, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return cp, nil
}

// checkpointName is the file name of a checkpoint in a directory: the
// position, zero-padded, so that names sort as positions do.
func checkpointName(p eventstore.Position) string {
	return fmt.Sprintf("checkpoint-%020d.json", p.Commit)
}

// writeCheckpoint adds cp to dir (created if needed), through a temporary
// file renamed into place, and returns its path.
func writeCheckpoint(dir string, cp eventstore.Checkpoint) (string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	b, _ := json.MarshalIndent(cp, "", "  ")
	tmp, err := os.CreateTemp(dir, ".checkpoint-*")
	if err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	if err := errors.Join(werr, tmp.Sync(), tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("checkpoint: write %s: %w", tmp.Name(), err)
	}
	path := filepath.Join(dir, checkpointName(cp.Position))
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	return path, nil
}

// latestCheckpoint returns the checkpoint of dir with the highest position,
// its signature checked; ok is false when dir holds none.
func latestCheckpoint(dir string, pub ed25519.PublicKey) (cp eventstore.Checkpoint, path string, ok bool, err error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return cp, "", false, nil
	}
	if err != nil {
		return cp, "", false, fmt.Errorf("checkpoint directory: %w", err)
	}
	for i := len(entries) - 1; i >= 0; i-- { // ReadDir sorts by name
		name := entries[i].Name()
		if !strings.HasPrefix(name, "checkpoint-") || !strings.HasSuffix(name, ".json") {
			continue
		}
		path = filepath.Join(dir, name)
		cp, err = readCheckpoint(path, pub)
		return cp, path, err == nil, err
	}
	return cp, "", false, nil
}
