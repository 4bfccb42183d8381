package sqlite

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/google/uuid"
)

// The tampering fixture: three streams appended in this order, one append
// per event, an hour apart, so that the newest event of plan-a (position 8)
// is not the newest of the log (position 10, ledger-c version 3).
var tamperOrder = []string{"plan-a", "plan-b", "plan-a", "ledger-c", "plan-b", "plan-a", "ledger-c", "plan-a", "plan-b", "ledger-c"}

var tamperStart = time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)

// tamperFixture writes the fixture to a new file and returns its path, its
// log as read back, and a checkpoint of it signed with key. A consumer
// checkpoint records that a projection handled the whole log.
func tamperFixture(t *testing.T, key ed25519.PrivateKey) (string, []eventstore.RecordedEvent, eventstore.Checkpoint) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "original.db")
	n := 0
	s, err := Open(ctx, path, Options{Clock: func() time.Time { n++; return tamperStart.Add(time.Duration(n) * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	versions := map[string]uint64{}
	for i, stream := range tamperOrder {
		e := eventstore.EventData{ID: uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "tamper-%d", i)), Type: "plan.TargetSet", SchemaVersion: 1,
			Data: fmt.Appendf(nil, `{"amount":"%d.00"}`, 100+i), Metadata: eventstore.Metadata{Actor: "ann", CorrelationID: fmt.Sprintf("req-%d", i)}}
		if _, err := s.Append(ctx, stream, eventstore.Exact(versions[stream]), e); err != nil {
			t.Fatal(err)
		}
		versions[stream]++
	}
	if err := s.SaveCheckpoint(ctx, "rolling", pos(int64(len(tamperOrder)))); err != nil {
		t.Fatal(err)
	}
	rep, err := eventstore.Verify(ctx, s, eventstore.VerifyOptions{})
	if err != nil || rep.Events != uint64(len(tamperOrder)) {
		t.Fatalf("Verify(fixture) = %+v, %v; want %d events, no break", rep, err, len(tamperOrder))
	}
	log, err := s.ReadAll(ctx, eventstore.Start, 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path, log, eventstore.SignCheckpoint(rep.Digest, tamperStart.Add(24*time.Hour), key)
}

// raw is the tamperer's view of a copied file: its rows, through a plain
// connection that bypasses the store.
type raw struct {
	t *testing.T
	c conn
}

func (r raw) exec(query string, args ...any) {
	r.t.Helper()
	if _, _, err := r.c.exec(query, args...); err != nil {
		r.t.Fatalf("%s: %v", query, err)
	}
}

// event reads and decodes the event at position p.
func (r raw) event(p int64) eventstore.RecordedEvent {
	r.t.Helper()
	var e eventstore.RecordedEvent
	found, err := queryRow(r.c, `SELECT e.version, e.envelope, s.name FROM events e JOIN streams s ON s.id = e.stream_id WHERE e.position = ?`, []any{p},
		func(rw row) {
			e.Version, e.Position, e.Stream = uint64(rw.int64(0)), pos(p), rw.text(2)
			if err := decodeEnvelope(rw.blob(1, nil), &e, nil); err != nil {
				r.t.Fatal(err)
			}
		})
	if err != nil || !found {
		r.t.Fatalf("event at %d: found %v, %v", p, found, err)
	}
	return e
}

// put rewrites the envelope of the event at position p.
func (r raw) put(p int64, e eventstore.RecordedEvent) {
	r.t.Helper()
	r.exec(`UPDATE events SET envelope = ? WHERE position = ?`, appendEnvelope(nil, &e), p)
}

// edit changes the event at position p, leaving its stored hash as it was.
func (r raw) edit(p int64, change func(e *eventstore.RecordedEvent)) {
	r.t.Helper()
	e := r.event(p)
	change(&e)
	r.put(p, e)
}

// rechain recomputes the hash of every event of stream, in version order,
// under each event's rule, and sets the stream's row to its last event:
// what someone who can write the file but holds no key can always do.
func (r raw) rechain(stream string) {
	r.t.Helper()
	var positions []int64
	err := r.c.query(`SELECT e.position FROM events e JOIN streams s ON s.id = e.stream_id WHERE s.name = ? ORDER BY e.version`, []any{stream},
		func(rw row) error { positions = append(positions, rw.int64(0)); return nil })
	if err != nil {
		r.t.Fatal(err)
	}
	var prev []byte
	var version uint64
	for _, p := range positions {
		e := r.event(p)
		e.Hash = eventstore.Chain(prev, e)
		r.put(p, e)
		prev, version = e.Hash, e.Version
	}
	r.exec(`UPDATE streams SET version = ?, hash = ? WHERE name = ?`, version, prev, stream)
}

// insert stores e at position p as the next version of its stream,
// chained, and advances the stream's row.
func (r raw) insert(p int64, e eventstore.EventData, stream string, at time.Time) {
	r.t.Helper()
	var (
		id, version int64
		hash        []byte
	)
	if _, err := queryRow(r.c, `SELECT id, version, hash FROM streams WHERE name = ?`, []any{stream}, func(rw row) {
		id, version, hash = rw.int64(0), rw.int64(1), rw.blob(2, nil)
	}); err != nil {
		r.t.Fatal(err)
	}
	rec := eventstore.Seal(hash, stream, uint64(version), at, e)[0]
	r.exec(`INSERT INTO events (position, stream_id, version, id, envelope) VALUES (?, ?, ?, ?, ?)`, p, id, version+1, e.ID[:], appendEnvelope(nil, &rec))
	r.exec(`UPDATE streams SET version = ?, hash = ? WHERE id = ?`, version+1, rec.Hash, id)
}

// move renumbers the event at position from to position to.
func (r raw) move(from, to int64) {
	r.exec(`UPDATE events SET position = ? WHERE position = ?`, to, from)
}

// TestTampering tampers with copies of a store in every way the issue lists
// and a few more, and checks that each is detected: by the hash chains and
// the store's own record alone (anchor false), or only with a checkpoint
// signed before the tampering (anchor true; the plain Verify of those
// cases passes, which is the limit of a log with no secret outside it).
func TestTampering(t *testing.T) {
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, "concord tampering test key seed!")
	key := ed25519.NewKeyFromSeed(seed)
	original, log, cp := tamperFixture(t, key)
	if err := cp.Check(key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	hashAt := func(p int64) []byte { return log[p-1].Hash }
	forged := eventstore.EventData{ID: uuid.NewSHA1(uuid.NameSpaceOID, []byte("forged")), Type: "plan.TargetSet", SchemaVersion: 1,
		Data: []byte(`{"amount":"1000000.00"}`), Metadata: eventstore.Metadata{Actor: "ann", CorrelationID: "req-3"}}

	tests := []struct {
		name   string
		anchor bool // detected only against the signed checkpoint
		exact  bool // and only when the copy should end at the checkpoint
		tamper func(r raw)
	}{
		{name: "delete the newest event of a stream", tamper: func(r raw) {
			r.exec(`DELETE FROM events WHERE position = 8`)
		}},
		{name: "delete the newest event of a stream, streams.version and hash rolled back", tamper: func(r raw) {
			r.exec(`DELETE FROM events WHERE position = 8`)
			r.exec(`UPDATE streams SET version = 3, hash = ? WHERE name = 'plan-a'`, hashAt(6))
		}},
		{name: "delete the newest event of a stream, rolled back, later positions renumbered to close the gap", anchor: true, tamper: func(r raw) {
			r.exec(`DELETE FROM events WHERE position = 8`)
			r.exec(`UPDATE streams SET version = 3, hash = ? WHERE name = 'plan-a'`, hashAt(6))
			r.move(9, 8)
			r.move(10, 9)
			r.exec(`UPDATE checkpoints SET position = 9`)
		}},
		{name: "delete a middle event of a stream", tamper: func(r raw) {
			r.exec(`DELETE FROM events WHERE position = 3`)
		}},
		{name: "delete a middle event, versions and chain of the stream rewritten", anchor: true, tamper: func(r raw) {
			r.exec(`DELETE FROM events WHERE position = 3`)
			r.exec(`UPDATE events SET version = version - 1 WHERE stream_id = (SELECT id FROM streams WHERE name = 'plan-a') AND version > 2`)
			r.rechain("plan-a")
			for p := int64(4); p <= 10; p++ {
				r.move(p, p-1)
			}
			r.exec(`UPDATE checkpoints SET position = 9`)
		}},
		{name: "edit a payload", tamper: func(r raw) {
			r.edit(6, func(e *eventstore.RecordedEvent) { e.Data = []byte(`{"amount":"999.00"}`) })
		}},
		{name: "edit a payload and recompute the chain of it and every later event", anchor: true, tamper: func(r raw) {
			r.edit(6, func(e *eventstore.RecordedEvent) { e.Data = []byte(`{"amount":"999.00"}`) })
			r.rechain("plan-a")
		}},
		{name: "edit metadata (the actor)", tamper: func(r raw) {
			r.edit(5, func(e *eventstore.RecordedEvent) { e.Metadata.Actor = "bob" })
		}},
		{name: "edit the type", tamper: func(r raw) {
			r.edit(4, func(e *eventstore.RecordedEvent) { e.Type = "plan.TargetCleared" })
		}},
		{name: "change recorded_at", tamper: func(r raw) {
			r.edit(6, func(e *eventstore.RecordedEvent) { e.RecordedAt = e.RecordedAt.Add(-72 * time.Hour) })
		}},
		{name: "change recorded_at and recompute the chain", anchor: true, tamper: func(r raw) {
			r.edit(6, func(e *eventstore.RecordedEvent) { e.RecordedAt = e.RecordedAt.Add(-72 * time.Hour) })
			r.rechain("plan-a")
		}},
		{name: "change recorded_at, move the event back to hash rule 1 and recompute the chain", tamper: func(r raw) {
			r.edit(6, func(e *eventstore.RecordedEvent) {
				e.RecordedAt, e.Rule = e.RecordedAt.Add(-72*time.Hour), eventstore.ChainV1
			})
			r.edit(8, func(e *eventstore.RecordedEvent) { e.Rule = eventstore.ChainV1 })
			r.rechain("plan-a")
		}},
		{name: "append a forged event with a wrong hash", tamper: func(r raw) {
			e := eventstore.Seal(nil, "plan-b", 3, tamperStart.Add(11*time.Hour), forged)[0]
			r.exec(`INSERT INTO events (position, stream_id, version, id, envelope) VALUES (11, (SELECT id FROM streams WHERE name = 'plan-b'), 4, ?, ?)`,
				forged.ID[:], appendEnvelope(nil, &e))
		}},
		{name: "append a forged, correctly chained event (copy taken at the checkpoint)", anchor: true, exact: true, tamper: func(r raw) {
			r.insert(11, forged, "plan-b", tamperStart.Add(11*time.Hour))
		}},
		{name: "insert a forged, correctly chained event before the checkpoint, later positions renumbered", anchor: true, tamper: func(r raw) {
			for p := int64(10); p >= 9; p-- {
				r.move(p, p+1)
			}
			r.exec(`INSERT INTO streams (name, version, hash) VALUES ('plan-z', 0, x'')`)
			r.insert(9, forged, "plan-z", tamperStart.Add(9*time.Hour))
		}},
		{name: "reorder two events of one stream", tamper: func(r raw) {
			r.move(3, 100)
			r.move(6, 3)
			r.move(100, 6)
		}},
		{name: "swap two events of different streams", anchor: true, tamper: func(r raw) {
			r.move(4, 100)
			r.move(5, 4)
			r.move(100, 5)
		}},
		{name: "truncate the log", tamper: func(r raw) {
			r.exec(`DELETE FROM events WHERE position > 7`)
		}},
		{name: "truncate the log, streams rolled back, consumer checkpoints left", tamper: func(r raw) {
			r.exec(`DELETE FROM events WHERE position = 10`)
			r.exec(`UPDATE streams SET version = 2, hash = ? WHERE name = 'ledger-c'`, hashAt(7))
		}},
		{name: "truncate the log, streams and consumer checkpoints rolled back", anchor: true, tamper: func(r raw) {
			r.exec(`DELETE FROM events WHERE position = 10`)
			r.exec(`UPDATE streams SET version = 2, hash = ? WHERE name = 'ledger-c'`, hashAt(7))
			r.exec(`UPDATE checkpoints SET position = 9`)
		}},
		{name: "edit the streams table only: version", tamper: func(r raw) {
			r.exec(`UPDATE streams SET version = 5 WHERE name = 'plan-b'`)
		}},
		{name: "edit the streams table only: hash", tamper: func(r raw) {
			r.exec(`UPDATE streams SET hash = zeroblob(32) WHERE name = 'plan-b'`)
		}},
		{name: "rename a stream", tamper: func(r raw) {
			r.exec(`UPDATE streams SET name = 'plan-z' WHERE name = 'plan-b'`)
		}},
	}
	orig, err := os.ReadFile(original)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "copy.db")
			if err := os.WriteFile(path, orig, 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := openPure(path, false, "FULL")
			if err != nil {
				t.Fatal(err)
			}
			tt.tamper(raw{t: t, c: c})
			if err := c.close(); err != nil {
				t.Fatal(err)
			}
			s, err := Open(ctx, path, Options{Existing: true})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()

			_, plain := eventstore.Verify(ctx, s, eventstore.VerifyOptions{})
			if tt.anchor && plain != nil {
				t.Errorf("Verify without checkpoint = %v; this case was expected to need the checkpoint (update the table)", plain)
			}
			if !tt.anchor && !errors.Is(plain, eventstore.ErrChainBroken) {
				t.Errorf("Verify without checkpoint = %v, want a break (ErrChainBroken)", plain)
			}
			rep, anchored := eventstore.Verify(ctx, s, eventstore.VerifyOptions{Checkpoint: &cp, Exact: tt.exact})
			if !errors.Is(anchored, eventstore.ErrChainBroken) {
				t.Errorf("Verify with the checkpoint = %+v, %v; want a break", rep, anchored)
			}
			if tt.anchor && !errors.As(anchored, new(*eventstore.CheckpointError)) {
				t.Errorf("Verify with the checkpoint = %v, want a *CheckpointError", anchored)
			}
			t.Logf("detected: %v", anchored)
		})
	}

	t.Run("untouched copy", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "copy.db")
		if err := os.WriteFile(path, orig, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(ctx, path, Options{Existing: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		rep, err := eventstore.Verify(ctx, s, eventstore.VerifyOptions{Checkpoint: &cp, Exact: true})
		if err != nil || !rep.Anchored || !rep.Ledger || rep.Beyond != 0 || rep.Events != 10 {
			t.Errorf("Verify(untouched) = %+v, %v; want 10 events anchored, the record compared, no break", rep, err)
		}
	})
}
