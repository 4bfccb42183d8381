package plan

import (
	"errors"
	"github.com/concord-planning/concord/domain/eventstore/aggregatetest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/fiscal"
)

var (
	cal    = fiscal.MustCalendar(time.April)
	fy27   = cal.FiscalYear(2027)       // 2026-04 .. 2027-03
	q2     = cal.FiscalQuarter(2027, 2) // 2026-07 .. 2026-09
	jan27  = fiscal.Month(fiscal.NewPeriod(2027, time.January))
	emea   = dimension.MustParseNode("region=emea")
	amer   = dimension.MustParseNode("region=amer")
	apac   = dimension.MustParseNode("region=apac")
	total  = dimension.Total
	opened = Opened{
		ID: "fy27", Name: "Plan FY27", Currency: "EUR",
		Metrics: []Metric{
			{ID: "revenue", Name: "Net revenue", Unit: "EUR", NonNegative: true},
			{ID: "margin", Name: "Gross margin", Unit: "EUR"},
		},
		FiscalYearStart: time.April, Dimensions: []string{"region", "product"},
		HorizonStart: fiscal.NewPeriod(2026, time.April), HorizonMonths: 18,
	}
)

func d(s string) decimal.Decimal { return decimal.MustParse(s) }

func set(n dimension.Node, metric string, s fiscal.Span, amount string) TargetSet {
	return TargetSet{Node: n, Metric: metric, Span: s, Amount: d(amount), Reason: "budget", By: "cfo"}
}

// budget is a plan with FY27 revenue targets for EMEA (600) and AMER (400)
// and the total (1000), at versions 2, 3 and 4.
var budget = []Event{
	opened,
	set(emea, "revenue", fy27, "600"),
	set(amer, "revenue", fy27, "400"),
	set(total, "revenue", fy27, "1000"),
}

var proposal = ReallocationProposed{ID: "r1", Metric: "revenue", Span: fy27,
	Moves: []Move{{Node: emea, Delta: d("-50")}, {Node: amer, Delta: d("50")}}, Reason: "AMER pipeline", By: "vp-sales"}

func given(events ...Event) *Plan {
	p := New()
	for _, e := range events {
		p.Apply(e)
	}
	return p
}

func with(base []Event, more ...Event) []Event { return append(slices.Clone(base), more...) }

