package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
)

// Parked is a message a consumer gave up on, kept in the store's file so
// that nothing is lost and it can be replayed (see projections.PoisonStore,
// which this backs).
type Parked struct {
	Seq       uint64 // order of arrival, from 1
	Consumer  string
	Reason    string
	MessageID string
	Payload   []byte
	Metadata  map[string]string
	At        time.Time // the store's clock when parked
}

const parkingSchema = `
CREATE TABLE IF NOT EXISTS parked (
	seq        INTEGER PRIMARY KEY,
	consumer   TEXT NOT NULL,
	reason     TEXT NOT NULL,
	message_id TEXT NOT NULL,
	payload    BLOB NOT NULL,
	metadata   TEXT NOT NULL,
	parked_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS parked_consumer ON parked (consumer, seq);
`

// Park stores p durably and returns its sequence number.
func (s *Store) Park(ctx context.Context, p Parked) (uint64, error) {
	md, err := json.Marshal(p.Metadata)
	if err != nil {
		return 0, fmt.Errorf("sqlite: park message %s: %w", p.MessageID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var seq int64
	err = s.write(ctx, func(c conn) error {
		payload := p.Payload
		if payload == nil {
			payload = []byte{}
		}
		_, id, err := c.exec(`INSERT INTO parked (consumer, reason, message_id, payload, metadata, parked_at) VALUES (?, ?, ?, ?, ?, ?)`,
			p.Consumer, p.Reason, p.MessageID, payload, string(md), s.opts.Clock().UTC().UnixNano())
		seq = id
		return err
	})
	if err != nil && !errors.Is(err, eventstore.ErrClosed) {
		return 0, fmt.Errorf("sqlite: park message %s of %q: %w", p.MessageID, p.Consumer, err)
	}
	return uint64(seq), err
}

// ParkedFor returns consumer's parked messages in the order they were parked.
func (s *Store) ParkedFor(ctx context.Context, consumer string) ([]Parked, error) {
	var out []Parked
	err := s.read(ctx, func(c conn) error {
		return c.query(`SELECT seq, reason, message_id, payload, metadata, parked_at FROM parked WHERE consumer = ? ORDER BY seq`, []any{consumer}, func(r row) error {
			p := Parked{Consumer: consumer, Seq: uint64(r.int64(0)), Reason: r.text(1), MessageID: r.text(2), Payload: r.blob(3, nil),
				At: time.Unix(0, r.int64(5)).UTC()}
			if err := json.Unmarshal([]byte(r.text(4)), &p.Metadata); err != nil {
				return fmt.Errorf("parked message %d: metadata: %w", p.Seq, err)
			}
			out = append(out, p)
			return nil
		})
	})
	if err != nil && !errors.Is(err, eventstore.ErrClosed) {
		return nil, fmt.Errorf("sqlite: list parked messages of %q: %w", consumer, err)
	}
	return out, err
}

// Unpark removes parked message seq.
func (s *Store) Unpark(ctx context.Context, seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.write(ctx, func(c conn) error {
		_, _, err := c.exec(`DELETE FROM parked WHERE seq = ?`, seq)
		return err
	})
	if err != nil && !errors.Is(err, eventstore.ErrClosed) {
		return fmt.Errorf("sqlite: unpark message %d: %w", seq, err)
	}
	return err
}
