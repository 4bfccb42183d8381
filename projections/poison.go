package projections

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// Poisoned is a message a consumer could not handle, kept for inspection and
// replay.
type Poisoned struct {
	Seq      uint64 // order of arrival in the store, from 1
	Consumer string
	Reason   string           // the handler's error, after retries
	Message  *message.Message // as delivered, with Watermill's poison metadata added
}

// PoisonStore persists the messages that PoisonOnFailure consumers gave up
// on, so that nothing is lost and each can be replayed once fixed.
// Implementations are safe for concurrent use; the SQLite store adapter
// implements it durably.
type PoisonStore interface {
	// Put stores a copy of msg as poisoned for consumer, with the reason.
	// Once Put returns nil the message is durable: the router acknowledges it
	// only then.
	Put(ctx context.Context, consumer string, msg *message.Message, reason string) error
	// List returns consumer's poisoned messages in the order they were put.
	List(ctx context.Context, consumer string) ([]Poisoned, error)
	// Replay calls handle with each of consumer's poisoned messages in the
	// order they were put, and removes each that handle accepts (returns
	// nil). The others stay; their errors are returned, joined. It stops
	// early, returning ctx's error, when ctx ends.
	Replay(ctx context.Context, consumer string, handle func(context.Context, Poisoned) error) error
}

// MemoryPoisonStore is a PoisonStore in memory, safe for concurrent use. It
// does not survive the process; use it for tests and the embedded demo.
type MemoryPoisonStore struct {
	mu   sync.Mutex
	seq  uint64
	byID map[string][]Poisoned
}

var _ PoisonStore = (*MemoryPoisonStore)(nil)

// NewMemoryPoisonStore returns an empty MemoryPoisonStore.
func NewMemoryPoisonStore() *MemoryPoisonStore {
	return &MemoryPoisonStore{byID: map[string][]Poisoned{}}
}

// Put implements PoisonStore.
func (s *MemoryPoisonStore) Put(ctx context.Context, consumer string, msg *message.Message, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	s.byID[consumer] = append(s.byID[consumer], Poisoned{Seq: s.seq, Consumer: consumer, Reason: reason, Message: msg.Copy()})
	return nil
}

// List implements PoisonStore.
func (s *MemoryPoisonStore) List(ctx context.Context, consumer string) ([]Poisoned, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Poisoned, len(s.byID[consumer]))
	for i, p := range s.byID[consumer] {
		p.Message = p.Message.Copy()
		out[i] = p
	}
	return out, nil
}

// Replay implements PoisonStore. handle runs without the store's lock held.
func (s *MemoryPoisonStore) Replay(ctx context.Context, consumer string, handle func(context.Context, Poisoned) error) error {
	list, err := s.List(ctx, consumer)
	if err != nil {
		return err
	}
	return replayList(ctx, list, handle, func(p Poisoned) error { s.remove(consumer, p.Seq); return nil })
}

// replayList hands each poisoned message to handle, in order, and removes
// those it accepts; it returns the refusals and removal failures, joined,
// and stops early when ctx ends.
func replayList(ctx context.Context, list []Poisoned, handle func(context.Context, Poisoned) error, remove func(Poisoned) error) error {
	var errs []error
	for _, p := range list {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		if err := handle(ctx, p); err != nil {
			errs = append(errs, fmt.Errorf("poisoned message %d (%s): %w", p.Seq, p.Message.UUID, err))
			continue
		}
		if err := remove(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *MemoryPoisonStore) remove(consumer string, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.byID[consumer]
	for i, p := range list {
		if p.Seq == seq {
			s.byID[consumer] = append(list[:i:i], list[i+1:]...)
			return
		}
	}
}

// poisonPublisher lets Watermill's PoisonQueue middleware write to a
// PoisonStore: the middleware names the handler (our consumer) and the
// reason in the message's metadata.
type poisonPublisher struct {
	store    PoisonStore
	poisoned func(consumer string) // counts for Health
}

func (p poisonPublisher) Publish(topic string, msgs ...*message.Message) error {
	for _, msg := range msgs {
		consumer := msg.Metadata.Get(middleware.PoisonedHandlerKey)
		if err := p.store.Put(msg.Context(), consumer, msg, msg.Metadata.Get(middleware.ReasonForPoisonedKey)); err != nil {
			return err
		}
		p.poisoned(consumer)
	}
	return nil
}

func (poisonPublisher) Close() error { return nil }
