package esdbtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

var fixed = time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)

func client(t *testing.T, conn string) *esdb.Client {
	t.Helper()
	conf, err := esdb.ParseConnectionString(conn)
	if err != nil {
		t.Fatal(err)
	}
	conf.Logger = esdb.NoopLogging()
	c, err := esdb.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ev(typ string) esdb.EventData {
	return esdb.EventData{EventID: uuid.New(), EventType: typ, ContentType: esdb.ContentTypeJson, Data: []byte(`{}`), Metadata: []byte(`{"m":1}`)}
}

func read(rs *esdb.ReadStream, err error) ([]*esdb.RecordedEvent, error) {
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []*esdb.RecordedEvent
	for {
		e, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, e.OriginalEvent())
	}
}

func revisions(evs []*esdb.RecordedEvent) []uint64 {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.EventNumber
	}
	return out
}

func TestFeaturesAndClock(t *testing.T) {
	srv := Start(t, WithClock(func() time.Time { return fixed }))
	c := client(t, srv.ConnString())
	v, err := c.GetServerVersion()
	if err != nil || fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) != Version {
		t.Errorf("GetServerVersion() = %+v, %v; want %s", v, err, Version)
	}
	e := ev("t.Clocked")
	if _, err := c.AppendToStream(context.Background(), "clock", esdb.AppendToStreamOptions{}, e); err != nil {
		t.Fatal(err)
	}
	got, err := read(c.ReadStream(context.Background(), "clock", esdb.ReadStreamOptions{}, 10))
	if err != nil || len(got) != 1 {
		t.Fatalf("ReadStream = %v, %v", got, err)
	}
	r := got[0]
	if !r.CreatedDate.Equal(fixed) || r.EventID != e.EventID || r.EventType != "t.Clocked" || r.ContentType != "application/json" ||
		string(r.UserMetadata) != `{"m":1}` || r.StreamID != "clock" {
		t.Errorf("stored event = %+v, want %+v created at %v", r, e, fixed)
	}
}

// TestWrongExpectedVersion checks the refusal on the wire, with the client's
// generated stubs, and through the client's error mapping.
func TestWrongExpectedVersion(t *testing.T) {
	srv := Start(t)
	c := client(t, srv.ConnString())
	ctx := context.Background()
	if _, err := c.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, ev("a"), ev("b")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		exp  esdb.ExpectedRevision
		want string
	}{
		{esdb.NoStream{}, "expecting 'no_stream' but got '1'"},
		{esdb.Revision(0), "expecting '0' but got '1'"},
		{esdb.Revision(5), "expecting '5' but got '1'"},
	}
	for _, cs := range cases {
		_, err := c.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{ExpectedRevision: cs.exp}, ev("c"))
		var e *esdb.Error
		if !errors.As(err, &e) || e.Code() != esdb.ErrorCodeWrongExpectedVersion || e.Err() == nil || !strings.Contains(e.Err().Error(), cs.want) {
			t.Errorf("append at %#v: error %v, want wrong expected version %q", cs.exp, err, cs.want)
		}
	}
	if _, err := c.AppendToStream(ctx, "none", esdb.AppendToStreamOptions{ExpectedRevision: esdb.StreamExists{}}, ev("c")); err == nil ||
		!strings.Contains(err.Error(), "expecting 'stream_exists' but got 'no_stream'") {
		t.Errorf("append to a missing stream expecting it to exist: error %v", err)
	}

	conn, err := grpc.NewClient(srv.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	app, err := api.NewStreamsClient(conn).Append(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Send(&api.AppendReq{Content: &api.AppendReq_Options_{Options: &api.AppendReq_Options{
		StreamIdentifier:       &shared.StreamIdentifier{StreamName: []byte("s")},
		ExpectedStreamRevision: &api.AppendReq_Options_Revision{Revision: 0},
	}}}); err != nil {
		t.Fatal(err)
	}
	resp, err := app.CloseAndRecv()
	if err != nil {
		t.Fatal(err)
	}
	w := resp.GetWrongExpectedVersion()
	if w == nil || w.GetCurrentRevision() != 1 || w.GetExpectedRevision() != 0 || w.GetCurrentRevision_20_6_0() != 1 || w.GetExpectedRevision_20_6_0() != 0 {
		t.Errorf("wire refusal = %v, want current 1 and expected 0 in both field sets", resp)
	}
}

func TestIdempotentAppend(t *testing.T) {
	srv := Start(t)
	c := client(t, srv.ConnString())
	ctx := context.Background()
	evs := []esdb.EventData{ev("a"), ev("b"), ev("c")}
	first, err := c.AppendToStream(ctx, "i", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, evs...)
	if err != nil || first.NextExpectedVersion != 2 || first.CommitPosition == 0 {
		t.Fatalf("first append = %+v, %v", first, err)
	}
	for _, exp := range []esdb.ExpectedRevision{esdb.NoStream{}, esdb.Any{}, esdb.StreamExists{}} {
		again, err := c.AppendToStream(ctx, "i", esdb.AppendToStreamOptions{ExpectedRevision: exp}, evs...)
		if err != nil || again.NextExpectedVersion != 2 || again.CommitPosition != 0 {
			t.Errorf("retry with %#v = %+v, %v; want revision 2 and no position", exp, again, err)
		}
	}
	if _, err := c.AppendToStream(ctx, "i", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Revision(0)}, evs[1:]...); err != nil {
		t.Errorf("retry of the tail at revision 0: %v", err)
	}
	if _, err := c.AppendToStream(ctx, "i", esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}}, evs[0], ev("d")); err == nil {
		t.Errorf("append with Any of a stored ID followed by a new one: no error, want wrong expected version")
	}
	got, _ := read(c.ReadStream(ctx, "i", esdb.ReadStreamOptions{}, 100))
	if len(got) != 3 || srv.Events() != 4 { // 3 and the $settings event
		t.Errorf("stream holds %d events, server %d; want 3 and 4", len(got), srv.Events())
	}
}

