package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/google/uuid"
	_ "github.com/mattn/go-sqlite3" // the cgo driver, measured side by side
)

// drivers are the two SQLite drivers the store was measured with.
var drivers = []string{"sqlite", "sqlite3"}

func benchStore(b *testing.B, driver string) *sqlite.Store {
	b.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{Driver: driver})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// actual is a realistic ledger event payload.
func actual(i int) eventstore.EventData {
	return eventstore.EventData{
		ID: uuid.Must(uuid.NewV7()), Type: "ledger.ActualRecorded", SchemaVersion: 1,
		Data:     fmt.Appendf(nil, `{"import_id":"imp-1","cell":"bu=bu%d;product=p%d;region=r%d","metric":"net_revenue","period":"2027-03","amount":"%d.%02d"}`, i%4, i%8, i%6, 1000+i, i%100),
		Metadata: eventstore.Metadata{Actor: "importer", CorrelationID: "req-1"},
	}
}

// BenchmarkAppendBatch1000 appends batches of 1,000 events; events/s is the
// throughput goal (≥ 150,000). cpu-ns/event is the CPU time the process
// spent (both cores, GC included), steadier than the wall clock on a shared
// machine.
func BenchmarkAppendBatch1000(b *testing.B) {
	for _, driver := range drivers {
		b.Run(driver, func(b *testing.B) {
			s := benchStore(b, driver)
			batch := make([]eventstore.EventData, 1000)
			ctx := context.Background()
			var cpu time.Duration
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				for j := range batch {
					batch[j] = actual(j)
				}
				b.StartTimer()
				start := cpuTime()
				if _, err := s.Append(ctx, fmt.Sprintf("ledger-%d", i), eventstore.NoStream, batch...); err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime() - start
			}
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*len(batch)), "cpu-ns/event")
		})
	}
}

// BenchmarkAppendOne appends one event at a time, durably, and reports the
// median and 99th percentile latency.
func BenchmarkAppendOne(b *testing.B) {
	for _, driver := range drivers {
		b.Run(driver, func(b *testing.B) {
			s := benchStore(b, driver)
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			for i := 0; b.Loop(); i++ {
				e := actual(i)
				start := time.Now()
				if _, err := s.Append(ctx, "plan-bench", eventstore.Exact(uint64(i)), e); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// BenchmarkReadAll reads a log of 200,000 events from the start, in pages
// of 4,096; events/s is the goal (≥ 1,000,000).
func BenchmarkReadAll(b *testing.B) {
	const total = 200_000
	for _, driver := range drivers {
		b.Run(driver, func(b *testing.B) {
			s := benchStore(b, driver)
			ctx := context.Background()
			batch := make([]eventstore.EventData, 1000)
			for i := range total / len(batch) {
				for j := range batch {
					batch[j] = actual(j)
				}
				if _, err := s.Append(ctx, fmt.Sprintf("ledger-%d", i), eventstore.NoStream, batch...); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			start := cpuTime()
			for b.Loop() {
				n := 0
				after := eventstore.Start
				for {
					evs, err := s.ReadAll(ctx, after, 4096)
					if err != nil {
						b.Fatal(err)
					}
					if len(evs) == 0 {
						break
					}
					n += len(evs)
					after = evs[len(evs)-1].Position
				}
				if n != total {
					b.Fatalf("read %d events, want %d", n, total)
				}
			}
			b.ReportMetric(float64(b.N*total)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N*total), "cpu-ns/event")
		})
	}
}
