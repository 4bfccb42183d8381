package main

import (
	"context"
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
	fs := newFlagSet(env, "replay", "Usage: concord replay [--store URL]\n\nRebuilds the read side from the whole event log and reports how long it took.")
	st := storeFlags(fs, env)
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
	return nil
}
