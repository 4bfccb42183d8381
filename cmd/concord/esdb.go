package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/concord-planning/concord/domain/eventstore/esdb"
)

// openESDB opens the EventStoreDB (KurrentDB) store named by a connection
// string such as esdb://node1:2113,node2:2113,node3:2113?tls=true.
func openESDB(ctx context.Context, raw string, logger *slog.Logger) (*openedStore, error) {
	s, err := esdb.New(ctx, raw, logger)
	if err != nil {
		return nil, fmt.Errorf("--store %s: %w", redact(raw), err)
	}
	logger.Debug("event store opened", "kind", "esdb", "store", redact(raw))
	return &openedStore{Store: s, close: func() error { s.Close(); return nil }}, nil
}
