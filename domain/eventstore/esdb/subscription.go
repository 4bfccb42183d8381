package esdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/concord-planning/concord/domain/eventstore"
)

// Backoff between attempts to subscribe again after a drop.
const (
	resubscribeFirst = 10 * time.Millisecond
	resubscribeMax   = 2 * time.Second
)

// subscription is the Store's eventstore.Subscription.
type subscription struct {
	store  *Store
	events chan eventstore.RecordedEvent
	cancel context.CancelFunc
	done   chan struct{}
	err    error // set before done closes
}

var _ eventstore.Subscription = (*subscription)(nil)

func (sub *subscription) Events() <-chan eventstore.RecordedEvent { return sub.events }

func (sub *subscription) Err() error {
	select {
	case <-sub.done:
		return sub.err
	default:
		return nil
	}
}

func (sub *subscription) Close() error {
	sub.cancel()
	<-sub.done
	return nil
}

// SubscribeAll implements eventstore.Store. The first subscription is made
// before it returns, so an unreachable server is reported here; later drops
// are repaired inside, resubscribing after the last event received. The
// subscription ends with an error only for what a new attempt cannot fix: an
// event it cannot decode, or the server refusing access.
func (s *Store) SubscribeAll(ctx context.Context, after eventstore.Position) (eventstore.Subscription, error) {
	ctx, cancel := context.WithCancel(ctx)
	sub := &subscription{store: s, events: make(chan eventstore.RecordedEvent), cancel: cancel, done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		cancel()
		return nil, eventstore.ErrClosed
	}
	s.subs[sub] = struct{}{}
	s.subsWG.Add(1)
	s.mu.Unlock()

	first, ref, err := s.subscribe(ctx, after)
	if err != nil {
		s.forget(sub)
		cancel()
		return nil, fmt.Errorf("esdb: subscribe to $all after %v: %w", after, err)
	}
	go sub.run(ctx, after, first, ref)
	return sub, nil
}

func (s *Store) forget(sub *subscription) {
	s.mu.Lock()
	delete(s.subs, sub)
	s.mu.Unlock()
	s.subsWG.Done()
}

// subscribe opens a server-filtered $all subscription after position after,
// holding a client until the subscription is closed and released.
func (s *Store) subscribe(ctx context.Context, after eventstore.Position) (*esdb.Subscription, *clientRef, error) {
	var from esdb.AllPosition = esdb.Start{}
	if after != eventstore.Start {
		from = esdb.Position{Commit: after.Commit, Prepare: after.Prepare}
	}
	type opened struct {
		sub *esdb.Subscription
		err error
	}
	for attempt := 0; ; attempt++ {
		ref, err := s.acquire()
		if err != nil {
			return nil, nil, err
		}
		done := make(chan opened) // unbuffered: a send succeeds only if the caller takes it
		abandoned := make(chan struct{})
		go func() {
			sub, err := ref.client.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: from, Filter: esdb.ExcludeSystemEventsFilter()})
			if clientClosed(err) || unavailable(err) {
				s.retire(ref)
			}
			select {
			case done <- opened{sub, err}:
			case <-abandoned: // the caller left: undo
				if sub != nil {
					sub.Close()
				}
				s.release(ref)
			}
		}()
		select {
		case o := <-done:
			if o.err != nil {
				s.release(ref)
				if clientClosed(o.err) && attempt == 0 && ctx.Err() == nil {
					continue
				}
				return nil, nil, o.err
			}
			return o.sub, ref, nil // the subscription keeps its hold on the client
		case <-ctx.Done():
			close(abandoned)
			return nil, nil, ctx.Err()
		case <-ref.dead:
			close(abandoned) // the client was replaced while this waited on it
			if attempt == 0 {
				continue
			}
			return nil, nil, errReplaced
		}
	}
}

// run pumps events from the server subscription to the channel, and
// subscribes again after a drop until ctx ends.
func (sub *subscription) run(ctx context.Context, after eventstore.Position, cur *esdb.Subscription, ref *clientRef) {
	s := sub.store
	defer func() {
		close(sub.events)
		close(sub.done)
		s.forget(sub)
	}()
	last := after
	for {
		dropped := sub.pump(ctx, cur, &last)
		cur.Close()
		if unavailable(dropped) {
			s.retire(ref)
		}
		s.release(ref)
		if ctx.Err() != nil {
			return
		}
		if fatal(dropped) {
			sub.err = dropped
			return
		}
		s.logger.Warn("esdb: $all subscription dropped; subscribing again", "after", last.String(), "err", dropped)
		var err error
		cur, ref, err = sub.resubscribe(ctx, last)
		if err != nil {
			if ctx.Err() == nil {
				sub.err = err
			}
			return
		}
		s.logger.Info("esdb: $all subscription restored", "after", last.String())
	}
}

// resubscribe tries to subscribe after last, with backoff, until it succeeds,
// meets a fatal error, or ctx ends.
func (sub *subscription) resubscribe(ctx context.Context, last eventstore.Position) (*esdb.Subscription, *clientRef, error) {
	wait := resubscribeFirst
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-timer.C:
		}
		cur, ref, err := sub.store.subscribe(ctx, last)
		if err == nil {
			return cur, ref, nil
		}
		if fatal(err) || errors.Is(err, eventstore.ErrClosed) {
			return nil, nil, fmt.Errorf("esdb: subscribe to $all again after %v: %w", last, err)
		}
		sub.store.logger.Debug("esdb: subscribing again failed", "after", last.String(), "err", err)
		wait = min(2*wait, resubscribeMax)
		timer.Reset(wait)
	}
}

// pump delivers the events of cur until it drops, and returns why. last is
// the position of the last event received from the server, delivered or
// skipped: where a new subscription must start.
func (sub *subscription) pump(ctx context.Context, cur *esdb.Subscription, last *eventstore.Position) error {
	for {
		msg := cur.Recv()
		switch {
		case msg.SubscriptionDropped != nil:
			return msg.SubscriptionDropped.Error
		case msg.EventAppeared != nil:
			r := msg.EventAppeared.OriginalEvent()
			pos := eventstore.Position{Commit: r.Position.Commit, Prepare: r.Position.Prepare}
			if *last != eventstore.Start && !last.Before(pos) {
				continue // never deliver an event twice
			}
			*last = pos
			if system(r) {
				continue // a non-system type in a system stream: the server filter let it through
			}
			e, err := decode(r)
			if err != nil {
				return err
			}
			select {
			case sub.events <- e:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		// Checkpoints, caught-up and fell-behind need no action: see the
		// package comment on why checkpoints are not resume points.
	}
}

// fatal reports whether a subscription error cannot be repaired by
// subscribing again.
func fatal(err error) bool {
	if errors.Is(err, ErrForeignEvent) {
		return true
	}
	switch errorCode(err) {
	case esdb.ErrorCodeUnauthenticated, esdb.ErrorCodeAccessDenied, esdb.ErrorCodeParsing:
		return true
	}
	return false
}
