package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

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

// natsBus is a connection to NATS JetStream: the Watermill bus, and the
// JetStream API for what Watermill does not cover (the outbound topic's
// last message).
type natsBus struct {
	*projections.Bus
	conn *nats.Conn
	js   jetstream.JetStream
}

// openNATS connects to the NATS servers at url.
func openNATS(url string, logger *slog.Logger, opts projections.NATSOptions) (*natsBus, error) {
	bus, err := projections.NewNATSBus(url, logger, opts)
	if err != nil {
		return nil, fmt.Errorf("--bus %s: %w", redact(url), err)
	}
	conn, err := nats.Connect(url, append([]nats.Option{nats.Name("concord"), nats.MaxReconnects(-1)}, opts.Connect...)...)
	if err != nil {
		bus.Close()
		return nil, fmt.Errorf("--bus %s: %w", redact(url), err)
	}
	js, err := jetstream.New(conn)
	if err != nil {
		conn.Close()
		bus.Close()
		return nil, fmt.Errorf("--bus %s: JetStream: %w", redact(url), err)
	}
	return &natsBus{Bus: bus, conn: conn, js: js}, nil
}

// Close closes the bus and the connection.
func (b *natsBus) Close() error {
	err := b.Bus.Close()
	b.conn.Close()
	return err
}
