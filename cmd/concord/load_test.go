package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/fiscal"
)

// BenchmarkLoad measures the API on loopback against the demo company:
// the rolling plan of a node read by 8 concurrent clients, and actuals
// ingested as one month's import (576 rows) per request. It reports
// requests (or rows) per second and the 99th percentile latency.
//
//	go test ./cmd/concord -run '^$' -bench Load -benchtime 200x
func BenchmarkLoad(b *testing.B) {
	d := startDemo(b)
	b.Run("rolling-plan", func(b *testing.B) {
		path := d.url + "/api/v1/plans/" + demoPlan + "/rolling?" + url.Values{"metric": {"net-revenue"}, "node": {"region=emea"}}.Encode()
		const clients = 8
		lat := make([]time.Duration, b.N)
		var wg sync.WaitGroup
		next := make(chan int)
		b.ResetTimer()
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					req, _ := http.NewRequest("GET", path, nil)
					req.Header.Set("Authorization", "Bearer "+d.tokens.viewer)
					start := time.Now()
					resp, err := http.DefaultClient.Do(req)
					if err != nil || resp.StatusCode != 200 {
						b.Errorf("rolling plan: %v %v", err, resp)
						return
					}
					resp.Body.Close()
					lat[i] = time.Since(start)
				}
			}()
		}
		for i := range b.N {
			next <- i
		}
		close(next)
		wg.Wait()
		b.StopTimer()
		report(b, lat, float64(b.N))
	})
	b.Run("ingest-576-rows", func(b *testing.B) {
		c := newDemoCompany(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), 1)
		lat := make([]time.Duration, b.N)
		b.ResetTimer()
		for i := range b.N {
			p := fiscal.NewPeriod(2026, 11).Add(i)
			var rows []map[string]string
			for _, cell := range c.cells {
				for j, m := range c.metrics {
					rows = append(rows, map[string]string{"cell": cell.node(), "metric": m.id, "period": p.String(),
						"amount": cell.series(m.id)[(i+j)%c.history.Len()].String()})
				}
			}
			body, _ := json.Marshal(map[string]any{"import_id": fmt.Sprintf("load-%d", i), "rows": rows})
			req, _ := http.NewRequest("POST", d.url+"/api/v1/plans/"+demoPlan+"/actuals", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+d.tokens.planner)
			req.Header.Set("Content-Type", "application/json")
			start := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 201 && resp.StatusCode != 200 {
				b.Fatalf("ingest: %v %v", err, resp)
			}
			resp.Body.Close()
			lat[i] = time.Since(start)
		}
		b.StopTimer()
		report(b, lat, float64(b.N*len(c.cells)*len(c.metrics)))
	})
}

func report(b *testing.B, lat []time.Duration, units float64) {
	b.ReportMetric(units/b.Elapsed().Seconds(), "units/s")
	reportPercentiles(b, "", lat)
}

// reportPercentiles sorts lat and reports its median and 99th percentile
// in milliseconds, as the metrics prefix+"p50-ms" and prefix+"p99-ms".
func reportPercentiles(b *testing.B, prefix string, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, prefix+"p50-ms")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, prefix+"p99-ms")
}

// BenchmarkQuery measures single requests of the query side against the
// demo company, one client at a time: the rolling plan of a node, the
// variance table by region crossed with product, a filtered page of the
// history, and the rolling plan read right after a one-row actuals import
// (the read that must see the write). It reports the mean and 99th
// percentile latency of the reads.
//
//	go test ./cmd/concord -run '^$' -bench Query -benchtime 50x
func BenchmarkQuery(b *testing.B) {
	d := startDemo(b)
	const plan = "/api/v1/plans/" + demoPlan
	get := func(b *testing.B, path string) {
		req, _ := http.NewRequest("GET", d.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+d.tokens.viewer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("GET %s: %v %v", path, err, resp)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	rolling := plan + "/rolling?" + url.Values{"metric": {"net-revenue"}, "node": {"region=emea"}}.Encode()
	reads := []struct{ name, path string }{
		{"rolling", rolling},
		{"variance", plan + "/variance?" + url.Values{"metric": {"net-revenue"}, "year": {"2027"}, "dimension": {"region"}, "level": {"1"}, "cross": {"product"}}.Encode()},
		{"history", plan + "/history?" + url.Values{"node": {"region=apac"}, "type": {"plan.TargetRevised"}}.Encode()},
	}
	for _, r := range reads {
		b.Run(r.name, func(b *testing.B) {
			get(b, r.path) // the first read of a state may build what later reads share
			lat := make([]time.Duration, b.N)
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				get(b, r.path)
				lat[i] = time.Since(start)
			}
			b.StopTimer()
			report(b, lat, float64(b.N))
		})
	}
	b.Run("rolling-after-write", func(b *testing.B) {
		cell := newDemoCompany(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), 1).cells[0].node()
		lat := make([]time.Duration, b.N)
		b.ResetTimer()
		for i := range b.N {
			b.StopTimer()
			body, _ := json.Marshal(map[string]any{"import_id": fmt.Sprintf("query-%d", i), "rows": []map[string]string{
				{"cell": cell, "metric": "net-revenue", "period": fiscal.NewPeriod(2026, 11).Add(i).String(), "amount": fmt.Sprintf("%d.00", 1000+i)}}})
			req, _ := http.NewRequest("POST", d.url+plan+"/actuals", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+d.tokens.planner)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 201 && resp.StatusCode != 200 {
				msg, _ := io.ReadAll(resp.Body)
				b.Fatalf("ingest: %v %v %s", err, resp, msg)
			}
			resp.Body.Close()
			b.StartTimer()
			start := time.Now()
			get(b, rolling)
			lat[i] = time.Since(start)
		}
		b.StopTimer()
		report(b, lat, float64(b.N))
	})
}
