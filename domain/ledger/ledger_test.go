package ledger

import (
	"errors"
	"github.com/concord-planning/concord/domain/eventstore/aggregatetest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/fiscal"
)

var (
	mar27 = fiscal.NewPeriod(2027, time.March)
	apr27 = fiscal.NewPeriod(2027, time.April)
	de    = dimension.MustParseNode("product=p1;region=de")
	fr    = dimension.MustParseNode("product=p1;region=fr")
)

func d(s string) decimal.Decimal { return decimal.MustParse(s) }

func recorded(imp string, cell dimension.Node, metric, amount string) ActualRecorded {
	return ActualRecorded{ImportID: imp, Cell: cell, Metric: metric, Period: mar27, Amount: d(amount), By: "erp"}
}

// march holds import i1: revenue of de (100.50) and fr (80).
var march = []Event{recorded("i1", de, "revenue", "100.50"), recorded("i1", fr, "revenue", "80")}

func given(events ...Event) *Ledger {
	l := New(mar27)
	for _, e := range events {
		l.Apply(e)
	}
	return l
}

func rows(rs ...Row) []Row { return rs }

func TestCommands(t *testing.T) {
	closed := append(append([]Event{}, march...), PeriodClosed{Period: mar27, By: "controller"})
	tests := []struct {
		name    string
		given   []Event
		when    func(l *Ledger) error
		then    []Event
		wantErr []error
	}{
		{
			name: "record a batch",
			when: func(l *Ledger) error {
				return l.Record("i1", rows(Row{Line: 2, Cell: de, Metric: "revenue", Period: mar27, Amount: d("100.50")}, Row{Line: 3, Cell: fr, Metric: "revenue", Period: mar27, Amount: d("80")}), "erp")
			},
			then: march,
		},
		{
			name:  "record an import again",
			given: march,
			when: func(l *Ledger) error {
				return l.Record("i1", rows(Row{Cell: fr, Metric: "revenue", Period: mar27, Amount: d("80.00")}, Row{Cell: de, Metric: "revenue", Period: mar27, Amount: d("100.5")}), "erp")
			},
		},
		{
			name:  "record an import id again with other rows",
			given: march,
			when: func(l *Ledger) error {
				return l.Record("i1", rows(Row{Cell: de, Metric: "units", Period: mar27, Amount: d("3")}), "erp")
			},
			wantErr: []error{ErrImportReused},
		},
		{
			name:  "record an import id again with an amount changed",
			given: march,
			when: func(l *Ledger) error {
				return l.Record("i1", rows(Row{Cell: de, Metric: "revenue", Period: mar27, Amount: d("100.51")}, Row{Cell: fr, Metric: "revenue", Period: mar27, Amount: d("80")}), "erp")
			},
			wantErr: []error{ErrImportReused},
		},
		{
			name: "an import id with a control character",
			when: func(l *Ledger) error {
				return l.Record("i1\n", rows(Row{Cell: de, Metric: "units", Period: mar27, Amount: d("3")}), "erp")
			},
			wantErr: []error{ErrInvalidText},
		},
		{
			name:  "record another metric of a recorded cell",
			given: march,
			when: func(l *Ledger) error {
				return l.Record("i2", rows(Row{Cell: de, Metric: "units", Period: mar27, Amount: d("3")}), "erp")
			},
			then: []Event{recorded("i2", de, "units", "3")},
		},
		{
			name:  "record a recorded actual",
			given: march,
			when: func(l *Ledger) error {
				return l.Record("i2", rows(Row{Cell: de, Metric: "revenue", Period: mar27, Amount: d("101")}), "erp")
			},
			wantErr: []error{ErrAlreadyRecorded},
		},
		{
			name: "record a row of another period",
			when: func(l *Ledger) error {
				return l.Record("i1", rows(Row{Cell: de, Metric: "revenue", Period: apr27, Amount: d("1")}), "erp")
			},
			wantErr: []error{ErrWrongPeriod},
		},
		{
			name: "record the same cell and metric twice in a batch",
			when: func(l *Ledger) error {
				return l.Record("i1", rows(Row{Cell: de, Metric: "revenue", Period: mar27, Amount: d("1")}, Row{Cell: de, Metric: "revenue", Period: mar27, Amount: d("2")}), "erp")
			},
			wantErr: []error{ErrDuplicateRow},
		},
		{
			name: "record a bad metric id",
			when: func(l *Ledger) error {
				return l.Record("i1", rows(Row{Cell: de, Metric: "net revenue", Period: mar27, Amount: d("1")}), "erp")
			},
			wantErr: []error{ErrInvalidMetric},
		},
		{
			name:  "record into a closed period",
			given: closed,
			when: func(l *Ledger) error {
				return l.Record("i2", rows(Row{Cell: de, Metric: "units", Period: mar27, Amount: d("3")}), "erp")
			},
			wantErr: []error{ErrClosed},
		},
		{
			name:    "record nothing",
			when:    func(l *Ledger) error { return l.Record("i1", nil, "erp") },
			wantErr: []error{ErrEmptyBatch},
		},
		{
			name:    "record too many rows",
			when:    func(l *Ledger) error { return l.Record("i1", make([]Row, MaxRows+1), "erp") },
			wantErr: []error{ErrTooManyRows},
		},
		{
			name: "record without import id and actor",
			when: func(l *Ledger) error {
				return l.Record(" ", rows(Row{Cell: de, Metric: "revenue", Period: mar27, Amount: d("1")}), "")
			},
			wantErr: []error{ErrImportID, ErrActorRequired},
		},
		{
			name:  "restate an actual",
			given: march,
			when:  func(l *Ledger) error { return l.Restate(de, "revenue", d("99.50"), " credit note ", "controller") },
			then:  []Event{ActualRestated{Cell: de, Metric: "revenue", Period: mar27, From: d("100.50"), To: d("99.50"), Reason: "credit note", By: "controller"}},
		},
		{
			name:  "restate in a closed period",
			given: closed,
			when:  func(l *Ledger) error { return l.Restate(fr, "revenue", d("81"), "late invoice", "controller") },
			then:  []Event{ActualRestated{Cell: fr, Metric: "revenue", Period: mar27, From: d("80"), To: d("81"), Reason: "late invoice", By: "controller"}},
		},
		{
			name:    "restate a missing actual",
			given:   march,
			when:    func(l *Ledger) error { return l.Restate(de, "units", d("1"), "x", "controller") },
			wantErr: []error{ErrNotRecorded},
		},
		{
			name:    "restate without reason to the same amount",
			given:   march,
			when:    func(l *Ledger) error { return l.Restate(de, "revenue", d("100.5"), "", "controller") },
			wantErr: []error{ErrUnchanged, ErrReasonRequired},
		},
		{
			name:  "close",
			given: march,
			when:  func(l *Ledger) error { return l.Close("controller", 0, "") },
			then:  []Event{PeriodClosed{Period: mar27, By: "controller"}},
		},
		{
			name:    "close twice",
			given:   closed,
			when:    func(l *Ledger) error { return l.Close("controller", 0, "") },
			wantErr: []error{ErrClosed},
		},
		{
			name:    "close with cells missing actuals needs a reason",
			given:   march,
			when:    func(l *Ledger) error { return l.Close("controller", 3, " ") },
			wantErr: []error{ErrReasonRequired},
		},
		{
			name:  "close with cells missing actuals, for a reason",
			given: march,
			when:  func(l *Ledger) error { return l.Close("controller", 3, " ERP late ") },
			then:  []Event{PeriodClosed{Period: mar27, By: "controller", Missing: 3, Reason: "ERP late"}},
		},
		{
			name:  "reopen",
			given: closed,
			when:  func(l *Ledger) error { return l.Reopen("controller", "late invoices") },
			then:  []Event{PeriodReopened{Period: mar27, Reason: "late invoices", By: "controller"}},
		},
		{
			name:    "reopen an open period without reason nor actor",
			given:   march,
			when:    func(l *Ledger) error { return l.Reopen("", "") },
			wantErr: []error{ErrNotClosed, ErrReasonRequired, ErrActorRequired},
		},
		{
			name:  "close again after a reopen",
			given: append(append([]Event{}, closed...), PeriodReopened{Period: mar27, Reason: "late invoices", By: "controller"}),
			when:  func(l *Ledger) error { return l.Close("controller", 0, "") },
			then:  []Event{PeriodClosed{Period: mar27, By: "controller"}},
		},
		{
			name:    "close without actor",
			when:    func(l *Ledger) error { return l.Close("", 0, "") },
			wantErr: []error{ErrActorRequired},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := given(tt.given...)
			err := tt.when(l)
			aggregatetest.Then(t, l, err, tt.then, tt.wantErr)
		})
	}
}

