package planning_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/planning"
)

// ledgerEvents returns the events of period's ledger stream.
func (f fixture) ledgerEvents(t *testing.T, period string) []any {
	t.Helper()
	recs, err := f.store.ReadStream(context.Background(), ledger.Stream(mustPeriod(period)), 1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	reg := planning.NewRegistry()
	var out []any
	for _, r := range recs {
		v, err := reg.Decode(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := v.(ledger.ActualRecorded); !ok {
			out = append(out, v)
		}
	}
	return out
}

func (f fixture) horizons(t *testing.T) []fiscal.Period {
	t.Helper()
	var out []fiscal.Period
	for _, id := range []string{"p1", "p2"} {
		p, _, err := f.svc.Plan(context.Background(), viewer.By, id)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Horizon().First)
	}
	return out
}

func (f fixture) record(t *testing.T, importID, period string, cells ...string) {
	t.Helper()
	var rows []planning.ActualRow
	for _, c := range cells {
		rows = append(rows, planning.ActualRow{Cell: c, Metric: "revenue", Period: period, Amount: "10"})
	}
	if _, err := f.svc.RecordActuals(context.Background(), planner, planning.RecordActuals{Plan: "p1", ImportID: importID, Rows: rows}); err != nil {
		t.Fatal(err)
	}
}

// TestClosePeriodGuards: given two plans from 2027-01 and the clock in
// 2027-03, each refused close names the period and records nothing.
func TestClosePeriodGuards(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		actuals []string // cells with a 2027-01 actual
		in      planning.ClosePeriod
		wantErr error
		want    []string // in the message
	}{
		{"a future period", nil, planning.ClosePeriod{Period: "2027-04"}, planning.ErrFuturePeriod, []string{"2027-04", "2027-03"}},
		{"the last period there is", nil, planning.ClosePeriod{Period: "9999-12"}, planning.ErrFuturePeriod, []string{"9999-12"}},
		{"skipping an open month", []string{"region=emea", "region=amer"}, planning.ClosePeriod{Period: "2027-02"}, planning.ErrPeriodOrder,
			[]string{"cannot close 2027-02: 2027-01 is still open"}},
		{"before the horizons", nil, planning.ClosePeriod{Period: "2026-12"}, planning.ErrPeriodOrder, []string{"the next open period is 2027-01"}},
		{"cells missing actuals", []string{"region=emea"}, planning.ClosePeriod{Period: "2027-01"}, planning.ErrMissingActuals,
			[]string{"2027-01", "1 of 2 cells have no actual", "region=amer, revenue", "allow_missing"}},
		{"allow_missing without a reason", []string{"region=emea"}, planning.ClosePeriod{Period: "2027-01", AllowMissing: true, Reason: " "},
			ledger.ErrReasonRequired, []string{"reason"}},
		{"a viewer", nil, planning.ClosePeriod{Period: "2027-01", AllowMissing: true, Reason: "x"}, planning.ErrForbidden, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			if len(tt.actuals) > 0 {
				f.record(t, "erp-1", "2027-01", tt.actuals...)
			}
			call := planner
			if errors.Is(tt.wantErr, planning.ErrForbidden) {
				call = viewer
			}
			head := f.head(t)
			_, err := f.svc.ClosePeriod(ctx, call, tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ClosePeriod(%+v) = %v, want %v", tt.in, err, tt.wantErr)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ClosePeriod(%+v) = %q, want it to say %q", tt.in, err, w)
				}
			}
			if f.head(t) != head {
				t.Errorf("a refused close moved the log from %v to %v", head, f.head(t))
			}
		})
	}
}

// TestClosePeriodInOrder: months close one after the other once their
// actuals are in; a close allowing missing cells records how many and why.
func TestClosePeriodInOrder(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	f.record(t, "erp-1", "2027-01", "region=emea", "region=amer")
	if _, err := f.svc.ClosePeriod(ctx, planner, planning.ClosePeriod{Period: "2027-01"}); err != nil {
		t.Fatalf("close 2027-01 with every actual: %v", err)
	}
	f.record(t, "erp-2", "2027-02", "region=amer")
	if _, err := f.svc.ClosePeriod(ctx, planner, planning.ClosePeriod{Period: "2027-02", AllowMissing: true, Reason: "EMEA's ERP is late"}); err != nil {
		t.Fatalf("close 2027-02 allowing missing actuals: %v", err)
	}
	want := []any{ledger.PeriodClosed{Period: mustPeriod("2027-02"), By: "alice", Missing: 1, Reason: "EMEA's ERP is late"}}
	if got := f.ledgerEvents(t, "2027-02"); !reflect.DeepEqual(got, want) {
		t.Errorf("ledger 2027-02 = %+v, want %+v", got, want)
	}
	if got := f.horizons(t); got[0] != mustPeriod("2027-03") || got[1] != mustPeriod("2027-03") {
		t.Errorf("horizons start %v, want 2027-03", got)
	}
	// The current month may close (its actuals are in); the next may not.
	f.record(t, "erp-3", "2027-03", "region=emea", "region=amer")
	if _, err := f.svc.ClosePeriod(ctx, planner, planning.ClosePeriod{Period: "2027-03"}); err != nil {
		t.Errorf("close the current month: %v", err)
	}
	if _, err := f.svc.ClosePeriod(ctx, planner, planning.ClosePeriod{Period: "2027-04", AllowMissing: true, Reason: "x"}); !errors.Is(err, planning.ErrFuturePeriod) {
		t.Errorf("close next month = %v, want ErrFuturePeriod", err)
	}
}

