package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/concord-planning/concord/projections"
)

// supervisor keeps one piece of background work running: when it fails or
// stops on its own while its context is live, it is started again after a
// bounded backoff, and err reports it down meanwhile. Without it, a
// replica whose outbound relay or forecast dispatch stopped (a router
// that could not subscribe while NATS elected a leader, say) would answer
// ready while nothing flowed any more. The zero value restarts after 1s
// doubling up to 30s; it is safe for concurrent use.
type supervisor struct {
	name    string
	log     *slog.Logger
	backoff projections.Backoff

	mu   sync.Mutex
	down error // why the work is down, nil while it runs
}

// errStoppedOnItsOwn is the failure of work that returned nil before its
// context ended.
var errStoppedOnItsOwn = errors.New("stopped on its own")

// run calls work until ctx ends, again after each failure. It returns nil
// once ctx has ended.
func (s *supervisor) run(ctx context.Context, work func(context.Context) error) error {
	backoff := s.backoff
	if backoff.Initial <= 0 {
		backoff = projections.Backoff{Initial: time.Second, Max: 30 * time.Second}
	}
	for failures := 0; ; failures++ {
		begin := time.Now()
		err := work(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			err = errStoppedOnItsOwn
		}
		if time.Since(begin) > backoff.Max {
			failures = 0 // it ran a while: start the backoff over
		}
		wait := backoff.Delay(failures)
		s.setDown(fmt.Errorf("%s: %w; restarting", s.name, err))
		s.logger().Error("background work failed; restarting", "work", s.name, "err", err, "in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		s.setDown(nil)
	}
}

// err returns why the work is down, nil while it runs.
func (s *supervisor) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down
}

func (s *supervisor) setDown(err error) {
	s.mu.Lock()
	s.down = err
	s.mu.Unlock()
}

func (s *supervisor) logger() *slog.Logger {
	if s.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.log
}

// stallDeliveries is how many failed deliveries of one event in a row (each
// after the router's retries: 4 attempts, a publish bounded by 5s) make a
// stop-on-failure consumer stalled.
const stallDeliveries = 3

// stalled returns an error naming each stop-on-failure consumer of hs that
// has failed stallDeliveries deliveries of its current event in a row (an
// outbound relay whose every publish times out while its connection
// reports itself up, say), nil when none has: such a consumer advances no
// further until the event goes through, and a process that relies on it
// is not ready. Poison-on-failure consumers move on by themselves.
func stalled(hs []projections.Health) error {
	var errs []error
	for _, h := range hs {
		if h.Policy == projections.StopOnFailure && h.Failures >= stallDeliveries {
			errs = append(errs, fmt.Errorf("%s stalled after position %v: %d deliveries failed, the last: %s", h.Name, h.Position, h.Failures, h.LastError))
		}
	}
	return errors.Join(errs...)
}
