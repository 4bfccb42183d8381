package reconcile

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestInverseMSEWeights(t *testing.T) {
	tests := []struct {
		mse, want []float64
	}{
		{[]float64{1, 3}, []float64{0.75, 0.25}},
		{[]float64{0, 3}, []float64{1, 0}},
		{[]float64{math.NaN(), 3}, []float64{0.5, 0.5}},
		{[]float64{2, 2, 4}, []float64{0.4, 0.4, 0.2}},
	}
	for _, tt := range tests {
		got, err := InverseMSEWeights(tt.mse)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if math.Abs(got[i]-tt.want[i]) > 1e-15 {
				t.Errorf("InverseMSEWeights(%v) = %v, want %v", tt.mse, got, tt.want)
				break
			}
		}
	}
	if _, err := InverseMSEWeights([]float64{-1, 1}); err == nil {
		t.Errorf("InverseMSEWeights(-1, 1) error = nil, want ErrInput")
	}
}

func TestChooseBase(t *testing.T) {
	stat := mat.NewDense(2, 2, []float64{100, 110, 50, 55})
	commit := mat.NewDense(2, 2, []float64{120, math.NaN(), math.NaN(), math.NaN()})
	// Statistical MSE 4, commit MSE 12 → weights 0.75 / 0.25.
	statMSE := []float64{MSE([]float64{10, 12}, []float64{12, 10}), math.NaN()}
	commitMSE := []float64{12, math.NaN()}
	tests := []struct {
		p    Policy
		want []float64
	}{
		{Statistical, []float64{100, 110, 50, 55}},
		{Commit, []float64{120, 110, 50, 55}},
		{Blend, []float64{105, 110, 50, 55}},
	}
	for _, tt := range tests {
		got, err := ChooseBase(tt.p, stat, commit, statMSE, commitMSE)
		if err != nil {
			t.Fatal(err)
		}
		if !mat.EqualApprox(got, mat.NewDense(2, 2, tt.want), 1e-12) {
			t.Errorf("ChooseBase(%v) = %v, want %v", tt.p, mat.Formatted(got), tt.want)
		}
	}
}