func TestCommands(t *testing.T) {
	tests := []struct {
		name    string
		given   []Event
		when    func(p *Plan) error
		then    []Event
		wantErr []error
	}{
		{
			name: "open with the default horizon",
			when: func(p *Plan) error {
				o := opened
				o.HorizonMonths, o.Name = 0, "  Plan FY27 "
				return p.Open(o)
			},
			then: []Event{opened},
		},
		{
			name:    "open twice",
			given:   budget,
			when:    func(p *Plan) error { return p.Open(opened) },
			wantErr: []error{ErrAlreadyOpened},
		},
		{
			name: "command before open",
			when: func(p *Plan) error {
				return p.SetTarget(emea, "revenue", fy27, d("1"), "r", "cfo")
			},
			wantErr: []error{ErrNotOpened},
		},
		{
			name:  "set a target",
			given: []Event{opened},
			when:  func(p *Plan) error { return p.SetTarget(emea, "revenue", fy27, d("600"), " budget ", "cfo") },
			then:  []Event{set(emea, "revenue", fy27, "600")},
		},
		{
			name:  "set a quarter and a month target",
			given: []Event{opened},
			when: func(p *Plan) error {
				return errors.Join(p.SetTarget(emea, "revenue", q2, d("150"), "budget", "cfo"), p.SetTarget(emea, "revenue", jan27, d("50"), "budget", "cfo"))
			},
			then: []Event{set(emea, "revenue", q2, "150"), set(emea, "revenue", jan27, "50")},
		},
		{
			name:  "set a negative target of a metric that may be negative",
			given: []Event{opened},
			when:  func(p *Plan) error { return p.SetTarget(emea, "margin", fy27, d("-20.50"), "budget", "cfo") },
			then:  []Event{set(emea, "margin", fy27, "-20.50")},
		},
		{
			name:    "set an existing target",
			given:   budget,
			when:    func(p *Plan) error { return p.SetTarget(emea, "revenue", fy27, d("700"), "budget", "cfo") },
			wantErr: []error{ErrTargetExists},
		},
		{
			name:    "set a negative target of a non-negative metric",
			given:   []Event{opened},
			when:    func(p *Plan) error { return p.SetTarget(emea, "revenue", fy27, d("-1"), "budget", "cfo") },
			wantErr: []error{ErrNegative},
		},
		{
			name:  "set reports metric, dimension, reason and actor at once",
			given: []Event{opened},
			when: func(p *Plan) error {
				return p.SetTarget(dimension.MustParseNode("bu=x"), "units", fy27, d("1"), " ", "")
			},
			wantErr: []error{ErrUnknownMetric, ErrUnknownDimension, ErrReasonRequired, ErrActorRequired},
		},
		{
			name:  "set over an arbitrary range",
			given: []Event{opened},
			when: func(p *Plan) error {
				return p.SetTarget(emea, "revenue", fiscal.Span{First: q2.First, Last: fy27.Last, Kind: fiscal.KindRange}, d("1"), "b", "cfo")
			},
			wantErr: []error{ErrInvalidSpan},
		},
		{
			name:  "set over a calendar-year span that is not the plan's fiscal year",
			given: []Event{opened},
			when: func(p *Plan) error {
				return p.SetTarget(emea, "revenue", fiscal.MustCalendar(time.January).FiscalYear(2027), d("1"), "b", "cfo")
			},
			wantErr: []error{ErrInvalidSpan},
		},
		{
			name:  "set over a quarter not aligned to the fiscal year",
			given: []Event{opened},
			when: func(p *Plan) error {
				return p.SetTarget(emea, "revenue", fiscal.MustCalendar(time.May).FiscalQuarter(2027, 1), d("1"), "b", "cfo")
			},
			wantErr: []error{ErrInvalidSpan},
		},
		{
			name:  "revise a target",
			given: budget,
			when:  func(p *Plan) error { return p.ReviseTarget(emea, "revenue", fy27, d("650"), "price increase", "cfo") },
			then:  []Event{TargetRevised{Node: emea, Metric: "revenue", Span: fy27, From: d("600"), To: d("650"), Reason: "price increase", By: "cfo"}},
		},
		{
			name:    "revise a missing target",
			given:   budget,
			when:    func(p *Plan) error { return p.ReviseTarget(apac, "revenue", fy27, d("10"), "new region", "cfo") },
			wantErr: []error{ErrNoTarget},
		},
		{
			name:    "revise to the same amount",
			given:   budget,
			when:    func(p *Plan) error { return p.ReviseTarget(emea, "revenue", fy27, d("600.00"), "again", "cfo") },
			wantErr: []error{ErrUnchanged},
		},
		{
			name:    "revise to a negative amount",
			given:   budget,
			when:    func(p *Plan) error { return p.ReviseTarget(emea, "revenue", fy27, d("-600"), "typo", "cfo") },
			wantErr: []error{ErrNegative},
		},
		{
			name:    "revise without a reason",
			given:   budget,
			when:    func(p *Plan) error { return p.ReviseTarget(emea, "revenue", fy27, d("601"), "", "cfo") },
			wantErr: []error{ErrReasonRequired},
		},
		{
			name:  "clear a target",
			given: budget,
			when:  func(p *Plan) error { return p.ClearTarget(amer, "revenue", fy27, "region merged", "cfo") },
			then:  []Event{TargetCleared{Node: amer, Metric: "revenue", Span: fy27, From: d("400"), Reason: "region merged", By: "cfo"}},
		},
		{
			name:    "clear a missing target",
			given:   budget,
			when:    func(p *Plan) error { return p.ClearTarget(amer, "revenue", q2, "x", "cfo") },
			wantErr: []error{ErrNoTarget},
		},
		{
			name:    "clear without actor",
			given:   budget,
			when:    func(p *Plan) error { return p.ClearTarget(amer, "revenue", fy27, "x", " ") },
			wantErr: []error{ErrActorRequired},
		},
		{
			name:  "propose a reallocation",
			given: budget,
			when: func(p *Plan) error {
				return p.ProposeReallocation("r1", "revenue", fy27, proposal.Moves, "AMER pipeline", "vp-sales")
			},
			then: []Event{proposal},
		},
		{
			name:  "propose an unbalanced reallocation",
			given: budget,
			when: func(p *Plan) error {
				return p.ProposeReallocation("r1", "revenue", fy27, []Move{{emea, d("-50")}, {amer, d("50.01")}}, "x", "vp-sales")
			},
			wantErr: []error{ErrUnbalanced},
		},
		{
			name:  "propose moving a node without a target",
			given: budget,
			when: func(p *Plan) error {
				return p.ProposeReallocation("r1", "revenue", fy27, []Move{{emea, d("-50")}, {apac, d("50")}}, "x", "vp-sales")
			},
			wantErr: []error{ErrNoTarget},
		},
		{
			name:  "propose a reallocation that leaves a negative target",
			given: budget,
			when: func(p *Plan) error {
				return p.ProposeReallocation("r1", "revenue", fy27, []Move{{emea, d("700")}, {amer, d("-700")}}, "x", "vp-sales")
			},
			wantErr: []error{ErrNegative},
		},
		{
			name:  "propose moving a target another open reallocation moves",
			given: with(budget, proposal, set(apac, "revenue", fy27, "0")),
			when: func(p *Plan) error {
				return p.ProposeReallocation("r2", "revenue", fy27, []Move{{amer, d("-10")}, {apac, d("10")}}, "x", "vp-sales")
			},
			wantErr: []error{ErrReallocationPending},
		},
		{
			name:  "propose again once the earlier reallocation is decided",
			given: with(budget, proposal, ReallocationRejected{ID: "r1", By: "cfo", Reason: "no"}, set(apac, "revenue", fy27, "0")),
			when: func(p *Plan) error {
				return p.ProposeReallocation("r2", "revenue", fy27, []Move{{amer, d("-10")}, {apac, d("10")}}, "x", "vp-sales")
			},
			then: []Event{ReallocationProposed{ID: "r2", Metric: "revenue", Span: fy27, Moves: []Move{{amer, d("-10")}, {apac, d("10")}}, Reason: "x", By: "vp-sales"}},
		},
		{
			name:  "propose with a used id",
			given: with(budget, proposal, ReallocationRejected{ID: "r1", By: "cfo", Reason: "no"}),
			when: func(p *Plan) error {
				return p.ProposeReallocation("r1", "revenue", fy27, proposal.Moves, "x", "vp-sales")
			},
			wantErr: []error{ErrReallocationExists},
		},
		{
			name:  "propose a single move, a zero delta, a node twice",
			given: budget,
			when: func(p *Plan) error {
				return errors.Join(
					p.ProposeReallocation("r1", "revenue", fy27, []Move{{emea, d("0")}}, "x", "vp-sales"),
					p.ProposeReallocation("r2", "revenue", fy27, []Move{{emea, d("1")}, {emea, d("-1")}}, "x", "vp-sales"),
				)
			},
			wantErr: []error{ErrInvalid},
		},
		{
			name:  "propose for an unknown metric over a bad span",
			given: budget,
			when: func(p *Plan) error {
				return p.ProposeReallocation("r1", "units", fiscal.Span{First: q2.First, Last: q2.Last, Kind: fiscal.KindRange}, proposal.Moves, "x", "vp-sales")
			},
			wantErr: []error{ErrUnknownMetric, ErrInvalidSpan},
		},
		{
			name:  "approve a reallocation",
			given: with(budget, proposal),
			when:  func(p *Plan) error { return p.ApproveReallocation("r1", "cfo", "") },
			then: []Event{
				ReallocationApproved{ID: "r1", By: "cfo"},
				TargetRevised{Node: emea, Metric: "revenue", Span: fy27, From: d("600"), To: d("550"), Reason: "reallocation r1: AMER pipeline", By: "cfo"},
				TargetRevised{Node: amer, Metric: "revenue", Span: fy27, From: d("400"), To: d("450"), Reason: "reallocation r1: AMER pipeline", By: "cfo"},
			},
		},
		{
			name:    "approve one's own reallocation",
			given:   with(budget, proposal),
			when:    func(p *Plan) error { return p.ApproveReallocation("r1", "vp-sales", "") },
			wantErr: []error{ErrSelfApproval},
		},
		{
			name: "approve after a moved target was revised",
			given: with(budget, proposal,
				TargetRevised{Node: amer, Metric: "revenue", Span: fy27, From: d("400"), To: d("420"), Reason: "deal", By: "cfo"}),
			when:    func(p *Plan) error { return p.ApproveReallocation("r1", "cfo", "") },
			wantErr: []error{ErrTargetChanged},
		},
		{
			name: "approve after a moved target was revised and revised back",
			given: with(budget, proposal,
				TargetRevised{Node: amer, Metric: "revenue", Span: fy27, From: d("400"), To: d("420"), Reason: "deal", By: "cfo"},
				TargetRevised{Node: amer, Metric: "revenue", Span: fy27, From: d("420"), To: d("400"), Reason: "undo", By: "cfo"}),
			when:    func(p *Plan) error { return p.ApproveReallocation("r1", "cfo", "") },
			wantErr: []error{ErrTargetChanged},
		},
		{
			name: "approve after a moved target was cleared",
			given: with(budget, proposal,
				TargetCleared{Node: emea, Metric: "revenue", Span: fy27, From: d("600"), Reason: "merge", By: "cfo"}),
			when:    func(p *Plan) error { return p.ApproveReallocation("r1", "cfo", "") },
			wantErr: []error{ErrTargetChanged},
		},
		{
			name:    "approve a rejected reallocation",
			given:   with(budget, proposal, ReallocationRejected{ID: "r1", By: "cfo", Reason: "no"}),
			when:    func(p *Plan) error { return p.ApproveReallocation("r1", "ceo", "") },
			wantErr: []error{ErrReallocationClosed},
		},
		{
			name:    "approve an unknown reallocation",
			given:   budget,
			when:    func(p *Plan) error { return p.ApproveReallocation("r9", "cfo", "") },
			wantErr: []error{ErrUnknownReallocation},
		},
		{
			name:  "the proposer withdraws their reallocation",
			given: with(budget, proposal),
			when:  func(p *Plan) error { return p.RejectReallocation("r1", "vp-sales", " withdrawn ") },
			then:  []Event{ReallocationRejected{ID: "r1", By: "vp-sales", Reason: "withdrawn"}},
		},
		{
			name:    "reject without a reason",
			given:   with(budget, proposal),
			when:    func(p *Plan) error { return p.RejectReallocation("r1", "cfo", "") },
			wantErr: []error{ErrReasonRequired},
		},
		{
			name:    "reject an approved reallocation",
			given:   with(budget, proposal, ReallocationApproved{ID: "r1", By: "cfo"}),
			when:    func(p *Plan) error { return p.RejectReallocation("r1", "cfo", "changed my mind") },
			wantErr: []error{ErrReallocationClosed},
		},
		{
			name:  "tag the current version",
			given: budget,
			when:  func(p *Plan) error { return p.TagVersion(" Budget FY27 ", "cfo") },
			then:  []Event{VersionTagged{Tag: "Budget FY27", Version: 4, By: "cfo"}},
		},
		{
			name:  "tag a version including a change recorded in the same command",
			given: budget,
			when: func(p *Plan) error {
				return errors.Join(p.ReviseTarget(emea, "revenue", fy27, d("610"), "r", "cfo"), p.TagVersion("Q2 reforecast", "cfo"))
			},
			then: []Event{
				TargetRevised{Node: emea, Metric: "revenue", Span: fy27, From: d("600"), To: d("610"), Reason: "r", By: "cfo"},
				VersionTagged{Tag: "Q2 reforecast", Version: 5, By: "cfo"},
			},
		},
		{
			name:    "tag twice",
			given:   with(budget, VersionTagged{Tag: "Budget FY27", Version: 4, By: "cfo"}),
			when:    func(p *Plan) error { return p.TagVersion("Budget FY27", "cfo") },
			wantErr: []error{ErrTagExists},
		},
		{
			name:    "tag blank",
			given:   budget,
			when:    func(p *Plan) error { return p.TagVersion("  ", "cfo") },
			wantErr: []error{ErrInvalid},
		},
		{
			name:  "approve the version seen",
			given: budget,
			when:  func(p *Plan) error { return p.ApproveVersion(4, "", "board", "as presented") },
			then:  []Event{VersionApproved{Version: 4, By: "board", Comment: "as presented"}},
		},
		{
			name:  "approve a tagged version after the tag was added",
			given: with(budget, VersionTagged{Tag: "Budget FY27", Version: 4, By: "cfo"}),
			when:  func(p *Plan) error { return p.ApproveVersion(4, "Budget FY27", "board", "") },
			then:  []Event{VersionApproved{Version: 4, Tag: "Budget FY27", By: "board"}},
		},
		{
			name:    "approve a version the plan has moved on from",
			given:   with(budget, TargetRevised{Node: emea, Metric: "revenue", Span: fy27, From: d("600"), To: d("610"), Reason: "r", By: "cfo"}),
			when:    func(p *Plan) error { return p.ApproveVersion(4, "", "board", "") },
			wantErr: []error{ErrStale},
		},
		{
			name: "approve a tag the plan has moved on from",
			given: with(budget, VersionTagged{Tag: "Budget FY27", Version: 4, By: "cfo"},
				TargetRevised{Node: emea, Metric: "revenue", Span: fy27, From: d("600"), To: d("610"), Reason: "r", By: "cfo"}),
			when:    func(p *Plan) error { return p.ApproveVersion(6, "Budget FY27", "board", "") },
			wantErr: []error{ErrStale},
		},
		{
			name:    "approve a version not reached and an unknown tag",
			given:   budget,
			when:    func(p *Plan) error { return p.ApproveVersion(9, "Budget FY99", "board", "") },
			wantErr: []error{ErrUnknownVersion, ErrUnknownTag},
		},
		{
			name:  "roll the horizon past a closed period",
			given: budget,
			when:  func(p *Plan) error { return p.RollHorizon(fiscal.NewPeriod(2026, time.June)) },
			then:  []Event{HorizonRolled{From: fiscal.NewPeriod(2026, time.April), To: fiscal.NewPeriod(2026, time.July)}},
		},
		{
			name:  "roll the horizon to where it is",
			given: budget,
			when:  func(p *Plan) error { return p.RollHorizon(fiscal.NewPeriod(2026, time.March)) },
		},
		{
			name:  "roll the horizon back",
			given: with(budget, HorizonRolled{From: fiscal.NewPeriod(2026, time.April), To: fiscal.NewPeriod(2026, time.July)}),
			when:  func(p *Plan) error { return p.RollHorizon(fiscal.NewPeriod(2026, time.April)) },
		},
		{
			name:  "return the horizon to a reopened period",
			given: with(budget, HorizonRolled{From: fiscal.NewPeriod(2026, time.April), To: fiscal.NewPeriod(2026, time.July)}),
			when:  func(p *Plan) error { return p.ReturnHorizon(fiscal.NewPeriod(2026, time.June)) },
			then:  []Event{HorizonRolled{From: fiscal.NewPeriod(2026, time.July), To: fiscal.NewPeriod(2026, time.June)}},
		},
		{
			name:  "return the horizon for a period the close did not roll past",
			given: with(budget, HorizonRolled{From: fiscal.NewPeriod(2026, time.April), To: fiscal.NewPeriod(2026, time.July)}),
			when:  func(p *Plan) error { return p.ReturnHorizon(fiscal.NewPeriod(2026, time.May)) },
		},
		{
			name:  "return the horizon before the plan's opening horizon",
			given: budget,
			when:  func(p *Plan) error { return p.ReturnHorizon(fiscal.NewPeriod(2026, time.March)) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := given(tt.given...)
			err := tt.when(p)
			aggregatetest.Then(t, p, err, tt.then, tt.wantErr)
		})
	}
}

