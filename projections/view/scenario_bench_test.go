package view_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/scenario"
	"github.com/concord-planning/concord/projections/company"
	"github.com/concord-planning/concord/projections/view"
	"github.com/google/uuid"
)

// BenchmarkRealisticScenario times, beside BenchmarkRealisticFirst's plan
// reads, the first variance of each metric on a new Service over the
// Realistic company (folding is outside the timer): of the plan, of a
// scenario opened now with no events of its own (empty), and of the same
// scenario after a −10% shock of the first business unit (shocked). It
// reports the slowest of each and the ratios to the plan's; an empty
// scenario reads the live state itself, a shocked one analyses its own
// state, sharing the base's plan and its prepared reconciliation. As the
// wall time of one read swings with the machine's load, it also reports
// the process's CPU time (user + system) of the slowest read of each,
// which load inflates far less (-cpu-ms; nothing else runs meanwhile).
// Each read starts after a garbage collection, outside the timer.
func BenchmarkRealisticScenario(b *testing.B) {
	c := realistic(b)
	ctx := context.Background()
	reg := company.Registry()
	scenario.RegisterEvents(reg) // the generated company has no scenarios; the bench opens them
	appendTo := func(stream string, e any) {
		data, err := reg.Encode(uuid.New(), e, eventstore.Metadata{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.store.Append(ctx, stream, eventstore.Any, data); err != nil {
			b.Fatal(err)
		}
	}
	n := 0
	for b.Loop() {
		b.StopTimer()
		svc := view.NewService(c.store, reg)
		live, err := svc.Live(ctx)
		if err != nil {
			b.Fatal(err)
		}
		p, _ := live.Plan(c.plan)
		n++
		id := fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), n)
		appendTo(scenario.Stream(c.plan), scenario.Opened{Plan: c.plan, ID: id, Name: "bench", Base: live.Position, From: "now", By: "bench"})
		b.StartTimer()
		slowest := func(ref string) (wall, cpu time.Duration) {
			for _, m := range c.metrics {
				// A collection of the fold's garbage (gigabytes) falling in
				// one read would cost it more than its own work.
				b.StopTimer()
				runtime.GC()
				b.StartTimer()
				start, startCPU := time.Now(), cpuTime()
				if _, err := svc.Variance(ctx, c.plan, view.VarianceQuery{Metric: m, AsOf: ref}); err != nil {
					b.Fatal(err)
				}
				took, tookCPU := time.Since(start), cpuTime()-startCPU
				b.Logf("variance %-10s %-28s first %8.1f ms (cpu %8.1f ms)", m, ref, ms(took), ms(tookCPU))
				wall, cpu = max(wall, took), max(cpu, tookCPU)
			}
			return wall, cpu
		}
		planWall, planCPU := slowest("")
		emptyWall, emptyCPU := slowest(view.ScenarioRef + id)
		pct := decimal.FromInt(-10)
		span := p.Calendar().FiscalYear(p.Calendar().Year(c.period))
		b.StopTimer()
		appendTo(scenario.Stream(c.plan), scenario.ShockAssumed{Scenario: id, Metric: c.metrics[0], Node: mustNode(b, c.nodes[0]), Span: span, Percent: &pct, Reason: "bench", By: "bench"})
		b.StartTimer()
		shockedWall, shockedCPU := slowest(view.ScenarioRef + id)
		b.ReportMetric(ms(planWall), "plan-max-ms")
		b.ReportMetric(ms(emptyWall), "empty-max-ms")
		b.ReportMetric(ms(shockedWall), "shocked-max-ms")
		b.ReportMetric(ms(emptyWall)/ms(planWall), "empty/plan")
		b.ReportMetric(ms(shockedWall)/ms(planWall), "shocked/plan")
		b.ReportMetric(ms(planCPU), "plan-max-cpu-ms")
		b.ReportMetric(ms(emptyCPU), "empty-max-cpu-ms")
		b.ReportMetric(ms(shockedCPU), "shocked-max-cpu-ms")
		b.ReportMetric(ms(shockedCPU)/ms(planCPU), "shocked/plan-cpu")
		svc.Close()
	}
}

func mustNode(b *testing.B, text string) dimension.Node {
	n, err := dimension.ParseNode(text)
	if err != nil {
		b.Fatal(err)
	}
	return n
}
