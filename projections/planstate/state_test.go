package planstate_test

import (
	"errors"
	"testing"

	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/projections/internal/given"
	"github.com/concord-planning/concord/projections/planstate"
	"github.com/concord-planning/concord/projections/vintage"
)

func scenario(t *testing.T) (*planstate.State, given.Marks) {
	t.Helper()
	l, m := given.Scenario()
	s := planstate.New()
	if err := l.ApplyTo(s); err != nil {
		t.Fatal(err)
	}
	return s, m
}

func TestTargetsAsOf(t *testing.T) {
	s, m := scenario(t)
	emea := given.EMEA
	tests := []struct {
		name string
		f    planstate.Filter
		asOf eventstore.Position
		want []string // node/amount/by
	}{
		{"set", planstate.Filter{Node: &emea}, m.AprTargetSet, []string{"region=emea 1000 alice"}},
		{"revised", planstate.Filter{Node: &emea}, m.AprTargetRevised, []string{"region=emea 1100 bob"}},
		{"at the tag", planstate.Filter{Metric: "revenue"}, m.Tagged, []string{" 3000 alice", "region=emea 1100 bob"}},
		{"cleared", planstate.Filter{}, vintage.Latest, []string{" 3000 alice"}},
		{"other metric", planstate.Filter{Metric: "units"}, vintage.Latest, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := s.Targets(given.Plan, tt.f, tt.asOf)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range ts {
				got = append(got, x.Node.String()+" "+x.Amount.String()+" "+x.By)
			}
			if !equal(got, tt.want) {
				t.Errorf("Targets(%+v, %v) = %q, want %q", tt.f, tt.asOf, got, tt.want)
			}
		})
	}
	if _, err := s.Targets(given.Plan, planstate.Filter{}, given.Before(m.Opened)); !errors.Is(err, planstate.ErrUnknownPlan) {
		t.Errorf("Targets before the plan opened: %v, want ErrUnknownPlan", err)
	}
}

func TestTargetHistoryAndDiff(t *testing.T) {
	s, m := scenario(t)
	h, err := s.TargetHistory(given.Plan, given.EMEA, "revenue", fiscal.Month(given.Apr), vintage.Latest)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 3 || !h[0].Amount.Equal(decimal.FromInt(1000)) || h[1].Reason != "upside" || h[1].By != "bob" || !h[2].Cleared || h[2].Position != m.AprTargetCleared {
		t.Errorf("TargetHistory(emea, Apr) = %+v, want set 1000, revised 1100 by bob (upside), cleared", h)
	}
	tagPos, err := s.TagPosition(given.Plan, "Budget", vintage.Latest)
	if err != nil {
		t.Fatal(err)
	}
	if tagPos.Commit != m.Tagged.Commit-1 {
		t.Errorf("TagPosition(Budget) = %v, want %d (plan version 4)", tagPos, m.Tagged.Commit-1)
	}
	d, err := s.Diff(given.Plan, planstate.Filter{}, tagPos, vintage.Latest)
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != 1 || d[0].Node != given.EMEA || !d[0].HadFrom || d[0].HasTo || !d[0].Change.Equal(decimal.FromInt(-1100)) {
		t.Errorf("Diff(Budget → now) = %+v, want emea April cleared (−1100)", d)
	}
	if _, err := s.TagPosition(given.Plan, "Budget", given.Before(m.Tagged)); !errors.Is(err, planstate.ErrUnknownTag) {
		t.Errorf("TagPosition before tagging: %v, want ErrUnknownTag", err)
	}
	if _, err := s.VersionPosition(given.Plan, 99); !errors.Is(err, planstate.ErrUnknownVersion) {
		t.Errorf("VersionPosition(99): %v, want ErrUnknownVersion", err)
	}
}

