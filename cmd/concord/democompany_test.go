package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
)

func TestDemoCompanyShape(t *testing.T) {
	today := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	c := newDemoCompany(today, 42)
	if got := len(c.cells); got != 4*6*8 {
		t.Fatalf("cells = %d, want 4 × 6 × 8 = 192", got)
	}
	if n := c.history.Len(); n < 36 {
		t.Errorf("history has %d months, want at least 36", n)
	}
	if last := c.history.Last.String(); last != "2026-10" {
		t.Errorf("last closed period = %s, want 2026-10 (the month before today)", last)
	}
	if first := c.history.First; c.calendar.MonthOfYear(first) != 1 {
		t.Errorf("history starts in %v, fiscal month %d, want the start of a fiscal year", first, c.calendar.MonthOfYear(first))
	}
	intermittent := 0
	for _, cell := range c.cells {
		for _, m := range c.metrics {
			if got := len(cell.series(m.id)); got != c.history.Len() {
				t.Fatalf("cell %v metric %s has %d values, want %d", cell, m.id, got, c.history.Len())
			}
		}
		zeros := 0
		for _, v := range cell.revenue {
			if v.Sign() < 0 {
				t.Fatalf("cell %s/%s/%s has negative revenue %v", cell.bu, cell.region, cell.product, v)
			}
			if v.IsZero() {
				zeros++
			}
		}
		if cell.intermittent {
			intermittent++
			if zeros < c.history.Len()/2 {
				t.Errorf("intermittent cell %s/%s/%s has only %d zero months of %d", cell.bu, cell.region, cell.product, zeros, c.history.Len())
			}
		} else if zeros > 0 {
			t.Errorf("regular cell %s/%s/%s has %d zero months", cell.bu, cell.region, cell.product, zeros)
		}
	}
	if intermittent == 0 {
		t.Error("no intermittent lines")
	}
	again := newDemoCompany(today, 42)
	for i := range c.cells {
		for j := range c.cells[i].revenue {
			if !c.cells[i].revenue[j].Equal(again.cells[i].revenue[j]) {
				t.Fatalf("same seed, different revenue at cell %d month %d", i, j)
			}
		}
	}
}

// TestDemoHistoryInTimeOrder: the demo's log is written in time order and
// never after the demo's today, also when today is early in a month (the
// steps scripted for this month's 4th to 14th have not happened yet at
// 08:00 on the 4th). Before, budgets were recorded on the 15th before the
// actuals of the 4th, and the in-year steps up to ten days in the future,
// so as-of by date gave wrong answers on the demo.
func TestDemoHistoryInTimeOrder(t *testing.T) {
	ctx := context.Background()
	for _, today := range []time.Time{
		time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC),
	} {
		t.Run(today.Format(time.DateTime), func(t *testing.T) {
			clock := &scriptClock{limit: today}
			s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "demo.db"), sqlite.Options{Clock: clock.now, Synchronous: "OFF"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			a, err := newApp(ctx, appConfig{listen: "127.0.0.1:0", demo: true}, &openedStore{Store: s, close: s.Close, sqlite: s}, logger)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := buildDemo(ctx, a, newDemoCompany(today, 1), clock); err != nil {
				t.Fatal(err)
			}
			var last time.Time
			n := 0
			for after := eventstore.Start; ; {
				page, err := s.ReadAll(ctx, after, 4096)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				for _, e := range page {
					n++
					if e.RecordedAt.Before(last) {
						t.Fatalf("event %v (%s) recorded at %v, before the one before it (%v)", e.Position, e.Type, e.RecordedAt, last)
					}
					if e.RecordedAt.After(today) {
						t.Fatalf("event %v (%s) recorded at %v, after the demo's today %v", e.Position, e.Type, e.RecordedAt, today)
					}
					last = e.RecordedAt
				}
				after = page[len(page)-1].Position
			}
			if n < 1000 {
				t.Errorf("the demo wrote %d events, want its whole history", n)
			}
		})
	}
}
