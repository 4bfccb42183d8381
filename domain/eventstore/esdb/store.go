package esdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/concord-planning/concord/domain/eventstore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var _ eventstore.Store = (*Store)(nil)

// ErrForeignEvent is returned when a read meets a non-system event that this
// adapter did not write: its user metadata lacks the schema version and hash.
var ErrForeignEvent = errors.New("esdb: event not written by Concord")

// Store is an eventstore.Store on EventStoreDB. Create it with New.
type Store struct {
	conf   esdb.Configuration // parsed once; each client gets a copy
	logger *slog.Logger
	clock  func() time.Time // stamps appended events' recorded times

	mu     sync.Mutex
	cur    *clientRef // nil until needed, and after the current client closed itself
	closed bool
	subs   map[*subscription]struct{}
	subsWG sync.WaitGroup
}

// clientRef counts the calls using one client, so that a retired client is
// closed only when no call is inside it (closing the client while a call of
// it reports a failure would make that call send on a closed channel).
//
// dead is closed when the client is retired: calls still waiting on it are
// abandoned, because the library can block a call forever once its
// connection state machine has given up (getConnectionHandle sends on a
// channel nobody reads any more). Such a call's goroutine is leaked, and
// its client is then never closed: closing would make that send panic.
type clientRef struct {
	client  *esdb.Client
	users   int
	retired bool
	dead    chan struct{}
}

// New connects to the EventStoreDB named by connString (for example
// "esdb://localhost:2113?tls=false") and checks that a node answers. The
// client's own log lines go to logger at one level below the client's
// (its errors as warnings); a nil logger discards them.
func New(ctx context.Context, connString string, logger *slog.Logger, opts ...Option) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	conf, err := esdb.ParseConnectionString(connString)
	if err != nil {
		return nil, fmt.Errorf("esdb: connection string: %w", err)
	}
	client := logger.With("component", "esdb-client")
	conf.Logger = func(level esdb.LogLevel, format string, args ...any) {
		l := slog.LevelDebug
		switch level {
		case esdb.LogWarn:
			l = slog.LevelInfo
		case esdb.LogError:
			l = slog.LevelWarn
		}
		client.Log(context.Background(), l, fmt.Sprintf(format, args...))
	}
	s := &Store{conf: *conf, logger: logger, clock: time.Now, subs: map[*subscription]struct{}{}}
	for _, o := range opts {
		o(s)
	}
	if _, err := call(ctx, s, func(_ context.Context, c *esdb.Client) (*esdb.ServerVersion, error) {
		return c.GetServerVersion()
	}); err != nil {
		s.Close()
		return nil, fmt.Errorf("esdb: connect: %w", err)
	}
	return s, nil
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock that stamps appended events' recorded times
// (default time.Now); see the package comment.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.clock = now } }

// Close ends every subscription (waiting for them), then closes the client
// once the calls in progress return. Later calls return eventstore.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for sub := range s.subs {
		sub.cancel()
	}
	s.mu.Unlock()
	s.subsWG.Wait()
	s.mu.Lock()
	ref := s.cur
	s.mu.Unlock()
	if ref != nil {
		s.retire(ref)
	}
	return nil
}

// acquire returns the current client, building one if there is none, and
// counts the caller as a user until release.
func (s *Store) acquire() (*clientRef, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, eventstore.ErrClosed
	}
	if s.cur == nil {
		conf := s.conf
		c, err := esdb.NewClient(&conf)
		if err != nil {
			return nil, fmt.Errorf("esdb: new client: %w", err)
		}
		s.cur = &clientRef{client: c, dead: make(chan struct{})}
	}
	s.cur.users++
	return s.cur, nil
}

func (s *Store) release(ref *clientRef) {
	s.mu.Lock()
	ref.users--
	closeNow := ref.retired && ref.users == 0
	s.mu.Unlock()
	if closeNow {
		ref.client.Close()
	}
}

// retire takes ref out of service: the next acquire builds a new client, and
// ref's client is closed when its last user releases it.
func (s *Store) retire(ref *clientRef) {
	s.mu.Lock()
	if s.cur == ref {
		s.cur = nil
	}
	already := ref.retired
	ref.retired = true
	closeNow := !already && ref.users == 0
	if !already {
		close(ref.dead)
	}
	s.mu.Unlock()
	if closeNow {
		ref.client.Close()
	}
}

// call runs fn with a client on its own goroutine and returns its result, or
// ctx's error as soon as ctx ends. When the client has closed itself, call
// retires it and runs fn once more on a new client.
func call[T any](ctx context.Context, s *Store, fn func(context.Context, *esdb.Client) (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	var zero T
	for attempt := 0; ; attempt++ {
		ref, err := s.acquire()
		if err != nil {
			return zero, err
		}
		done := make(chan result, 1)
		go func() {
			defer s.release(ref)
			v, err := fn(ctx, ref.client)
			if clientClosed(err) || unavailable(err) {
				s.retire(ref)
			}
			done <- result{v, err}
		}()
		var r result
		select {
		case r = <-done:
		case <-ctx.Done():
			return zero, ctx.Err()
		case <-ref.dead:
			select {
			case r = <-done: // finished as its client was retired: keep the result
			default:
				r.err = errReplaced
			}
		}
		// Repeating the call is safe: a call refused by a closed client never
		// reached a server, and an abandoned one is either a read or an
		// append, which repeats idempotently.
		if (clientClosed(r.err) || errors.Is(r.err, errReplaced)) && attempt == 0 && ctx.Err() == nil {
			s.logger.Info("esdb: client replaced; repeating the call on a new one", "err", r.err)
			continue
		}
		return r.v, r.err
	}
}

// errReplaced is returned by a call abandoned because its client was
// replaced while the call was waiting on it.
var errReplaced = errors.New("esdb: client replaced during the call")

// clientClosed reports whether err comes from a client that no longer
// serves calls: it closed itself after failing to reach a node.
func clientClosed(err error) bool {
	var e *esdb.Error
	return errors.As(err, &e) && e.Code() == esdb.ErrorCodeConnectionClosed
}

// unavailable reports whether err says the node could not be reached. The
// Store then replaces the client: the library reconnects after such errors
// only on some paths (a failed append), and otherwise leaves the gRPC
// connection to its own backoff, which grows to minutes; a new client
// connects at once.
func unavailable(err error) bool {
	return errorCode(err) == esdb.ErrorUnavailable || status.Code(err) == codes.Unavailable
}

// errorCode returns the client's error code of err, or -1.
func errorCode(err error) esdb.ErrorCode {
	var e *esdb.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return -1
}