func TestOpenReportsEveryProblem(t *testing.T) {
	bad := Opened{
		ID: "plan fy27", Name: " ", Currency: "eur",
		Metrics:         []Metric{{ID: "rev", Name: "Revenue"}, {ID: "rev", Name: ""}},
		FiscalYearStart: 13, Dimensions: []string{"region", "region", "a;b"},
		HorizonMonths: 200,
	}
	err := New().Open(bad)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Open error = %v, want ErrInvalid", err)
	}
	for _, want := range []string{`plan id "plan fy27"`, "plan name", `currency "eur"`, `id "rev" appears twice`, `metric "rev": name`,
		"1 to 12, got 13", `dimension "region" appears twice`, `dimension id "a;b"`, "horizon start", "got 200"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Open error does not mention %s:\n%v", want, err)
		}
	}
}

func TestTargetErrorSaysWhich(t *testing.T) {
	p := given(budget...)
	err := p.SetTarget(emea, "revenue", q2, d("-5"), "b", "cfo")
	var te *TargetError
	if !errors.As(err, &te) || te.Node != emea || te.Metric != "revenue" || te.Span != q2 {
		t.Fatalf("error %v is not a *TargetError about emea/revenue/q2", err)
	}
	if want := "plan: target region=emea / revenue / FY2027-Q2: metric \"revenue\" cannot be negative, got -5"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	p = given(with(budget, proposal, TargetRevised{Node: amer, Metric: "revenue", Span: fy27, From: d("400"), To: d("420"), Reason: "deal", By: "cfo"})...)
	err = p.ApproveReallocation("r1", "cfo", "")
	if !errors.As(err, &te) || te.Node != amer || !strings.Contains(err.Error(), "now 420, was 400") {
		t.Errorf("ApproveReallocation error %v does not name node region=amer and its change", err)
	}
}