func TestReallocations(t *testing.T) {
	s, m := scenario(t)
	tests := []struct {
		name   string
		status plan.Status
		asOf   eventstore.Position
		want   []string // id status decidedBy
	}{
		{"proposed", "", m.Proposed, []string{"r1 open "}},
		{"approved", "", m.Approved, []string{"r1 approved erin"}},
		{"all latest", "", vintage.Latest, []string{"r1 approved erin", "r2 rejected erin"}},
		{"rejected only", plan.StatusRejected, vintage.Latest, []string{"r2 rejected erin"}},
		{"open only", plan.StatusOpen, vintage.Latest, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := s.Reallocations(given.Plan, tt.status, tt.asOf)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range rs {
				got = append(got, r.ID+" "+string(r.Status)+" "+r.DecidedBy)
			}
			if !equal(got, tt.want) {
				t.Errorf("Reallocations(%q, %v) = %q, want %q", tt.status, tt.asOf, got, tt.want)
			}
		})
	}
	rs, _ := s.Reallocations(given.Plan, plan.StatusRejected, vintage.Latest)
	if len(rs) == 1 && (rs[0].DecisionReason != "no" || len(rs[0].Moves) != 2 || rs[0].DecidedAt != m.Rejected) {
		t.Errorf("r2 = %+v, want rejected at %v for \"no\" with 2 moves", rs[0], m.Rejected)
	}
}

func TestCommitsAndForecasts(t *testing.T) {
	s, m := scenario(t)
	may := fiscal.Month(given.May)
	tests := []struct {
		name string
		asOf eventstore.Position
		want string // commit id, "" for none
	}{
		{"first", m.CommitDE, "c1"},
		{"replaced", m.CommitDE2, "c2"},
		{"withdrawn", m.Withdrawn, ""},
	}
	for _, tt := range tests {
		c, ok := s.LatestCommit(given.Plan, given.EMEA, "revenue", may, commit.ConfidenceCommit, tt.asOf)
		if got := map[bool]string{true: c.ID}[ok]; got != tt.want {
			t.Errorf("%s: LatestCommit(emea, May) as of %v = %q, want %q", tt.name, tt.asOf, got, tt.want)
		}
	}
	if cs := s.Commits(given.Plan, planstate.Filter{}, vintage.Latest); len(cs) != 1 || cs[0].ID != "c3" || cs[0].By != "sam" {
		t.Errorf("Commits() = %+v, want c3 only", cs)
	}
	span := fiscal.Span{First: given.Apr, Last: given.Jun, Kind: fiscal.KindRange}
	pts, ok := s.Forecast(given.Plan, given.DE, "revenue", span, vintage.Latest)
	if ok[0] || !ok[1] || !ok[2] || pts[1].Mean != 70 || pts[1].Run.RunID != "f2" || pts[2].Mean != 61 || pts[2].Run.RunID != "f1" || pts[1].Lo80 != 60 {
		t.Errorf("Forecast(de, Apr–Jun) = %+v %v, want none, 70 (f2), 61 (f1)", pts, ok)
	}
	pts, ok = s.Forecast(given.Plan, given.DE, "revenue", span, m.Published)
	if !ok[1] || pts[1].Mean != 60 {
		t.Errorf("Forecast(de, May) as of f1 = %v %v, want 60", pts[1], ok[1])
	}
	if got := s.ForecastNodes(given.Plan, "revenue", vintage.Latest); !equal(nodes(got), []string{"product=p1;region=de", "product=p1;region=fr", "region=emea"}) {
		t.Errorf("ForecastNodes() = %v", got)
	}
	if runs := s.Runs(given.Plan, m.Published); len(runs) != 1 || runs[0].RunID != "f1" {
		t.Errorf("Runs() as of f1 = %+v", runs)
	}
	// f2 is published in a part and a seal: before its seal, it is not seen.
	pts, ok = s.Forecast(given.Plan, given.DE, "revenue", span, m.Published2Part)
	if !ok[1] || pts[1].Mean != 60 || pts[1].Run.RunID != "f1" {
		t.Errorf("Forecast(de, May) as of f2's part = %v %v, want 60 (f1)", pts[1], ok[1])
	}
	if runs := s.Runs(given.Plan, m.Published2Part); len(runs) != 1 {
		t.Errorf("Runs() as of f2's part = %+v, want f1 only", runs)
	}
	if runs := s.Runs(given.Plan, m.Published2); len(runs) != 2 || runs[1].RunID != "f2" || runs[1].PublishedAt != m.Published2 {
		t.Errorf("Runs() as of f2's seal = %+v, want f1 and f2, published at the seal %v", runs, m.Published2)
	}
}

func nodes(ns []dimension.Node) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.String())
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
