// Package access records who may use Concord's API: the API tokens issued
// and revoked, as events in the event store, so that every replica of the
// server sees the same tokens.
//
// Tokens is an event-sourced aggregate holding every token, stream
// "access-tokens" (see Stream). Issue records a token with its role, its
// scopes and the SHA-256 hash of its secret; the secret itself is never
// recorded. Revoke takes a token out of use for good. A token id, a name and
// a hash are each used at most once, revoked tokens included.
//
// A Role says what a principal may do:
//
//   - viewer reads everything (finance, audit) and changes nothing;
//   - sales submits and withdraws commits and proposes reallocations, only
//     for the nodes its scopes cover (see Role and Token.Scopes);
//   - planner manages dimensions, plans, targets, approvals, actuals,
//     forecasts and the period close;
//   - admin may do everything, and alone manages tokens.
//
// Why SHA-256 and not a password hash: a token secret is 256 bits from a
// cryptographic random source, so there is nothing to guess and no
// dictionary to slow down; a fast, unsalted hash is the right tool, and
// lets a server find a token by its hash in one lookup.
//
// A Tokens value is not safe for concurrent use; load one per command (see
// eventstore.Repository) or guard it. Commands never read a clock.
package access
