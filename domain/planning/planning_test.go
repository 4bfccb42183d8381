package planning_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/planning"
)

var (
	planner = planning.Call{By: planning.Principal{Actor: "alice", Role: access.RolePlanner}}
	viewer  = planning.Call{By: planning.Principal{Actor: "vera", Role: access.RoleViewer}}
)

type fixture struct {
	store *sqlite.Store
	svc   *planning.Service
}

func setup(t *testing.T, opts ...planning.Option) fixture {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "e.db"), sqlite.Options{Synchronous: "NORMAL",
		Clock: func() time.Time { return time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	svc := planning.New(store, planning.NewRegistry(), append([]planning.Option{planning.WithClock(func() time.Time { return time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC) })}, opts...)...)
	steps := []func() (planning.Result, error){
		func() (planning.Result, error) {
			return svc.DefineDimension(ctx, planner, planning.DefineDimension{ID: "region", Name: "Region", RootID: "world", RootName: "World"})
		},
		func() (planning.Result, error) {
			return svc.AddMember(ctx, planner, planning.AddMember{Dimension: "region", ID: "emea", Name: "EMEA", Parent: "world"})
		},
		func() (planning.Result, error) {
			return svc.AddMember(ctx, planner, planning.AddMember{Dimension: "region", ID: "amer", Name: "Americas", Parent: "world"})
		},
	}
	for _, id := range []string{"p1", "p2"} {
		steps = append(steps, func() (planning.Result, error) {
			return svc.OpenPlan(ctx, planner, planning.OpenPlan{ID: id, Name: id, Currency: "EUR", FiscalYearStart: 1, Dimensions: []string{"region"},
				HorizonStart: "2027-01", HorizonMonths: 12, Metrics: []plan.Metric{{ID: "revenue", Name: "Revenue", NonNegative: true}}})
		})
	}
	for _, s := range steps {
		if _, err := s(); err != nil {
			t.Fatal(err)
		}
	}
	return fixture{store: store, svc: svc}
}

