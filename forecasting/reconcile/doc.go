// Package reconcile makes forecasts of a hierarchy coherent and reconciles
// them to strategic targets. It is pure numerics on gonum: no I/O, no context,
// no clock; every function is deterministic (randomness comes from a caller's
// seeded source) and safe for concurrent use unless stated otherwise.
//
// # Structures
//
// A Structure is built from dimensions, each a tree of members (id, parent).
// A cell (bottom-level series) is one leaf per dimension; a node is any
// combination of one member per dimension, at any level, including each
// dimension's total. One dimension gives a hierarchy; several give a grouped
// structure, the cross product of the trees restricted to the cells that
// exist. The summing matrix S (n nodes × m cells) is stored as a CSR matrix of
// ones (type CSR). We wrote that small type instead of depending on a sparse
// library: gonum has no sparse matrices, the maintained Go sparse packages
// (james-bowman/sparse) are barely kept up, and reconciliation needs only two
// kernels, S·x and Sᵀ·x, on a pattern matrix. CSR implements mat.Matrix so
// that small instances convert to gonum types.
//
// # Hierarchical reconciliation
//
// Reconcile implements bottom-up, top-down (average historical proportions,
// proportions of historical averages, forecast proportions), middle-out at
// any level, and the projections ỹ = S(SᵀW⁻¹S)⁻¹SᵀW⁻¹ŷ, which minimise
// (ŷ − Sb)ᵀW⁻¹(ŷ − Sb) over cell values b: OLS (W = I), WLS with structural
// (W = diag(S·1)) or variance scaling (W = diag of in-sample residual
// variances), and MinT with the Schäfer–Strimmer shrinkage of the residual
// covariance (Wickramasuriya, Athanasopoulos & Hyndman 2019, JASA 114:804;
// Hyndman & Athanasopoulos, Forecasting: Principles and Practice, 3rd ed.,
// ch. 11). Top-down and middle-out on grouped structures split dimension by
// dimension, in the order of the dimensions.
//
// Scale: no n × n matrix is formed for OLS and WLS. The bottom-level normal
// equations (SᵀW⁻¹S)b = SᵀW⁻¹ŷ are solved by Jacobi-preconditioned conjugate
// gradient using only S·x and Sᵀ·x (SᵀW⁻¹S itself is dense, because the total
// couples all cells). The output is S·b̃ and hence coherent to rounding
// whatever the solver's tolerance. MinT needs the dense n × n covariance; it
// is solved in the constraint form ỹ = ŷ − WCᵀ(CWCᵀ)⁻¹Cŷ with C = [I, −A],
// which factorises only the aggregates × aggregates matrix CWCᵀ.
//
// # Non-negativity
//
// With Options.NonNegative the projection methods solve
// min (ŷ − Sb)ᵀW⁻¹(ŷ − Sb) subject to b ≥ 0 exactly, the formulation of
// Wickramasuriya, Athanasopoulos & Hyndman (2020), "Optimal non-negative
// forecast reconciliation", Statistics and Computing 30:1167, by block
// principal pivoting (Kim & Park 2011), one of the algorithms evaluated
// there, started from the unconstrained solution. Bottom-up, top-down and
// middle-out set negative cell forecasts to zero. Non-negative target
// reconciliation is described at ReconcileTargets.
//
// # Targets
//
// ReconcileTargets solves min (y−ŷ)ᵀW⁻¹(y−ŷ) subject to Cy = t (hard
// targets) plus weighted penalties for soft targets, over cells × periods,
// with the closed form y = ŷ + WCᵀ(CWCᵀ + R)⁻¹(t − Cŷ), where CWCᵀ is only
// targets × targets and R is zero for hard and 1/weight for soft targets.
// Closed periods stay at their actuals; open periods are reconciled to target
// minus actuals to date. Conflicting targets are reported as a ConflictError
// listing the target IDs, never averaged.
//
// Scale in the number of targets: a company's targets are sums over nodes ×
// spans (a month target on every cell, quarters and years above), so CWCᵀ is
// sparse — two targets couple only where their scopes share a cell and
// period. It is kept sparse and factorised by an up-looking sparse Cholesky
// (Davis 2006, ch. 4) that adds small scopes before the scopes containing
// them, which keeps the factor about as sparse as CWCᵀ itself; targets on
// disjoint scopes never meet. Dependent targets found in that order are
// reported, after an echelon step, exactly as in input order. The 24,577
// targets of one metric and year of the generator's realistic company take
// a fraction of a second (BenchmarkTargets). ReconcileTargets and BuildPlan
// run in phases (validation, bookkeeping, solving, reporting) and call the
// caller's Check between them, the way to honour a deadline without a
// context in this package.
//
// Everything but the solve depends only on the structure, the actuals of
// closed periods, the variances and the targets, not on the forecasts'
// means: Prepare does it once (validation, C and CWCᵀ, dependence and
// conflicts, the factor) and Prepared.Plan reconciles any base forecasts
// that fit it, which is how a scenario that shocks a plan's forecasts
// reuses the plan's work. A Prepared is immutable and shared by
// concurrent readers.
//
// # Probabilistic reconciliation
//
// GaussianPaths and BootstrapPaths draw base sample paths (Gaussian with a
// given base covariance, or blocks of joint in-sample residuals, which keeps
// the cross-series correlation) and reconcile each path, so every path is
// coherent (Panagiotelis, Gamakumara, Athanasopoulos & Hyndman 2023). For the
// linear methods the Gaussian paths follow N(SGŷ, SGΣGᵀSᵀ), the reconciled
// distribution; Intervals gives its exact quantiles.
package reconcile
