package company_test

import (
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
	"github.com/concord-planning/concord/projections/company"
	"github.com/concord-planning/concord/projections/view"
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

// BenchmarkRebuild builds the read side (projections/view) from the whole
// generated log in SQLite, as `concord replay` does and as `concord serve`
// does before it reports ready: a new view reads every event and folds it.
// The fixtures (the generated log, the SQLite file) are built outside the
// timers.
func BenchmarkRebuild(b *testing.B) {
	ctx := context.Background()
	s := sqliteStore(b)
	n := len(fixture(b).Events)
	reg := company.Registry()
	for b.Loop() {
		v := view.NewService(s, reg)
		if _, err := v.Live(ctx); err != nil {
			b.Fatal(err)
		}
		if v.Events() != n {
			b.Fatalf("the view read %d events, want %d", v.Events(), n)
		}
		v.Close()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
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
