package api

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// Idempotency stores, per key, the response to the first request that
// carried it, so that a retry gets the same answer and records nothing
// twice. Implementations are safe for concurrent use.
type Idempotency interface {
	// Reserve claims key for a request whose body and target hash to
	// fingerprint, until the time given (after which an unfinished claim
	// is abandoned and may be claimed again). It returns nil when the
	// claim is new; the stored *StoredResponse when a request with key
	// finished (the caller compares fingerprints); ErrInProgress when
	// another request holds the key; an error wrapping ErrUnavailable when
	// the store cannot be reached for now.
	Reserve(ctx context.Context, key string, fingerprint []byte, until time.Time) (*StoredResponse, error)
	// Complete stores resp as the answer of key, kept until expires.
	Complete(ctx context.Context, key string, resp StoredResponse, expires time.Time) error
	// Release drops the claim on key, so the request may be retried.
	Release(ctx context.Context, key string) error
}

// ErrInProgress is returned by Idempotency.Reserve when another request
// with the same key has not finished.
var ErrInProgress = errors.New("api: a request with this idempotency key is in progress")

// ErrUnavailable is wrapped by a dependency of the API that cannot be
// reached for now (an Idempotency store whose servers elect a leader, or
// are down): the request is answered 503 with Retry-After, and a client
// may retry it with the same Idempotency-Key.
var ErrUnavailable = errors.New("api: a service the API depends on is unavailable")

// StoredResponse is a response kept for retries.
type StoredResponse struct {
	Fingerprint []byte
	Status      int
	Header      http.Header // only the headers worth replaying
	Body        []byte
}

// replayed lists the response headers a replay repeats.
var replayed = []string{echo.HeaderContentType, echo.HeaderLocation, "ETag", HeaderPosition}

// MemoryIdempotency is an Idempotency in memory, bounded: it keeps at most
// max keys, evicting the least recently stored first, and drops entries
// past their expiry. It suits one replica; responses are lost on restart.
type MemoryIdempotency struct {
	mu    sync.Mutex
	max   int
	now   func() time.Time
	items map[string]*list.Element
	lru   *list.List // of *memEntry, most recent at the front
}

type memEntry struct {
	key     string
	resp    *StoredResponse // nil while in progress
	fp      []byte
	expires time.Time
}

var _ Idempotency = (*MemoryIdempotency)(nil)

// NewMemoryIdempotency returns an empty store of at most max keys (10,000
// when max ≤ 0), reading time from now (time.Now when nil).
func NewMemoryIdempotency(max int, now func() time.Time) *MemoryIdempotency {
	if max <= 0 {
		max = 10_000
	}
	if now == nil {
		now = time.Now
	}
	return &MemoryIdempotency{max: max, now: now, items: map[string]*list.Element{}, lru: list.New()}
}

// Reserve implements Idempotency.
func (m *MemoryIdempotency) Reserve(_ context.Context, key string, fp []byte, until time.Time) (*StoredResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if el, ok := m.items[key]; ok {
		e := el.Value.(*memEntry)
		switch {
		case now.After(e.expires):
			m.lru.Remove(el)
			delete(m.items, key)
		case e.resp != nil:
			r := *e.resp
			return &r, nil
		default:
			return nil, ErrInProgress
		}
	}
	for m.lru.Len() >= m.max {
		old := m.lru.Back()
		m.lru.Remove(old)
		delete(m.items, old.Value.(*memEntry).key)
	}
	m.items[key] = m.lru.PushFront(&memEntry{key: key, fp: fp, expires: until})
	return nil, nil
}

// Complete implements Idempotency.
func (m *MemoryIdempotency) Complete(_ context.Context, key string, resp StoredResponse, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.items[key]
	if !ok {
		el = m.lru.PushFront(&memEntry{key: key})
		m.items[key] = el
	}
	e := el.Value.(*memEntry)
	e.resp, e.expires = &resp, expires
	m.lru.MoveToFront(el)
	return nil
}

// Release implements Idempotency.
func (m *MemoryIdempotency) Release(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.items[key]; ok && el.Value.(*memEntry).resp == nil {
		m.lru.Remove(el)
		delete(m.items, key)
	}
	return nil
}

// Len returns the number of keys held.
func (m *MemoryIdempotency) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lru.Len()
}

