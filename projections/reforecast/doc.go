// Package reforecast produces a plan's statistical forecast from the actuals
// of its cells: it fits forecasting.Auto to every cell's monthly history, in
// parallel, and returns the data of a forecast.Published event — per cell
// the mean and 80/95% intervals over the horizon, the chosen model, and
// a Model document holding every cell's model description (so the run can be
// reproduced with forecasting.Restore) and the cells' error covariance.
//
// The covariance is the Schäfer–Strimmer shrunk covariance of the cells'
// in-sample one-step residuals (reconcile.ShrinkFactor), stored as a
// diagonal plus a rank-k factor (the leading singular vectors of the
// residual matrix, k ≤ 8, with the diagonal topped up so each cell's
// variance stays exact). It is what the target probabilities use to take the
// correlation across cells into account.
//
// Run is deterministic: the same input and seed give the same output,
// whatever the number of workers. It reads no clock and does no I/O; the
// caller reads the actuals (at a recorded log position) and appends the
// result.
package reforecast
