package view

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"gonum.org/v1/gonum/mat"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/projections/company"
)

// TestAnalysisCacheFollowsInputs: a write that changes none of an
// analysis's inputs finds it again on the new state (read through the new
// state); a write of an actual in an open period changes the analyses of
// its metric only, and keeps their reconciled plan when no stand-in
// forecast reads actuals (a stand-in past a run's horizon reads the months
// before the run's first); every answer equals that of a Service folded
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
	// A stand-in of the cell after the period reads it, unless the run
	// forecasts the cell (its stand-ins past the run's horizon read the
	// months before the run's first only).
	read := a.standIns != nil && a.standIns[0] > a.closed && (a.runFrom == nil || a.closed < a.runFrom[0])
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
	// A run that forecasts every cell for six months from the first open
	// period; then an actual in the run's first month, read by no stand-in
	// although each cell's forecasts past the run's horizon are stand-ins:
	// they read the months before the run's first, so the reconciled plan
	// of a span reaching past the run is shared.
	h := fourth[log.Metrics[0]]
	runFirst := h.periods[h.closed]
	for _, m := range log.Metrics {
		pub := forecast.Published{RunID: "cache-test-run-" + m, Plan: log.PlanID, Metric: m, DataPosition: st4.Position.String(), Model: json.RawMessage(`{}`)}
		for _, cell := range h.cells {
			mean := []float64{100, 101, 102, 103, 104, 105}
			lo, hi := make([]float64, len(mean)), make([]float64, len(mean))
			for k, v := range mean {
				lo[k], hi[k] = v-10, v+10
			}
			pub.Series = append(pub.Series, forecast.Series{Node: cell, First: runFirst, Mean: mean, Lo80: lo, Hi80: hi, Lo95: lo, Hi95: hi})
		}
		run := forecast.New()
		if err := run.Publish(pub); err != nil {
			t.Fatal(err)
		}
		for _, e := range run.Changes() {
			append1(forecast.Stream(pub.RunID), e)
		}
	}
	wide := func(st *State, metric string, months int) *analysis {
		t.Helper()
		p, _ := st.Plan(log.PlanID)
		m, _ := p.Metric(metric)
		a, err := st.analysis(ctx, p, m, fiscal.Span{First: runFirst, Last: runFirst.Add(months - 1), Kind: fiscal.KindRange})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	st5, _ := analyses()
	// The first metric and span past the run (at least two months) whose
	// targets do not conflict: a reconciled plan to share.
	var c *analysis
	var metric string
	var months int
	for _, m := range log.Metrics {
		for n := 8; n <= 30 && c == nil; n++ {
			if a := wide(st5, m, n); a.result != nil {
				c, metric, months = a, m, n
			}
		}
	}
	if c == nil || c.vintage == nil || c.vintage.RunID != "cache-test-run-"+metric || c.runFrom[0] != 0 || c.standIns == nil || c.standIns[0] <= 6 {
		t.Fatalf("no reconciled plan in which the first cell is forecast by the run, then by stand-ins")
	}
	c.uncertainty()                        // computed before the write: shared after it (the cell had recorded months before)
	revised, _ := decimal.Parse("2345.75") // the cell's actual of that month was 1234.50 (above), or none
	append1(ledger.Stream(runFirst), ledger.ActualRecorded{ImportID: "cache-test-run", Cell: c.cells[0], Metric: metric, Period: runFirst, Amount: revised, By: "test"})
	st6, _ := analyses()
	if b := wide(st6, metric, months); b.result != c.result || b.actual == c.actual || b.actual.At(0, 0) != revised.Float64() {
		t.Errorf("after an actual in the run's first month %v: reconciled plan shared %v, actuals copied %v; want both", runFirst, b.result == c.result, b.actual != c.actual)
	}
	fresh, err := NewService(store, company.Registry()).Live(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, f := wide(st6, metric, months), wide(fresh, metric, months)
	if !mat.Equal(b.result.Reconciled, f.result.Reconciled) {
		t.Errorf("after an actual in the run's first month, the shared reconciled plan differs from one computed from zero")
	}
	if b.unc != c.unc {
		t.Errorf("after an actual in the run's first month, the uncertainty model was made again, want it shared")
	}
	for i := range b.structure.NumNodes() {
		if gb, gf := b.sd(i, 0, len(b.periods)-1), f.sd(i, 0, len(f.periods)-1); gb != gf {
			t.Errorf("node %d: standard deviation over the span %g with the shared uncertainty model, %g computed from zero", i, gb, gf)
		}
	}
	for _, st := range []*State{st1, st3, st4, st5, st6} {
		check(st)
	}
}

// TestAnalysisBudget: past the byte budget, the least recently used
// analyses leave the cache; the one just computed stays.
func TestAnalysisBudget(t *testing.T) {
	ctx := context.Background()
	svc, st, p := livePlan(t, 5)
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

// TestPastAnalysesShare: the analyses of past states (as-of reads) are
// kept within a quarter of the budget, evicting one another, not the
// analyses of the live state; an analysis a live state reads is live.
func TestPastAnalysesShare(t *testing.T) {
	ctx := context.Background()
	svc, st, p := livePlan(t, 5)
	c := svc.work.analyses
	held := func() (live, past int, pastSize int64) {
		c.mu.Lock()
		defer c.mu.Unlock()
		for el := c.lru.Front(); el != nil; el = el.Next() {
			if el.Value.(*cachedAnalysis).past {
				past++
			} else {
				live++
			}
		}
		return live, past, c.pastSize
	}
	var liveSize int64
	for _, m := range p.Metrics() {
		a, err := st.analysis(ctx, p, m, p.Horizon())
		if err != nil {
			t.Fatal(err)
		}
		liveSize += a.bytes()
	}
	budget := 2 * liveSize
	svc.SetAnalysisBudget(budget)
	var largest int64
	for k := 3; k <= 5; k++ {
		pos := svc.Events() * k / 6
		past, err := svc.At(ctx, eventstore.Position{Commit: uint64(pos), Prepare: uint64(pos)})
		if err != nil {
			t.Fatal(err)
		}
		if !past.past {
			t.Fatalf("the state as of %d is not marked past", pos)
		}
		pp, _ := past.Plan(p.ID())
		for _, m := range pp.Metrics() {
			a, err := past.analysis(ctx, pp, m, pp.Horizon())
			if err != nil {
				t.Fatal(err)
			}
			largest = max(largest, a.bytes())
		}
		live, n, pastSize := held()
		if live != len(p.Metrics()) {
			t.Fatalf("after the analyses as of %d the cache holds %d live analyses, want all %d", pos, live, len(p.Metrics()))
		}
		if n == 0 || pastSize > max(budget/pastShare, largest) {
			t.Fatalf("after the analyses as of %d: %d past analyses of %d bytes, want at least one and at most %d bytes (a quarter of %d, or the one just computed)",
				pos, n, pastSize, max(budget/pastShare, largest), budget)
		}
	}
	if _, n, _ := held(); n >= 3*len(p.Metrics()) {
		t.Errorf("the cache kept all %d past analyses within a quarter of %d bytes", n, budget)
	}
	// A live read of an analysis computed for a past state makes it live.
	c.mu.Lock()
	var e *cachedAnalysis
	for el := c.lru.Front(); el != nil; el = el.Next() {
		if ca := el.Value.(*cachedAnalysis); ca.past {
			e = ca
			break
		}
	}
	c.mu.Unlock()
	_, _, before := held()
	// The past state read as live: the same inputs, so the same analysis.
	liveView := *e.m.v.st
	liveView.past = false
	m, err := metricOf(e.inputs.plan, e.key.metric)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := liveView.analysis(ctx, e.inputs.plan, m, e.key.span); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	stillPast := e.past
	c.mu.Unlock()
	if _, _, after := held(); stillPast || after != before-e.size {
		t.Errorf("an analysis read by a live state: past %v, past analyses' bytes %d → %d, want it live and %d bytes fewer", stillPast, before, after, e.size)
	}
}

// TestKeptAnswers: a variance table or rolling plan asked again of the
// same live state is the same answer, and its kept JSON is what
// json.Encoder writes for it; a write makes a new state and new answers;
// an answer as of a past position is not kept.
func TestKeptAnswers(t *testing.T) {
	ctx := context.Background()
	log, store, clock := generated(t, 4)
	svc := NewService(store, company.Registry())
	m := log.Metrics[0]
	encode := func(v any) string {
		t.Helper()
		var buf bytes.Buffer
		if err := json.NewEncoder(&buf).Encode(v); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	kept := func(v any) string {
		t.Helper()
		b, err := JSON(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	v1, err := svc.Variance(ctx, log.PlanID, VarianceQuery{Metric: m})
	if err != nil {
		t.Fatal(err)
	}
	r1, err := svc.Rolling(ctx, log.PlanID, m, "", "")
	if err != nil {
		t.Fatal(err)
	}
	v2, _ := svc.Variance(ctx, log.PlanID, VarianceQuery{Metric: m})
	r2, _ := svc.Rolling(ctx, log.PlanID, m, "", "")
	if v2 != v1 || r2 != r1 {
		t.Errorf("asked again of the same state: variance kept %v, rolling plan kept %v; want both", v2 == v1, r2 == r1)
	}
	for _, v := range []any{v1, r1} {
		if got, want := kept(v), encode(v); got != want {
			t.Errorf("kept JSON differs from json.Encoder's:\n got %.200s\nwant %.200s", got, want)
		}
		if kept(v) != kept(v) {
			t.Error("kept JSON differs between two calls")
		}
	}

	clock.Set(log.Appends[len(log.Appends)-1].At.Add(time.Hour))
	if _, err := store.Append(ctx, "probe-kept", eventstore.NoStream, eventstore.EventData{ID: uuid.New(), Type: "probe", SchemaVersion: 1, Data: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	v4, _ := svc.Variance(ctx, log.PlanID, VarianceQuery{Metric: m})
	if v4 == v1 || v4.AsOf.Position == v1.AsOf.Position {
		t.Errorf("after a write: the answer of the state before (at %s), want the new state's", v4.AsOf.Position)
	}
	past, _ := svc.Variance(ctx, log.PlanID, VarianceQuery{Metric: m, AsOf: v1.AsOf.Position})
	again, _ := svc.Variance(ctx, log.PlanID, VarianceQuery{Metric: m, AsOf: v1.AsOf.Position})
	if past == again || past.enc != nil {
		t.Error("an answer as of a past position is kept")
	}
	if kept(past) != encode(v1) {
		t.Error("the answer as of the earlier position differs from the one kept then")
	}
}
