package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/projections/view"
	"golang.org/x/term"
)

// replayCommand rebuilds the read side from the whole log, reporting
// progress and timing: a check that the log replays cleanly, and a measure
// of how long a replica takes to become ready.
func replayCommand(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "replay", "Usage: concord replay [--store URL] [--drop-snapshot [--snapshot-dir DIR]]\n\nRebuilds the read side from the whole event log (never from a snapshot) and reports how long it took.")
	st := storeFlags(fs, env)
	drop := fs.Bool("drop-snapshot", false, "after the replay, remove the read side's snapshot (from the SQLite store's file, or --snapshot-dir), so that the next serve folds the log from its start")
	dir := envFlag(fs, env, "snapshot-dir", "CONCORD_SNAPSHOT_DIR", "", "directory of the read side's snapshot, as serve's --snapshot-dir")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	st.existing = true
	store, _, err := st.open(ctx, env)
	if err != nil {
		return err
	}
	defer store.close()
	tty := false
	if f, ok := env.stderr.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	v := view.NewService(store, planning.NewRegistry())
	defer v.Close()
	done := make(chan struct{})
	shown := make(chan struct{})
	go func() {
		defer close(shown)
		if !tty {
			return
		}
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				fmt.Fprintln(env.stderr)
				return
			case <-tick.C:
				fmt.Fprintf(env.stderr, "\r%d events", v.Events())
			}
		}
	}()
	begin := time.Now()
	state, err := v.Live(ctx)
	elapsed := time.Since(begin)
	close(done)
	<-shown
	if err != nil {
		return fmt.Errorf("replay stopped after %d events: %w", v.Events(), err)
	}
	plans, err := v.Plans(ctx, "")
	if err != nil {
		return err
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(v.Events()) / s
	}
	fmt.Fprintf(env.stdout, "replayed %d events up to position %v in %v (%.0f events/s); %d plans, %d current cells with actuals\n",
		v.Events(), state.Position, elapsed.Round(time.Millisecond), rate, len(plans), len(state.CurrentCells()))
	if *drop {
		snaps := snapshotStore(snapshotConfig{dir: *dir, every: 1}, store)
		if snaps == nil {
			return errors.New("--drop-snapshot: the store keeps no snapshot; name the directory with --snapshot-dir")
		}
		if err := snaps.DropSnapshot(ctx, view.SnapshotName); err != nil {
			return fmt.Errorf("--drop-snapshot: %w", err)
		}
		fmt.Fprintln(env.stdout, "dropped the read side's snapshot")
	}
	return nil
}
