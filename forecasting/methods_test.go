package forecasting

import (
	"testing"
)

// TestPinnable: every pinnable method fits a plain seasonal series from its
// name alone.
func TestPinnable(t *testing.T) {
	y := make([]float64, 36)
	for i := range y {
		y[i] = 100 + float64(i) + 10*float64(i%12)/12
	}
	for _, m := range Pinnable() {
		if _, err := Fit(y, 12, Spec{Method: m}); err != nil {
			t.Errorf("Fit(%s) error %v", m, err)
		}
	}
}
