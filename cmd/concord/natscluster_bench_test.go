package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/esdb/esdbtest"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/projections/company"
	"github.com/concord-planning/concord/projections/outbound"
)

// benchCompany is the company of the distributed benchmark: the Realistic
// company's cells and metrics (4 business units × 8 regions × 16 products
// × 4 segments = 2,048 cells, 3 metrics: 6,144 series per close), with 24
// months of actuals (two seasons of history for every series) and no
// dimension churn, so every close forecasts every cell. The planners'
// revisions, restatements, reallocations and cell-level forecasts are
// left out: they lengthen the log every process folds (six processes on
// two cores) and change nothing a reforecast reads. About 370,000 events.
func benchCompany() company.Config {
	cfg := company.Realistic(7)
	// Its last month ends before today, so that the benchmark can close
	// the months after it (a period closes once it has begun).
	cfg.Start, cfg.Months, cfg.DimensionChurn, cfg.ForecastCells = fiscal.NewPeriod(2024, time.April), 24, 0, false
	cfg.Reforecast, cfg.Restatements, cfg.Clears, cfg.Reallocations = 0, 0, 0, 0
	return cfg
}

// benchLimit bounds each wait of the benchmark: a process folding the log,
// the outbound relay, one close's forecasts.
const benchLimit = 30 * time.Minute

// natsArgs are the bus flags of every process of the benchmark.
func (c *cluster) natsArgs() []string {
	return []string{"--bus", c.busURL, "--nats-replicas", "3"}
}

// BenchmarkDistributedNATS measures distributed mode on a three-node
// nats-server cluster (streams and buckets ×3) over the esdb protocol test
// server, with two serve replicas and forecast workers as separate
// processes, on benchCompany. One cluster and one log serve every
// sub-benchmark, in this order:
//
//   - reforecast/workers=N, N = 4, 2, 1 (workers stopped between them): a
//     period close on replica A until every run it requests (one per
//     metric, 2,048 cells each) is sealed in the store; reports jobs/s and
//     s/close (close request to the last run sealed). The close adds no
//     actuals (allow_missing, with a reason): the forecasts fit the
//     history up to the month before.
//
//   - relay: the outbound relays of both replicas, started on the whole
//     log with the replicas and running beside the reforecasts: events/s
//     between the first message the topic stored and the company's last
//     publishable event, which must be its message number publishable
//     (each event once, in log order).
//
//   - read-your-writes: a plan renamed on replica A, then the event read
//     back on replica B by the position A returned, 30 times an op;
//     reports the latency of the read (p50, p99), after B's first
//     history answer (a cold read, logged apart).
//
// It takes tens of minutes: every process folds the log (minutes each on
// two shared cores), and a close needs about 90 s of CPU:
//
//	go test ./cmd/concord -run '^$' -bench DistributedNATS -timeout 90m -v
func BenchmarkDistributedNATS(b *testing.B) {
	cfg := benchCompany()
	nc := startNATSCluster(b, 3)
	log, err := company.Generate(cfg)
	if err != nil {
		b.Fatal(err)
	}
	c := connectCluster(b, esdbtest.Start(b).ConnString(), nc.url())
	begin := time.Now()
	if err := log.AppendTo(context.Background(), c.store, nil); err != nil {
		b.Fatal(err)
	}
	b.Logf("company: %d cells, %d metrics, %d months, %d events appended in %v", cells(cfg), len(log.Metrics), cfg.Months,
		len(log.Events), time.Since(begin).Round(time.Second))
	c.issuePlanner(b)
	publishable, lastID := 0, ""
	for _, rec := range log.Events {
		if outbound.Publishable(rec.Type) {
			publishable, lastID = publishable+1, rec.ID.String()
		}
	}
	planID, runs := log.PlanID, len(log.Metrics)
	log = nil // the processes read the store; the log's memory is theirs

	serve := slices.Concat([]string{"serve", "--store", c.storeID, "--listen", "127.0.0.1:0", "--rate-limit", "0"}, c.natsArgs())
	work := slices.Concat([]string{"worker", "--store", c.storeID, "--listen", "127.0.0.1:0"}, c.natsArgs())
	begin = time.Now()
	replicas := []*process{spawn(b, "replica A", "", nil, serve...), spawn(b, "replica B", "", nil, serve...)}
	var workers []*process
	for i := range 4 {
		workers = append(workers, spawn(b, fmt.Sprintf("worker %d", i+1), "", nil, work...))
	}
	for _, p := range replicas {
		p.listening(b, benchLimit)
	}
	for _, w := range workers {
		w.waitLogWithin(b, benchLimit, func(l map[string]any) bool { return l["msg"] == "read side ready; taking forecast jobs" })
	}
	b.Logf("both replicas and %d workers ready (the log folded) after %v", len(workers), time.Since(begin).Round(time.Second))

	// The replicas request the runs of the log's last close at start.
	last := cfg.Start.Add(cfg.Months - 1)
	begin = time.Now()
	c.waitForecastsFrom(b, eventstore.Start, last.String(), runs, benchLimit)
	b.Logf("the %d runs of the log's last close (%v) published %v after every process was ready, by %d workers", runs, last,
		time.Since(begin).Round(time.Second), len(workers))

	// Every worker folds the log at start, which takes minutes: all start
	// at once, and workers are stopped between the closes.
	closed := last
	for _, n := range []int{4, 2, 1} {
		for len(workers) > n {
			workers[len(workers)-1].stop(b)
			workers = workers[:len(workers)-1]
		}
		b.Run(fmt.Sprintf("reforecast/workers=%d", n), func(b *testing.B) {
			var took time.Duration
			for range b.N {
				closed = closed.Add(1)
				begin := time.Now()
				// The runs are requested on the ledger's close, which
				// may be before the plan's horizon roll the answer's
				// position names: wait from the ledger's position.
				var res struct {
					Ledger struct {
						Position string `json:"position"`
					} `json:"ledger"`
				}
				body := c.api(b, replicas[0].addr, http.MethodPost, "/api/v1/periods/"+closed.String()+"/close",
					map[string]any{"allow_missing": true, "reason": "benchmark: the forecasts fit the history up to the month before"}, http.StatusOK)
				if err := json.Unmarshal(body, &res); err != nil {
					b.Fatal(err)
				}
				from, err := eventstore.ParsePosition(res.Ledger.Position)
				if err != nil {
					b.Fatalf("close of %v: ledger position %q: %v", closed, res.Ledger.Position, err)
				}
				c.waitForecastsFrom(b, from, closed.String(), runs, benchLimit)
				took += time.Since(begin)
			}
			b.ReportMetric(float64(b.N*runs)/took.Seconds(), "jobs/s")
			b.ReportMetric(took.Seconds()/float64(b.N), "s/close")
			b.ReportMetric(float64(cells(cfg)*runs), "series/close")
		})
	}

	// The relays have published the company's log meanwhile (they start
	// with the replicas and run beside everything above).
	b.Run("relay", func(b *testing.B) {
		for range b.N {
			span := c.relayRate(b, publishable, lastID)
			b.ReportMetric(float64(publishable)/span.Seconds(), "events/s")
			b.ReportMetric(float64(publishable), "events")
		}
	})

	// Replica B's first history answer builds its history of the plan
	// (seconds on this log; 503 with Retry-After until then): a cold
	// read, not replication, so it is timed apart, retried as a client
	// would.
	begin = time.Now()
	untilWithin(b, benchLimit, "replica B's first history answer", func(context.Context) error {
		status, raw, _ := c.send(b, replicas[1].addr, http.MethodGet, "/api/v1/plans/"+planID+"/history?limit=1", nil, nil)
		if status != http.StatusOK {
			return fmt.Errorf("status %d: %s", status, raw)
		}
		return nil
	})
	b.Logf("replica B's first history answer after %v", time.Since(begin).Round(time.Millisecond))

	b.Run("read-your-writes", func(b *testing.B) {
		const samples = 30 // per op: a p99 of one sample says nothing
		lat := make([]time.Duration, 0, b.N*samples)
		for i := range b.N * samples {
			pos := c.write(b, replicas[0].addr, "/api/v1/plans/"+planID+"/rename", map[string]string{"name": fmt.Sprintf("Corporate plan, renamed %d", i)})
			begin := time.Now()
			if !c.shows(b, replicas[1].addr, planID, pos) {
				b.Fatalf("replica B does not show the rename at %s made on replica A", pos)
			}
			lat = append(lat, time.Since(begin))
		}
		b.StopTimer()
		reportPercentiles(b, "", lat)
	})
}

// relayRate waits until the outbound topic holds at least want messages,
// checks that message want is the event lastID (the topic holds each
// publishable event once, in log order), and returns the time between
// the topic's first message and that one.
func (c *cluster) relayRate(b *testing.B, want int, lastID string) time.Duration {
	b.Helper()
	var span time.Duration
	untilWithin(b, benchLimit, "the outbound topic holding the company's events", func(ctx context.Context) error {
		s, err := c.js.Stream(ctx, outbound.Topic)
		if err != nil {
			return err
		}
		st := s.CachedInfo().State
		if int(st.Msgs) < want {
			return fmt.Errorf("%d of %d events relayed", st.Msgs, want)
		}
		m, err := s.GetMsg(ctx, uint64(want))
		if err != nil {
			return err
		}
		if id := m.Header.Get(nats.MsgIdHdr); id != lastID {
			b.Fatalf("message %d of the outbound topic is event %s, want the company's last publishable event %s", want, id, lastID)
		}
		span = m.Time.Sub(st.FirstTime)
		return nil
	})
	return span
}

// cells is the number of cells of a company.
func cells(cfg company.Config) int {
	return cfg.BusinessUnits * cfg.RegionGroups * cfg.RegionsPerGroup * cfg.ProductLines * cfg.ProductsPerLine * cfg.Segments
}
