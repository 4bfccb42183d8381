package projections

import (
	"context"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
)

// ParkingLot is durable storage for messages given up on; the SQLite event
// store provides it in the same file as the log.
type ParkingLot interface {
	Park(ctx context.Context, p sqlite.Parked) (uint64, error)
	ParkedFor(ctx context.Context, consumer string) ([]sqlite.Parked, error)
	Unpark(ctx context.Context, seq uint64) error
}

// DurablePoisonStore is a PoisonStore backed by a ParkingLot: what Put
// stores survives restarts.
type DurablePoisonStore struct {
	lot ParkingLot
}

var _ PoisonStore = (*DurablePoisonStore)(nil)

// NewDurablePoisonStore returns a PoisonStore over lot.
func NewDurablePoisonStore(lot ParkingLot) *DurablePoisonStore { return &DurablePoisonStore{lot: lot} }

// Put implements PoisonStore.
func (s *DurablePoisonStore) Put(ctx context.Context, consumer string, msg *message.Message, reason string) error {
	md := make(map[string]string, len(msg.Metadata))
	for k, v := range msg.Metadata {
		md[k] = v
	}
	_, err := s.lot.Park(ctx, sqlite.Parked{Consumer: consumer, Reason: reason, MessageID: msg.UUID, Payload: msg.Payload, Metadata: md})
	return err
}

// List implements PoisonStore.
func (s *DurablePoisonStore) List(ctx context.Context, consumer string) ([]Poisoned, error) {
	parked, err := s.lot.ParkedFor(ctx, consumer)
	if err != nil {
		return nil, err
	}
	out := make([]Poisoned, len(parked))
	for i, p := range parked {
		msg := message.NewMessage(p.MessageID, p.Payload)
		for k, v := range p.Metadata {
			msg.Metadata.Set(k, v)
		}
		out[i] = Poisoned{Seq: p.Seq, Consumer: consumer, Reason: p.Reason, Message: msg}
	}
	return out, nil
}

// Replay implements PoisonStore.
func (s *DurablePoisonStore) Replay(ctx context.Context, consumer string, handle func(context.Context, Poisoned) error) error {
	list, err := s.List(ctx, consumer)
	if err != nil {
		return err
	}
	return replayList(ctx, list, handle, func(p Poisoned) error { return s.lot.Unpark(ctx, p.Seq) })
}
