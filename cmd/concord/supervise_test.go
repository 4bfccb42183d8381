package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/concord-planning/concord/projections"
)

// TestSupervisorRestartsFailedWork: work that fails, or returns before its
// context ends, is started again, and err names why it is down until then;
// run returns nil once the context ends.
func TestSupervisorRestartsFailedWork(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail error // what the first call returns
		want string
	}{
		{"failed", errors.New("subscribe: nats: timeout"), "relay: subscribe: nats: timeout; restarting"},
		{"stopped", nil, "relay: stopped on its own; restarting"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A backoff long enough that the test sees the work down; the
			// restart is then released by the test itself.
			s := &supervisor{name: "relay", backoff: projections.Backoff{Initial: time.Hour, Max: time.Hour}}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			calls := make(chan int, 2)
			done := make(chan error, 1)
			n := 0
			go func() {
				done <- s.run(ctx, func(ctx context.Context) error {
					n++
					calls <- n
					if n == 1 {
						return tc.fail
					}
					<-ctx.Done()
					return ctx.Err()
				})
			}()
			<-calls
			waitFor(t, "the supervisor reporting the work down", func() bool { return s.err() != nil })
			if got := s.err().Error(); !strings.Contains(got, tc.want) {
				t.Errorf("err() = %q, want it to say %q", got, tc.want)
			}
			select {
			case <-calls:
				t.Fatal("the work was restarted before its backoff ended")
			default:
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run after its context ended = %v, want nil", err)
			}
		})
	}

	t.Run("restarted", func(t *testing.T) {
		s := &supervisor{name: "relay", backoff: projections.Backoff{Initial: time.Millisecond, Max: time.Millisecond}}
		ctx, cancel := context.WithCancel(context.Background())
		calls := make(chan int, 4)
		done := make(chan error, 1)
		n := 0
		go func() {
			done <- s.run(ctx, func(ctx context.Context) error {
				n++
				calls <- n
				if n <= 2 {
					return errors.New("no leader")
				}
				<-ctx.Done()
				return nil
			})
		}()
		for want := 1; want <= 3; want++ {
			select {
			case got := <-calls:
				if got != want {
					t.Fatalf("call %d, want %d", got, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("the work was not started a %d. time within 10s", want)
			}
		}
		// The third run is under way: up again.
		waitFor(t, "the supervisor reporting the work up", func() bool { return s.err() == nil })
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run = %v, want nil", err)
		}
	})
}

// waitFor polls cond until it holds, failing the test after 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestStalled: a stop-on-failure consumer is stalled from stallDeliveries
// failed deliveries in a row, and the error names it and its last error;
// poison-on-failure consumers and fewer failures are not.
func TestStalled(t *testing.T) {
	relay := projections.Health{Name: "outbound", Policy: projections.StopOnFailure, Failures: stallDeliveries, LastError: "nats: timeout"}
	for _, tc := range []struct {
		name string
		hs   []projections.Health
		want []string // what the error says; none: nil
	}{
		{"healthy", []projections.Health{{Name: "outbound", Policy: projections.StopOnFailure, Healthy: true}}, nil},
		{"retrying", []projections.Health{{Name: "outbound", Policy: projections.StopOnFailure, Failures: stallDeliveries - 1}}, nil},
		{"poison", []projections.Health{{Name: "reforecast-worker", Policy: projections.PoisonOnFailure, Failures: 10}}, nil},
		{"stalled", []projections.Health{{Name: "reforecast-decider", Policy: projections.StopOnFailure}, relay},
			[]string{"outbound stalled", "3 deliveries failed", "nats: timeout"}},
	} {
		err := stalled(tc.hs)
		if len(tc.want) == 0 {
			if err != nil {
				t.Errorf("%s: stalled = %v, want nil", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: stalled = nil, want an error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: stalled = %q, want it to say %q", tc.name, err, w)
			}
		}
	}
}
