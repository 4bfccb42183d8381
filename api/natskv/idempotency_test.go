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
