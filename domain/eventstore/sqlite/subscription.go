package sqlite

import (
	"context"
	"sync"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
)

// subscriptionBatch is how many events a subscription reads at a time.
const subscriptionBatch = 512

type subscription struct {
	events chan eventstore.RecordedEvent
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	err    error
}

func (s *subscription) Events() <-chan eventstore.RecordedEvent { return s.events }

func (s *subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *subscription) Close() error {
	s.cancel()
	<-s.done
	return nil
}

// SubscribeAll implements eventstore.Store: it reads the log after the given
// position in batches, then waits for appends (woken at once by this
// process's appends, by polling for other processes').
func (s *Store) SubscribeAll(ctx context.Context, after eventstore.Position) (eventstore.Subscription, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, eventstore.ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	sub := &subscription{events: make(chan eventstore.RecordedEvent, subscriptionBatch), cancel: cancel, done: make(chan struct{})}
	s.subs.Add(1)
	go func() {
		defer s.subs.Done()
		defer close(sub.done)
		defer close(sub.events)
		defer cancel()
		err := s.follow(ctx, after, sub.events)
		if ctx.Err() == nil {
			sub.mu.Lock()
			sub.err = err
			sub.mu.Unlock()
		}
	}()
	return sub, nil
}

func (s *Store) follow(ctx context.Context, after eventstore.Position, out chan<- eventstore.RecordedEvent) error {
	poll := time.NewTicker(s.opts.PollInterval)
	defer poll.Stop()
	for {
		wake := s.woken() // taken before reading, so no append is missed
		batch, err := s.ReadAll(ctx, after, subscriptionBatch)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, e := range batch {
			select {
			case out <- e:
				after = e.Position
			case <-ctx.Done():
				return nil
			case <-s.closing:
				return eventstore.ErrClosed
			}
		}
		if len(batch) == subscriptionBatch {
			continue
		}
		select {
		case <-wake:
		case <-poll.C:
		case <-ctx.Done():
			return nil
		case <-s.closing:
			return eventstore.ErrClosed
		}
	}
}
