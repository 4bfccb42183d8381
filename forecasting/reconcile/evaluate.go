package reconcile

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Forecaster produces base forecasts for one series. Forecast receives the
// node's members (one per dimension, as Structure.Node returns them), its
// training history and seasonal period, and returns h forecasts and the
// in-sample one-step residuals (actual − fitted, one per history value).
// Implementations plug a forecasting model (e.g. Concord's ETS) into Evaluate.
type Forecaster interface {
	Forecast(node []string, history []float64, period, h int) (forecast, residuals []float64, err error)
}

// Evaluation holds hold-out errors of base and reconciled forecasts.
type Evaluation struct {
	// Methods names the rows: "base" and then each evaluated method.
	Methods []string
	// RMSE[k][i] is the root mean squared error of method k at node i over
	// the hold-out horizons.
	RMSE [][]float64
	// Lambda is the MinT shrinkage intensity (0 if no MinT method ran).
	Lambda float64
}

// Evaluate fits f to every node's first train periods of history (cells × T,
// aggregated with the structure), forecasts h periods, reconciles the base
// forecasts with each of methods (their Residuals are filled from the
// forecaster), and scores everything against periods train..train+h−1.
func Evaluate(s *Structure, history mat.Matrix, train, h, period int, f Forecaster, methods []Options) (*Evaluation, error) {
	m, t := history.Dims()
	if m != s.NumCells() {
		return nil, fmt.Errorf("%w: history has %d rows, structure has %d cells", ErrShape, m, s.NumCells())
	}
	if train < 1 || h < 1 || train+h > t {
		return nil, fmt.Errorf("%w: train %d + horizon %d exceeds %d periods", ErrInput, train, h, t)
	}
	hist := mat.DenseCopyOf(history)
	all := s.Aggregate(hist)
	n := s.NumNodes()
	base := mat.NewDense(n, h, nil)
	res := mat.NewDense(train, n, nil)
	for i := 0; i < n; i++ {
		fc, r, err := f.Forecast(s.Node(i), mat.Row(nil, i, all)[:train], period, h)
		if err != nil {
			return nil, fmt.Errorf("node %v: %w", s.Node(i), err)
		}
		if len(fc) != h || len(r) != train {
			return nil, fmt.Errorf("%w: node %v: forecaster returned %d forecasts and %d residuals, want %d and %d", ErrShape, s.Node(i), len(fc), len(r), h, train)
		}
		base.SetRow(i, fc)
		res.SetCol(i, r)
	}
	actual := all.Slice(0, n, train, train+h)
	ev := &Evaluation{Methods: []string{"base"}, RMSE: [][]float64{rmseRows(base, actual)}}
	for _, o := range methods {
		if o.Residuals == nil {
			o.Residuals = res
		}
		if o.History == nil {
			o.History = hist.Slice(0, m, 0, train)
		}
		r, err := Reconcile(s, base, o)
		if err != nil {
			return nil, fmt.Errorf("%v: %w", o.Method, err)
		}
		if r.Lambda != 0 {
			ev.Lambda = r.Lambda
		}
		ev.Methods = append(ev.Methods, o.Method.String())
		ev.RMSE = append(ev.RMSE, rmseRows(r.Reconciled, actual))
	}
	return ev, nil
}

// MeanRMSE returns the mean over nodes of method k's per-node RMSE (the
// summary of Forecasting: Principles and Practice §11.4).
func (e *Evaluation) MeanRMSE(k int, nodes []int) float64 {
	var sum float64
	for _, i := range nodes {
		sum += e.RMSE[k][i]
	}
	return sum / float64(len(nodes))
}

func rmseRows(f, a mat.Matrix) []float64 {
	n, h := f.Dims()
	out := make([]float64, n)
	for i := 0; i < n; i++ {
		var ss float64
		for c := 0; c < h; c++ {
			d := f.At(i, c) - a.At(i, c)
			ss += d * d
		}
		out[i] = math.Sqrt(ss / float64(h))
	}
	return out
}
