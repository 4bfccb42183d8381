// Command mkbefore wrote testdata/before-zombiezen.db with the store as it
// was at commit f682ba6 (through database/sql), for TestOpensFileWrittenBefore.
// Run it from a checkout of that commit (copied under cmd/):
//
//	go run ./cmd/mkbefore before-zombiezen.db
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/google/uuid"
)

func main() {
	ctx := context.Background()
	clock := time.Date(2027, 3, 31, 12, 0, 0, 0, time.UTC)
	s, err := sqlite.Open(ctx, os.Args[1], sqlite.Options{Clock: func() time.Time { clock = clock.Add(time.Second); return clock }})
	if err != nil {
		panic(err)
	}
	for i := range 3 {
		var evs []eventstore.EventData
		for j := range 4 {
			evs = append(evs, eventstore.EventData{
				ID:   uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprintf("fixture-%d-%d", i, j))),
				Type: "ledger.ActualRecorded", SchemaVersion: 1,
				Data:     []byte(fmt.Sprintf(`{"cell":"bu=%d","amount":"%d.50"}`, i, j)),
				Metadata: eventstore.Metadata{Actor: "importer", CorrelationID: fmt.Sprintf("req-%d", i), CausationID: "cmd-1"},
			})
		}
		if _, err := s.Append(ctx, fmt.Sprintf("ledger-%d", i), eventstore.NoStream, evs...); err != nil {
			panic(err)
		}
	}
	if _, err := s.Append(ctx, "ledger-0", eventstore.Exact(4), eventstore.EventData{ID: uuid.NewSHA1(uuid.NameSpaceOID, []byte("fixture-last")), Type: "ledger.Closed", SchemaVersion: 2, Data: []byte(`{}`)}); err != nil {
		panic(err)
	}
	if err := s.SaveCheckpoint(ctx, "plan", eventstore.Position{Commit: 7, Prepare: 7}); err != nil {
		panic(err)
	}
	if err := s.Close(); err != nil {
		panic(err)
	}
}
