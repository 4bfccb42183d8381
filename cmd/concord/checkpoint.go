package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/audit"
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
	cp, _, err := audit.Sign(ctx, store.Store, key, time.Now())
	if err != nil {
		return err
	}
	var w io.Writer = env.stdout
	switch {
	case *dir != "":
		path, err := audit.Write(*dir, cp)
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

func readPrivateKey(path string) (ed25519.PrivateKey, error) {
	return readKey(path, "checkpoint key", eventstore.ParsePrivateKey)
}

func readPublicKey(path string) (ed25519.PublicKey, error) {
	return readKey(path, "public key", eventstore.ParsePublicKey)
}

// readKey reads the key file at path with parse; what names the key in
// errors.
func readKey[K any](path, what string, parse func([]byte) (K, error)) (K, error) {
	var zero K
	b, err := os.ReadFile(path)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", what, err)
	}
	key, err := parse(b)
	if err != nil {
		return zero, fmt.Errorf("%s %s: %w", what, path, err)
	}
	return key, nil
}
