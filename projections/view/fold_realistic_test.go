package view_test

import (
	"context"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/projections/company"
	"github.com/concord-planning/concord/projections/view"
)

// BenchmarkFoldStore times a new Service's first Live over the SQLite store
// named by CONCORD_BENCH_STORE (a copy of a generated company, such as
// `concord generate --size realistic`), and reports the heap it keeps
// (CONCORD_BENCH_HEAP names a file for a heap profile of it):
//
//	CONCORD_BENCH_STORE=/tmp/r.db go test ./projections/view -run '^$' -bench FoldStore -benchtime 1x
func BenchmarkFoldStore(b *testing.B) {
	path := os.Getenv("CONCORD_BENCH_STORE")
	if path == "" {
		b.Skip("CONCORD_BENCH_STORE names no store")
	}
	ctx := context.Background()
	store, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	for b.Loop() {
		start := time.Now()
		svc := view.NewService(store, company.Registry())
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
		b.Logf("folded %d events to %s in %v, heap in use %d MB", svc.Events(), st.Position, took, ms.HeapInuse>>20)
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