func TestReadMethods(t *testing.T) {
	p := given(with(budget, proposal, ReallocationApproved{ID: "r1", By: "cfo"},
		TargetRevised{Node: emea, Metric: "revenue", Span: fy27, From: d("600"), To: d("550"), Reason: "reallocation r1: AMER pipeline", By: "cfo"},
		VersionTagged{Tag: "Q1 reforecast", Version: 7, By: "cfo"},
		set(emea, "margin", q2, "30"),
		HorizonRolled{From: fiscal.NewPeriod(2026, time.April), To: fiscal.NewPeriod(2026, time.July)},
	)...)
	if p.Version() != 10 || p.ChangedAt() != 10 {
		t.Errorf("Version, ChangedAt = %d, %d, want 10, 10", p.Version(), p.ChangedAt())
	}
	tg, ok := p.Target(emea, "revenue", fy27)
	if !ok || !tg.Amount.Equal(d("550")) || tg.ChangedAt != 7 {
		t.Errorf("Target(emea, revenue, FY27) = %+v, %v", tg, ok)
	}
	var got []string
	for _, t := range p.Targets() {
		got = append(got, t.Metric+" "+t.Node.String()+" "+cal.Format(t.Span)+" "+t.Amount.String())
	}
	want := []string{"margin region=emea FY2027-Q2 30", "revenue  FY2027 1000", "revenue region=amer FY2027 400", "revenue region=emea FY2027 550"}
	if !slices.Equal(got, want) {
		t.Errorf("Targets() = %q, want %q", got, want)
	}
	got = got[:0]
	for _, t := range p.TargetsWithin("revenue", fy27) {
		got = append(got, t.Metric+" "+t.Node.String()+" "+cal.Format(t.Span)+" "+t.Amount.String())
	}
	if want := want[1:]; !slices.Equal(got, want) {
		t.Errorf("TargetsWithin(revenue, FY27) = %q, want %q", got, want)
	}
	if got := p.TargetsWithin("margin", fy27); len(got) != 1 || got[0].Span != q2 {
		t.Errorf("TargetsWithin(margin, FY27) = %+v, want the FY2027-Q2 target alone", got)
	}
	if got := p.TargetsWithin("margin", fiscal.Span{First: fy27.First, Last: fy27.First}); len(got) != 0 {
		t.Errorf("TargetsWithin(margin, first month of FY27) = %+v, want none (the quarter reaches past it)", got)
	}
	r, ok := p.Reallocation("r1")
	if !ok || r.Status != StatusApproved || r.DecidedBy != "cfo" || r.ProposedAt != 5 || len(r.Moves) != 2 {
		t.Errorf("Reallocation(r1) = %+v, %v", r, ok)
	}
	if v, ok := p.Tag("Q1 reforecast"); !ok || v != 7 {
		t.Errorf("Tag = %d, %v", v, ok)
	}
	if h := p.Horizon(); h.First != fiscal.NewPeriod(2026, time.July) || h.Len() != 18 {
		t.Errorf("Horizon() = %v..%v", h.First, h.Last)
	}
	if m, ok := p.Metric("revenue"); !ok || !m.NonNegative {
		t.Errorf("Metric(revenue) = %+v, %v", m, ok)
	}
	if p.ID() != "fy27" || p.Currency() != "EUR" || p.Calendar() != cal || !slices.Equal(p.Dimensions(), opened.Dimensions) {
		t.Errorf("ID, Currency, Calendar, Dimensions = %q, %q, %v, %v", p.ID(), p.Currency(), p.Calendar(), p.Dimensions())
	}
}

