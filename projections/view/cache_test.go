package view

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/projections/company"
)

// TestAnalysisCacheFollowsInputs: a write that changes none of an
// analysis's inputs finds it again on the new state (read through the new
// state); a write of an actual in an open period changes the analyses of
// its metric only, and keeps their reconciled plan when no stand-in
// forecast reads actuals; every answer equals that of a Service folded
// from zero.
func TestAnalysisCacheFollowsInputs(t *testing.T) {
	ctx := context.Background()
	log, store, clock := generated(t, 3)
	svc := NewService(store, company.Registry())
	analyses := func() (*State, map[string]*analysis) {
		t.Helper()
		st, err := svc.Live(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := st.Plan(log.PlanID)
		out := map[string]*analysis{}
		for _, m := range p.Metrics() {
			a, err := st.analysis(ctx, p, m, p.Horizon())
			if err != nil {
				t.Fatal(err)
			}
			if a.st != st {
				t.Fatalf("analysis of %s reads the state at %s, want the state asked at %s", m.ID, a.st.Position, st.Position)
			}
			out[m.ID] = a
		}
		return st, out
	}
	same := func(a, b *analysis) bool { return a.result == b.result && a.actual == b.actual }
	check := func(st *State) {
		t.Helper()
		fresh := NewService(store, company.Registry())
		for _, m := range log.Metrics {
			got, err := svc.Variance(ctx, log.PlanID, VarianceQuery{Metric: m, AsOf: st.Position.String()})
			if err != nil {
				t.Fatal(err)
			}
			want, err := fresh.Variance(ctx, log.PlanID, VarianceQuery{Metric: m, AsOf: st.Position.String()})
			if err != nil {
				t.Fatal(err)
			}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				t.Errorf("variance of %s at %s from the cache differs from a fold from zero:\n got %.300s\nwant %.300s", m, st.Position, g, w)
			}
			gr, err := svc.Rolling(ctx, log.PlanID, m, "", st.Position.String())
			if err != nil {
				t.Fatal(err)
			}
			wr, err := fresh.Rolling(ctx, log.PlanID, m, "", st.Position.String())
			if err != nil {
				t.Fatal(err)
			}
			g, _ = json.Marshal(gr)
			w, _ = json.Marshal(wr)
			if string(g) != string(w) {
				t.Errorf("rolling plan of %s at %s from the cache differs from a fold from zero:\n got %.300s\nwant %.300s", m, st.Position, g, w)
			}
		}
	}

	st1, first := analyses()
	clock.Set(log.Appends[len(log.Appends)-1].At.Add(time.Hour))
	append1 := func(stream string, event any) {
		t.Helper()
		data, err := company.Registry().Encode(uuid.New(), event, eventstore.Metadata{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Append(ctx, stream, eventstore.Any, data); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.Append(ctx, "probe-1", eventstore.NoStream, eventstore.EventData{ID: uuid.New(), Type: "probe", SchemaVersion: 1, Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	st2, second := analyses()
	if st2 == st1 {
		t.Fatal("the probe write made no new state")
	}
	for m, a := range second {
		if !same(a, first[m]) {
			t.Errorf("analysis of %s recomputed after a write it does not read", m)
		}
	}

	// An actual of the first metric in the first open period.
	a := second[log.Metrics[0]]
	if a.closed >= len(a.periods) {
		t.Fatalf("the generated plan has no open period in %v", a.span)
	}
	amount, _ := decimal.Parse("1234.50")
	per := a.periods[a.closed]
	append1(ledger.Stream(per), ledger.ActualRecorded{ImportID: "cache-test", Cell: a.cells[0], Metric: log.Metrics[0], Period: per, Amount: amount, By: "test"})
	st3, third := analyses()
	for m, b := range third {
		if changed := m == log.Metrics[0]; same(b, second[m]) == changed {
			t.Errorf("analysis of %s after an actual of %s: recomputed %v, want %v", m, log.Metrics[0], !same(b, second[m]), changed)
		}
	}
	read := a.standIns != nil && a.standIns[0] > a.closed // a stand-in of the cell after the period reads it
	if b := third[log.Metrics[0]]; !read && b.result != a.result {
		t.Errorf("an actual of an open period reconciled the plan again, want the reconciled plan shared (no stand-in forecast reads it)")
	} else if read && b.result == a.result {
		t.Errorf("an actual of an open period kept the reconciled plan, while a stand-in forecast of the cell (to period %d) reads it", a.standIns[0])
	}
	if v, ok := third[log.Metrics[0]].recorded(third[log.Metrics[0]].structure.NumAggregates(), a.closed, a.closed); !ok || v.String() != amount.String() {
		t.Errorf("the recomputed analysis holds %v (%v) for the new actual, want %v", v, ok, amount)
	}
	// An actual in the last period of the span, which no stand-in reads:
	// the reconciled plan is shared.
	last := a.periods[len(a.periods)-1]
	append1(ledger.Stream(last), ledger.ActualRecorded{ImportID: "cache-test-last", Cell: a.cells[0], Metric: log.Metrics[0], Period: last, Amount: amount, By: "test"})
	st4, fourth := analyses()
	if b, c := fourth[log.Metrics[0]], third[log.Metrics[0]]; b.result != c.result || b.actual == c.actual {
		t.Errorf("after an actual in the span's last period: reconciled plan shared %v, actuals copied %v; want both", b.result == c.result, b.actual != c.actual)
	}
	for _, st := range []*State{st1, st3, st4} {
		check(st)
	}
}

// TestAnalysisBudget: past the byte budget, the least recently used
// analyses leave the cache; the one just computed stays.
func TestAnalysisBudget(t *testing.T) {
	ctx := context.Background()
	log, store, _ := generated(t, 5)
	svc := NewService(store, company.Registry())
	st, err := svc.Live(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := st.Plan(log.PlanID)
	c := svc.work.analyses
	held := func() (n int, size int64) {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.lru.Len(), c.size
	}
	var sizes []int64
	for _, m := range p.Metrics() {
		a, err := st.analysis(ctx, p, m, p.Horizon())
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, a.bytes())
	}
	if n, size := held(); n != len(p.Metrics()) || size != sizes[0]+sizes[1] {
		t.Fatalf("cache holds %d analyses of %d bytes, want %d of %d", n, size, len(p.Metrics()), sizes[0]+sizes[1])
	}
	svc.SetAnalysisBudget(sizes[1])
	if n, size := held(); n != 1 || size != sizes[1] {
		t.Fatalf("after a budget of %d bytes: %d analyses of %d bytes, want 1 of %d", sizes[1], n, size, sizes[1])
	}
	c.mu.Lock()
	kept := c.lru.Front().Value.(*cachedAnalysis).key.metric
	c.mu.Unlock()
	if want := p.Metrics()[1].ID; kept != want {
		t.Errorf("kept the analysis of %s, want the most recent (%s)", kept, want)
	}
	svc.SetAnalysisBudget(0)
	var m plan.Metric = p.Metrics()[0]
	if _, err := st.analysis(ctx, p, m, p.Horizon()); err != nil {
		t.Fatal(err)
	}
	if n, _ := held(); n != 1 {
		t.Errorf("with a budget of 0 the cache holds %d analyses, want the one just computed", n)
	}
}