// TestRecordReportsEveryBadRow checks that a batch with several bad rows
// reports each, with the caller's row numbers, and records nothing.
func TestRecordReportsEveryBadRow(t *testing.T) {
	l := given(march...)
	it := dimension.MustParseNode("product=p1;region=it")
	err := l.Record("i2", []Row{
		{Line: 2, Cell: it, Metric: "revenue", Period: mar27, Amount: d("5")}, // fine
		{Line: 3, Cell: de, Metric: "revenue", Period: mar27, Amount: d("5")}, // recorded in i1
		{Line: 4, Cell: it, Metric: "units", Period: apr27, Amount: d("1")},   // other period
		{Line: 5, Cell: it, Metric: "revenue", Period: mar27, Amount: d("6")}, // duplicates line 2
		{Line: 6, Cell: it, Metric: "", Period: mar27, Amount: d("6")},        // no metric
	}, "erp")
	want := []RowError{
		{Row: 3, Field: "cell", Value: "product=p1;region=de", Err: ErrAlreadyRecorded},
		{Row: 4, Field: "period", Value: "2027-04", Err: ErrWrongPeriod},
		{Row: 5, Field: "cell", Value: "product=p1;region=it", Err: ErrDuplicateRow},
		{Row: 6, Field: "metric", Value: "", Err: ErrInvalidMetric},
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("Record error = %v, want joined row errors", err)
	}
	got := joined.Unwrap()
	if len(got) != len(want) {
		t.Fatalf("Record reported %d problems, want %d:\n%v", len(got), len(want), err)
	}
	for i, e := range got {
		var re *RowError
		if !errors.As(e, &re) || re.Row != want[i].Row || re.Field != want[i].Field || re.Value != want[i].Value || !errors.Is(re, want[i].Err) {
			t.Errorf("problem %d = %#v, want %+v", i, e, want[i])
		}
	}
	if !strings.Contains(err.Error(), "row 5, cell \"product=p1;region=it\": revenue appears again, first in row 2") {
		t.Errorf("error text does not say which rows clash:\n%v", err)
	}
	if len(l.Changes()) != 0 {
		t.Errorf("a rejected batch recorded %d events", len(l.Changes()))
	}
}

