package company_test

import (
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/projections"
	"github.com/concord-planning/concord/projections/company"
	"github.com/concord-planning/concord/projections/history"
	"github.com/concord-planning/concord/projections/planstate"
	"github.com/concord-planning/concord/projections/rolling"
	"github.com/concord-planning/concord/projections/vintage"
)

// The benchmarks share one generated company (company.Realistic(1): 2,048
// cells × 3 metrics × 36 months, about a million events), generated once
// per test binary, outside every timer.
var realistic = sync.OnceValues(func() (*company.Log, error) { return company.Generate(company.Realistic(1)) })

func fixture(b *testing.B) *company.Log {
	b.Helper()
	l, err := realistic()
	if err != nil {
		b.Fatal(err)
	}
	return l
}

// rebuildAll decodes every event once and applies it to every read model,
// as a runner rebuilding them from the log does.
func rebuildAll(b *testing.B, reg *eventstore.Registry, recs []eventstore.RecordedEvent, m *models) {
	for _, rec := range recs {
		ev, err := reg.Decode(rec)
		if err != nil {
			b.Fatal(err)
		}
		m.apply(b, rec, ev)
	}
}

// sliceLog serves a generated log (positions 1, 2, …) as a store's
// ReadAll does.
type sliceLog []eventstore.RecordedEvent

func (l sliceLog) ReadAll(_ context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	from := min(int(after.Commit), len(l))
	return l[from:min(from+limit, len(l))], nil
}

// sqliteFixture is the generated company written to a SQLite file once per
// test binary (synchronous=OFF, the store's clock set to each append's
// generated time), then opened with the production defaults for reading.
var sqliteFixture = sync.OnceValues(func() (*sqlite.Store, error) {
	l, err := realistic()
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "concord-company-")
	if err != nil {
		return nil, err
	}
	tempDirs = append(tempDirs, dir)
	path := filepath.Join(dir, "company.db")
	var now time.Time
	s, err := sqlite.Open(ctx, path, sqlite.Options{Synchronous: "OFF", Clock: func() time.Time { return now }})
	if err != nil {
		return nil, err
	}
	if err := l.AppendTo(ctx, s, func(t time.Time) { now = t }); err != nil {
		return nil, err
	}
	if err := s.Close(); err != nil {
		return nil, err
	}
	s, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		return nil, err
	}
	openStores = append(openStores, s)
	return s, nil
})

