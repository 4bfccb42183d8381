package natskv_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/concord-planning/concord/api"
	"github.com/concord-planning/concord/api/idempotencytest"
	"github.com/concord-planning/concord/api/natskv"
	"github.com/concord-planning/concord/projections/natstest"
)

func startJetStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	_, js := natstest.Connect(t, natstest.Start(t))
	return js
}

func TestIdempotencyContract(t *testing.T) {
	js := startJetStream(t)
	n := 0
	idempotencytest.Run(t, func(t *testing.T, now func() time.Time) api.Idempotency {
		n++
		s, err := natskv.Open(context.Background(), js, natskv.Options{Bucket: fmt.Sprint("idem_", n), MaxAge: 48 * time.Hour, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestOneClaimWins: replicas racing to claim one key — exactly one gets
// it, the others see it in progress.
func TestOneClaimWins(t *testing.T) {
	js := startJetStream(t)
	ctx := context.Background()
	const replicas = 8
	var wg sync.WaitGroup
	results := make([]error, replicas)
	for i := range replicas {
		s, err := natskv.Open(ctx, js, natskv.Options{MaxAge: 48 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var got *api.StoredResponse
			got, results[i] = s.Reserve(ctx, "token:ops|key-1", []byte("fp"), time.Now().Add(time.Minute))
			if got != nil {
				results[i] = errors.New("a stored response for a key never completed")
			}
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range results {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, api.ErrInProgress):
			t.Errorf("replica %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d replicas claimed the key, want exactly 1", won)
	}
}

// TestLostConnectionIsUnavailable: a key-value operation that cannot reach
// the servers fails with api.ErrUnavailable (503, retry), not as an
// internal error.
func TestLostConnectionIsUnavailable(t *testing.T) {
	nc, js := natstest.Connect(t, natstest.Start(t))
	ctx := context.Background()
	s, err := natskv.Open(ctx, js, natskv.Options{MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	until := time.Now().Add(time.Minute)
	for name, err := range map[string]error{
		"Reserve":  second(s.Reserve(ctx, "token:ops|k", []byte("fp"), until)),
		"Complete": s.Complete(ctx, "token:ops|k", api.StoredResponse{Fingerprint: []byte("fp"), Status: 200}, until),
		"Release":  s.Release(ctx, "token:ops|k"),
	} {
		if !errors.Is(err, api.ErrUnavailable) {
			t.Errorf("%s on a closed connection = %v, want an error wrapping api.ErrUnavailable", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }
