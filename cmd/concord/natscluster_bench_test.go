package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore/esdb/esdbtest"
	"github.com/concord-planning/concord/projections/company"
	"github.com/concord-planning/concord/projections/outbound"
)

// benchCompany is the company of the distributed benchmarks: 4 business
// units × 8 regions × 8 products = 256 cells, 3 metrics (768 series), 14
// months. The Realistic company (2,048 cells, 6,144 series) reforecasts
// now that runs are published in parts, but one close of it took 7 min on
// this shared two-core machine (README), too long for a benchmark of
// three worker counts.
func benchCompany() company.Config {
	cfg := company.Realistic(7)
	cfg.ProductsPerLine, cfg.Segments, cfg.Months = 2, 1, 14
	return cfg
}

// startBenchCompany starts a three-node NATS cluster and the esdb
// protocol test server holding the company cfg, and returns the cluster
// and the company's log.
func startBenchCompany(b *testing.B, cfg company.Config) (*cluster, *company.Log) {
	b.Helper()
	nc := startNATSCluster(b, 3)
	log, err := company.Generate(cfg)
	if err != nil {
		b.Fatal(err)
	}
	c := connectCluster(b, esdbtest.Start(b).ConnString(), nc.url())
	if err := log.AppendTo(context.Background(), c.store, nil); err != nil {
		b.Fatal(err)
	}
	c.issuePlanner(b)
	return c, log
}

// natsArgs are the bus flags of every process of the benchmarks.
func (c *cluster) natsArgs() []string {
	return []string{"--bus", c.busURL, "--nats-replicas", "3"}
}

// BenchmarkDistributedNATS measures distributed mode on a three-node
// nats-server cluster (streams and buckets ×3) over the esdb protocol test
// server, with separate processes:
//
//   - reforecast/workers=N: a period close on one replica until every run
//     it requests (one per metric, each forecasting all 256 cells: 768
//     series) is published, with N workers; reports jobs/s (units/s) and
//     the close-to-published latency. The close adds no actuals: the
//     forecasts fit the history up to the month before.
//
//   - relay: the outbound relay of a replica started on the whole company
//     log: events/s between the first and the last message the topic
//     stored.
//
//   - read-your-writes: a target revision on replica A, then the same
//     event read back on replica B; reports the latency of the read.
//
//     go test ./cmd/concord -run '^$' -bench DistributedNATS -benchtime 3x
func BenchmarkDistributedNATS(b *testing.B) {
	cfg := benchCompany()
	for _, workers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("reforecast/workers=%d", workers), func(b *testing.B) { benchReforecast(b, cfg, workers) })
	}
	b.Run("relay", func(b *testing.B) { benchRelay(b, cfg) })
	b.Run("read-your-writes", benchReadYourWrites)
}

func benchReforecast(b *testing.B, cfg company.Config, workers int) {
	c, log := startBenchCompany(b, cfg)
	serve := append([]string{"serve", "--store", c.storeID, "--listen", "127.0.0.1:0", "--rate-limit", "0"}, c.natsArgs()...)
	a := startProcess(b, "replica A", serve...)
	startProcess(b, "replica B", serve...)
	for i := range workers {
		startProcess(b, fmt.Sprintf("worker %d", i+1), append([]string{"worker", "--store", c.storeID, "--listen", "127.0.0.1:0"}, c.natsArgs()...)...)
	}
	runs := len(log.Metrics)
	last := cfg.Start.Add(cfg.Months - 1)
	// The replicas request the runs of the log's last close at start.
	c.waitForecasts(b, last.String(), runs)

	b.ResetTimer()
	lat := make([]time.Duration, 0, b.N)
	for i := range b.N {
		period := last.Add(1 + i).String()
		begin := time.Now()
		c.write(b, a.addr, "/api/v1/periods/"+period+"/close", map[string]any{})
		c.waitForecasts(b, period, runs)
		lat = append(lat, time.Since(begin))
	}
	b.StopTimer()
	report(b, lat, float64(b.N*runs))
	b.ReportMetric(float64(cells(cfg)*runs), "series/close")
}

// cells is the number of cells of a company.
func cells(cfg company.Config) int {
	return cfg.BusinessUnits * cfg.RegionGroups * cfg.RegionsPerGroup * cfg.ProductLines * cfg.ProductsPerLine * cfg.Segments
}

func benchRelay(b *testing.B, cfg company.Config) {
	for range b.N {
		b.StopTimer()
		c, log := startBenchCompany(b, cfg)
		want := 0
		for _, rec := range log.Events {
			if outbound.Publishable(rec.Type) {
				want++
			}
		}
		b.StartTimer()
		p := startProcess(b, "replica", append([]string{"serve", "--store", c.storeID, "--listen", "127.0.0.1:0", "--rate-limit", "0"}, c.natsArgs()...)...)
		var span time.Duration
		untilWithin(b, processLimit, "the outbound topic holding the company's events", func(ctx context.Context) error {
			s, err := c.js.Stream(ctx, outbound.Topic)
			if err != nil {
				return err
			}
			st := s.CachedInfo().State
			if int(st.Msgs) < want {
				return fmt.Errorf("%d of %d events relayed", st.Msgs, want)
			}
			span = st.LastTime.Sub(st.FirstTime)
			return nil
		})
		b.StopTimer()
		p.stop(b)
		b.ReportMetric(float64(want)/span.Seconds(), "events/s")
		b.ReportMetric(float64(want), "events")
	}
}

func benchReadYourWrites(b *testing.B) {
	nc := startNATSCluster(b, 3)
	c := startCluster(b, esdbtest.Start(b).ConnString(), nc.url())
	serve := append([]string{"serve", "--store", c.storeID, "--listen", "127.0.0.1:0", "--rate-limit", "0"}, c.natsArgs()...)
	a, bb := startProcess(b, "replica A", serve...), startProcess(b, "replica B", serve...)
	c.write(b, a.addr, "/api/v1/plans/p1/targets/set", map[string]string{"node": "region=apac", "metric": "units", "span": "FY2027",
		"amount": "1000", "reason": "bench"})
	b.ResetTimer()
	lat := make([]time.Duration, 0, b.N)
	for i := range b.N {
		pos := c.write(b, a.addr, "/api/v1/plans/p1/targets/revise", map[string]string{"node": "region=apac", "metric": "units",
			"span": "FY2027", "amount": fmt.Sprint(1001 + i), "reason": "bench"})
		begin := time.Now()
		c.sees(b, bb.addr, pos)
		lat = append(lat, time.Since(begin))
	}
	b.StopTimer()
	report(b, lat, float64(b.N))
}
