package projections

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
)

// LogReader reads the global log a page at a time: the part of
// eventstore.Store that a replay needs.
type LogReader interface {
	ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error)
}

// ReplayConfig configures Replay.
type ReplayConfig struct {
	// Registry decodes the events; nil hands the handlers nil.
	Registry *eventstore.Registry
	// After is where the replay starts: events after it (default: the
	// start of the log).
	After eventstore.Position
	// PageSize is the number of events read at a time (default 4,096).
	PageSize int
	// Workers decode pages in parallel (default GOMAXPROCS).
	Workers int
	// ReadAhead is the number of pages read and decoded ahead of the one
	// being applied (default 2 × Workers).
	ReadAhead int
	// Progress, if set, is called after each page is applied, from the
	// goroutine that applies, so it must return quickly.
	Progress func(Progress)
}

// Progress reports how far a replay has come.
type Progress struct {
	Done     uint64              // events applied so far
	Total    uint64              // events to apply in all; 0 when the store cannot tell
	Position eventstore.Position // of the last event applied
	Elapsed  time.Duration       // since the replay started
}

// Replay reads the log from cfg.After to its end (as it is when the last
// page is read), decodes each event once, and hands it to every handler, in
// position order, each event once. Reading runs ahead of applying, and the
// pages read are decoded in parallel by cfg.Workers goroutines: decoding is
// pure, so only the handlers see the log strictly in order.
//
// It returns how far it came, and stops at the first error: the store's,
// the registry's (an *eventstore.DecodeError or *eventstore.UnknownTypeError:
// an event is never skipped), a handler's (wrapped with its position), or
// ctx's. The handlers have then applied every event up to Progress.Position
// and none after it.
func Replay(ctx context.Context, store LogReader, cfg ReplayConfig, handlers ...Handler) (Progress, error) {
	sinks := make([]sink, len(handlers))
	for i, h := range handlers {
		sinks[i] = handlerSink{h}
	}
	p, errs := replay(ctx, store, cfg, sinks, true)
	return p, errors.Join(errs...)
}

// sink receives a replay's pages, decoded, in position order.
type sink interface {
	applyPage(ctx context.Context, recs []eventstore.RecordedEvent, events []any) error
}

type handlerSink struct{ h Handler }

func (s handlerSink) applyPage(ctx context.Context, recs []eventstore.RecordedEvent, events []any) error {
	for i := range recs {
		if err := s.h.Handle(ctx, recs[i], events[i]); err != nil {
			return fmt.Errorf("projections: replay at %v (%s): %w", recs[i].Position, recs[i].Type, err)
		}
	}
	return nil
}

// page is one page of the log on its way through a replay.
type page struct {
	recs   []eventstore.RecordedEvent
	events []any
	err    error
	done   chan struct{} // closed once decoded
}

// replay feeds sinks. A sink that fails is dropped and its error kept;
// with stopOnSinkError the replay stops instead. It returns the progress
// of the last page every remaining sink applied, and the errors: of the
// sinks that failed (errs[i] for sink i, nil if it did not), then the
// replay's own (store, decode, ctx) if any.
func replay(ctx context.Context, store LogReader, cfg ReplayConfig, sinks []sink, stopOnSinkError bool) (Progress, []error) {
	start := time.Now()
	if cfg.PageSize <= 0 {
		cfg.PageSize = 4096
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.ReadAhead <= 0 {
		cfg.ReadAhead = 2 * cfg.Workers
	}
	prog := Progress{Position: cfg.After}
	// A store that tells its head has dense positions (SQLite: 1, 2, …).
	if hr, ok := store.(headReader); ok {
		if head, err := hr.Head(ctx); err == nil && cfg.After.Before(head) {
			prog.Total = head.Commit - cfg.After.Commit
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ordered := make(chan *page, cfg.ReadAhead)
	work := make(chan *page, cfg.ReadAhead)
	var wg sync.WaitGroup
	for range cfg.Workers {
		wg.Go(func() {
			for p := range work {
				p.events = make([]any, len(p.recs))
				if cfg.Registry != nil {
					for i := range p.recs {
						ev, err := cfg.Registry.Decode(p.recs[i])
						if err != nil {
							p.err = err
							break
						}
						p.events[i] = ev
					}
				}
				close(p.done)
			}
		})
	}
	wg.Go(func() { // the reader
		defer close(ordered)
		defer close(work)
		after := cfg.After
		for {
			recs, err := store.ReadAll(ctx, after, cfg.PageSize)
			if err != nil {
				p := &page{err: fmt.Errorf("projections: replay: read the log after %v: %w", after, err), done: make(chan struct{})}
				close(p.done)
				select {
				case ordered <- p:
				case <-ctx.Done():
				}
				return
			}
			if len(recs) == 0 {
				return
			}
			after = recs[len(recs)-1].Position
			p := &page{recs: recs, done: make(chan struct{})}
			select {
			case ordered <- p: // first, so the applier waits for it in order
			case <-ctx.Done():
				return
			}
			work <- p // a worker takes it: ordered's bound also bounds work
		}
	})
	defer wg.Wait()
	defer cancel()

	errs := make([]error, len(sinks)+1)
	live := len(sinks)
	for p := range ordered {
		select {
		case <-p.done:
		case <-ctx.Done():
			errs[len(sinks)] = ctx.Err()
			return prog, errs
		}
		if p.err != nil {
			errs[len(sinks)] = p.err
			return prog, errs
		}
		if err := ctx.Err(); err != nil {
			errs[len(sinks)] = err
			return prog, errs
		}
		for i, s := range sinks {
			if errs[i] != nil {
				continue
			}
			if err := s.applyPage(ctx, p.recs, p.events); err != nil {
				errs[i] = err
				live--
				if stopOnSinkError {
					return prog, errs
				}
			}
		}
		if live == 0 && len(sinks) > 0 {
			return prog, errs
		}
		prog.Done += uint64(len(p.recs))
		prog.Position = p.recs[len(p.recs)-1].Position
		prog.Elapsed = time.Since(start)
		prog.Total = max(prog.Total, prog.Done)
		if cfg.Progress != nil {
			cfg.Progress(prog)
		}
	}
	prog.Elapsed = time.Since(start)
	return prog, errs
}
