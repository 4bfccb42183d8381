package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/esdb/esdbtest"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/projections/company"
	"github.com/concord-planning/concord/projections/view"
)

// BenchmarkReadBack is the read-your-writes of BenchmarkDistributedNATS
// taken apart, in one process: benchCompany (CONCORD_BENCH_MONTHS months of
// actuals, 24 by default) on the esdb protocol test server and on SQLite,
// a plan renamed through a planning.Service (replica A's write), then read
// back by another view.Service (replica B's read side, caught up before)
// by the position the rename returned, 30 times an op. It reports, apart,
// B's catch-up (the Live call every query begins with: reading the log
// past its position and folding the new event) and the history query at
// exactly that position once caught up, p50 and p99 each:
//
//	go test ./cmd/concord -run '^$' -bench ReadBack -benchtime 1x -v
//
// No replica learns of another's writes any other way: each query reads
// the store's log up to its head first (view.Service.Live), so B's
// read-your-writes latency is these two costs and the HTTP request.
func BenchmarkReadBack(b *testing.B) {
	cfg := benchCompany()
	if m := os.Getenv("CONCORD_BENCH_MONTHS"); m != "" {
		months, err := strconv.Atoi(m)
		if err != nil {
			b.Fatalf("CONCORD_BENCH_MONTHS=%q: %v", m, err)
		}
		cfg.Months = months
	}
	log, err := company.Generate(cfg)
	if err != nil {
		b.Fatal(err)
	}
	stores := map[string]func(b *testing.B) string{
		"esdb":   func(b *testing.B) string { return esdbtest.Start(b).ConnString() },
		"sqlite": func(b *testing.B) string { return "sqlite://" + filepath.Join(b.TempDir(), "readback.db") },
	}
	for _, kind := range []string{"esdb", "sqlite"} {
		b.Run("store="+kind, func(b *testing.B) {
			ctx := context.Background()
			store, err := openStore(ctx, stores[kind](b), slog.New(slog.DiscardHandler), false)
			if err != nil {
				b.Fatal(err)
			}
			defer store.close()
			begin := time.Now()
			if err := log.AppendTo(ctx, store, nil); err != nil {
				b.Fatal(err)
			}
			b.Logf("%d events appended in %v", len(log.Events), time.Since(begin).Round(time.Millisecond))
			begin = time.Now()
			bytes := publishRuns(b, store, log, readBackRuns(b))
			b.Logf("%d forecast runs (%d MB of series) published in %v", readBackRuns(b), bytes>>20, time.Since(begin).Round(time.Millisecond))
			replicaB := view.NewService(store, planning.NewRegistry())
			defer replicaB.Close()
			begin = time.Now()
			if _, err := replicaB.Live(ctx); err != nil {
				b.Fatal(err)
			}
			b.Logf("replica B folded the log in %v", time.Since(begin).Round(time.Millisecond))
			// A first history answer, as the distributed benchmark
			// waits for one before it measures.
			if _, err := replicaB.History(ctx, log.PlanID, view.HistoryQuery{Limit: 1}); err != nil {
				b.Fatal(err)
			}
			replicaA := planning.New(store, planning.NewRegistry())
			const samples = 30
			var catchUp, query, total []time.Duration
			b.ResetTimer()
			for i := range b.N * samples {
				res, err := replicaA.RenamePlan(ctx, setupCall, log.PlanID, fmt.Sprintf("Corporate plan, renamed %d", i))
				if err != nil {
					b.Fatal(err)
				}
				pos := res.Position.String()
				begin := time.Now()
				live, err := replicaB.Live(ctx)
				if err != nil {
					b.Fatal(err)
				}
				caught := time.Now()
				if live.Position.Before(res.Position) {
					b.Fatalf("replica B's live state is at %s, before the rename at %s", live.Position, pos)
				}
				h, err := replicaB.History(ctx, log.PlanID, view.HistoryQuery{From: pos, To: pos, Limit: 50})
				if err != nil {
					b.Fatal(err)
				}
				if len(h.Items) != 1 || h.Items[0].Position != pos {
					b.Fatalf("the history at %s lists %d items, want the rename", pos, len(h.Items))
				}
				end := time.Now()
				catchUp, query, total = append(catchUp, caught.Sub(begin)), append(query, end.Sub(caught)), append(total, end.Sub(begin))
			}
			b.StopTimer()
			reportPercentiles(b, "catch-up-", catchUp)
			reportPercentiles(b, "history-", query)
			reportPercentiles(b, "total-", total)
		})
	}
	b.Run("replicas", func(b *testing.B) { readBackReplicas(b, log) })
}