func (f fixture) head(t *testing.T) eventstore.Position {
	t.Helper()
	p, err := f.store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestChangeTargetsAllOrNothing: a batch with one bad row appends nothing
// and reports every bad row; a good batch appends in one go, each row
// seeing the rows before it.
func TestChangeTargetsAllOrNothing(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	before := f.head(t)
	_, err := f.svc.ChangeTargets(ctx, planner, "p1", []planning.TargetChange{
		{Op: planning.OpSet, Node: "region=emea", Metric: "revenue", Span: "FY2027", Amount: "10", Reason: "r"},
		{Op: planning.OpSet, Node: "region=mars", Metric: "revenue", Span: "FY2027", Amount: "10", Reason: "r"},
		{Op: planning.OpRevise, Node: "region=amer", Metric: "revenue", Span: "FY2027", Amount: "10", Reason: "r"},
	})
	var ve *planning.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 2 || ve.Problems[0].Row != 2 || ve.Problems[1].Row != 3 || !errors.Is(err, plan.ErrNoTarget) {
		t.Fatalf("ChangeTargets = %v, want problems in rows 2 and 3", err)
	}
	if f.head(t) != before {
		t.Fatalf("a refused batch appended events")
	}
	res, err := f.svc.ChangeTargets(ctx, planner, "p1", []planning.TargetChange{
		{Op: planning.OpSet, Node: "region=emea", Metric: "revenue", Span: "FY2027", Amount: "10", Reason: "r"},
		{Op: planning.OpRevise, Node: "region=emea", Metric: "revenue", Span: "FY2027", Amount: "12", Reason: "r"},
	})
	if err != nil || res.Version != 3 || res.Position.Commit != before.Commit+2 {
		t.Fatalf("ChangeTargets = %+v, %v; want version 3 at position %d", res, err, before.Commit+2)
	}
	if _, err := f.svc.ChangeTargets(ctx, viewer, "p1", nil); !errors.Is(err, planning.ErrForbidden) {
		t.Errorf("a viewer's batch = %v, want ErrForbidden", err)
	}
	if _, err := f.svc.ChangeTarget(ctx, planning.Call{}, "p1", planning.TargetChange{}); !errors.Is(err, planning.ErrUnauthenticated) {
		t.Errorf("an anonymous change = %v, want ErrUnauthenticated", err)
	}
}

// TestRecordActualsSplitsByPeriod: rows go to their periods' ledgers; the
// import id makes a retry record nothing.
func TestRecordActualsSplitsByPeriod(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	in := planning.RecordActuals{Plan: "p1", ImportID: "erp-7", Rows: []planning.ActualRow{
		{Cell: "region=emea", Metric: "revenue", Period: "2027-02", Amount: "1.10"},
		{Cell: "region=amer", Metric: "revenue", Period: "2027-01", Amount: "2"},
		{Cell: "region=emea", Metric: "revenue", Period: "2027-01", Amount: "3"},
	}}
	res, err := f.svc.RecordActuals(ctx, planner, in)
	if err != nil || res.Recorded != 3 || len(res.Periods) != 2 || res.Periods[0].Stream != "ledger-2027-01" || res.Periods[0].Version != 2 || res.AlreadyImported {
		t.Fatalf("RecordActuals = %+v, %v", res, err)
	}
	head := f.head(t)
	again, err := f.svc.RecordActuals(ctx, planner, in)
	if err != nil || !again.AlreadyImported || again.Recorded != 0 || f.head(t) != head {
		t.Errorf("retry = %+v, %v; want already imported, nothing recorded", again, err)
	}
	// A closed period refuses the whole import before any period is written.
	if _, err := f.svc.ClosePeriod(ctx, planner, planning.ClosePeriod{Period: "2027-01", AllowMissing: true, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	head = f.head(t)
	_, err = f.svc.RecordActuals(ctx, planner, planning.RecordActuals{Plan: "p1", ImportID: "erp-8", Rows: []planning.ActualRow{
		{Cell: "region=amer", Metric: "revenue", Period: "2027-03", Amount: "1"},
		{Cell: "region=amer", Metric: "revenue", Period: "2027-01", Amount: "1"},
	}})
	if !errors.Is(err, ledger.ErrClosed) || f.head(t) != head {
		t.Errorf("import into a closed period = %v (log %v → %v), want ledger.ErrClosed and nothing recorded", err, head, f.head(t))
	}
}

// TestClosePeriodRollsEveryHorizon: closing a period rolls every plan's
// horizon past it and calls the hook; closing it again repairs nothing
// and reports ledger.ErrClosed.
func TestClosePeriodRollsEveryHorizon(t *testing.T) {
	var hooked []fiscal.Period
	f := setup(t, planning.OnPeriodClosed(func(_ context.Context, p fiscal.Period, res planning.CloseResult) {
		hooked = append(hooked, p)
	}))
	ctx := context.Background()
	res, err := f.svc.ClosePeriod(ctx, planner, planning.ClosePeriod{Period: "2027-01", AllowMissing: true, Reason: "no sales yet"})
	if err != nil || len(res.Plans) != 2 || res.Ledger.Stream != "ledger-2027-01" || res.Position != f.head(t) {
		t.Fatalf("ClosePeriod = %+v, %v", res, err)
	}
	for _, id := range []string{"p1", "p2"} {
		p, _, err := f.svc.Plan(ctx, viewer.By, id)
		if err != nil || p.Horizon().First != mustPeriod("2027-02") {
			t.Errorf("plan %s horizon = %v, %v; want from 2027-02", id, p.Horizon(), err)
		}
	}
	if len(hooked) != 1 || hooked[0] != mustPeriod("2027-01") {
		t.Errorf("hook saw %v", hooked)
	}
	head := f.head(t)
	if _, err := f.svc.ClosePeriod(ctx, planner, planning.ClosePeriod{Period: "2027-01"}); !errors.Is(err, ledger.ErrClosed) || f.head(t) != head {
		t.Errorf("closing again = %v, want ledger.ErrClosed and nothing recorded", err)
	}
}

func mustPeriod(s string) fiscal.Period {
	p, err := fiscal.ParsePeriod(s)
	if err != nil {
		panic(err)
	}
	return p
}

// TestPublishForecastInParts publishes a run of more than a megabyte,
// which no single event could hold: it is stored in parts and a seal, and
// the run loaded back is the one published.
func TestPublishForecastInParts(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	in := planning.PublishForecast{RunID: "big", Metric: "revenue", DataPosition: "1", Seed: 3, Model: json.RawMessage(`{"method":"test"}`)}
	for i := range 6 {
		id := fmt.Sprintf("r%d", i)
		if _, err := f.svc.AddMember(ctx, planner, planning.AddMember{Dimension: "region", ID: id, Name: id, Parent: "world"}); err != nil {
			t.Fatal(err)
		}
		in.Series = append(in.Series, planning.Series{Node: "region=" + id, First: "2027-04", Mean: []float64{1, 2}, Lo80: []float64{0, 1},
			Hi80: []float64{2, 3}, Lo95: []float64{0, 0}, Hi95: []float64{3, 4},
			Detail: json.RawMessage(`{"notes":"` + strings.Repeat(strconv.Itoa(i), forecast.PartSize-400) + `"}`)})
	}
	res, err := f.svc.PublishForecast(ctx, planner, "p1", in)
	if err != nil {
		t.Fatal(err)
	}
	events, err := f.store.ReadStream(ctx, forecast.Stream("big"), 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, e := range events {
		total += len(e.Data)
	}
	if len(events) != 7 || events[6].Type != forecast.TypeSealed || res.Version != 7 || total <= eventstore.MaxEventSize {
		t.Fatalf("the run's stream holds %d events (%d bytes), the last %s; result version %d; want 6 parts and a seal, over %d bytes",
			len(events), total, events[len(events)-1].Type, res.Version, eventstore.MaxEventSize)
	}
	runs := eventstore.NewRepository(f.store, planning.NewRegistry(), forecast.New)
	run, _, err := runs.Load(ctx, forecast.Stream("big"))
	if err != nil {
		t.Fatal(err)
	}
	p, ok := run.Published()
	if !ok || len(p.Series) != 6 || p.Series[5].Node.String() != "region=r5" || string(p.Series[5].Detail) != string(in.Series[5].Detail) {
		t.Errorf("the loaded run: published %v with %d series", ok, len(p.Series))
	}
	if _, err := f.svc.PublishForecast(ctx, planner, "p1", in); !errors.Is(err, forecast.ErrAlreadyPublished) {
		t.Errorf("publishing the run again: %v, want ErrAlreadyPublished", err)
	}
}
