// Package natstest runs a NATS server with JetStream inside a test, for the
// packages whose code talks to NATS (the bus, the outbound relay, the
// API's shared idempotency store, the multi-process test).
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// readyLimit bounds the wait for the server to accept connections.
const readyLimit = 20 * time.Second

// Start runs a server with JetStream on a free loopback port, its store in
// a temporary directory, until the test ends; it returns the client URL.
func Start(tb testing.TB) string {
	tb.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: tb.TempDir(), NoSigs: true})
	if err != nil {
		tb.Fatal(err)
	}
	srv.Start()
	tb.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(readyLimit) {
		tb.Fatalf("natstest: server not ready after %v", readyLimit)
	}
	return srv.ClientURL()
}

// Connect connects to url, with opts, for the rest of the test and returns
// the connection and its JetStream API.
func Connect(tb testing.TB, url string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream) {
	tb.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	return nc, js
}
