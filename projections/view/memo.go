package view

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrBusy is returned, wrapping the caller's context error, when the
// caller's context ends before the answer it waits for is computed. The
// computation goes on without it, so a later call (after Retry-After) takes
// its result; package api answers 503 with Retry-After.
var ErrBusy = errors.New("query: the answer is still being computed; retry shortly")

// ErrClosed is returned by computations the Service stopped or never
// started because it was closed (Service.Close, at shutdown).
var ErrClosed = errors.New("query: the query service is closed")

// pool bounds how many costly computations run at once (slots, so that a
// burst of distinct requests queues instead of starving every core),
// stops them when the Service closes and keeps the analyses they computed.
type pool struct {
	slots     chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
	analyses  *analysisCache // what the costly computations found, shared by every state
	// past holds the slots of the folds of past states (as-of reads):
	// half of them, at least one, so that clients reading the past in a
	// loop leave cores to live reads and their analyses. It closes with
	// its pool.
	past *pool
	// running counts the computations of both (shared with past).
	running *foreground
}

func newPool(n int) *pool {
	p := &pool{slots: make(chan struct{}, n), closed: make(chan struct{}), analyses: newAnalysisCache(DefaultAnalysisBudget), running: newForeground()}
	p.past = &pool{slots: make(chan struct{}, max(1, n/2)), closed: p.closed, running: p.running}
	return p
}

// foreground counts the computations running for callers (analyses,
// folds of past states), so that work in the background (the backfill of
// the log before a snapshot, the process consumers rebuilding from the
// start of the log) can give the cores to them (quiet).
type foreground struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed while n is 0
}

func newForeground() *foreground {
	f := &foreground{idle: make(chan struct{})}
	close(f.idle)
	return f
}

func (f *foreground) begin() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		f.idle = make(chan struct{})
	}
	f.n++
}

func (f *foreground) end() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n--; f.n == 0 {
		close(f.idle)
	}
}

// quiet waits until no computation runs, at most d; it returns ctx's
// error when ctx ends first.
func (f *foreground) quiet(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	idle := f.idle
	f.mu.Unlock()
	select {
	case <-idle:
		return nil
	default:
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// close stops what waits for a slot (also of p.past) and makes check
// fail; safe to call more than once.
func (p *pool) close() { p.closeOnce.Do(func() { close(p.closed) }) }

// check returns ErrClosed once the pool is closed: the check a long
// computation calls between its steps.
func (p *pool) check() error {
	select {
	case <-p.closed:
		return ErrClosed
	default:
		return nil
	}
}

// memo is a value computed at most once, by whichever caller asks first,
// on a goroutine of its own: a caller whose context ends stops waiting,
// not the computation, which the next caller then finds done (or still
// under way). The zero memo is ready to use.
type memo[T any] struct {
	once  sync.Once
	done  chan struct{}
	ready atomic.Bool // v and err are set (peek)
	v     T
	err   error
}

// get returns the value, starting fn on first use. fn runs while holding
// one of work's slots (it never starts once work is closed: the value is
// then ErrClosed); get waits for it until ctx ends, then returns ErrBusy.
func (m *memo[T]) get(ctx context.Context, work *pool, fn func() (T, error)) (T, error) {
	m.once.Do(func() {
		m.done = make(chan struct{})
		go func() {
			defer close(m.done)
			defer m.ready.Store(true)
			select {
			case work.slots <- struct{}{}:
			case <-work.closed:
				m.err = ErrClosed
				return
			}
			defer func() { <-work.slots }()
			work.running.begin()
			defer work.running.end()
			defer func() {
				if r := recover(); r != nil {
					m.err = fmt.Errorf("query: computing an answer panicked: %v", r)
				}
			}()
			m.v, m.err = fn()
		}()
	})
	select {
	case <-m.done:
		return m.v, m.err
	default:
	}
	select {
	case <-m.done:
		return m.v, m.err
	case <-ctx.Done():
		var zero T
		return zero, fmt.Errorf("%w: %w", ErrBusy, context.Cause(ctx))
	}
}

// peek returns the value and whether it is computed, without starting or
// waiting for the computation.
func (m *memo[T]) peek() (v T, err error, done bool) {
	if !m.ready.Load() {
		return v, nil, false
	}
	return m.v, m.err, true
}
