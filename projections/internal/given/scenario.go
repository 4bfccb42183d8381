package given

import (
	"encoding/json"
	"time"

	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
)

// The scenario's periods, nodes and plan.
var (
	Apr = fiscal.NewPeriod(2026, time.April)
	May = fiscal.NewPeriod(2026, time.May)
	Jun = fiscal.NewPeriod(2026, time.June)

	DE   = dimension.MustParseNode("product=p1;region=de")
	FR   = dimension.MustParseNode("product=p1;region=fr")
	US   = dimension.MustParseNode("product=p2;region=us")
	EMEA = dimension.MustParseNode("region=emea")
	AMER = dimension.MustParseNode("region=amer")
	P1   = dimension.MustParseNode("product=p1")
)

// Plan is the scenario's plan id.
const Plan = "corp"

// Marks are the positions of the scenario's notable events.
type Marks struct {
	Opened, AprTargetSet, AprTargetRevised, Tagged, AprTargetCleared eventstore.Position
	ActualsRecorded, Restated, Moved, AprClosed                      eventstore.Position
	Proposed, Approved, Rejected                                     eventstore.Position
	CommitDE, CommitDE2, Withdrawn, Published, Published2Part        eventstore.Position
	Published2                                                       eventstore.Position
}

// Scenario is a small company, event by event:
//
//	region: all > emea > de, fr; all > amer > us
//	product: all > pumps > p1, p2
//	plan corp: revenue, fiscal year from April, horizon April 2026 + 12
//	targets (revenue): emea April 1000 (alice), revised to 1100 (bob,
//	  "upside"); the total FY2027-Q1 (Apr–Jun) 3000 (alice); tag "Budget"
//	  (version 4); emea April cleared (carol, "merged")
//	actuals (revenue, April): de 100, fr 50, us 70; de restated to 120
//	  (dora, "late invoice")
//	reallocation r1 (May): de +40, fr −40, approved by erin; r2: us +10,
//	  de −10, rejected by erin ("no")
//	commits (emea, revenue, May): c1 900 commit by sam; c2 950 commit by
//	  sam (replaces c1); c2 withdrawn; c3 200 best case for us, May
//	forecasts (revenue): run f1 for de and fr, May–Jun, and for emea May
//	  only, in one event (as runs were published before they had parts);
//	  run f2 for de May again (mean 70), in a part and a seal
//	fr moves from emea to amer; April closes (ops)
func Scenario() (*Log, Marks) {
	var l Log
	var m Marks
	l.Dimension("region", [2]string{"emea", "all"}, [2]string{"de", "emea"}, [2]string{"fr", "emea"}, [2]string{"amer", "all"}, [2]string{"us", "amer"})
	l.Dimension("product", [2]string{"pumps", "all"}, [2]string{"p1", "pumps"}, [2]string{"p2", "pumps"})
	ps := plan.Stream(Plan)
	m.Opened = l.Add(ps, "alice", plan.Opened{ID: Plan, Name: "Corporate plan", Currency: "EUR",
		Metrics:         []plan.Metric{{ID: "revenue", Name: "Net revenue", Unit: "EUR", NonNegative: true}},
		FiscalYearStart: time.April, Dimensions: []string{"region", "product"}, HorizonStart: Apr, HorizonMonths: 12})
	aprEMEA := fiscal.Month(Apr)
	m.AprTargetSet = l.Add(ps, "alice", plan.TargetSet{Node: EMEA, Metric: "revenue", Span: aprEMEA, Amount: decimal.FromInt(1000), Reason: "budget"})
	m.AprTargetRevised = l.Add(ps, "bob", plan.TargetRevised{Node: EMEA, Metric: "revenue", Span: aprEMEA, From: decimal.FromInt(1000), To: decimal.FromInt(1100), Reason: "upside"})
	q1 := fiscal.MustCalendar(time.April).FiscalQuarter(2027, 1)
	l.Add(ps, "alice", plan.TargetSet{Node: dimension.Total, Metric: "revenue", Span: q1, Amount: decimal.FromInt(3000), Reason: "budget"})
	m.Tagged = l.Add(ps, "alice", plan.VersionTagged{Tag: "Budget", Version: 4})

	ls := ledger.Stream(Apr)
	l.Add(ls, "loader", ledger.ActualRecorded{ImportID: "imp-1", Cell: DE, Metric: "revenue", Period: Apr, Amount: decimal.FromInt(100)})
	l.Add(ls, "loader", ledger.ActualRecorded{ImportID: "imp-1", Cell: FR, Metric: "revenue", Period: Apr, Amount: decimal.FromInt(50)})
	m.ActualsRecorded = l.Add(ls, "loader", ledger.ActualRecorded{ImportID: "imp-1", Cell: US, Metric: "revenue", Period: Apr, Amount: decimal.FromInt(70)})
	m.Restated = l.Add(ls, "dora", ledger.ActualRestated{Cell: DE, Metric: "revenue", Period: Apr, From: decimal.FromInt(100), To: decimal.FromInt(120), Reason: "late invoice"})

	may := fiscal.Month(May)
	m.Proposed = l.Add(ps, "rita", plan.ReallocationProposed{ID: "r1", Metric: "revenue", Span: may, Reason: "shift",
		Moves: []plan.Move{{Node: DE, Delta: decimal.FromInt(40)}, {Node: FR, Delta: decimal.FromInt(-40)}}})
	m.Approved = l.Add(ps, "erin", plan.ReallocationApproved{ID: "r1"})
	l.Add(ps, "rita", plan.ReallocationProposed{ID: "r2", Metric: "revenue", Span: may, Reason: "try",
		Moves: []plan.Move{{Node: US, Delta: decimal.FromInt(10)}, {Node: DE, Delta: decimal.FromInt(-10)}}})
	m.Rejected = l.Add(ps, "erin", plan.ReallocationRejected{ID: "r2", Reason: "no"})

	cs := commit.Stream(Plan)
	m.CommitDE = l.Add(cs, "sam", commit.Submitted{ID: "c1", Plan: Plan, Node: EMEA, Metric: "revenue", Span: may, Amount: decimal.FromInt(900), Confidence: commit.ConfidenceCommit})
	m.CommitDE2 = l.Add(cs, "sam", commit.Submitted{ID: "c2", Plan: Plan, Node: EMEA, Metric: "revenue", Span: may, Amount: decimal.FromInt(950), Confidence: commit.ConfidenceCommit, Comment: "firm"})
	m.Withdrawn = l.Add(cs, "sam", commit.Withdrawn{ID: "c2", Reason: "deal slipped"})
	l.Add(cs, "sam", commit.Submitted{ID: "c3", Plan: Plan, Node: US, Metric: "revenue", Span: may, Amount: decimal.FromInt(200), Confidence: commit.ConfidenceBestCase})

	series := func(n dimension.Node, first fiscal.Period, means ...float64) forecast.Series {
		s := forecast.Series{Node: n, First: first, Mean: means}
		for _, x := range means {
			s.Lo80, s.Hi80 = append(s.Lo80, x-10), append(s.Hi80, x+10)
			s.Lo95, s.Hi95 = append(s.Lo95, x-20), append(s.Hi95, x+20)
		}
		return s
	}
	m.Published = l.Add(forecast.Stream("f1"), "concord/forecast", forecast.Published{RunID: "f1", Plan: Plan, Metric: "revenue", DataPosition: "8/8", Seed: 1,
		Model: json.RawMessage(`{"model":"naive"}`), Series: []forecast.Series{series(DE, May, 60, 61), series(FR, May, 30, 31), series(EMEA, May, 95)}})
	f2 := forecast.New()
	if err := f2.Publish(forecast.Published{RunID: "f2", Plan: Plan, Metric: "revenue", DataPosition: "9/9", Seed: 2,
		Model: json.RawMessage(`{"model":"naive"}`), Series: []forecast.Series{series(DE, May, 70)}}); err != nil {
		panic(err)
	}
	m.Published2Part = l.Add(forecast.Stream("f2"), "concord/forecast", f2.Changes()[0])
	m.Published2 = l.Add(forecast.Stream("f2"), "concord/forecast", f2.Changes()[1])

	m.AprTargetCleared = l.Add(ps, "carol", plan.TargetCleared{Node: EMEA, Metric: "revenue", Span: aprEMEA, From: decimal.FromInt(1100), Reason: "merged"})
	m.Moved = l.Add(dimension.Stream("region"), "admin", dimension.MemberMoved{ID: "fr", FromParent: "emea", ToParent: "amer"})
	m.AprClosed = l.Add(ls, "ops", ledger.PeriodClosed{Period: Apr})
	return &l, m
}
