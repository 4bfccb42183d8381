package main

import (
	"testing"
	"time"
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
