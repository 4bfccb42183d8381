package main

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/projections"
	"github.com/concord-planning/concord/projections/outbound"
)

// TestNATSRelayPublishesWhenAnEarlierLeaderReturns: two relays race on a
// 3-node cluster, so the topic's stream refuses a message of every event
// (Nats-Expected-Last-Sequence) and counts it failed; its leadership moves
// to another node and back. nats-server 2.9 then proposes each new message
// at a sequence it has already used, and drops it without an answer, until
// it has made as many proposals as the stream failed meanwhile: one
// timed-out publish each. The relay must publish the next event in one
// delivery all the same, and the topic hold every event once, in order.
func TestNATSRelayPublishesWhenAnEarlierLeaderReturns(t *testing.T) {
	if testing.Short() {
		t.Skip("a real NATS cluster: not in -short")
	}
	nc := startNATSCluster(t, 3)
	bus, err := projections.NewNATSBus(nc.url(), nil, projections.NATSOptions{Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	last := outbound.NewLastPublished(bus.JetStream, outbound.Topic)
	a, b := outbound.Handler(bus.Publisher, last), outbound.Handler(bus.Publisher, last)
	var n uint64
	// race publishes rounds new events through a and then b: b, behind,
	// is refused once for each and skips it.
	race := func(rounds int) {
		t.Helper()
		for range rounds {
			n++
			rec := eventstore.RecordedEvent{ID: uuid.Must(uuid.NewV7()), Type: "ledger.ActualRecorded", SchemaVersion: 1,
				Stream: "ledger-" + strconv.FormatUint(n, 10), Version: 1, Position: eventstore.Position{Commit: n, Prepare: n},
				RecordedAt: time.Date(2026, 1, 1, 0, 0, int(n), 0, time.UTC), Data: []byte(`{}`)}
			for _, relay := range []projections.Handler{a, b} {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				start := time.Now()
				err := relay.Handle(ctx, rec, nil)
				cancel()
				if err != nil {
					t.Fatalf("event %d: %v", n, err)
				}
				if d := time.Since(start); d > 4*time.Second {
					t.Logf("event %d took %v", n, d)
				}
			}
		}
	}
	ctx := context.Background()
	race(1)
	stream, err := bus.JetStream.Stream(ctx, outbound.Topic)
	if err != nil {
		t.Fatal(err)
	}
	leader := func() string {
		t.Helper()
		var l string
		until(t, "a leader of "+outbound.Topic, func(ctx context.Context) error {
			info, err := stream.Info(ctx)
			if err != nil {
				return err
			}
			if info.Cluster == nil || info.Cluster.Leader == "" {
				return fmt.Errorf("no leader")
			}
			l = info.Cluster.Leader
			return nil
		})
		return l
	}
	stepDown := func(until func(string) bool) {
		t.Helper()
		for range 30 {
			l := leader()
			if until(l) {
				return
			}
			if _, err := bus.JetStream.Conn().Request("$JS.API.STREAM.LEADER.STEPDOWN."+outbound.Topic, nil, 5*time.Second); err != nil {
				t.Logf("step down %s: %v", l, err)
			}
			for leader() == l {
				time.Sleep(50 * time.Millisecond)
			}
		}
		t.Fatal("the leadership of the topic's stream did not move as asked in 30 step-downs")
	}
	first := leader()
	race(10)
	stepDown(func(l string) bool { return l != first })
	race(5)
	stepDown(func(l string) bool { return l == first })
	t.Logf("leader %s again after 16 events published, 15 refused", first)
	race(3)

	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		got = append(got, m.Header.Get(projections.MetaPosition))
	}
	var want []string
	for i := uint64(1); i <= n; i++ {
		want = append(want, eventstore.Position{Commit: i, Prepare: i}.String())
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("topic holds positions %v, want %v", got, want)
	}
}
