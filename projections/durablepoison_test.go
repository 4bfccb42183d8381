package projections_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/projections"
)

func TestDurablePoisonStoreSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "concord.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ps := projections.NewDurablePoisonStore(st)
	for _, id := range []string{"m-1", "m-2", "m-3"} {
		msg := message.NewMessage(id, []byte(`{"id":"`+id+`"}`))
		msg.Metadata.Set(projections.MetaType, "ledger.PeriodClosed")
		if err := ps.Put(ctx, "reforecast", msg, "boom "+id); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	st, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ps = projections.NewDurablePoisonStore(st)
	list, err := ps.List(ctx, "reforecast")
	if err != nil || len(list) != 3 {
		t.Fatalf("List after reopen = %d messages, %v; want 3", len(list), err)
	}
	if list[1].Message.UUID != "m-2" || list[1].Reason != "boom m-2" || list[1].Message.Metadata.Get(projections.MetaType) != "ledger.PeriodClosed" ||
		string(list[1].Message.Payload) != `{"id":"m-2"}` {
		t.Errorf("second poisoned message = %+v, want m-2 with its reason, metadata and payload", list[1])
	}
	// Replay: the handler accepts m-1 and m-3, refuses m-2, which stays.
	err = ps.Replay(ctx, "reforecast", func(_ context.Context, p projections.Poisoned) error {
		if p.Message.UUID == "m-2" {
			return errors.New("still broken")
		}
		return nil
	})
	if err == nil {
		t.Error("Replay with a refused message returned nil")
	}
	list, _ = ps.List(ctx, "reforecast")
	if len(list) != 1 || list[0].Message.UUID != "m-2" {
		t.Errorf("after replay %d messages left, want only m-2", len(list))
	}
	if other, _ := ps.List(ctx, "outbound"); len(other) != 0 {
		t.Errorf("another consumer sees %d poisoned messages, want 0", len(other))
	}
}
