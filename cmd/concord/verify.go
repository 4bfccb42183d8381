package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
)

// verifyCommand checks the hash chain of every stream in the store and
// reports every break; it exits non-zero when it finds one.
func verifyCommand(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "verify", "Usage: concord verify [--store URL]\n\nChecks the hash chain of every stream and reports any break.")
	cfg := storeFlags(fs, env)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st, _, err := cfg.open(ctx, env)
	if err != nil {
		return err
	}
	defer st.close()
	start := time.Now()
	n, err := eventstore.Verify(ctx, st)
	var breaks []error
	if err != nil {
		if !errors.Is(err, eventstore.ErrChainBroken) {
			return err
		}
		breaks = unjoin(err)
		for _, b := range breaks {
			fmt.Fprintf(env.stdout, "BROKEN %v\n", b)
		}
	}
	fmt.Fprintf(env.stdout, "checked %d events in %v: %d break(s)\n", n, time.Since(start).Round(time.Millisecond), len(breaks))
	if len(breaks) > 0 {
		return fmt.Errorf("the log of %s has %d broken hash chain link(s)", redact(cfg.store), len(breaks))
	}
	return nil
}

// unjoin returns the errors joined in err, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
