package view_test

import (
	"context"
	"os"
	"runtime"
	"runtime/pprof"
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
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(took.Seconds(), "s/fold")
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "MB-heap")
		if out := os.Getenv("CONCORD_BENCH_HEAP"); out != "" {
			writeHeap(b, out)
		}
		b.Logf("folded %d events to %s in %v, heap in use %d MB, %d checkpoints", svc.Events(), st.Position, took, ms.HeapInuse>>20, view.Checkpoints(svc))
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
