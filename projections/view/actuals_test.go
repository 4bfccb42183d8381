package view_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/planning"
)

// TestReforecastHistory: what a reforecast reads from the view. The demo
// closes 2025-04 … 2027-06 with actuals of its 8 cells; an actual recorded
// for 2027-07 shows in Actuals (and the months without one do not), and
// once a product is retired its cells leave CurrentCells, while the state
// before the retirement still has them.
func TestReforecastHistory(t *testing.T) {
	ctx, svc, call, v, d := diffFixture(t)
	cell := dimension.MustParseNode("product=pumps;region=uk")
	if _, err := svc.RecordActuals(ctx, call, planning.RecordActuals{Plan: d.Plan, ImportID: "late-uk",
		Rows: []planning.ActualRow{{Cell: cell.String(), Metric: "revenue", Period: "2027-07", Amount: "123.45"}}}); err != nil {
		t.Fatal(err)
	}
	before, err := v.Live(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if last, ok := before.LastClosed(); !ok || last != fiscal.NewPeriod(2027, time.June) {
		t.Errorf("LastClosed() = %v, %v; want 2027-06, true", last, ok)
	}
	var all []string
	for _, r := range []string{"brazil", "dach", "uk", "us"} {
		for _, p := range []string{"pumps", "valves"} {
			all = append(all, "product="+p+";region="+r)
		}
	}
	slices.Sort(all)
	if got := texts(before.CurrentCells()); !slices.Equal(got, all) {
		t.Errorf("CurrentCells() = %q, want %q", got, all)
	}
	span := fiscal.Span{First: fiscal.NewPeriod(2027, time.June), Last: fiscal.NewPeriod(2027, time.August), Kind: fiscal.KindRange}
	values, recorded := before.Actuals(cell, "revenue", span)
	if !slices.Equal(recorded, []bool{true, true, false}) || !values[1].Equal(decimal.MustParse("123.45")) || values[0].Sign() <= 0 {
		t.Errorf("Actuals(%v, revenue, 2027-06…08) = %v, %v; want a June actual, 123.45 in July, none in August", cell, values, recorded)
	}
	if _, err := svc.RetireMember(ctx, call, "product", "valves"); err != nil {
		t.Fatal(err)
	}
	after, err := v.Live(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pumps []string
	for _, c := range all {
		if strings.HasPrefix(c, "product=pumps;") {
			pumps = append(pumps, c)
		}
	}
	if got := texts(after.CurrentCells()); !slices.Equal(got, pumps) {
		t.Errorf("CurrentCells() after retiring valves = %q, want %q", got, pumps)
	}
	if got := texts(before.CurrentCells()); !slices.Equal(got, all) {
		t.Errorf("CurrentCells() of the state before the retirement = %q, want %q", got, all)
	}
}

func texts(nodes []dimension.Node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.String()
	}
	return out
}

// TestPendingLeavesOutSuperseded: a forecast request for the last closed
// month is pending until a run is published for it; a request for an
// earlier month is superseded by the later close (no worker makes it) and
// is not counted. Before, every superseded request stayed "pending" forever:
// the demo said "129 newer forecast runs are requested and not yet
// published" although none ever would be.
func TestPendingLeavesOutSuperseded(t *testing.T) {
	ctx, svc, call, v, d := diffFixture(t)
	current, err := svc.RequestForecasts(ctx, call, d.Plan, "2027-06", "current", "test: the last closed month")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RequestForecasts(ctx, call, d.Plan, "2027-05", "stale", "test: a month a later close superseded"); err != nil {
		t.Fatal(err)
	}
	st, err := v.Live(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range current {
		want = append(want, r.RunID)
	}
	slices.Sort(want)
	if got := st.Pending(d.Plan); !slices.Equal(got, want) || len(want) == 0 {
		t.Errorf("Pending(%s) = %q, want the requests through 2027-06 only: %q", d.Plan, got, want)
	}
}
