package view_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/concord-planning/concord/projections/company"
	"github.com/concord-planning/concord/projections/view"
)

// BenchmarkSnapshotStore times the snapshot of a new Service's first Live
// over the SQLite store named by CONCORD_BENCH_STORE (see
// BenchmarkFoldStore): writing it to a directory, and a new Service's
// restore from it up to its first Live. It reports the snapshot's size.
//
//	CONCORD_BENCH_STORE=/tmp/r.db go test ./projections/view -run '^$' -bench SnapshotStore -benchtime 1x
func BenchmarkSnapshotStore(b *testing.B) {
	ctx := context.Background()
	store := benchStore(b)
	folded := view.NewService(store, company.Registry())
	if _, err := folded.Live(ctx); err != nil {
		b.Fatal(err)
	}
	dir := view.SnapshotDir(b.TempDir())
	for b.Loop() {
		start := time.Now()
		info, err := folded.SaveSnapshot(ctx, dir)
		if err != nil {
			b.Fatal(err)
		}
		saved := time.Since(start)
		start = time.Now()
		svc := view.NewService(store, company.Registry())
		if _, err := svc.Restore(ctx, dir); err != nil {
			b.Fatal(err)
		}
		st, err := svc.Live(ctx)
		if err != nil {
			b.Fatal(err)
		}
		restored := time.Since(start)
		b.ReportMetric(saved.Seconds(), "s/save")
		b.ReportMetric(restored.Seconds(), "s/restore")
		b.ReportMetric(float64(info.Bytes)/(1<<20), "MB")
		b.Logf("snapshot of %d events to %s: %d bytes, saved in %v, restored to %s in %v", info.Events, info.Position, info.Bytes, saved, st.Position, restored)
	}
}

// BenchmarkRestoreStore times a new Service's restore from the snapshot
// kept in the SQLite store named by CONCORD_BENCH_STORE (a copy of a store
// a server wrote one into) up to its first Live, and reports the heap it
// keeps:
//
//	CONCORD_BENCH_STORE=/tmp/r.db go test ./projections/view -run '^$' -bench RestoreStore -benchtime 1x
func BenchmarkRestoreStore(b *testing.B) {
	ctx := context.Background()
	store := benchStore(b)
	for b.Loop() {
		start := time.Now()
		svc := view.NewService(store, company.Registry())
		info, err := svc.Restore(ctx, store)
		if err != nil {
			b.Fatal(err)
		}
		if info.Events == 0 {
			b.Fatal("the store holds no snapshot")
		}
		st, err := svc.Live(ctx)
		if err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		heap := heapInUse()
		b.ReportMetric(took.Seconds(), "s/restore")
		b.ReportMetric(float64(heap)/(1<<20), "MB-heap")
		b.Logf("restored %d events (%d bytes) to %s in %v, heap in use %d MB", info.Events, info.Bytes, st.Position, took, heap>>20)
		runtime.KeepAlive(svc)
	}
}
