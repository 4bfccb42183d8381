package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/concord-planning/concord/api"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

const schema = `
CREATE TABLE IF NOT EXISTS idempotency (
	key         TEXT PRIMARY KEY,
	fingerprint BLOB NOT NULL,
	status      INTEGER,          -- NULL while the first request runs
	header      TEXT,
	body        BLOB,
	expires     INTEGER NOT NULL  -- Unix nanoseconds
);
CREATE INDEX IF NOT EXISTS idempotency_expires ON idempotency (expires);
`

// IdempotencyStore is an api.Idempotency in a SQLite file.
type IdempotencyStore struct {
	db  *sql.DB
	now func() time.Time
}

var _ api.Idempotency = (*IdempotencyStore)(nil)

// Open opens (creating the table if needed) the idempotency records in the
// SQLite file at path, reading time from now (time.Now when nil).
func Open(ctx context.Context, path string, now func() time.Time) (*IdempotencyStore, error) {
	if now == nil {
		now = time.Now
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open idempotency records in %s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // one writer; reads are rare and short
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: create idempotency table in %s: %w", path, err)
	}
	return &IdempotencyStore{db: db, now: now}, nil
}

// Close closes the connection.
func (s *IdempotencyStore) Close() error { return s.db.Close() }

// Reserve implements api.Idempotency.
func (s *IdempotencyStore) Reserve(ctx context.Context, key string, fp []byte, until time.Time) (resp *api.StoredResponse, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: idempotency: %w", err)
	}
	defer func() {
		if err != nil && !errors.Is(err, api.ErrInProgress) {
			tx.Rollback()
			return
		}
		if cerr := tx.Commit(); cerr != nil && err == nil {
			resp, err = nil, fmt.Errorf("sqlite: idempotency: %w", cerr)
		}
	}()
	now := s.now().UnixNano()
	if _, err := tx.ExecContext(ctx, `DELETE FROM idempotency WHERE expires < ?`, now); err != nil {
		return nil, fmt.Errorf("sqlite: idempotency: purge: %w", err)
	}
	var (
		status   sql.NullInt64
		header   sql.NullString
		body     []byte
		storedFP []byte
	)
	err = tx.QueryRowContext(ctx, `SELECT fingerprint, status, header, body FROM idempotency WHERE key = ?`, key).Scan(&storedFP, &status, &header, &body)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO idempotency (key, fingerprint, expires) VALUES (?, ?, ?)`, key, fp, until.UnixNano()); err != nil {
			return nil, fmt.Errorf("sqlite: idempotency: claim: %w", err)
		}
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("sqlite: idempotency: look up: %w", err)
	case !status.Valid:
		return nil, api.ErrInProgress
	}
	r := &api.StoredResponse{Fingerprint: storedFP, Status: int(status.Int64), Header: http.Header{}, Body: body}
	if header.Valid && header.String != "" {
		if err := json.Unmarshal([]byte(header.String), &r.Header); err != nil {
			return nil, fmt.Errorf("sqlite: idempotency: stored header of %q: %w", key, err)
		}
	}
	return r, nil
}

// Complete implements api.Idempotency.
func (s *IdempotencyStore) Complete(ctx context.Context, key string, resp api.StoredResponse, expires time.Time) error {
	h, err := json.Marshal(resp.Header)
	if err != nil {
		return fmt.Errorf("sqlite: idempotency: header: %w", err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO idempotency (key, fingerprint, status, header, body, expires) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status, header = excluded.header,
		body = excluded.body, expires = excluded.expires`, key, resp.Fingerprint, resp.Status, string(h), resp.Body, expires.UnixNano())
	if err != nil {
		return fmt.Errorf("sqlite: idempotency: complete %q: %w", key, err)
	}
	return nil
}

// Release implements api.Idempotency.
func (s *IdempotencyStore) Release(ctx context.Context, key string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM idempotency WHERE key = ? AND status IS NULL`, key); err != nil {
		return fmt.Errorf("sqlite: idempotency: release %q: %w", key, err)
	}
	return nil
}
