package domain_test

import (
	"encoding/json"
	"reflect"
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
	"github.com/google/uuid"
)

// TestEventsRoundTrip encodes one sample of every registered event type
// through the registry and expects Decode to give it back unchanged.
func TestEventsRoundTrip(t *testing.T) {
	d := decimal.MustParse
	cal := fiscal.MustCalendar(time.April)
	fy27, q2 := cal.FiscalYear(2027), cal.FiscalQuarter(2027, 2)
	mar := fiscal.NewPeriod(2027, time.March)
	emea, cell := dimension.MustParseNode("region=emea"), dimension.MustParseNode("product=pumps;region=de")
	samples := []any{
		dimension.Defined{ID: "region", Name: "Région", RootID: "world", RootName: "World"},
		dimension.MemberAdded{ID: "emea", Name: "EMEA", Parent: "world"},
		dimension.MemberRenamed{ID: "emea", From: "EMEA", To: "Europe, Middle East & Africa"},
		dimension.MemberMoved{ID: "dach", FromParent: "emea", ToParent: "world"},
		dimension.MemberRetired{ID: "dach"},
		plan.Renamed{From: "FY27", To: "Budget FY27", By: "alice"},
		plan.Discarded{Reason: "opened by mistake", By: "alice"},
		dimension.MemberRemoved{ID: "dach-typo", Name: "DACH typo", Parent: "emea"},

		plan.Opened{ID: "fy27", Name: "FY27", Currency: "EUR", Metrics: []plan.Metric{{ID: "revenue", Name: "Revenue", Unit: "EUR", NonNegative: true}},
			FiscalYearStart: time.April, Dimensions: []string{"region", "product"}, HorizonStart: fiscal.NewPeriod(2026, time.April), HorizonMonths: 18},
		plan.MetricDerived{Metric: plan.Metric{ID: "gm-pct", Name: "Gross margin %"}, Formula: plan.Formula{Left: "margin", Op: plan.OpRatio, Right: "revenue"}, By: "cfo"},
		plan.ModelPinned{Metric: "revenue", Node: emea, Method: "ets", By: "cfo", Reason: "a growing region"},
		plan.EstimatePolicySet{Metric: "revenue", Policy: plan.EstimatePolicy{Kind: plan.PolicyBlend, CommitWeight: 0.5}, By: "cfo", Reason: "sales and the model, half each"},
		plan.TargetSet{Node: cell, Metric: "revenue", Span: q2, Amount: d("1250.75"), Reason: "budget", By: "cfo"},
		plan.TargetRevised{Node: emea, Metric: "revenue", Span: fy27, From: d("600"), To: d("650.10"), Reason: "r", By: "cfo"},
		plan.TargetCleared{Node: dimension.Total, Metric: "margin", Span: fiscal.Month(mar), From: d("-3.5"), Reason: "r", By: "cfo"},
		plan.ReallocationProposed{ID: "r1", Metric: "revenue", Span: fy27, Moves: []plan.Move{{Node: emea, Delta: d("-50")}, {Node: cell, Delta: d("50")}}, Reason: "r", By: "vp"},
		plan.ReallocationApproved{ID: "r1", By: "cfo"},
		plan.ReallocationRejected{ID: "r1", By: "cfo", Reason: "no"},
		plan.VersionTagged{Tag: "Budget FY27", Version: 4, By: "cfo"},
		plan.VersionApproved{Version: 4, Tag: "Budget FY27", By: "board", Comment: "ok"},
		plan.HorizonRolled{From: fiscal.NewPeriod(2026, time.April), To: fiscal.NewPeriod(2026, time.July)},
		plan.ChangesProposed{ID: "scenario-s1", Scenario: "s1", Version: 9, Reason: "what if", By: "vp", Changes: []plan.Change{
			{Node: emea, Metric: "revenue", Span: fy27, From: ptr(d("600")), To: ptr(d("-2000000.5"))},
			{Node: cell, Metric: "revenue", Span: q2, To: ptr(d("1"))},
			{Node: dimension.Total, Metric: "margin", Span: fy27, From: ptr(d("3"))}}},

		scenario.Opened{Plan: "fy27", ID: "s1", Name: "APAC slips", Base: eventstore.Position{Commit: 1842, Prepare: 1842}, BaseVersion: 7, BookVersion: 2, From: "tag:Budget FY27", By: "vp"},
		scenario.TargetSet{Scenario: "s1", TargetSet: plan.TargetSet{Node: cell, Metric: "revenue", Span: q2, Amount: d("1250.75"), Reason: "budget", By: "cfo"}},
		scenario.TargetRevised{Scenario: "s1", TargetRevised: plan.TargetRevised{Node: emea, Metric: "revenue", Span: fy27, From: d("600"), To: d("650.10"), Reason: "r", By: "cfo"}},
		scenario.EstimatePolicySet{Scenario: "s1", EstimatePolicySet: plan.EstimatePolicySet{Metric: "revenue", Policy: plan.EstimatePolicy{Kind: plan.PolicyCommit}, By: "vp", Reason: "what if sales is right"}},
		scenario.TargetCleared{Scenario: "s1", TargetCleared: plan.TargetCleared{Node: dimension.Total, Metric: "margin", Span: fiscal.Month(mar), From: d("-3.5"), Reason: "r", By: "cfo"}},
		scenario.CommitSubmitted{Scenario: "s1", Submitted: commit.Submitted{ID: "c1", Plan: "fy27", Node: emea, Metric: "revenue", Span: q2, Amount: d("250000"), Confidence: commit.ConfidenceCommit, Comment: "deals", By: "vp"}},
		scenario.CommitWithdrawn{Scenario: "s1", Withdrawn: commit.Withdrawn{ID: "c1", By: "vp", Reason: "slipped"}},
		scenario.Discarded{ID: "s1", Reason: "no longer", By: "vp"},
		scenario.Promoted{ID: "s1", Proposal: "scenario-s1", PlanVersion: 9, By: "vp"},
		scenario.ShockAssumed{Scenario: "s1", Metric: "revenue", Node: emea, Span: q2, Percent: ptr(d("-10")), Reason: "APAC slips", By: "vp"},
		scenario.MethodAssumed{Scenario: "s1", Metric: "revenue", Method: "snaive", Reason: "replay", By: "vp"},
		scenario.ShockAssumed{Scenario: "s1", Metric: "units", Node: emea, Span: q2, Percent: ptr(d("-2")), Holding: []string{"price", "margin-pct"}, Reason: "volume elasticity", By: "vp"},
		scenario.ShockAssumed{Scenario: "s1", Metric: "revenue", Node: cell, Span: fy27, Amount: ptr(d("-250000.50")), Reason: "lost deal", By: "vp"},
		scenario.Rebased{ID: "s1", From: eventstore.Position{Commit: 1842, Prepare: 1842}, Base: eventstore.Position{Commit: 1900, Prepare: 1900}, BaseVersion: 9, BookVersion: 2, By: "vp"},

		ledger.ActualRecorded{ImportID: "erp-2027-03.csv", Cell: cell, Metric: "revenue", Period: mar, Amount: d("1250.75"), By: "erp"},
		ledger.ActualRestated{Cell: dimension.Total, Metric: "units", Period: mar, From: d("-3"), To: d("4.000"), Reason: "r", By: "c"},
		ledger.PeriodClosed{Period: mar, By: "controller", Missing: 2, Reason: "ERP late"},
		ledger.PeriodReopened{Period: mar, Reason: "late invoices", By: "controller"},

		commit.Submitted{ID: "c1", Plan: "fy27", Node: emea, Metric: "revenue", Span: q2, Amount: d("250000"), Confidence: commit.ConfidenceBestCase, Comment: "deals", By: "vp"},
		commit.Withdrawn{ID: "c1", By: "vp", Reason: "slipped"},

		forecast.Requested{RunID: "run-1", Plan: "fy27", Metric: "revenue", Reason: "period 2027-03 closed", Period: mar},
		forecast.Published{RunID: "run-1", Plan: "fy27", Metric: "revenue", DataPosition: "1842", Seed: 1<<63 + 7, Model: json.RawMessage(`{"m":"ets"}`),
			Series: []forecast.Series{{Node: cell, First: mar.Add(1), Mean: []float64{0.1 + 0.2}, Lo80: []float64{0}, Hi80: []float64{1}, Lo95: []float64{-1}, Hi95: []float64{2}, Model: "ETS(A,N,N)"}}},
		forecast.PartPublished{RunID: "run-2", Digest: "9f86d0", Part: 2, Parts: 3,
			Series: []forecast.Series{{Node: cell, First: mar.Add(1), Mean: []float64{1e300}, Lo80: []float64{0}, Hi80: []float64{1}, Lo95: []float64{-1}, Hi95: []float64{2},
				Model: "ETS(A,N,N)", Detail: json.RawMessage(`{"variance":2.5,"factor":[0.1,-0.2]}`)}}},
		forecast.Sealed{RunID: "run-2", Plan: "fy27", Metric: "revenue", DataPosition: "1842", Seed: 1<<63 + 7, Model: json.RawMessage(`{"method":"auto","lambda":0.2,"rank":2}`),
			Series: 250, Parts: 3, Digest: "9f86d0"},
	}
	r := registry()
	covered := map[string]bool{}
	for _, e := range samples {
		data, err := r.Encode(uuid.New(), e, eventstore.Metadata{})
		if err != nil {
			t.Fatalf("Encode(%T) error %v", e, err)
		}
		covered[data.Type] = true
		back, err := r.Decode(eventstore.RecordedEvent{Type: data.Type, SchemaVersion: data.SchemaVersion, Data: data.Data})
		if err != nil {
			t.Fatalf("Decode(%s) error %v", data.Type, err)
		}
		if !reflect.DeepEqual(back, e) {
			t.Errorf("Decode(Encode(%#v)) = %#v", e, back)
		}
	}
	for _, name := range r.Names() {
		if !covered[name] {
			t.Errorf("registered event type %s has no sample here", name)
		}
	}
}

func ptr[T any](v T) *T { return &v }