// TestReplay runs a day of commands, replays what they recorded into a new
// plan, and expects the same state.
func TestReplay(t *testing.T) {
	p, err := Open(opened)
	if err != nil {
		t.Fatal(err)
	}
	steps := []error{
		p.SetTarget(emea, "revenue", fy27, d("600"), "budget", "cfo"),
		p.SetTarget(amer, "revenue", fy27, d("400"), "budget", "cfo"),
		p.SetTarget(apac, "revenue", fy27, d("100"), "budget", "cfo"),
		p.TagVersion("Budget FY27", "cfo"),
		p.ApproveVersion(p.Version(), "Budget FY27", "board", "ok"),
		p.ProposeReallocation("r1", "revenue", fy27, proposal.Moves, "pipeline", "vp-sales"),
		p.SetTarget(total, "revenue", fy27, d("1100"), "budget", "cfo"),
		p.ProposeReallocation("r2", "revenue", fy27, []Move{{apac, d("-10")}, {total, d("10")}}, "x", "vp-sales"),
		p.ApproveReallocation("r1", "cfo", ""),
		p.RejectReallocation("r2", "cfo", "no"),
		p.ClearTarget(apac, "revenue", fy27, "closed down", "cfo"),
		p.RollHorizon(fiscal.NewPeriod(2026, time.May)),
	}
	if err := errors.Join(steps...); err != nil {
		t.Fatal(err)
	}
	back := given(p.Changes()...)
	p.changes = nil
	if !reflect.DeepEqual(back, p) {
		t.Errorf("replayed state\n%+v\nwant\n%+v", back, p)
	}
}

