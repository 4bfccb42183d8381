// Package forecasting produces statistical forecasts of univariate series:
// pure numerics on gonum and the standard library — no I/O, no context, no
// clock. Every function is deterministic; randomness enters only through a
// *rand.Rand the caller passes to Model.Simulate.
//
// # Models
//
//   - Exponential smoothing in innovations state-space form (ETS; Hyndman,
//     Koehler, Ord & Snyder 2008): additive or multiplicative error; no,
//     additive or additive-damped trend; no, additive or multiplicative
//     seasonality. Parameters and initial states are estimated by maximum
//     likelihood — minimising n·log(Σe²) + 2·Σlog|ŷ| (HKOS eq. 5.3) — with
//     the Nelder–Mead simplex inside the usual ∩ admissible region, and
//     models are selected by AICc exactly as R's forecast::ets does by
//     default (no multiplicative trend, restrict = TRUE, multiplicative
//     forms only for strictly positive data, seasonal only for 1 < m ≤ 24
//     and n > m, models with as many parameters as n−1 skipped). The
//     starting values, optimiser rules and likelihood reproduce R's to
//     floating-point accuracy, so the chosen model, log-likelihood and
//     forecasts agree with R (see reference_test.go). The optimiser is a
//     small allocation-free Nelder–Mead written for this (see
//     neldermead.go for why not gonum/optimize).
//   - Theta (Assimakopoulos & Nikolopoulos 2000) as R's forecast::thetaf:
//     SES with drift equal to half the slope of the linear trend, on data
//     seasonally adjusted by classical multiplicative decomposition when a
//     90% test of the lag-m autocorrelation says so; thetaf's intervals.
//   - Classic Theta (MethodThetaClassic): the same adjustment, then the
//     θ=0 least-squares line and SES fitted to the θ=2 line itself
//     (ℓ0 = first value, α by least squares), combined with equal weights
//     — the procedure as Assimakopoulos & Nikolopoulos describe the M3
//     entry; EVALUATION.md compares it with thetaf and the published M3
//     figures.
//   - Baselines as R's naive, snaive, rwf(drift = TRUE) and meanf; linear
//     regression on trend and seasonal dummies (gonum/mat), as
//     forecast(tslm(y ~ trend + season)). Seasonal dummies are by position:
//     the first observation is season 1.
//   - Intermittent demand: Croston, SBA and TSB (see intermittentModel).
//
// # Use
//
// Fit fits one method; Auto chooses per series (AICc over ETS, a
// rolling-origin backtest, or an ETS+Theta ensemble; mostly-zero series go
// to the intermittent methods; see Auto for the documented fallbacks for
// constant and very short series). A fitted *Model gives Forecast (means
// and intervals at any levels), Simulate (sample paths, reproducible from a
// seeded math/rand/v2 PCG), Fitted, Residuals and Description — a
// JSON-serialisable record of method, parameters, initial states and sigma²
// for a published forecast run; Restore rebuilds the model from it and the
// same data, reproducing every number.
//
// # Errors
//
// Bad data is an error, never a panic: ErrNonFinite (as *NonFiniteError
// with the index) for NaN/Inf, ErrTooShort, ErrBadSpec, ErrNoModel.
//
// # Evaluation
//
// Accuracy measures (MAE, RMSE, MAPE, sMAPE, MASE, WAPE, bias, interval
// coverage and MSIS), Score and the rolling-origin Backtest live in this
// package rather than a sub-package because Auto's backtest selection needs
// them, and a sub-package importing forecasting could not be imported back.
package forecasting
