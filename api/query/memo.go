package query

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// ErrBusy is returned, wrapping the caller's context error, when the
// caller's context ends before the answer it waits for is computed. The
// computation goes on without it, so a later call (after Retry-After) takes
// its result; package api answers 503 with Retry-After.
var ErrBusy = errors.New("query: the answer is still being computed; retry shortly")

// memo is a value computed at most once, by whichever caller asks first,
// on a goroutine of its own: a caller whose context ends stops waiting,
// not the computation, which the next caller then finds done (or still
// under way). The zero memo is ready to use.
type memo[T any] struct {
	once sync.Once
	done chan struct{}
	v    T
	err  error
}

// get returns the value, starting fn on first use. fn runs while holding
// one slot of work (a semaphore bounding how many costly computations run
// at once, so that a burst of distinct requests queues instead of starving
// every core); get waits for it until ctx ends, then returns ErrBusy.
func (m *memo[T]) get(ctx context.Context, work chan struct{}, fn func() (T, error)) (T, error) {
	m.once.Do(func() {
		m.done = make(chan struct{})
		go func() {
			defer close(m.done)
			work <- struct{}{}
			defer func() { <-work }()
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
