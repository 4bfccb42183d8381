package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/projections/company"
)

// companySizes are the companies concord generate writes, by --size.
var companySizes = map[string]func(seed uint64) company.Config{
	"demo":      company.Small,
	"realistic": company.Realistic,
	"large":     company.Large,
}

// generateCommand writes a generated company (projections/company) into an
// empty store, streaming: the log is written as it is generated, in
// batches, and never held whole in memory.
func generateCommand(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "generate", `Usage: concord generate --size demo|realistic|large [--store URL] [--seed N]

Writes a generated company into an empty event store, so that Concord can
be tried at scale: dimensions, a plan with budgets, monthly actuals with
restatements and closes, reforecasts, commits, reallocations and published
forecasts, recorded at generated times.
  demo       64 cells, 2 metrics, 14 months (about 6,000 events)
  realistic  2,048 cells, 3 metrics, 36 months (about 0.9 million events)
  large      20,000 cells, 3 metrics, 36 months (about 9 million events)
The same size and seed give the same log, event for event.`)
	cfg := storeFlags(fs, env)
	size := fs.String("size", "", "demo, realistic or large")
	seed := fs.Uint64("seed", 1, "the generator's seed")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.stderr, "concord generate: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	config, ok := companySizes[*size]
	if !ok {
		return fmt.Errorf("generate: --size %q: want demo, realistic or large", *size)
	}
	st, _, err := cfg.open(ctx, env)
	if err != nil {
		return err
	}
	defer st.close()
	target, ok := st.Store.(importStore)
	if !ok {
		return fmt.Errorf("generate: %s cannot import events (%T is no eventstore.Importer)", redact(cfg.store), st.Store)
	}
	var progress func(uint64)
	if f, ok := env.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p := &terminalProgress{w: f, total: -1}
		progress = func(n uint64) { p.report("writing", n) }
		defer p.finish()
	} else {
		progress = lineProgress(env.stderr, 100_000)
	}
	start := time.Now()
	res, err := generate(ctx, config(*seed), target, progress)
	if err != nil {
		return err
	}
	took := time.Since(start)
	fmt.Fprintf(env.stdout, "generated the %s company (seed %d) into %s: %d events in %d imports in %v (%.0f events/s); plan %q, metrics %v\n",
		*size, *seed, redact(cfg.store), res.Count, res.imports, took.Round(time.Millisecond), float64(res.Count)/took.Seconds(), res.PlanID, res.Metrics)
	fmt.Fprintf(env.stdout, "next: concord token create --store %s --name me --role admin; concord serve --store %s\n", redact(cfg.store), redact(cfg.store))
	return nil
}

// lineProgress returns a progress report that writes a line to w every
// step events.
func lineProgress(w io.Writer, step uint64) func(uint64) {
	var next uint64 = step
	return func(n uint64) {
		if n >= next {
			fmt.Fprintf(w, "generate: %d events written\n", n)
			next = n - n%step + step
		}
	}
}

// generated is what generate wrote.
type generated struct {
	company.Summary
	imports int
}

// errNotEmpty is returned by generate for a store that holds events.
var errNotEmpty = errors.New("generate: the store is not empty")

// generate writes cfg's company into dst, which must be empty, while it is
// generated: consecutive events of one stream are imported together (at
// most eventstore.MaxBatch), by a writer that works while the generator
// makes the next events, at most a few batches behind. progress, when set,
// is called with the number of events written after each import.
func generate(ctx context.Context, cfg company.Config, dst importStore, progress func(uint64)) (generated, error) {
	if head, err := dst.ReadAll(ctx, eventstore.Start, 1); err != nil {
		return generated{}, fmt.Errorf("generate: read the store: %w", err)
	} else if len(head) > 0 {
		return generated{}, fmt.Errorf("%w: it holds stream %q; generate into a new store", errNotEmpty, head[0].Stream)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	batches := make(chan []eventstore.RecordedEvent, 4)
	var res generated
	written := make(chan error, 1)
	go func() {
		var n uint64
		for run := range batches {
			if ctx.Err() != nil {
				continue // drain: the generator stops at its next emit
			}
			if _, err := dst.Import(ctx, run[0].Stream, run); err != nil {
				cancel(fmt.Errorf("generate: write stream %q versions %d to %d: %w", run[0].Stream, run[0].Version, run[len(run)-1].Version, err))
				continue
			}
			res.imports++
			n += uint64(len(run))
			if progress != nil {
				progress(n)
			}
		}
		written <- nil
	}()
	var run []eventstore.RecordedEvent
	flush := func() error {
		if len(run) > 0 {
			select {
			case batches <- run:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			run = nil
		}
		return nil
	}
	sum, err := company.GenerateTo(cfg, func(_ company.Append, events []eventstore.RecordedEvent) error {
		for _, e := range events {
			if len(run) > 0 && (run[0].Stream != e.Stream || len(run) == eventstore.MaxBatch) {
				if err := flush(); err != nil {
					return err
				}
			}
			run = append(run, e)
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	close(batches)
	<-written
	if cause := context.Cause(ctx); cause != nil {
		return res, cause // the writer failed, or ctx ended
	}
	if err != nil {
		return res, err
	}
	res.Summary = sum
	return res, nil
}
