package planning_test

import (
	"context"
	"errors"
	"testing"

	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/planning"
)

// TestCheckActualsAcrossBatches: batches are checked as if recorded one
// after another, without recording anything: a row repeating one of an
// earlier batch is found, a batch already recorded passes, and a clean
// check is followed by imports that all succeed.
func TestCheckActualsAcrossBatches(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	b1 := planning.RecordActuals{Plan: "p1", ImportID: "f-1", Rows: []planning.ActualRow{
		{Line: 2, Cell: "region=emea", Metric: "revenue", Period: "2027-01", Amount: "1.10"},
		{Line: 3, Cell: "region=amer", Metric: "revenue", Period: "2027-02", Amount: "2"},
	}}
	b2 := planning.RecordActuals{Plan: "p1", ImportID: "f-2", Rows: []planning.ActualRow{
		{Line: 4, Cell: "region=emea", Metric: "revenue", Period: "2027-01", Amount: "5"},
		{Line: 5, Cell: "region=mars", Metric: "revenue", Period: "2027-01", Amount: "5"},
	}}
	before := f.head(t)
	err := f.svc.CheckActuals(ctx, planner, b1, b2)
	var ve *planning.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 2 {
		t.Fatalf("CheckActuals = %v, want two problems", err)
	}
	if p := ve.Problems[0]; p.Row != 5 || p.Field != "cell" || p.Value != "region=mars" {
		t.Errorf("first problem = %+v, want row 5, cell region=mars", p)
	}
	if p := ve.Problems[1]; p.Row != 4 || !errors.Is(p.Err, ledger.ErrAlreadyRecorded) {
		t.Errorf("second problem = %+v, want row 4 already recorded (by the first batch)", p)
	}
	if f.head(t) != before {
		t.Fatal("CheckActuals appended events")
	}

	b2.Rows = b2.Rows[:1]
	b2.Rows[0].Cell = "region=amer"
	if err := f.svc.CheckActuals(ctx, planner, b1, b2); err != nil {
		t.Fatalf("CheckActuals of good batches = %v", err)
	}
	if _, err := f.svc.RecordActuals(ctx, planner, b1); err != nil {
		t.Fatal(err)
	}
	// b1 is recorded: checking both again passes (b1 is skipped, as
	// RecordActuals would skip it), and b2 still records.
	if err := f.svc.CheckActuals(ctx, planner, b1, b2); err != nil {
		t.Fatalf("CheckActuals after the first batch = %v", err)
	}
	if res, err := f.svc.RecordActuals(ctx, planner, b2); err != nil || res.Recorded != 1 {
		t.Fatalf("RecordActuals(b2) = %+v, %v", res, err)
	}
	if err := f.svc.CheckActuals(ctx, viewer, b1); !errors.Is(err, planning.ErrForbidden) {
		t.Errorf("a viewer's check = %v, want ErrForbidden", err)
	}
}

// TestCheckTargetsRecordsNothing: the check sees each row against the
// plan as the rows before it leave it, takes more than MaxRows, and
// appends nothing.
func TestCheckTargetsRecordsNothing(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	before := f.head(t)
	good := []planning.TargetChange{
		{Line: 2, Op: planning.OpSet, Node: "region=emea", Metric: "revenue", Span: "FY2027", Amount: "10", Reason: "r"},
		{Line: 3, Op: planning.OpRevise, Node: "region=emea", Metric: "revenue", Span: "FY2027", Amount: "12", Reason: "r"},
	}
	if err := f.svc.CheckTargets(ctx, planner, "p1", good); err != nil {
		t.Fatalf("CheckTargets(good) = %v", err)
	}
	bad := append(good, planning.TargetChange{Line: 4, Op: planning.OpSet, Node: "region=emea", Metric: "revenue", Span: "FY2027", Amount: "1", Reason: "r"})
	err := f.svc.CheckTargets(ctx, planner, "p1", bad)
	var ve *planning.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Row != 4 || !errors.Is(err, plan.ErrTargetExists) {
		t.Fatalf("CheckTargets(bad) = %v, want row 4: the target exists", err)
	}
	many := make([]planning.TargetChange, planning.MaxRows+1)
	for i := range many {
		many[i] = planning.TargetChange{Op: planning.OpSet, Node: "region=emea", Metric: "revenue", Span: "FY2027", Amount: "10", Reason: "r"}
		if i > 0 {
			many[i].Op = planning.OpRevise
			many[i].Amount = []string{"10", "11"}[i%2]
		}
	}
	if err := f.svc.CheckTargets(ctx, planner, "p1", many); err != nil {
		t.Errorf("CheckTargets of %d rows = %v", len(many), err)
	}
	if f.head(t) != before {
		t.Fatal("CheckTargets appended events")
	}
	if err := f.svc.CheckTargets(ctx, planner, "nope", good); !errors.Is(err, plan.ErrNotOpened) {
		t.Errorf("CheckTargets of an unknown plan = %v, want plan.ErrNotOpened", err)
	}
}
