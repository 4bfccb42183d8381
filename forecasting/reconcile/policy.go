package reconcile

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Policy decides which forecast enters reconciliation as a node's base
// forecast.
type Policy int

const (
	// Statistical uses the statistical forecast everywhere.
	Statistical Policy = iota
	// Commit uses the sales commit where one exists, else the statistical
	// forecast.
	Commit
	// Blend uses, where a commit exists, the average of statistical forecast
	// and commit weighted by each source's inverse MSE on that node's track
	// record (Bates & Granger 1969), else the statistical forecast.
	Blend
)

var policyNames = map[Policy]string{Statistical: "statistical", Commit: "commit", Blend: "blend"}

// String returns the policy's name as accepted by ParsePolicy.
func (p Policy) String() string {
	if s, ok := policyNames[p]; ok {
		return s
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// ParsePolicy returns the policy with the given name.
func ParsePolicy(name string) (Policy, error) {
	for p, s := range policyNames {
		if s == name {
			return p, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown policy %q (want statistical, commit or blend)", ErrInput, name)
}

// MSE returns the mean squared error of forecasts against actuals, skipping
// pairs where either is NaN; it returns NaN when no pair is left.
func MSE(forecast, actual []float64) float64 {
	var ss float64
	k := 0
	for i := range min(len(forecast), len(actual)) {
		if math.IsNaN(forecast[i]) || math.IsNaN(actual[i]) {
			continue
		}
		d := forecast[i] - actual[i]
		ss += d * d
		k++
	}
	if k == 0 {
		return math.NaN()
	}
	return ss / float64(k)
}

// InverseMSEWeights returns weights proportional to 1/mse_i, summing to 1.
// Sources with zero MSE share all the weight. A NaN MSE (no track record)
// gives equal weights to all sources. Negative or infinite MSEs are ErrInput.
func InverseMSEWeights(mse []float64) ([]float64, error) {
	w := make([]float64, len(mse))
	if len(mse) == 0 {
		return w, nil
	}
	zeros := 0
	for i, v := range mse {
		switch {
		case math.IsNaN(v):
			for k := range w {
				w[k] = 1 / float64(len(w))
			}
			return w, nil
		case v < 0 || math.IsInf(v, 0):
			return nil, fmt.Errorf("%w: MSE %d is %v", ErrInput, i, v)
		case v == 0:
			zeros++
		}
	}
	var sum float64
	for i, v := range mse {
		switch {
		case zeros > 0 && v == 0:
			w[i] = 1
		case zeros == 0:
			w[i] = 1 / v
		}
		sum += w[i]
	}
	for i := range w {
		w[i] /= sum
	}
	return w, nil
}

// ChooseBase applies the policy node by node and period by period. statistical
// and commit are n × P (commit NaN where no commit was submitted; commit may
// be nil); statMSE and commitMSE give each node's track record of the two
// sources (needed for Blend only; NaN means none, which weights equally).
func ChooseBase(p Policy, statistical, commit *mat.Dense, statMSE, commitMSE []float64) (*mat.Dense, error) {
	n, per := statistical.Dims()
	out := mat.DenseCopyOf(statistical)
	if p == Statistical || commit == nil {
		return out, nil
	}
	if r, c := commit.Dims(); r != n || c != per {
		return nil, fmt.Errorf("%w: commits are %d×%d, statistical forecasts %d×%d", ErrShape, r, c, n, per)
	}
	if p == Blend && (len(statMSE) != n || len(commitMSE) != n) {
		return nil, fmt.Errorf("%w: blend needs one track record per node (%d), have %d and %d", ErrShape, n, len(statMSE), len(commitMSE))
	}
	for i := 0; i < n; i++ {
		w := []float64{0, 1}
		if p == Blend {
			var err error
			if w, err = InverseMSEWeights([]float64{statMSE[i], commitMSE[i]}); err != nil {
				return nil, fmt.Errorf("node %d: %w", i, err)
			}
		}
		for c := 0; c < per; c++ {
			cm := commit.At(i, c)
			if math.IsNaN(cm) {
				continue
			}
			out.Set(i, c, w[0]*statistical.At(i, c)+w[1]*cm)
		}
	}
	if p != Commit && p != Blend {
		return nil, fmt.Errorf("%w: unknown policy %v", ErrInput, p)
	}
	return out, nil
}