func TestReadMethods(t *testing.T) {
	l := given(append(march,
		ActualRestated{Cell: de, Metric: "revenue", Period: mar27, From: d("100.50"), To: d("99"), Reason: "x", By: "c"},
		recorded("i2", de, "margin", "12"),
		PeriodClosed{Period: mar27, By: "c"})...)
	if a, ok := l.Actual(de, "revenue"); !ok || !a.Equal(d("99")) {
		t.Errorf("Actual(de, revenue) = %v, %v, want 99", a, ok)
	}
	if !l.Closed() || !l.Imported("i2") || l.Imported("i3") || l.Period() != mar27 {
		t.Errorf("Closed, Imported(i2), Imported(i3), Period = %v, %v, %v, %v", l.Closed(), l.Imported("i2"), l.Imported("i3"), l.Period())
	}
	var got []string
	for _, a := range l.Actuals() {
		got = append(got, a.Metric+" "+a.Cell.String()+" "+a.Amount.String())
	}
	want := []string{"margin product=p1;region=de 12", "revenue product=p1;region=de 99", "revenue product=p1;region=fr 80"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Actuals() = %q, want %q", got, want)
	}
}

func TestStream(t *testing.T) {
	if got := Stream(mar27); got != "ledger-2027-03" {
		t.Errorf("Stream(2027-03) = %q", got)
	}
	if p, ok := ParseStream("ledger-2027-03"); !ok || p != mar27 {
		t.Errorf("ParseStream(ledger-2027-03) = %v, %v", p, ok)
	}
	for _, s := range []string{"plan-2027-03", "ledger-2027-13", "ledger-"} {
		if _, ok := ParseStream(s); ok {
			t.Errorf("ParseStream(%q) succeeded", s)
		}
	}
}

func TestReplay(t *testing.T) {
	l := New(mar27)
	steps := []error{
		l.Record("i1", []Row{{Cell: de, Metric: "revenue", Period: mar27, Amount: d("10")}, {Cell: fr, Metric: "revenue", Period: mar27, Amount: d("20")}}, "erp"),
		l.Restate(fr, "revenue", d("21.25"), "late invoice", "controller"),
		l.Close("controller", 0, ""),
		l.Restate(fr, "revenue", d("21"), "rounding", "controller"),
	}
	if err := errors.Join(steps...); err != nil {
		t.Fatal(err)
	}
	back := given(l.Changes()...)
	l.changes = nil
	if !reflect.DeepEqual(back, l) {
		t.Errorf("replayed state\n%+v\nwant\n%+v", back, l)
	}
}
