package view_test

import (
	"context"
	"testing"
	"time"

	"github.com/concord-planning/concord/projections/company"
	"github.com/concord-planning/concord/projections/view"
	"github.com/concord-planning/concord/projections/view/viewtest"
)

// BenchmarkFirstVariance times the first variance answer of each metric of
// the generator's company.Realistic(1) (about a million events: 2,048 cells
// × 3 metrics × 36 months; 24,577 targets per metric in fiscal year 2028),
// the call that spent minutes reconciling targets: a new Service folds the
// log (outside the timer), then one Variance per metric is timed, and
// the slowest is reported as max-ns/variance. Writing the company to SQLite
// takes minutes, so run it once:
//
//	go test ./projections/view -run '^$' -bench FirstVariance -benchtime 1x -timeout 30m
func BenchmarkFirstVariance(b *testing.B) {
	ctx := context.Background()
	log, err := company.Generate(company.Realistic(1))
	if err != nil {
		b.Fatal(err)
	}
	clock := &viewtest.Clock{}
	store := viewtest.OpenStore(b, "", clock)
	if err := log.AppendTo(ctx, store, clock.Set); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var slowest time.Duration
	for b.Loop() {
		b.StopTimer()
		svc := view.NewService(store, company.Registry())
		if _, err := svc.Live(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for _, metric := range log.Metrics {
			start := time.Now()
			v, err := svc.Variance(ctx, log.PlanID, view.VarianceQuery{Metric: metric})
			if err != nil {
				b.Fatal(err)
			}
			took := time.Since(start)
			slowest = max(slowest, took)
			b.Logf("%s: first variance in %v, %d rows, %d conflicts", metric, took, len(v.Rows), len(v.Conflicts))
		}
	}
	b.ReportMetric(float64(slowest.Nanoseconds()), "max-ns/variance")
}