// TestReopenPeriod: only the last closed period reopens, for a reason;
// the horizons it rolled move back, actuals can be recorded, and it closes
// again.
func TestReopenPeriod(t *testing.T) {
	ctx := context.Background()
	f := setup(t)
	if _, err := f.svc.ReopenPeriod(ctx, planner, planning.ReopenPeriod{Period: "2027-01", Reason: "x"}); !errors.Is(err, planning.ErrPeriodOrder) ||
		!strings.Contains(err.Error(), "no period is closed") {
		t.Errorf("reopen with nothing closed = %v, want ErrPeriodOrder", err)
	}
	f.record(t, "erp-1", "2027-01", "region=emea", "region=amer")
	f.record(t, "erp-2", "2027-02", "region=emea")
	for _, in := range []planning.ClosePeriod{{Period: "2027-01"}, {Period: "2027-02", AllowMissing: true, Reason: "Americas late"}} {
		if _, err := f.svc.ClosePeriod(ctx, planner, in); err != nil {
			t.Fatalf("ClosePeriod(%+v): %v", in, err)
		}
	}
	head := f.head(t)
	refused := []struct {
		call planning.Call
		in   planning.ReopenPeriod
		want error
		text string
	}{
		{planner, planning.ReopenPeriod{Period: "2027-01", Reason: "late invoices"}, planning.ErrPeriodOrder, "only the last closed period, 2027-02"},
		{planner, planning.ReopenPeriod{Period: "2027-03", Reason: "late invoices"}, planning.ErrPeriodOrder, "cannot reopen 2027-03"},
		{planner, planning.ReopenPeriod{Period: "2027-02", Reason: ""}, ledger.ErrReasonRequired, "reason"},
		{viewer, planning.ReopenPeriod{Period: "2027-02", Reason: "late invoices"}, planning.ErrForbidden, "reopen periods"},
	}
	for _, r := range refused {
		if _, err := f.svc.ReopenPeriod(ctx, r.call, r.in); !errors.Is(err, r.want) || !strings.Contains(err.Error(), r.text) {
			t.Errorf("ReopenPeriod(%+v) = %v, want %v saying %q", r.in, err, r.want, r.text)
		}
	}
	if f.head(t) != head {
		t.Fatalf("refused reopens moved the log from %v to %v", head, f.head(t))
	}
	res, err := f.svc.ReopenPeriod(ctx, planner, planning.ReopenPeriod{Period: "2027-02", Reason: " late invoices "})
	if err != nil || len(res.Plans) != 2 || res.Position != f.head(t) {
		t.Fatalf("ReopenPeriod = %+v, %v; want the ledger and both plans", res, err)
	}
	if got := f.horizons(t); got[0] != mustPeriod("2027-02") || got[1] != mustPeriod("2027-02") {
		t.Errorf("horizons start %v after the reopen, want 2027-02", got)
	}
	want := []any{ledger.PeriodClosed{Period: mustPeriod("2027-02"), By: "alice", Missing: 1, Reason: "Americas late"},
		ledger.PeriodReopened{Period: mustPeriod("2027-02"), Reason: "late invoices", By: "alice"}}
	if got := f.ledgerEvents(t, "2027-02"); !reflect.DeepEqual(got, want) {
		t.Errorf("ledger 2027-02 = %+v, want %+v", got, want)
	}
	// Open again: a late actual is taken, 2027-03 cannot skip it, and it closes again.
	f.record(t, "late", "2027-02", "region=amer")
	if _, err := f.svc.ClosePeriod(ctx, planner, planning.ClosePeriod{Period: "2027-03", AllowMissing: true, Reason: "x"}); !errors.Is(err, planning.ErrPeriodOrder) {
		t.Errorf("close 2027-03 with 2027-02 reopened = %v, want ErrPeriodOrder", err)
	}
	if _, err := f.svc.ClosePeriod(ctx, planner, planning.ClosePeriod{Period: "2027-02"}); err != nil {
		t.Fatalf("close again: %v", err)
	}
	if got := f.horizons(t); got[0] != mustPeriod("2027-03") || got[1] != mustPeriod("2027-03") {
		t.Errorf("horizons start %v after the close again, want 2027-03", got)
	}
}
