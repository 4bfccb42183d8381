package main

import (
	"context"
	"fmt"
	"log/slog"
)

// openESDB opens an EventStoreDB store. The adapter lands with the
// distributed work; until then the scheme is recognised and refused clearly.
func openESDB(_ context.Context, raw string, _ *slog.Logger) (*openedStore, error) {
	return nil, fmt.Errorf("--store %s: this build has no EventStoreDB adapter yet", redact(raw))
}
