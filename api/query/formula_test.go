package query_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/concord-planning/concord/api/query"
	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/projections/view"
	"github.com/concord-planning/concord/projections/view/viewtest"
)

// TestCSVNeutralisesFormulas: with a member named, a target revised, a
// version tagged and a reallocation proposed with text a spreadsheet would
// evaluate (=, +, -, @), no cell of any table starts with those (or a tab
// or a carriage return) unless it is a number: such text is prefixed with
// an apostrophe, and negative amounts stay numbers. Before, the cells were
// written unchanged (formula injection through names and reasons).
func TestCSVNeutralisesFormulas(t *testing.T) {
	ctx := context.Background()
	reg := viewtest.Registry()
	store, d, _ := viewtest.Seeded(t, "", reg)
	svc := planning.New(store, reg)
	call := planning.Call{By: planning.Principal{Actor: "=cmd|' /C calc'!A0", Role: access.RolePlanner}}
	must := func(_ planning.Result, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(svc.RenameMember(ctx, call, "region", "uk", `=HYPERLINK("http://evil.example","UK")`))
	// DACH to 1,000,000 and the UK by as much the other way, so that EMEA
	// still adds up.
	p, _, err := svc.Plan(ctx, call.By, d.Plan)
	if err != nil {
		t.Fatal(err)
	}
	fy28 := p.Calendar().FiscalYear(2028)
	dach, okDACH := p.Target(dimension.MustParseNode("region=dach"), "revenue", fy28)
	uk, okUK := p.Target(dimension.MustParseNode("region=uk"), "revenue", fy28)
	if !okDACH || !okUK {
		t.Fatal("the seeded plan has no FY2028 revenue target of DACH or the UK")
	}
	ukTo, err := uk.Amount.Add(dach.Amount)
	if err == nil {
		ukTo, err = ukTo.Sub(decimal.FromInt(1000000))
	}
	if err != nil {
		t.Fatal(err)
	}
	must(svc.ChangeTargets(ctx, call, d.Plan, []planning.TargetChange{
		{Op: planning.OpRevise, Node: "region=dach", Metric: "revenue", Span: "FY2028", Amount: "1000000", Reason: "@SUM(1+1)*cmd"},
		{Op: planning.OpRevise, Node: "region=uk", Metric: "revenue", Span: "FY2028", Amount: ukTo.String(), Reason: "@SUM(1+1)*cmd"}}))
	must(svc.TagVersion(ctx, call, d.Plan, "+Q2 reforecast"))
	must(svc.ProposeReallocation(ctx, call, d.Plan, planning.ProposeReallocation{ID: "r-2", Metric: "revenue", Span: "FY2028",
		Moves: []planning.Move{{Node: "region=dach", Delta: "-10"}, {Node: "region=uk", Delta: "10"}}, Reason: "-2+3 moved"}))

	q := query.New(view.NewService(store, reg))
	queries := map[string]url.Values{
		"variance":      {"cross": {"product"}},
		"rolling":       {"node": {"region=uk"}},
		"pivot":         {"dimension": {"region"}, "open": {"*"}},
		"history":       {"limit": {"500"}},
		"diff":          {"from": {"tag:Budget FY28"}, "to": {"tag:+Q2 reforecast"}},
		"forecasts":     {},
		"accuracy":      {"as_of": {d.Reforecast.String()}},
		"reallocations": {},
	}
	neutralised, negative := 0, 0
	for _, table := range query.Tables() {
		var b bytes.Buffer
		if err := q.WriteCSV(ctx, &b, table.Name, d.Plan, queries[table.Name]); err != nil {
			t.Fatalf("WriteCSV(%s) = %v", table.Name, err)
		}
		records, err := csv.NewReader(&b).ReadAll()
		if err != nil {
			t.Fatalf("table %s: %v", table.Name, err)
		}
		for i, rec := range records {
			for j, cell := range rec {
				if cell == "" {
					continue
				}
				if strings.HasPrefix(cell, "'") {
					neutralised++
				}
				if !strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					continue
				}
				if _, err := strconv.ParseFloat(cell, 64); err != nil {
					t.Errorf("table %s, line %d, column %q: %q would be evaluated by a spreadsheet", table.Name, i+1, records[0][j], cell)
				} else if cell[0] == '-' {
					negative++
				}
			}
		}
	}
	if neutralised < 4 {
		t.Errorf("%d neutralised cells over all tables, want the name, reason, tag and actor at least", neutralised)
	}
	if negative == 0 {
		t.Error("no negative number in any table: the check that they stay numbers checked nothing")
	}
}
