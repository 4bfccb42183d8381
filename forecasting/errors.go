package forecasting

import (
	"errors"
	"fmt"
	"math"
)

// Sentinel errors. Functions wrap them with %w; test with errors.Is.
var (
	// ErrTooShort is returned when a series has fewer observations than the
	// method needs (the message says how many it has and how many it needs).
	ErrTooShort = errors.New("forecasting: series too short")
	// ErrNonFinite is returned when a series contains NaN or ±Inf. The
	// concrete error is a *NonFiniteError carrying the index.
	ErrNonFinite = errors.New("forecasting: non-finite value")
	// ErrBadSpec is returned for an unknown method, an impossible model
	// specification (e.g. multiplicative components for data that are not
	// strictly positive), a bad horizon or a bad interval level.
	ErrBadSpec = errors.New("forecasting: invalid specification")
	// ErrNoModel is returned when no candidate model could be fitted.
	ErrNoModel = errors.New("forecasting: no admissible model")
)

// NonFiniteError reports the first non-finite observation of a series.
// errors.Is(err, ErrNonFinite) holds for it.
type NonFiniteError struct {
	Index int     // 0-based position in the series
	Value float64 // the offending value (NaN or ±Inf)
}

func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("forecasting: non-finite value %v at index %d", e.Value, e.Index)
}

// Unwrap makes errors.Is(err, ErrNonFinite) true.
func (e *NonFiniteError) Unwrap() error { return ErrNonFinite }

// checkFinite returns a *NonFiniteError for the first NaN or Inf in y.
func checkFinite(y []float64) error {
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return &NonFiniteError{Index: i, Value: v}
		}
	}
	return nil
}

func tooShort(method string, n, need int) error {
	return fmt.Errorf("%w: %s needs at least %d observations, got %d", ErrTooShort, method, need, n)
}
