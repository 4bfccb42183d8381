package projections_test

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
)

// memStore is a small in-memory eventstore.Store for these tests: positions
// 1, 2, 3…, SubscribeAll catches up from the slice, then waits for appends.
type memStore struct {
	mu      sync.Mutex
	events  []eventstore.RecordedEvent
	streams map[string]uint64
	grew    chan struct{} // closed and replaced at each append
	clock   time.Time
}

func newMemStore() *memStore {
	return &memStore{streams: map[string]uint64{}, grew: make(chan struct{}),
		clock: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (s *memStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if err := eventstore.Validate(stream, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.streams[stream]
	if !eventstore.Satisfied(expected, v) {
		return eventstore.AppendResult{}, &eventstore.ConflictError{Stream: stream, Expected: expected, Actual: v}
	}
	var res eventstore.AppendResult
	for _, e := range events {
		v++
		n := uint64(len(s.events) + 1)
		s.events = append(s.events, eventstore.RecordedEvent{
			ID: e.ID, Type: e.Type, SchemaVersion: e.SchemaVersion, Stream: stream, Version: v,
			Position: eventstore.Position{Commit: n, Prepare: n}, RecordedAt: s.clock.Add(time.Duration(n) * time.Second),
			Metadata: e.Metadata, Data: slices.Clone(e.Data),
		})
		res = eventstore.AppendResult{Version: v, Position: eventstore.Position{Commit: n, Prepare: n}}
	}
	s.streams[stream] = v
	close(s.grew)
	s.grew = make(chan struct{})
	return res, nil
}

func (s *memStore) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.RecordedEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []eventstore.RecordedEvent
	for _, e := range s.events {
		if e.Stream == stream && e.Version >= from && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (s *memStore) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	from := min(int(after.Commit), len(s.events))
	return slices.Clone(s.events[from:min(from+limit, len(s.events))]), nil
}

// next returns the events after pos, or a channel closed at the next append.
func (s *memStore) next(after eventstore.Position) ([]eventstore.RecordedEvent, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	from := min(int(after.Commit), len(s.events))
	return slices.Clone(s.events[from:]), s.grew
}

func (s *memStore) SubscribeAll(ctx context.Context, after eventstore.Position) (eventstore.Subscription, error) {
	ctx, cancel := context.WithCancel(ctx)
	sub := &memSub{ch: make(chan eventstore.RecordedEvent), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(sub.done)
		defer close(sub.ch)
		for {
			batch, grew := s.next(after)
			for _, e := range batch {
				select {
				case sub.ch <- e:
					after = e.Position
				case <-ctx.Done():
					return
				}
			}
			if len(batch) == 0 {
				select {
				case <-grew:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return sub, nil
}

type memSub struct {
	ch     chan eventstore.RecordedEvent
	cancel context.CancelFunc
	done   chan struct{}
}

func (s *memSub) Events() <-chan eventstore.RecordedEvent { return s.ch }
func (s *memSub) Err() error                              { return nil }
func (s *memSub) Close() error                            { s.cancel(); <-s.done; return nil }

var _ eventstore.Store = (*memStore)(nil)