// readBackReplicas is the read-your-writes of BenchmarkDistributedNATS on
// log without the reforecasts before it: a three-node nats-server cluster,
// the esdb protocol test server and two serve replicas as processes. Each
// sample renames the plan on replica A, then asks replica B for the plan
// list (a query that costs next to nothing once B has read the log up to
// its head: B's catch-up, through HTTP) and then for the history at the
// rename's position (the history query, B caught up); every other sample
// asks for the history at once, as BenchmarkDistributedNATS does (direct).
// CONCORD_BENCH_PROFILE names a file for a CPU profile of replica B.
func readBackReplicas(b *testing.B, log *company.Log) {
	nc := startNATSCluster(b, 3)
	c := connectCluster(b, esdbtest.Start(b).ConnString(), nc.url())
	if err := log.AppendTo(context.Background(), c.store, nil); err != nil {
		b.Fatal(err)
	}
	publishRuns(b, c.store, log, readBackRuns(b))
	c.issuePlanner(b)
	serve := slices.Concat([]string{"serve", "--store", c.storeID, "--listen", "127.0.0.1:0", "--rate-limit", "0"}, c.natsArgs())
	var profile []string
	if out := os.Getenv("CONCORD_BENCH_PROFILE"); out != "" {
		profile = []string{"CONCORD_TEST_CPUPROFILE=" + out}
	}
	a, replicaB := spawn(b, "replica A", "", nil, serve...), spawn(b, "replica B", "", profile, serve...)
	a.listening(b, benchLimit)
	replicaB.listening(b, benchLimit)
	untilWithin(b, benchLimit, "replica B's first history answer", func(context.Context) error {
		status, raw, _ := c.send(b, replicaB.addr, http.MethodGet, "/api/v1/plans/"+log.PlanID+"/history?limit=1", nil, nil)
		if status != http.StatusOK {
			return fmt.Errorf("status %d: %s", status, raw)
		}
		return nil
	})
	const samples = 30
	var catchUp, query, direct []time.Duration
	b.ResetTimer()
	for i := range b.N * samples {
		pos := c.write(b, a.addr, "/api/v1/plans/"+log.PlanID+"/rename", map[string]string{"name": fmt.Sprintf("Corporate plan, renamed %d", i)})
		begin := time.Now()
		if i%2 == 0 {
			c.api(b, replicaB.addr, http.MethodGet, "/api/v1/plans", nil, http.StatusOK)
			catchUp = append(catchUp, time.Since(begin))
			begin = time.Now()
		}
		if !c.shows(b, replicaB.addr, log.PlanID, pos) {
			b.Fatalf("replica B does not show the rename at %s made on replica A", pos)
		}
		if i%2 == 0 {
			query = append(query, time.Since(begin))
		} else {
			direct = append(direct, time.Since(begin))
		}
	}
	b.StopTimer()
	replicaB.stop(b) // writes its profile
	reportPercentiles(b, "catch-up-", catchUp)
	reportPercentiles(b, "history-", query)
	reportPercentiles(b, "direct-", direct)
}

// readBackRuns is the number of forecast runs BenchmarkReadBack publishes
// after the company's log: CONCORD_BENCH_RUNS, by default 12, the runs at
// the end of the log when BenchmarkDistributedNATS measures its
// read-your-writes (the log's last close and three more, 3 metrics each).
func readBackRuns(b *testing.B) int {
	runs := 12
	if r := os.Getenv("CONCORD_BENCH_RUNS"); r != "" {
		var err error
		if runs, err = strconv.Atoi(r); err != nil {
			b.Fatalf("CONCORD_BENCH_RUNS=%q: %v", r, err)
		}
	}
	return runs
}

// publishRuns publishes n forecast runs of every cell of the company log
// describes (its metrics in turn) and returns the bytes of their series
// encoded. The series stand in for a reforecast's, at its size: 18 months
// of full-precision values and a seasonal model's detail with its row of
// the error covariance, about 2.3 KB encoded (what reforecast.Run writes).
func publishRuns(b *testing.B, store eventstore.Store, log *company.Log, n int) int {
	b.Helper()
	reg := planning.NewRegistry()
	cells := map[string]bool{}
	var last fiscal.Period
	for _, rec := range log.Events {
		if rec.Type != ledger.TypeActualRecorded {
			continue
		}
		ev, err := reg.Decode(rec)
		if err != nil {
			b.Fatal(err)
		}
		a := ev.(ledger.ActualRecorded)
		cells[a.Cell.String()] = true
		last = max(last, a.Period)
	}
	nodes := slices.Sorted(maps.Keys(cells))
	svc := planning.New(store, reg)
	rng := rand.New(rand.NewPCG(7, 19))
	bytes := 0
	for r := range n {
		series := make([]planning.Series, len(nodes))
		for i, node := range nodes {
			s := planning.Series{Node: node, First: last.Add(1).String(), Model: "ETS(M,A,M)"}
			for range 18 {
				m, sd := 1000+9000*rng.Float64(), 50+200*rng.Float64()
				s.Mean, s.Lo80, s.Hi80 = append(s.Mean, m), append(s.Lo80, m-1.28*sd), append(s.Hi80, m+1.28*sd)
				s.Lo95, s.Hi95 = append(s.Lo95, m-1.96*sd), append(s.Hi95, m+1.96*sd)
			}
			f := func() float64 { return rng.NormFloat64() * 100 }
			s.Detail = json.RawMessage(fmt.Sprintf(`{"model":{"method":"ets","name":"ETS(M,A,M)","period":12,"n":24,"error":"M","trend":"A","season":"M",`+
				`"params":{"alpha":%v,"beta":%v,"gamma":%v},"initial_states":[%v,%v,%v,%v,%v,%v,%v,%v,%v,%v,%v,%v,%v,%v],"sigma2":%v,"loglik":%v,"aic":%v,"aicc":%v,"bic":%v},`+
				`"variance":%v,"factor":[%v,%v,%v,%v,%v,%v,%v,%v]}`,
				rng.Float64(), rng.Float64(), rng.Float64(), f(), f(), f(), f(), f(), f(), f(), f(), f(), f(), f(), f(), f(), f(),
				rng.Float64(), f(), f(), f(), f(), f(), f(), f(), f(), f(), f(), f(), f(), f()))
			enc, err := json.Marshal(s)
			if err != nil {
				b.Fatal(err)
			}
			bytes += len(enc)
			series[i] = s
		}
		_, err := svc.PublishForecast(context.Background(), setupCall, log.PlanID, planning.PublishForecast{
			RunID: fmt.Sprintf("readback-%d", r), Metric: log.Metrics[r%len(log.Metrics)], DataPosition: eventstore.Start.String(),
			Model: json.RawMessage(`{"method":"auto","lambda":0.1,"rank":8}`), Series: series})
		if err != nil {
			b.Fatal(err)
		}
	}
	return bytes
}
