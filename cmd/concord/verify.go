package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/audit"
)

// verifyCommand checks the hash chain of every stream in the store, the
// store's own record of its streams, and optionally a signed checkpoint,
// and reports every break; it exits non-zero when it finds one.
func verifyCommand(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "verify", "Usage: concord verify [--store URL] [--checkpoint FILE|DIR --public-key FILE [--exact]]\n\n"+
		"Checks the hash chain of every stream and the store's record of each stream's head, and reports any break.\n"+
		"With --checkpoint (a file written by concord checkpoint, or a directory of them: the newest is used), also\n"+
		"proves that the log up to the checkpoint is exactly the one signed: nothing rewritten, inserted, deleted or\n"+
		"reordered. --exact: the store is a copy taken at the checkpoint, so any event after it is a break.")
	cfg := storeFlags(fs, env)
	cpPath := fs.String("checkpoint", "", "signed checkpoint to anchor the log to (file, or directory of checkpoints)")
	pubPath := envFlag(fs, env, "public-key", "CONCORD_CHECKPOINT_PUBLIC_KEY", "", "Ed25519 public key (PEM) the checkpoint was signed with")
	exact := fs.Bool("exact", false, "with --checkpoint: the log must end at the checkpoint")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if (*cpPath == "") != (*pubPath == "") || (*exact && *cpPath == "") {
		fmt.Fprintln(env.stderr, "concord verify: --checkpoint and --public-key go together (and --exact needs them)")
		fs.Usage()
		return errUsage
	}
	var opts eventstore.VerifyOptions
	if *cpPath != "" {
		cp, err := loadCheckpoint(*cpPath, *pubPath)
		if err != nil {
			return err
		}
		opts.Checkpoint, opts.Exact = &cp, *exact
	}
	cfg.existing = true
	st, _, err := cfg.open(ctx, env)
	if err != nil {
		return err
	}
	defer st.close()
	start := time.Now()
	rep, err := eventstore.Verify(ctx, st.Store, opts)
	var breaks []error
	if err != nil {
		if !errors.Is(err, eventstore.ErrChainBroken) {
			return err
		}
		breaks = audit.Breaks(err)
		for _, b := range breaks {
			fmt.Fprintf(env.stdout, "BROKEN %v\n", b)
		}
	}
	fmt.Fprintf(env.stdout, "checked %d events of %d streams in %v: %d break(s)\n", rep.Events, rep.Streams, time.Since(start).Round(time.Millisecond), len(breaks))
	fmt.Fprintf(env.stdout, "head %v, log digest %s\n", rep.Digest.Position(), rep.Digest)
	if rep.Rule == eventstore.ChainV2 {
		fmt.Fprintf(env.stdout, "hash rule 2 (recorded times covered) from position %v on\n", rep.RuleSince)
	}
	if rep.Ledger {
		fmt.Fprintln(env.stdout, "stream heads compared with the store's record")
	}
	if cp := opts.Checkpoint; cp != nil && rep.Anchored {
		fmt.Fprintf(env.stdout, "anchored: the log up to position %v (%d events) is the one signed at %s by key %s; %d event(s) after it\n",
			cp.Position, cp.Events, cp.SignedAt.Format(time.RFC3339), cp.KeyID, rep.Beyond)
	}
	if len(breaks) > 0 {
		return fmt.Errorf("the log of %s has %d break(s)", redact(cfg.store), len(breaks))
	}
	return nil
}

// loadCheckpoint reads the checkpoint at path (a file, or the newest of a
// directory) and checks its signature with the public key in pubPath.
func loadCheckpoint(path, pubPath string) (eventstore.Checkpoint, error) {
	pub, err := readPublicKey(pubPath)
	if err != nil {
		return eventstore.Checkpoint{}, err
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		cp, _, ok, err := audit.Latest(path, pub)
		if err == nil && !ok {
			err = fmt.Errorf("checkpoint: %s holds no checkpoint-*.json", path)
		}
		return cp, err
	}
	return audit.Read(path, pub)
}