// TestRename: a plan is renamed at any time; the numbers' version
// (ChangedAt) does not move, so approvals stay valid.
func TestRename(t *testing.T) {
	tests := []struct {
		name    string
		given   []Event
		to, by  string
		then    []Event
		wantErr []error
	}{
		{name: "rename", given: budget, to: " Budget FY27 ", by: "cfo", then: []Event{Renamed{From: opened.Name, To: "Budget FY27", By: "cfo"}}},
		{name: "same name", given: budget, to: opened.Name, by: "cfo"},
		{name: "blank", given: budget, to: " ", by: "cfo", wantErr: []error{ErrInvalid}},
		{name: "no actor", given: budget, to: "x", wantErr: []error{ErrActorRequired}},
		{name: "not opened", to: "x", by: "cfo", wantErr: []error{ErrNotOpened}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := given(tt.given...)
			changed := p.ChangedAt()
			err := p.Rename(tt.to, tt.by)
			aggregatetest.Then(t, p, err, tt.then, tt.wantErr)
			if err == nil && tt.then != nil && (p.Name() != "Budget FY27" || p.ChangedAt() != changed) {
				t.Errorf("after Rename: name %q, changed at %d (was %d); want the new name and the numbers' version kept", p.Name(), p.ChangedAt(), changed)
			}
		})
	}
}