// HeaderIdempotencyKey is the request header carrying an idempotency key.
const HeaderIdempotencyKey = "Idempotency-Key"

// MaxIdempotencyKey is the longest idempotency key, in bytes.
const MaxIdempotencyKey = 255

// idempotent wraps a POST handler: with an Idempotency-Key, the first
// response (success or client error) is stored under the principal and
// the key; a retry with the same body gets it again, with
// Idempotent-Replayed: true; the same key with another body or target is
// refused (422); a retry while the first is running is refused (409).
// Server errors (5xx), 401, 403 and 429 are not stored: the request may
// be retried. Bodies are read once here, under limit.
func (s *Server) idempotent(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			key := c.Request().Header.Get(HeaderIdempotencyKey)
			if key == "" {
				return next(c)
			}
			if len(key) > MaxIdempotencyKey || !printable(key) {
				return badRequest(fmt.Sprintf("%s must be 1 to %d printable ASCII characters", HeaderIdempotencyKey, MaxIdempotencyKey),
					FieldError{Field: HeaderIdempotencyKey, Value: key, Reason: "not 1 to 255 printable ASCII characters"})
			}
			body, err := readBody(c, limit)
			if err != nil {
				return err
			}
			c.Request().Body = readCloser{bytes.NewReader(body)}
			p := principalOf(c)
			scoped := p.Actor + "\x00" + key
			h := sha256.New()
			fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00", c.Request().Method, c.Request().URL.Path, c.Request().URL.RawQuery, c.Request().Header.Get(echo.HeaderContentType))
			h.Write(body)
			fp := h.Sum(nil)
			ctx := c.Request().Context()
			now := s.cfg.Clock()
			prev, err := s.idem.Reserve(ctx, scoped, fp, now.Add(s.cfg.IdempotencyLease))
			switch {
			case errors.Is(err, ErrInProgress):
				return &requestError{status: http.StatusConflict, slug: "idempotency-in-progress", title: "Request in progress",
					detail: "a request with this Idempotency-Key is still being handled; retry later"}
			case err != nil:
				return fmt.Errorf("api: idempotency store: %w", err)
			case prev != nil && !bytes.Equal(prev.Fingerprint, fp):
				return &requestError{status: http.StatusUnprocessableEntity, slug: "idempotency-key-reused", title: "Idempotency key reused",
					detail: "this Idempotency-Key was used with another request body or target; use a new key for a new request",
					errors: []FieldError{{Field: HeaderIdempotencyKey, Value: key, Reason: "already used for a different request"}}}
			case prev != nil:
				for _, name := range replayed {
					if v := prev.Header.Get(name); v != "" {
						c.Response().Header().Set(name, v)
					}
				}
				c.Response().Header().Set("Idempotent-Replayed", "true")
				return c.Blob(prev.Status, prev.Header.Get(echo.HeaderContentType), prev.Body)
			}
			rec := &recorder{ResponseWriter: c.Response().Writer}
			c.Response().Writer = rec
			if err := next(c); err != nil {
				c.Error(err)
			}
			status := c.Response().Status
			if status >= 500 || status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusTooManyRequests {
				return s.idem.Release(context.WithoutCancel(ctx), scoped)
			}
			stored := StoredResponse{Fingerprint: fp, Status: status, Header: http.Header{}, Body: rec.body.Bytes()}
			for _, name := range replayed {
				if v := c.Response().Header().Get(name); v != "" {
					stored.Header.Set(name, v)
				}
			}
			if err := s.idem.Complete(context.WithoutCancel(ctx), scoped, stored, now.Add(s.cfg.IdempotencyTTL)); err != nil {
				s.log.ErrorContext(ctx, "idempotency store: cannot keep a response", "error", err)
			}
			return nil
		}
	}
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return s != ""
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// recorder copies what is written to the response.
type recorder struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// noIdempotencyKey refuses an Idempotency-Key on a route whose response
// holds a secret, which must not be stored for replays.
func noIdempotencyKey(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if key := c.Request().Header.Get(HeaderIdempotencyKey); key != "" {
			return badRequest("this route answers with a secret, which is never stored for replays: send it without Idempotency-Key (a retry is refused as a duplicate name)",
				FieldError{Field: HeaderIdempotencyKey, Value: key, Reason: "not supported on this route"})
		}
		return next(c)
	}
}