func TestReads(t *testing.T) {
	srv := Start(t)
	c := client(t, srv.ConnString())
	ctx := context.Background()
	for range 5 {
		if _, err := c.AppendToStream(ctx, "r", esdb.AppendToStreamOptions{}, ev("r.E")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.AppendToStream(ctx, "other", esdb.AppendToStreamOptions{}, ev("o.E"), ev("o.E")); err != nil {
		t.Fatal(err)
	}
	streamCases := []struct {
		opts  esdb.ReadStreamOptions
		count uint64
		want  []uint64
	}{
		{esdb.ReadStreamOptions{}, 100, []uint64{0, 1, 2, 3, 4}},
		{esdb.ReadStreamOptions{From: esdb.Revision(3)}, 100, []uint64{3, 4}},
		{esdb.ReadStreamOptions{From: esdb.Revision(1)}, 2, []uint64{1, 2}},
		{esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 2, []uint64{4, 3}},
		{esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.Revision(1)}, 5, []uint64{1, 0}},
		{esdb.ReadStreamOptions{From: esdb.End{}}, 5, nil},
	}
	for _, cs := range streamCases {
		got, err := read(c.ReadStream(ctx, "r", cs.opts, cs.count))
		if err != nil || fmt.Sprint(revisions(got)) != fmt.Sprint(cs.want) {
			t.Errorf("ReadStream(%+v, %d) = %v, %v; want %v", cs.opts, cs.count, revisions(got), err, cs.want)
		}
	}
	if _, err := read(c.ReadStream(ctx, "missing", esdb.ReadStreamOptions{}, 5)); err == nil {
		t.Errorf("ReadStream(missing): no error, want stream not found")
	} else if e := (*esdb.Error)(nil); !errors.As(err, &e) || e.Code() != esdb.ErrorCodeResourceNotFound {
		t.Errorf("ReadStream(missing): error %v, want ErrorCodeResourceNotFound", err)
	}

	all, err := read(c.ReadAll(ctx, esdb.ReadAllOptions{}, 100))
	if err != nil || len(all) != 8 || all[0].StreamID != "$settings" {
		t.Fatalf("ReadAll = %d events (first %v), %v; want 8 starting with $settings", len(all), all[0].StreamID, err)
	}
	for i := 1; i < len(all); i++ {
		p, q := all[i-1].Position, all[i].Position
		if !(p.Commit < q.Commit || (p.Commit == q.Commit && p.Prepare < q.Prepare)) {
			t.Fatalf("$all positions not increasing: %v then %v", p, q)
		}
	}
	if all[6].Position.Commit != all[7].Position.Commit || all[6].Position.Prepare == all[7].Position.Prepare {
		t.Errorf("events of one append at %v and %v: want one commit position, two prepare positions", all[6].Position, all[7].Position)
	}
	from, err := read(c.ReadAll(ctx, esdb.ReadAllOptions{From: all[3].Position}, 2))
	if err != nil || len(from) != 2 || from[0].EventID != all[3].EventID {
		t.Errorf("ReadAll(from %v, 2) starts at %v, %v; want inclusive", all[3].Position, from, err)
	}
	back, err := read(c.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: all[3].Position}, 10))
	if err != nil || len(back) != 3 || back[0].EventID != all[2].EventID {
		t.Errorf("ReadAll(backwards from %v) = %d events, %v; want 3, exclusive", all[3].Position, len(back), err)
	}
}

