package company_test

import (
	"sync"
	"testing"

	"github.com/concord-planning/concord/projections/company"
	"github.com/concord-planning/concord/projections/vintage"
)

// TestQueriesDuringApply runs every query while events are applied (run
// it with -race): the read models guard their state with their locks.
func TestQueriesDuringApply(t *testing.T) {
	cfg := company.Small(7)
	cfg.Months = 6
	l, err := company.Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := decode(t, l)
	m := newModels()
	var wg sync.WaitGroup
	done := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				_ = dump(t, m, l, vintage.Latest, m.rolling.Position())
			}
		})
	}
	for i, rec := range d.recs {
		if err := m.applyErr(rec, d.events[i]); err != nil {
			t.Error(err)
			break
		}
	}
	close(done)
	wg.Wait()
	if got, want := m.history.Position(), d.recs[len(d.recs)-1].Position; got != want {
		t.Errorf("history at %v after applying everything, want %v", got, want)
	}
}