// TestClone: a clone equals the plan replayed from the same events, and
// commands on the clone (which change reallocations in place, replace
// targets and append to the version lists) leave the original as it was.
func TestClone(t *testing.T) {
	p, err := Open(opened)
	if err != nil {
		t.Fatal(err)
	}
	steps := []error{
		p.SetTarget(emea, "revenue", fy27, d("600"), "budget", "cfo"),
		p.SetTarget(amer, "revenue", fy27, d("400"), "budget", "cfo"),
		p.SetTarget(apac, "revenue", fy27, d("100"), "budget", "cfo"),
		p.TagVersion("Budget FY27", "cfo"),
		p.ProposeReallocation("r1", "revenue", fy27, proposal.Moves, "pipeline", "vp-sales"),
	}
	if err := errors.Join(steps...); err != nil {
		t.Fatal(err)
	}
	before := slices.Clone(p.Changes())
	c := p.Clone()
	if !samePlan(c, p) {
		t.Fatalf("clone\n%+v\nwant\n%+v", c, p)
	}
	steps = []error{
		c.ApproveReallocation("r1", "cfo", ""),
		c.ReviseTarget(emea, "revenue", fy27, d("700"), "budget", "cfo"),
		c.ClearTarget(apac, "revenue", fy27, "closed down", "cfo"),
		c.TagVersion("Forecast", "cfo"),
		c.ApproveVersion(c.Version(), "Forecast", "board", "ok"),
		c.RollHorizon(fiscal.NewPeriod(2026, time.May)),
		c.Rename("Renamed", "cfo"),
	}
	if err := errors.Join(steps...); err != nil {
		t.Fatal(err)
	}
	orig := given(before...)
	orig.changes = before
	if !samePlan(p, orig) {
		t.Errorf("original after commands on its clone\n%+v\nwant it unchanged\n%+v", p, orig)
	}
	all := slices.Clone(c.Changes())
	back := given(all...)
	back.changes = all
	if !samePlan(c, back) {
		t.Errorf("clone after commands\n%+v\nwant the replay of its events\n%+v", c, back)
	}
}

// samePlan reports whether a and b hold the same plan: deeply equal, with
// their targets compared by key and value (how the target table shares
// its shards between copies is not the plan's content).
func samePlan(a, b *Plan) bool {
	flat := func(p *Plan) map[targetKey]target {
		out := map[targetKey]target{}
		for k, t := range p.targets.all() {
			out[k] = *t
		}
		return out
	}
	ac, bc := *a, *b
	ac.targets, bc.targets = targetTable{}, targetTable{}
	return reflect.DeepEqual(&ac, &bc) && a.targets.len() == b.targets.len() && reflect.DeepEqual(flat(a), flat(b))
}
