package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/concord-planning/concord/projections"
)

// embeddedBus is the --bus value of the in-process bus.
const embeddedBus = "memory://"

// natsURL validates a --bus value and returns the NATS server URLs it
// names, "" for the embedded bus.
func natsURL(raw string) (string, error) {
	switch {
	case raw == embeddedBus:
		return "", nil
	case strings.HasPrefix(raw, "nats://") || strings.HasPrefix(raw, "tls://"):
		return raw, nil
	}
	return "", fmt.Errorf("--bus %q: want %s (in process) or nats://HOST:PORT[,nats://HOST:PORT…] (NATS JetStream)", redact(raw), embeddedBus)
}

// natsBus is the bus of distributed mode: Watermill on NATS JetStream, with
// the JetStream API for what Watermill does not cover (the idempotency
// bucket, the outbound topic's last message), and the replication of what
// Concord creates.
type natsBus struct {
	*projections.Bus
	replicas int
}

// openNATS connects to the NATS servers at url.
func openNATS(url string, logger *slog.Logger, opts projections.NATSOptions) (*natsBus, error) {
	bus, err := projections.NewNATSBus(url, logger, opts)
	if err != nil {
		return nil, fmt.Errorf("--bus %s: %w", redact(url), err)
	}
	return &natsBus{Bus: bus, replicas: max(opts.Replicas, 1)}, nil
}
