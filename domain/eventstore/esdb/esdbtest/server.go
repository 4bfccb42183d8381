package esdbtest

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// Version is the server version the test server reports. Its minor version
// is one that sends caught-up messages to subscriptions, as this server does.
const Version = "24.10.0"

// Option configures a Server.
type Option func(*config)

type config struct {
	now func() time.Time
}

// WithClock sets the clock that stamps each append's created time (default
// time.Now). Tests pass a fixed clock so recorded times are deterministic.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.now = now }
}

// Server is a running (or stopped) test server. Its methods are safe for
// concurrent use, except that Restart reports failure through the test it
// was started for and so belongs on the test goroutine.
type Server struct {
	tb   testing.TB
	log  *eventLog
	addr string

	mu      sync.Mutex
	grpc    *grpc.Server
	served  chan struct{} // closed when the current Serve call returns
	stopped bool
}

// Start runs a server on a free loopback port for the duration of the test;
// it is stopped at cleanup.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("esdbtest: listen: %v", err)
	}
	s := newServer(lis.Addr().String(), opts)
	s.tb = tb
	s.serve(lis)
	tb.Cleanup(s.Stop)
	return s
}

// Serve runs a server on addr (host:port) until ctx ends, for test binaries
// that run the server as a separate process.
func Serve(ctx context.Context, addr string, opts ...Option) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("esdbtest: listen on %s: %w", addr, err)
	}
	s := newServer(lis.Addr().String(), opts)
	s.serve(lis)
	<-ctx.Done()
	s.Stop()
	return nil
}

func newServer(addr string, opts []Option) *Server {
	c := config{now: time.Now}
	for _, o := range opts {
		o(&c)
	}
	return &Server{log: newEventLog(c.now), addr: addr}
}

// ConnString returns a connection string for the server: single node, TLS
// off. Callers may append further settings with "&".
func (s *Server) ConnString() string {
	return "esdb://" + s.addr + "?tls=false"
}

// Addr returns the host:port the server listens on, across restarts.
func (s *Server) Addr() string { return s.addr }

func (s *Server) serve(lis net.Listener) {
	g := grpc.NewServer(
		// The client pings every 10 s by default, also without streams;
		// grpc's default policy would answer that with GOAWAY.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: time.Millisecond, PermitWithoutStream: true}),
		grpc.MaxRecvMsgSize(17<<20),
	)
	streams.RegisterStreamsServer(g, &streamsService{log: s.log})
	serverfeatures.RegisterServerFeaturesServer(g, featuresService{})
	served := make(chan struct{})
	s.mu.Lock()
	s.grpc, s.served, s.stopped = g, served, false
	s.mu.Unlock()
	go func() {
		defer close(served)
		_ = g.Serve(lis) // returns when stopped; nothing to report
	}()
}

// Stop kills the server: the listener closes and every connection drops at
// once, as when the process dies. The data is kept for Restart. Stopping a
// stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	g, served, stopped := s.grpc, s.served, s.stopped
	s.stopped = true
	s.mu.Unlock()
	if stopped || g == nil {
		return
	}
	g.Stop()
	<-served
}

// Restart stops the server if it runs and starts it again on the same
// address with the same data. It fails the test if the address cannot be
// bound again.
func (s *Server) Restart() {
	if s.tb != nil {
		s.tb.Helper()
	}
	s.Stop()
	lis, err := listenAgain(s.addr)
	if err != nil {
		if s.tb != nil {
			s.tb.Fatalf("esdbtest: restart: %v", err)
		}
		panic(err) // only reachable without a test, which has no Restart caller
	}
	s.serve(lis)
}

// listenAgain binds addr again. Go sets SO_REUSEADDR on listeners, so the
// connections just killed do not hold the port; a few attempts cover the
// rare case where the kernel has not released it yet.
func listenAgain(addr string) (net.Listener, error) {
	var err error
	for range 50 {
		var lis net.Listener
		if lis, err = net.Listen("tcp", addr); err == nil {
			return lis, nil
		}
		time.Sleep(10 * time.Millisecond) // waiting on the kernel, not on a test condition
	}
	return nil, fmt.Errorf("listen on %s again: %w", addr, err)
}

// Events returns the number of events stored, system events included.
func (s *Server) Events() int {
	all, _ := s.log.snapshot()
	return len(all)
}