var (
	tempDirs   []string
	openStores []*sqlite.Store
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, s := range openStores {
		s.Close()
	}
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

func sqliteStore(b *testing.B) *sqlite.Store {
	b.Helper()
	s, err := sqliteFixture()
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkRebuild rebuilds every read model (rolling plan with its cube
// and plan state; audit history; a catalog) from the generated log, goal
// ≤ 10 s, from memory and from SQLite:
//
//   - memory, sqlite: projections.ReplayReadModels, as `concord replay`
//     does: read ahead, decoded once in parallel, applied in order;
//   - runner-sqlite: a projections.Runner with RegisterReadModels, from
//     NewRunner until WaitReady, as `concord serve` starts;
//   - memory-sequential, sqlite-sequential: read, decode
//     (Registry.Decode) and apply one event after the other, for
//     comparison;
//   - decode-only, apply-only: where the time goes.
//
// The fixtures (the generated log, the SQLite file) are built outside the
// timers.
func BenchmarkRebuild(b *testing.B) {
	reg := company.Registry()
	b.Run("memory", func(b *testing.B) {
		l := fixture(b)
		b.ResetTimer()
		for b.Loop() {
			replayAll(b, sliceLog(l.Events), reg, len(l.Events))
		}
		b.ReportMetric(float64(len(l.Events)*b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("sqlite", func(b *testing.B) {
		l := fixture(b)
		s := sqliteStore(b)
		b.ResetTimer()
		for b.Loop() {
			replayAll(b, s, reg, len(l.Events))
		}
		b.ReportMetric(float64(len(l.Events)*b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("runner-sqlite", func(b *testing.B) {
		l := fixture(b)
		s := sqliteStore(b)
		last := l.Events[len(l.Events)-1].Position
		b.ResetTimer()
		for b.Loop() {
			r, err := projections.NewRunner(s, projections.RunnerConfig{Registry: reg})
			if err != nil {
				b.Fatal(err)
			}
			m, err := projections.RegisterReadModels(r)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- r.Run(ctx) }()
			if err := r.WaitReady(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if got := m.Position(); got != last {
				b.Errorf("runner ready at %v, want %v", got, last)
			}
			cancel()
			if err := <-done; err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		b.ReportMetric(float64(len(l.Events)*b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("memory-sequential", func(b *testing.B) {
		l := fixture(b)
		b.ResetTimer()
		for b.Loop() {
			rebuildAll(b, reg, l.Events, newModels())
		}
		b.ReportMetric(float64(len(l.Events)*b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("sqlite-sequential", func(b *testing.B) {
		l := fixture(b)
		s := sqliteStore(b)
		ctx := context.Background()
		b.ResetTimer()
		for b.Loop() {
			m := newModels()
			n := 0
			after := eventstore.Start
			for {
				recs, err := s.ReadAll(ctx, after, 4096)
				if err != nil {
					b.Fatal(err)
				}
				if len(recs) == 0 {
					break
				}
				rebuildAll(b, reg, recs, m)
				n += len(recs)
				after = recs[len(recs)-1].Position
			}
			if n != len(l.Events) {
				b.Fatalf("read %d events, want %d", n, len(l.Events))
			}
		}
		b.ReportMetric(float64(len(l.Events)*b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("decode-only", func(b *testing.B) {
		l := fixture(b)
		b.ResetTimer()
		for b.Loop() {
			for _, rec := range l.Events {
				if _, err := reg.Decode(rec); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(len(l.Events)*b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("apply-only", func(b *testing.B) {
		l := fixture(b)
		d := decode(b, l)
		b.ResetTimer()
		for b.Loop() {
			m := newModels()
			for i, rec := range d.recs {
				m.apply(b, rec, d.events[i])
			}
		}
		b.ReportMetric(float64(len(l.Events)*b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

// replayAll replays log into fresh read models and checks it got all n
// events.
func replayAll(b *testing.B, log projections.LogReader, reg *eventstore.Registry, n int) *projections.ReadModels {
	m, prog, err := projections.ReplayReadModels(context.Background(), log, projections.ReplayConfig{Registry: reg})
	if err != nil {
		b.Fatal(err)
	}
	if prog.Done != uint64(n) {
		b.Fatalf("replayed %d events, want %d", prog.Done, n)
	}
	return m
}

var built = sync.OnceValues(func() (*models, error) {
	l, err := realistic()
	if err != nil {
		return nil, err
	}
	reg := company.Registry()
	m := newModels()
	for _, rec := range l.Events {
		ev, err := reg.Decode(rec)
		if err != nil {
			return nil, err
		}
		if err := m.applyErr(rec, ev); err != nil {
			return nil, err
		}
	}
	return m, nil
})

// BenchmarkQuery times single queries on the rebuilt read models of the
// generated company, as of a past date (the middle of the log) and now;
// goal ≤ 10 ms each.
func BenchmarkQuery(b *testing.B) {
	l := fixture(b)
	m, err := built()
	if err != nil {
		b.Fatal(err)
	}
	mid := l.Events[len(l.Events)/2]
	asOf := m.rolling.State().PositionAt(mid.RecordedAt) // "the plan as it was on" that date
	cell := dimension.MustParseNode("bu=bu1;product=p1-1;region=r1-1;segment=s1")
	node := dimension.MustParseNode("bu=bu1;region=rg1")
	span := fiscal.Span{First: fiscal.NewPeriod(2025, 4), Last: fiscal.NewPeriod(2028, 3), Kind: fiscal.KindRange}
	st, cb := m.rolling.State(), m.rolling.Cube()
	queries := []struct {
		name string
		run  func() (int, error)
	}{
		{"targets-asof-node", func() (int, error) {
			ts, err := st.Targets(l.PlanID, planstate.Filter{Node: &cell, Metric: "revenue"}, asOf)
			return len(ts), err
		}},
		{"actuals-asof-bu-rg-36m", func() (int, error) {
			a, err := cb.Actuals(node, "revenue", span, asOf)
			return len(a), err
		}},
		{"actuals-total-36m", func() (int, error) {
			a, err := cb.Actuals(dimension.Total, "revenue", span, vintage.Latest)
			return len(a), err
		}},
		{"window-asof-node", func() (int, error) {
			w, err := m.rolling.Window(rolling.Query{Plan: l.PlanID, Metric: "revenue", Nodes: []dimension.Node{node, cell}, AsOf: asOf})
			return len(w.Rows), err
		}},
		{"diff-asof-now-node", func() (int, error) {
			d, err := st.Diff(l.PlanID, planstate.Filter{Node: &cell}, asOf, vintage.Latest)
			return len(d), err
		}},
		{"history-node", func() (int, error) {
			p, err := m.history.Query(history.Filter{Node: &cell, Limit: 100})
			return len(p.Entries), err
		}},
		{"history-node-desc-asof", func() (int, error) {
			p, err := m.history.Query(history.Filter{Node: &cell, Descending: true, AsOf: asOf, Limit: 100})
			return len(p.Entries), err
		}},
		{"history-subtree", func() (int, error) {
			p, err := m.history.Query(history.Filter{Node: &node, Subtree: true, Metric: "revenue", Limit: 100})
			return len(p.Entries), err
		}},
	}
	for _, q := range queries {
		b.Run(q.name, func(b *testing.B) {
			if n, err := q.run(); err != nil || n == 0 { // warm and check once, untimed
				b.Fatalf("%s: %d results, %v", q.name, n, err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := q.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify verifies the generated log in SQLite as `concord verify`
// does (every hash chain, the streams table, the log digest), without and
// with a checkpoint at the head, beside a plain read of the whole log
// (read), which is the floor of any verification.
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	s := sqliteStore(b)
	n := uint64(len(fixture(b).Events))
	b.Run("read", func(b *testing.B) {
		for b.Loop() {
			var got uint64
			after := eventstore.Start
			for {
				batch, err := s.ReadAll(ctx, after, eventstore.MinPage)
				if err != nil {
					b.Fatal(err)
				}
				if len(batch) == 0 {
					break
				}
				got += uint64(len(batch))
				after = batch[len(batch)-1].Position
			}
			if got != n {
				b.Fatalf("read %d events, want %d", got, n)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	rep, err := eventstore.Verify(ctx, s, eventstore.VerifyOptions{})
	if err != nil || rep.Events != n {
		b.Fatalf("Verify = %+v, %v; want %d events, no break", rep, err, n)
	}
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	cp := eventstore.SignCheckpoint(rep.Digest, time.Unix(0, 0), key)
	for _, c := range []struct {
		name string
		opts eventstore.VerifyOptions
	}{
		{"verify", eventstore.VerifyOptions{}},
		{"verify-checkpoint", eventstore.VerifyOptions{Checkpoint: &cp, Exact: true}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				rep, err := eventstore.Verify(ctx, s, c.opts)
				if err != nil || rep.Events != n {
					b.Fatalf("Verify = %+v, %v", rep, err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
