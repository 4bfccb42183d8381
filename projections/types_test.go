package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/projections"
)

// TestConsumerTypes: a consumer with Types is given only those events; the
// others, of a type the registry cannot even decode, are passed over as
// handled (a stop-on-failure consumer that decoded event 1 would never
// reach event 12).
func TestConsumerTypes(t *testing.T) {
	e := &env{store: newMemStore(), checkpoints: projections.NewMemoryCheckpoints(), poison: projections.NewMemoryPoisonStore()}
	var want []uint64
	for k := 1; k <= 12; k++ {
		typ := "test.Other" // not registered: decoding it fails
		if k%3 == 0 {
			typ, want = "test.Happened", append(want, uint64(k))
		}
		data, _ := json.Marshal(happened{N: k})
		ev := eventstore.EventData{ID: uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint(k))), Type: typ, SchemaVersion: 1, Data: data}
		if _, err := e.store.Append(context.Background(), "s", eventstore.Any, ev); err != nil {
			t.Fatal(err)
		}
	}
	reg := eventstore.NewRegistry()
	eventstore.Register[happened](reg, "test.Happened")
	r, err := projections.NewRouter(projections.RouterConfig{Registry: reg, Retry: fastRetry()})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	if err := r.AddConsumer(projections.Consumer{Name: "c", Source: newFeed(e), Policy: projections.StopOnFailure, Handler: rec,
		Types: []string{"test.Happened"}}); err != nil {
		t.Fatal(err)
	}
	run(t, r)
	rec.waitLen(t, len(want))
	if got := rec.snapshot(); !slices.Equal(got, want) {
		t.Fatalf("applied %v, want %v (the test.Happened events only)", got, want)
	}
}
