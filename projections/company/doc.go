// Package company generates the event log of a synthetic but realistic
// company, for tests, benchmarks and demos: dimensions (business units,
// regions in two levels, products in lines, segments), a plan with budgets
// at month, quarter and year level, monthly actuals with restatements and
// period closes, quarterly reforecasts with tags and approvals, sales
// commits, reallocations, published statistical forecasts and the odd
// change to the dimensions.
//
// Every event is produced by a command of the real domain aggregates
// (dimension, plan, ledger, commit, forecast), so the log is valid by
// construction; commands that an aggregate rejects record nothing, as in
// production. Events are encoded through an eventstore.Registry, so the
// log is what a store would hold. Generation is deterministic: the same
// Config (and seed, math/rand/v2 PCG) gives the same log, byte for byte.
//
// The package is named after what it models: a company, as its event log
// tells it. It imports the domain only and holds no read model.
package company