func TestSubscriptionFilterCheckpointsAndLive(t *testing.T) {
	srv := Start(t)
	c := client(t, srv.ConnString())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range 6 {
		stream := "keep"
		if i%2 == 1 {
			stream = "drop"
		}
		if _, err := c.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{}, ev("t.E")); err != nil {
			t.Fatal(err)
		}
	}
	sub, err := c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{
		From:            esdb.Start{},
		Filter:          &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{"ke"}},
		MaxSearchWindow: 2, CheckpointInterval: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var kinds []string
	var events []*esdb.RecordedEvent
	for len(events) < 4 {
		m := sub.Recv()
		switch {
		case m.SubscriptionDropped != nil:
			t.Fatalf("dropped: %v", m.SubscriptionDropped.Error)
		case m.EventAppeared != nil:
			kinds = append(kinds, "event")
			events = append(events, m.EventAppeared.OriginalEvent())
			if len(events) == 3 {
				if _, err := c.AppendToStream(ctx, "keep", esdb.AppendToStreamOptions{}, ev("t.Live")); err != nil {
					t.Fatal(err)
				}
			}
		case m.CheckPointReached != nil:
			kinds = append(kinds, "checkpoint")
		case m.CaughtUp != nil:
			kinds = append(kinds, "caught-up")
		}
	}
	// $settings, keep, drop, keep, drop, keep, drop searched before live: a
	// checkpoint after every second one.
	want := "[event checkpoint event checkpoint event checkpoint caught-up event]"
	if fmt.Sprint(kinds) != want {
		t.Errorf("subscription messages %v, want %s", kinds, want)
	}
	for _, e := range events {
		if e.StreamID != "keep" {
			t.Errorf("filtered subscription delivered an event of %q", e.StreamID)
		}
	}
	if events[3].EventType != "t.Live" {
		t.Errorf("live event = %s, want t.Live", events[3].EventType)
	}
}

func TestStopAndRestartKeepData(t *testing.T) {
	srv := Start(t)
	c := client(t, srv.ConnString()+"&maxDiscoverAttempts=50&discoveryInterval=10")
	ctx := context.Background()
	if _, err := c.AppendToStream(ctx, "k", esdb.AppendToStreamOptions{}, ev("k.E")); err != nil {
		t.Fatal(err)
	}
	sub, err := c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: esdb.End{}})
	if err != nil {
		t.Fatal(err)
	}
	if m := sub.Recv(); m.CaughtUp == nil {
		t.Fatalf("first subscription message %+v, want caught-up", m)
	}
	srv.Stop()
	if m := sub.Recv(); m.SubscriptionDropped == nil {
		t.Fatalf("subscription message %+v after Stop, want a drop", m)
	}
	if _, err := net.DialTimeout("tcp", srv.Addr(), time.Second); err == nil {
		t.Fatalf("server still accepts connections after Stop")
	}
	srv.Restart()
	got, err := read(c.ReadStream(ctx, "k", esdb.ReadStreamOptions{}, 10))
	for deadline := time.Now().Add(20 * time.Second); err != nil; { // the client reconnects after failed calls
		if time.Now().After(deadline) {
			t.Fatalf("ReadStream after restart: %v", err)
		}
		got, err = read(c.ReadStream(ctx, "k", esdb.ReadStreamOptions{}, 10))
	}
	if len(got) != 1 {
		t.Errorf("after restart the stream holds %d events, want 1", len(got))
	}
}

func TestServe(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, addr) }()
	c := client(t, "esdb://"+addr+"?tls=false&maxDiscoverAttempts=100&discoveryInterval=10")
	if _, err := c.AppendToStream(context.Background(), "served", esdb.AppendToStreamOptions{}, ev("s.E")); err != nil {
		t.Errorf("append to Serve's server: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve returned %v after its context ended, want nil", err)
	}
}
