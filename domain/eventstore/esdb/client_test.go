package esdb

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/esdb/esdbtest"
	"github.com/google/uuid"
)

// TestClientRecreatedAfterItClosedItself keeps the server down until the
// client gives up and closes itself, then brings it back: the store must
// build a new client and serve calls again, on the same Store value.
func TestClientRecreatedAfterItClosedItself(t *testing.T) {
	srv := esdbtest.Start(t)
	ctx := context.Background()
	s, err := New(ctx, srv.ConnString()+"&maxDiscoverAttempts=2&discoveryInterval=10&gossipTimeout=2", LoggerForTest(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := eventstore.EventData{ID: uuid.New(), Type: "t.Happened", SchemaVersion: 1, Data: []byte(`{}`)}
	if _, err := s.Append(ctx, "recreate", eventstore.NoStream, e); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	old := s.cur
	s.mu.Unlock()

	srv.Stop()
	// Drive the old client, past the store, until it gives up on the node
	// and closes itself: its first failed subscribe asks for a reconnect,
	// the next runs discovery, which fails, and from then on the library
	// refuses every call as closed.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := old.client.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{})
		if clientClosed(err) {
			break
		}
		if err == nil {
			t.Fatalf("SubscribeToAll with the server down: no error")
		}
		if time.Now().After(deadline) {
			t.Fatalf("the client did not close itself within 20s with the server down: %v", err)
		}
	}
	if retired(s, old) {
		t.Fatalf("the store retired the client before using it")
	}

	srv.Restart()
	var got []eventstore.RecordedEvent
	for {
		got, err = s.ReadStream(ctx, "recreate", 1, 10)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ReadStream after restart: %v", err)
		}
	}
	if len(got) != 1 || got[0].ID != e.ID {
		t.Fatalf("after re-creation ReadStream = %v, want the event appended before", got)
	}
	s.mu.Lock()
	cur := s.cur
	s.mu.Unlock()
	if cur == nil || cur == old || !retired(s, old) {
		t.Errorf("store still uses the client that closed itself")
	}
}

func retired(s *Store, ref *clientRef) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ref.retired
}

func TestActualVersionFromClientError(t *testing.T) {
	cases := []struct {
		msg    string
		want   uint64
		wantOK bool
	}{
		{"wrong expected version: expecting '3' but got '7'", 8, true},
		{"wrong expected version: expecting 'no_stream' but got '0'", 1, true},
		{"wrong expected version: expecting '2' but got 'no_stream'", 0, true},
		{"wrong expected version", 0, false},
		{"wrong expected version: expecting '2' but got 'x'", 0, false},
	}
	for _, c := range cases {
		got, ok := actualVersion(errors.New(c.msg))
		if got != c.want || ok != c.wantOK {
			t.Errorf("actualVersion(%q) = %d, %v; want %d, %v", c.msg, got, ok, c.want, c.wantOK)
		}
	}
}

// TestConflictCarriesServerRevision checks the mapping against the client's
// real error, produced by a refusal from the test server.
func TestConflictCarriesServerRevision(t *testing.T) {
	srv := esdbtest.Start(t)
	conf, err := esdb.ParseConnectionString(srv.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	conf.Logger = esdb.NoopLogging()
	c, err := esdb.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for i := range 3 {
		if _, err := c.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{}, esdb.EventData{EventID: uuid.New(), EventType: fmt.Sprint("t", i)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(0)}, esdb.EventData{EventID: uuid.New(), EventType: "late"})
	if errorCode(err) != esdb.ErrorCodeWrongExpectedVersion {
		t.Fatalf("append at a stale revision: error %v, want ErrorCodeWrongExpectedVersion", err)
	}
	if v, ok := actualVersion(err); !ok || v != 3 {
		t.Errorf("actualVersion(%v) = %d, %v; want 3, true", err, v, ok)
	}
}
