package natskv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/concord-planning/concord/api"
)

// Bucket is the default bucket name.
const Bucket = "concord_idempotency"

// IdempotencyStore is an api.Idempotency in a JetStream key-value bucket.
// It is safe for concurrent use, from any number of processes.
type IdempotencyStore struct {
	kv  jetstream.KeyValue
	now func() time.Time
}

var _ api.Idempotency = (*IdempotencyStore)(nil)

// Options configure the bucket of an IdempotencyStore.
type Options struct {
	// Bucket names the bucket; Bucket when empty.
	Bucket string
	// MaxAge bounds how long the bucket keeps an entry; it should exceed the
	// API's IdempotencyTTL. Required.
	MaxAge time.Duration
	// Replicas is how many servers of a JetStream cluster keep the bucket
	// (default 1; 3 on a three-node cluster, which then survives the loss
	// of one).
	Replicas int
	// Now defaults to time.Now.
	Now func() time.Time
}

// Open creates the bucket if it does not exist, or updates it to opts (a
// bucket first created with fewer replicas is scaled up), and returns the
// store. A cluster that does not answer in time (electing a leader, busy,
// or another replica creating the same bucket), or answers at once that
// JetStream is temporarily unavailable (no meta leader yet), is asked
// again, up to openAttempts times of openAttemptTimeout each, openRetry
// apart (doubling), while ctx lasts.
func Open(ctx context.Context, js jetstream.JetStream, opts Options) (*IdempotencyStore, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Bucket == "" {
		opts.Bucket = Bucket
	}
	cfg := jetstream.KeyValueConfig{Bucket: opts.Bucket, History: 1, TTL: opts.MaxAge,
		Replicas: max(opts.Replicas, 1), Description: "Concord API: responses kept for Idempotency-Key retries"}
	var err error
	for i := range openAttempts {
		var kv jetstream.KeyValue
		if kv, err = openOnce(ctx, js, cfg); err == nil {
			return &IdempotencyStore{kv: kv, now: opts.Now}, nil
		}
		if i == openAttempts-1 {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(openRetry << i):
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("natskv: bucket %q (%d replicas): %w", opts.Bucket, cfg.Replicas, err)
}

const (
	// openAttempts bounds how often Open asks for the bucket.
	openAttempts = 5
	// openAttemptTimeout bounds one attempt.
	openAttemptTimeout = 10 * time.Second
	// openRetry is the pause after the first failed attempt, doubling
	// after each: 1+2+4+8 s, time for a cluster to elect its leaders.
	openRetry = time.Second
)

func openOnce(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	ctx, cancel := context.WithTimeout(ctx, openAttemptTimeout)
	defer cancel()
	return js.CreateOrUpdateKeyValue(ctx, cfg)
}

// entry is what the bucket holds for one key.
type entry struct {
	Fingerprint []byte      `json:"fp"`
	Status      int         `json:"status,omitempty"` // 0 while in progress
	Header      http.Header `json:"header,omitempty"`
	Body        []byte      `json:"body,omitempty"`
	Expires     int64       `json:"expires"` // Unix ns: end of the claim's lease, or of the response's keeping
}

func bucketKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// casAttempts bounds how often Reserve retries a lost compare-and-set.
const casAttempts = 5

// Reserve implements api.Idempotency.
func (s *IdempotencyStore) Reserve(ctx context.Context, key string, fp []byte, until time.Time) (*api.StoredResponse, error) {
	k := bucketKey(key)
	claim, err := json.Marshal(entry{Fingerprint: fp, Expires: until.UnixNano()})
	if err != nil {
		return nil, err
	}
	for range casAttempts {
		cur, err := s.kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			if _, err := s.kv.Create(ctx, k, claim); errors.Is(err, jetstream.ErrKeyExists) {
				continue // another replica claimed it meanwhile: look again
			} else if err != nil {
				return nil, unavailable("claim", err)
			}
			return nil, nil
		}
		if err != nil {
			return nil, unavailable("look up", err)
		}
		var e entry
		if err := json.Unmarshal(cur.Value(), &e); err != nil {
			return nil, fmt.Errorf("natskv: stored entry of %q: %w", key, err)
		}
		if s.now().UnixNano() > e.Expires {
			// An abandoned claim or a forgotten response: take it over, if
			// nobody else did since it was read.
			if _, err := s.kv.Update(ctx, k, claim, cur.Revision()); isLostRace(err) {
				continue
			} else if err != nil {
				return nil, unavailable("claim", err)
			}
			return nil, nil
		}
		if e.Status == 0 {
			return nil, api.ErrInProgress
		}
		return &api.StoredResponse{Fingerprint: e.Fingerprint, Status: e.Status, Header: e.Header, Body: e.Body}, nil
	}
	return nil, api.ErrInProgress // the key changed hands under us every time: someone is working on it
}

// unavailable wraps the error of a key-value operation that did not get
// through (a timeout, no responders while the bucket's stream elects a
// leader, a lost connection) in api.ErrUnavailable: the request is answered
// 503 and may be retried. Errors the server answered otherwise are the
// caller's to classify and are wrapped as they are.
func unavailable(op string, err error) error {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.Code != http.StatusServiceUnavailable {
		return fmt.Errorf("natskv: %s: %w", op, err)
	}
	// One %w: the API reads an error wrapping several as several problems,
	// and the cause alone would be an internal error.
	return fmt.Errorf("natskv: %s: %w (%v)", op, api.ErrUnavailable, err)
}

// isLostRace reports whether an Update failed because the key changed
// since it was read.
func isLostRace(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// Complete implements api.Idempotency.
func (s *IdempotencyStore) Complete(ctx context.Context, key string, resp api.StoredResponse, expires time.Time) error {
	v, err := json.Marshal(entry{Fingerprint: resp.Fingerprint, Status: resp.Status, Header: resp.Header, Body: resp.Body, Expires: expires.UnixNano()})
	if err != nil {
		return err
	}
	if _, err := s.kv.Put(ctx, bucketKey(key), v); err != nil {
		return unavailable("complete", err)
	}
	return nil
}

// Release implements api.Idempotency: it drops a claim still in progress,
// never a stored response.
func (s *IdempotencyStore) Release(ctx context.Context, key string) error {
	k := bucketKey(key)
	cur, err := s.kv.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return unavailable("release", err)
	}
	var e entry
	if err := json.Unmarshal(cur.Value(), &e); err != nil {
		return fmt.Errorf("natskv: stored entry of %q: %w", key, err)
	}
	if e.Status != 0 {
		return nil
	}
	if err := s.kv.Delete(ctx, k, jetstream.LastRevision(cur.Revision())); err != nil && !isLostRace(err) {
		return unavailable("release", err)
	}
	return nil
}
