package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
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
	if s.closed {
		return 0, errClosed()
	}
	r, err := s.writer.ExecContext(ctx, `INSERT INTO parked (consumer, reason, message_id, payload, metadata, parked_at) VALUES (?, ?, ?, ?, ?, ?)`,
		p.Consumer, p.Reason, p.MessageID, p.Payload, string(md), s.opts.Clock().UTC().UnixNano())
	if err != nil {
		return 0, fmt.Errorf("sqlite: park message %s of %q: %w", p.MessageID, p.Consumer, err)
	}
	seq, err := r.LastInsertId()
	return uint64(seq), err
}

// ParkedFor returns consumer's parked messages in the order they were parked.
func (s *Store) ParkedFor(ctx context.Context, consumer string) ([]Parked, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT seq, reason, message_id, payload, metadata, parked_at FROM parked WHERE consumer = ? ORDER BY seq`, consumer)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list parked messages of %q: %w", consumer, err)
	}
	defer rows.Close()
	var out []Parked
	for rows.Next() {
		p := Parked{Consumer: consumer}
		var (
			md string
			at int64
		)
		if err := rows.Scan(&p.Seq, &p.Reason, &p.MessageID, &p.Payload, &md, &at); err != nil {
			return nil, fmt.Errorf("sqlite: list parked messages of %q: %w", consumer, err)
		}
		if err := json.Unmarshal([]byte(md), &p.Metadata); err != nil {
			return nil, fmt.Errorf("sqlite: parked message %d of %q: metadata: %w", p.Seq, consumer, err)
		}
		p.At = time.Unix(0, at).UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

// Unpark removes parked message seq.
func (s *Store) Unpark(ctx context.Context, seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed()
	}
	if _, err := s.writer.ExecContext(ctx, `DELETE FROM parked WHERE seq = ?`, seq); err != nil {
		return fmt.Errorf("sqlite: unpark message %d: %w", seq, err)
	}
	return nil
}
