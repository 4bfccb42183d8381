package planning_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/planning"
)

// bigPlan writes plan "big" with 40 regions × 10 products × 12 months of
// revenue targets (4,800), each set and then revised twice (14,400 plan
// events), and returns its store.
func bigPlan(b *testing.B) *sqlite.Store {
	b.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "e.db"), sqlite.Options{Synchronous: "OFF"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	svc := planning.New(store, planning.NewRegistry())
	must := func(_ planning.Result, err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	dims := map[string]int{"region": 40, "product": 10}
	for _, d := range []string{"region", "product"} {
		must(svc.DefineDimension(ctx, planner, planning.DefineDimension{ID: d, Name: d, RootID: "all-" + d, RootName: "All"}))
		for i := range dims[d] {
			must(svc.AddMember(ctx, planner, planning.AddMember{Dimension: d, ID: fmt.Sprintf("%s%d", d[:1], i), Name: fmt.Sprint(i), Parent: "all-" + d}))
		}
	}
	must(svc.OpenPlan(ctx, planner, planning.OpenPlan{ID: "big", Name: "Big", Currency: "EUR", FiscalYearStart: 1, Dimensions: []string{"region", "product"},
		HorizonStart: "2027-01", HorizonMonths: 12, Metrics: []plan.Metric{{ID: "revenue", Name: "Revenue", NonNegative: true}}}))
	for round, op := range []planning.TargetOp{planning.OpSet, planning.OpRevise, planning.OpRevise} {
		var rows []planning.TargetChange
		for r := range dims["region"] {
			for p := range dims["product"] {
				for m := 1; m <= 12; m++ {
					rows = append(rows, planning.TargetChange{Op: op, Node: fmt.Sprintf("region=r%d;product=p%d", r, p), Metric: "revenue",
						Span: fmt.Sprintf("2027-%02d", m), Amount: fmt.Sprint(100 + round), Reason: "bench"})
				}
			}
		}
		must(svc.ChangeTargets(ctx, planner, "big", rows))
	}
	return store
}

// BenchmarkChangeTarget revises one target of a plan of 4,800 targets and
// 14,400 events per iteration, with the repository's cache (a copy of the
// plan and a read of the events after it) and without (a replay of the
// stream).
func BenchmarkChangeTarget(b *testing.B) {
	store := bigPlan(b)
	for _, tt := range []struct {
		name string
		size int
	}{{"cached", eventstore.DefaultCacheSize}, {"uncached", 0}} {
		b.Run(tt.name, func(b *testing.B) {
			ctx := context.Background()
			svc := planning.New(store, planning.NewRegistry(), planning.WithAggregateCache(tt.size),
				planning.WithClock(func() time.Time { return time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC) }))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				ch := planning.TargetChange{Op: planning.OpRevise, Node: "region=r3;product=p4", Metric: "revenue", Span: "2027-06",
					Amount: fmt.Sprint(200 + i%2), Reason: "bench"}
				if _, err := svc.ChangeTarget(ctx, planner, "big", ch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
