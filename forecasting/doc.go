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
//   - Seasonal ARIMA chosen as R's forecast::auto.arima does by default
//     (Hyndman & Khandakar 2008; MethodARIMA): d by repeated KPSS tests,
//     D by the STL seasonal-strength heuristic (> 0.64), a stepwise search
//     over (p,q)(P,Q) by AICc with an intercept or drift tried both ways,
//     and auto.arima's rejections (roots within 1.01 of the unit circle,
//     negative coefficient variances). The search ranks candidates by the
//     exact likelihood of the differenced series (the ARMA part of the
//     state only: what R's diffuse filter tends to, within about 1e-3 in
//     log-likelihood), after conditional-sum-of-squares starting values;
//     the chosen model is then refitted as stats::arima(method = "CSS-ML")
//     does: the exact Gaussian likelihood by a Kalman filter on Harvey's
//     state-space form with diffuse differencing states (κ = 1e6), both
//     steps minimised by BFGS (bfgs.go, optim's rules) over
//     partial-autocorrelation parameters that keep the AR part stationary
//     (the next best candidate is refitted if that fit fails or is
//     rejected). The stationary initial covariance is computed exactly from
//     the autocovariances (it equals R's Gardner et al. Q0). Intervals come
//     from the Kalman forecast variance, simulation from the state-space
//     form. auto.arima's CSS approximation for n > 150 or m > 12 is not
//     reproduced: every model is fitted by exact likelihood.
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
// Fit fits one method; Auto chooses per series (AICc over ETS; the same
// on the data or on their logarithm, whichever backtests better on the
// training data (SelectICLog); a rolling-origin backtest on the training data over ETS, ARIMA, Theta, log
// ETS, the naive methods and the ETS/ARIMA/Theta combinations, an
// ETS+Theta ensemble, or the equal-weight ETS+ARIMA+Theta combination;
// mostly-zero series go to the intermittent methods; see Auto for the
// documented fallbacks for constant and very short series).
// BacktestCandidates and BatchChoice choose one candidate for a whole batch
// from the series' own backtests; Spec.BoxCox and TransformBoxCox fit any
// method on the Box–Cox/log scale with the bias-adjusted mean. A fitted *Model gives Forecast (means
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
