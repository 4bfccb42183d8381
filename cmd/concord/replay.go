package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/projections"
	"golang.org/x/term"
)

// replayCommand rebuilds every read model from the whole log, reporting
// progress and timing: a check that the log replays cleanly, and a measure
// of how long a replica takes to become ready.
func replayCommand(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "replay", "Usage: concord replay [--store URL]\n\nRebuilds every read model from the whole event log and reports how long it took.")
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
	last := time.Now()
	models, p, err := projections.ReplayReadModels(ctx, store, projections.ReplayConfig{
		Registry: planning.NewRegistry(),
		Progress: func(p projections.Progress) {
			if !tty || time.Since(last) < 200*time.Millisecond {
				return
			}
			last = time.Now()
			if p.Total > 0 {
				fmt.Fprintf(env.stderr, "\r%d / %d events (%.0f%%)", p.Done, p.Total, 100*float64(p.Done)/float64(p.Total))
			} else {
				fmt.Fprintf(env.stderr, "\r%d events", p.Done)
			}
		},
	})
	if tty {
		fmt.Fprintln(env.stderr)
	}
	if err != nil {
		return fmt.Errorf("replay stopped after %d events at position %v: %w", p.Done, p.Position, err)
	}
	rate := 0.0
	if s := p.Elapsed.Seconds(); s > 0 {
		rate = float64(p.Done) / s
	}
	fmt.Fprintf(env.stdout, "replayed %d events up to position %v in %v (%.0f events/s); %d plans, %d cells with actuals\n",
		p.Done, models.Position(), p.Elapsed.Round(time.Millisecond), rate,
		len(models.Rolling().State().Plans(models.Position())), len(models.Rolling().Cube().Cells(models.Position())))
	return nil
}
