// Package domain is the root of Concord's domain model; it holds no code of
// its own. The model lives in its subpackages: fiscal and decimal (values),
// dimension (hierarchies and node addresses), the aggregates plan, ledger,
// commit and forecast, and eventstore (the port to the source of truth).
// Its tests run every aggregate end to end through eventstore.Repository.
package domain
