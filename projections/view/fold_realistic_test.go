package view_test

import (
	"context"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/projections/company"
	"github.com/concord-planning/concord/projections/view"
)

// benchStore opens the SQLite store named by CONCORD_BENCH_STORE for a
// benchmark, skipping it when there is none; it is closed at the end.
func benchStore(b *testing.B) *sqlite.Store {
	b.Helper()
	path := os.Getenv("CONCORD_BENCH_STORE")
	if path == "" {
		b.Skip("CONCORD_BENCH_STORE names no store")
	}
	store, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	return store
}

// heapInUse returns the heap in use after a collection: what a benchmark
// keeps, without its garbage.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// BenchmarkFoldStore times a new Service's first Live over the SQLite store
// named by CONCORD_BENCH_STORE (a copy of a generated company, such as
// `concord generate --size realistic`), and reports the heap it keeps
// (CONCORD_BENCH_HEAP names a file for a heap profile of it), then the time
// of a past state (cold) halfway between two checkpoints near the end of
// the log. CONCORD_BENCH_EVERY sets the distance between checkpoints:
//
//	CONCORD_BENCH_STORE=/tmp/r.db go test ./projections/view -run '^$' -bench FoldStore -benchtime 1x
func BenchmarkFoldStore(b *testing.B) {
	ctx := context.Background()
	store := benchStore(b)
	for b.Loop() {
		start := time.Now()
		svc := view.NewService(store, company.Registry())
		if e := os.Getenv("CONCORD_BENCH_EVERY"); e != "" {
			every, err := strconv.Atoi(e)
			if err != nil {
				b.Fatalf("CONCORD_BENCH_EVERY=%q: %v", e, err)
			}
			view.SetCheckpointEvery(svc, every)
		}
		st, err := svc.Live(ctx)
		if err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		heap := heapInUse()
		b.ReportMetric(took.Seconds(), "s/fold")
		b.ReportMetric(float64(heap)/(1<<20), "MB-heap")
		if out := os.Getenv("CONCORD_BENCH_HEAP"); out != "" {
			writeHeap(b, out)
		}
		b.Logf("folded %d events to %s in %v, heap in use %d MB, %d checkpoints", svc.Events(), st.Position, took, heap>>20, view.Checkpoints(svc))
		// Positions are 1, 2, … in a store written by one writer. The
		// checkpoints are every apart, doubled as they were thinned.
		every := view.CheckpointDistance(svc)
		k := (svc.Events()/every-1)*every + every/2
		start = time.Now()
		past, err := svc.At(ctx, eventstore.Position{Commit: uint64(k), Prepare: uint64(k)})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/as-of")
		b.Logf("as of event %d (%s): %v", k, past.Position, time.Since(start))
		runtime.KeepAlive(svc)
	}
}

// writeHeap writes a heap profile of what is live now to path.
func writeHeap(b *testing.B, path string) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAsOfStore times cold as-of reads over the SQLite store named by
// CONCORD_BENCH_STORE, after one fold of the whole log (not timed): each
// iteration asks for the summary of plan corp as of a position of its own,
// drawn from a seeded generator over the log (no state cached), then for
// the variance of revenue at that position (the state now cached: the
// analysis alone). It reports the median and the longest of each, and
// the median CPU time of the process for each (steadier than the wall
// clock on a shared machine). -benchtime 20x draws 20 positions:
//
//	CONCORD_BENCH_STORE=/tmp/r.db go test ./projections/view -run '^$' -bench AsOfStore -benchtime 20x
//
// It also counts the reads during which the heap grew (the runtime's heap
// memory, less what it returned to the system, rose): after the fold the
// heap grows to its working size over the first reads, and each byte of
// it is a fresh page then, a page fault of 10–15 µs on the development
// machine. The p50 and longest of the summary and the variance over the
// other reads, those on a heap that had grown, are the "grown-heap"
// figures; with -benchtime 60x most reads after the first 25 are of that
// kind. Last, it reports the heap in use after a collection
// (CONCORD_BENCH_HEAP names a file for a heap profile of it): the folded
// read side and what the reads left, the kept past states and analyses.
func BenchmarkAsOfStore(b *testing.B) {
	ctx := context.Background()
	store := benchStore(b)
	svc := view.NewService(store, company.Registry())
	if _, err := svc.Live(ctx); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(12, 2026))
	var summaries, variances, summaryCPU, varianceCPU []time.Duration
	var faults []int64
	var grew int
	var grownSummaries, grownVariances []time.Duration // of the reads during which the heap did not grow
	var ms runtime.MemStats
	heap := func() uint64 {
		runtime.ReadMemStats(&ms)
		return ms.HeapSys - ms.HeapReleased
	}
	for b.Loop() {
		before := heap()
		// Positions are 1, 2, … in a store written by one writer; the
		// plan is opened within the first few thousand events.
		k := 10_000 + rng.IntN(svc.Events()-10_000)
		asOf := strconv.Itoa(k)
		start, cpu := time.Now(), cpuTime()
		if _, err := svc.Plan(ctx, "corp", asOf); err != nil {
			b.Fatalf("summary as of %d: %v", k, err)
		}
		summaries, summaryCPU = append(summaries, time.Since(start)), append(summaryCPU, cpuTime()-cpu)
		start, cpu, flt := time.Now(), cpuTime(), minorFaults()
		if _, err := svc.Variance(ctx, "corp", view.VarianceQuery{Metric: "revenue", AsOf: asOf}); err != nil {
			b.Fatalf("variance as of %d: %v", k, err)
		}
		variances, varianceCPU = append(variances, time.Since(start)), append(varianceCPU, cpuTime()-cpu)
		faults = append(faults, minorFaults()-flt)
		if heap() > before {
			grew++
		} else {
			grownSummaries = append(grownSummaries, summaries[len(summaries)-1])
			grownVariances = append(grownVariances, variances[len(variances)-1])
		}
	}
	for _, m := range []struct {
		name    string
		ds      []time.Duration
		longest bool // report the longest too (wall-clock figures)
	}{
		{"summary", summaries, true}, {"variance", variances, true},
		{"cpu-summary", summaryCPU, false}, {"cpu-variance", varianceCPU, false},
		{"summary-grown-heap", grownSummaries, true}, {"variance-grown-heap", grownVariances, true},
	} {
		if len(m.ds) == 0 {
			continue // no read on a grown heap
		}
		slices.Sort(m.ds)
		b.ReportMetric(float64(m.ds[len(m.ds)/2].Milliseconds()), "ms-p50-"+m.name)
		if m.longest {
			b.ReportMetric(float64(m.ds[len(m.ds)-1].Milliseconds()), "ms-max-"+m.name)
		}
	}
	// The page faults of each variance: the answers that take fresh heap
	// pages (the heap still growing to its working size after the fold)
	// are the slow ones on this machine, at about 10 µs a page.
	slices.Sort(faults)
	b.ReportMetric(float64(faults[len(faults)/2]), "faults-p50-variance")
	b.ReportMetric(float64(faults[len(faults)-1]), "faults-max-variance")
	b.ReportMetric(float64(grew), "reads-heap-grew")
	// What the reads left live: the kept past states and analyses on top
	// of the folded read side (CONCORD_BENCH_HEAP: a heap profile of it).
	b.ReportMetric(float64(heapInUse())/(1<<20), "MB-heap-after")
	if out := os.Getenv("CONCORD_BENCH_HEAP"); out != "" {
		writeHeap(b, out)
	}
	runtime.KeepAlive(svc) // the read side and what it kept, measured above
}
