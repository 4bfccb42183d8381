// End-to-end tests of the domain aggregates through eventstore.Repository,
// over a minimal in-memory Store that lives only in this file (the real
// adapters have their own contract suite).
package domain_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/scenario"
)

// memStore keeps every event in one slice, in global order.
type memStore struct {
	mu  sync.Mutex
	log []eventstore.RecordedEvent
}

var _ eventstore.Store = (*memStore)(nil)

var errNoSubscriptions = errors.New("memStore: no subscriptions")

func (s *memStore) version(stream string) uint64 {
	var v uint64
	for _, e := range s.log {
		if e.Stream == stream {
			v = e.Version
		}
	}
	return v
}

func (s *memStore) Append(_ context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if err := eventstore.Validate(stream, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// An idempotent retry: the first event's ID is stored in this stream.
	if i := slices.IndexFunc(s.log, func(e eventstore.RecordedEvent) bool { return e.ID == events[0].ID }); i >= 0 {
		last := s.log[i+len(events)-1]
		return eventstore.AppendResult{Version: last.Version, Position: last.Position}, nil
	}
	v := s.version(stream)
	if !eventstore.Satisfied(expected, v) {
		return eventstore.AppendResult{}, &eventstore.ConflictError{Stream: stream, Expected: expected, Actual: v}
	}
	for _, e := range events {
		v++
		pos := uint64(len(s.log) + 1)
		s.log = append(s.log, eventstore.RecordedEvent{ID: e.ID, Type: e.Type, SchemaVersion: e.SchemaVersion, Stream: stream, Version: v,
			Position: eventstore.Position{Commit: pos, Prepare: pos}, RecordedAt: time.Unix(0, 0).UTC(), Metadata: e.Metadata, Data: e.Data})
	}
	last := s.log[len(s.log)-1]
	return eventstore.AppendResult{Version: last.Version, Position: last.Position}, nil
}

func (s *memStore) ReadStream(_ context.Context, stream string, from uint64, limit int) ([]eventstore.RecordedEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []eventstore.RecordedEvent
	for _, e := range s.log {
		if e.Stream == stream && e.Version >= from && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (s *memStore) ReadAll(_ context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []eventstore.RecordedEvent
	for _, e := range s.log {
		if after.Before(e.Position) && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (s *memStore) SubscribeAll(context.Context, eventstore.Position) (eventstore.Subscription, error) {
	return nil, errNoSubscriptions
}

// types returns the type names of stream's stored events.
func (s *memStore) types(t *testing.T, stream string) []string {
	t.Helper()
	evs, err := s.ReadStream(context.Background(), stream, 1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func registry() *eventstore.Registry {
	r := eventstore.NewRegistry()
	dimension.RegisterEvents(r)
	plan.RegisterEvents(r)
	ledger.RegisterEvents(r)
	commit.RegisterEvents(r)
	forecast.RegisterEvents(r)
	scenario.RegisterEvents(r)
	return r
}

func as(actor string) eventstore.Command {
	return eventstore.Command{Metadata: eventstore.Metadata{Actor: actor}}
}

// must returns a function that fails t when an Update fails:
// must(t)(repo.Update(...)).
func must(t *testing.T) func(eventstore.AppendResult, error) {
	return func(_ eventstore.AppendResult, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestDimensionRepository(t *testing.T) {
	ctx := context.Background()
	store := &memStore{}
	repo := eventstore.NewRepository[*dimension.Dimension](store, registry(), dimension.New)
	stream := dimension.Stream("region")

	must(t)(repo.Update(ctx, stream, eventstore.NoStream, as("admin"), func(d *dimension.Dimension) error {
		return errors.Join(d.Define("region", "Region", "world", "World"), d.Add("emea", "EMEA", "world"), d.Add("de", "Germany", "emea"))
	}))
	must(t)(repo.Update(ctx, stream, eventstore.Exact(3), as("admin"), func(d *dimension.Dimension) error {
		return errors.Join(d.Add("fr", "France", "emea"), d.Rename("de", "Deutschland"))
	}))
	// A writer that saw version 3 is refused.
	_, err := repo.Update(ctx, stream, eventstore.Exact(3), as("admin"), func(d *dimension.Dimension) error { return d.Retire("fr") })
	if !errors.Is(err, eventstore.ErrConflict) {
		t.Errorf("Update at a stale version: error %v, want ErrConflict", err)
	}
	// A refused command appends nothing.
	_, err = repo.Update(ctx, stream, eventstore.Any, as("admin"), func(d *dimension.Dimension) error { return d.Retire("emea") })
	if !errors.Is(err, dimension.ErrActiveChildren) {
		t.Errorf("Retire(emea) error %v, want ErrActiveChildren", err)
	}

	d, version, err := repo.Load(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	if version != 5 || !slices.Equal(d.Leaves("world"), []string{"de", "fr"}) {
		t.Errorf("Load = version %d, leaves %v; want 5, [de fr]", version, d.Leaves("world"))
	}
	if m, _ := d.Member("de"); m.Name != "Deutschland" {
		t.Errorf("Member(de).Name = %q", m.Name)
	}
}

func TestPlanRepository(t *testing.T) {
	ctx := context.Background()
	store := &memStore{}
	repo := eventstore.NewRepository[*plan.Plan](store, registry(), plan.New)
	stream := plan.Stream("fy27")
	cal := fiscal.MustCalendar(time.April)
	fy27 := cal.FiscalYear(2027)
	emea, amer := dimension.MustParseNode("region=emea"), dimension.MustParseNode("region=amer")
	d := decimal.MustParse

	must(t)(repo.Update(ctx, stream, eventstore.NoStream, as("cfo"), func(p *plan.Plan) error {
		return errors.Join(
			p.Open(plan.Opened{ID: "fy27", Name: "FY27", Currency: "EUR", Metrics: []plan.Metric{{ID: "revenue", Name: "Revenue", NonNegative: true}},
				FiscalYearStart: time.April, Dimensions: []string{"region"}, HorizonStart: fiscal.NewPeriod(2026, time.April)}),
			p.SetTarget(emea, "revenue", fy27, d("600"), "budget", "cfo"),
			p.SetTarget(amer, "revenue", fy27, d("400"), "budget", "cfo"),
			p.TagVersion("Budget FY27", "cfo"),
		)
	}))
	must(t)(repo.Update(ctx, stream, eventstore.Any, as("vp-sales"), func(p *plan.Plan) error {
		return p.ProposeReallocation("r1", "revenue", fy27, []plan.Move{{Node: emea, Delta: d("-25.50")}, {Node: amer, Delta: d("25.50")}}, "pipeline", "vp-sales")
	}))
	// The board approves what it saw: the tagged budget, still current in numbers.
	must(t)(repo.Update(ctx, stream, eventstore.Any, as("board"), func(p *plan.Plan) error {
		return p.ApproveVersion(4, "Budget FY27", "board", "approved in the March meeting")
	}))
	must(t)(repo.Update(ctx, stream, eventstore.Any, as("cfo"), func(p *plan.Plan) error { return p.ApproveReallocation("r1", "cfo", "") }))
	_, err := repo.Update(ctx, stream, eventstore.Any, as("board"), func(p *plan.Plan) error { return p.ApproveVersion(6, "", "board", "") })
	if !errors.Is(err, plan.ErrStale) {
		t.Errorf("ApproveVersion after the reallocation: error %v, want ErrStale", err)
	}

	want := []string{plan.TypeOpened, plan.TypeTargetSet, plan.TypeTargetSet, plan.TypeVersionTagged, plan.TypeReallocationProposed,
		plan.TypeVersionApproved, plan.TypeReallocationApproved, plan.TypeTargetRevised, plan.TypeTargetRevised}
	if got := store.types(t, stream); !slices.Equal(got, want) {
		t.Errorf("stored %v\nwant %v", got, want)
	}
	p, version, err := repo.Load(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	tg, _ := p.Target(amer, "revenue", fy27)
	if version != p.Version() || !tg.Amount.Equal(d("425.50")) {
		t.Errorf("Load: version %d (plan counts %d), AMER target %v; want equal versions and 425.50", version, p.Version(), tg.Amount)
	}
}

func TestLedgerRepository(t *testing.T) {
	ctx := context.Background()
	store := &memStore{}
	mar := fiscal.NewPeriod(2027, time.March)
	repo := eventstore.NewRepository[*ledger.Ledger](store, registry(), func() *ledger.Ledger { return ledger.New(mar) })
	stream := ledger.Stream(mar)
	de, fr := dimension.MustParseNode("region=de"), dimension.MustParseNode("region=fr")
	rows := []ledger.Row{
		{Line: 2, Cell: de, Metric: "revenue", Period: mar, Amount: decimal.MustParse("100.10")},
		{Line: 3, Cell: fr, Metric: "revenue", Period: mar, Amount: decimal.MustParse("200.20")},
	}
	record := func(l *ledger.Ledger) error { return l.Record("erp-2027-03-31", rows, "erp") }

	must(t)(repo.Update(ctx, stream, eventstore.Any, as("erp"), record))
	res, err := repo.Update(ctx, stream, eventstore.Any, as("erp"), record) // the import sent again
	if err != nil || res.Version != 2 {
		t.Errorf("repeated import: version %d, error %v; want 2, nil", res.Version, err)
	}
	must(t)(repo.Update(ctx, stream, eventstore.Any, as("controller"), func(l *ledger.Ledger) error { return l.Close("controller", 0, "") }))
	must(t)(repo.Update(ctx, stream, eventstore.Any, as("controller"), func(l *ledger.Ledger) error {
		return l.Restate(fr, "revenue", decimal.MustParse("190"), "credit note 4711", "controller")
	}))
	l, version, err := repo.Load(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := l.Actual(fr, "revenue")
	if version != 4 || !l.Closed() || !a.Equal(decimal.MustParse("190")) {
		t.Errorf("Load: version %d, closed %v, fr %v; want 4, true, 190", version, l.Closed(), a)
	}
}

func TestCommitRepository(t *testing.T) {
	ctx := context.Background()
	store := &memStore{}
	repo := eventstore.NewRepository[*commit.Book](store, registry(), commit.New)
	stream := commit.Stream("fy27")
	s := commit.Submitted{ID: "c1", Plan: "fy27", Node: dimension.MustParseNode("region=emea"), Metric: "revenue",
		Span: fiscal.MustCalendar(time.April).FiscalQuarter(2027, 4), Amount: decimal.MustParse("250000"),
		Confidence: commit.ConfidenceCommit, Comment: "two deals signed", By: "vp-emea"}

	must(t)(repo.Update(ctx, stream, eventstore.Any, as("vp-emea"), func(b *commit.Book) error { return b.Submit(s) }))
	s.ID, s.Amount = "c2", decimal.MustParse("240000")
	must(t)(repo.Update(ctx, stream, eventstore.Any, as("vp-emea"), func(b *commit.Book) error { return b.Submit(s) }))
	_, err := repo.Update(ctx, stream, eventstore.Any, as("vp-emea"), func(b *commit.Book) error { return b.Withdraw("c1", "vp-emea", "x") })
	if !errors.Is(err, commit.ErrNotCurrent) {
		t.Errorf("Withdraw(c1) after c2: error %v, want ErrNotCurrent", err)
	}
	b, _, err := repo.Load(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	if cur, ok := b.Current(s.Node, s.Metric, s.Span, commit.ConfidenceCommit); !ok || cur.ID != "c2" {
		t.Errorf("Current = %q, %v, want c2", cur.ID, ok)
	}
}

func TestForecastRepository(t *testing.T) {
	ctx := context.Background()
	store := &memStore{}
	repo := eventstore.NewRepository[*forecast.Run](store, registry(), forecast.New)
	mar := fiscal.NewPeriod(2027, time.March)
	runID := "fy27-revenue-2027-03"
	stream := forecast.Stream(runID)
	request := func(r *forecast.Run) error { return r.Request(runID, "fy27", "revenue", "period 2027-03 closed", mar) }

	must(t)(repo.Update(ctx, stream, eventstore.NoStream, as("scheduler"), request))
	// The same trigger, delivered twice, cannot request the run again.
	if _, err := repo.Update(ctx, stream, eventstore.NoStream, as("scheduler"), request); !errors.Is(err, eventstore.ErrConflict) {
		t.Errorf("second request: error %v, want ErrConflict", err)
	}
	must(t)(repo.Update(ctx, stream, eventstore.Exact(1), as("forecaster"), func(r *forecast.Run) error {
		return r.Publish(forecast.Published{RunID: runID, Plan: "fy27", Metric: "revenue", DataPosition: "42", Seed: 7,
			Model: []byte(`{"model":"ets"}`),
			Series: []forecast.Series{{Node: dimension.MustParseNode("region=de"), First: mar.Add(1),
				Mean: []float64{10, 11}, Lo80: []float64{9, 9.5}, Hi80: []float64{11, 12.5}, Lo95: []float64{8.5, 8.8}, Hi95: []float64{11.5, 13.2}}}})
	}))
	r, version, err := repo.Load(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := r.Published()
	if version != 3 || !ok || p.Seed != 7 || p.Series[0].Hi95[1] != 13.2 { // request, part, seal
		t.Errorf("Load: version %d, published %+v, %v", version, p, ok)
	}
}
