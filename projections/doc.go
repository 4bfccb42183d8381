// Package projections carries stored events to everything that reacts to
// them — process managers (the reforecast, in projections/reforecast) and
// the outbound publisher (projections/outbound) — and holds Concord's one
// read side, package projections/view.
//
// The pieces, from the store outwards:
//
//   - Feed turns the store's global log into a Watermill message.Subscriber
//     with one durable checkpoint per consumer (the Checkpoints port):
//     ordered, one message in flight, acknowledged by saving the
//     checkpoint, a nack redelivered after a bounded backoff, never skipped.
//     Marshal and Unmarshal define the message: UUID = event ID, payload =
//     event data, metadata = type, schema_version, stream, version,
//     position, recorded_at, actor, correlation_id, causation_id.
//   - Router runs consumers on a Watermill router with correlation IDs,
//     slog logging, bounded retry, panic recovery, and one of two failure
//     policies: StopOnFailure (ordered deciders and relays: never skip,
//     report unhealthy) or PoisonOnFailure (workers: persist to a
//     PoisonStore, continue). Its consumer wrapper makes every ordered consumer
//     idempotent by global position.
//   - Bus pairs a publisher and a subscriber: GoChannel in one process,
//     NATS JetStream with durable consumers and queue groups when
//     distributed. Consumers on a Bus run on a Router like those on a Feed.
//
// The read side is package view: one fold of the log into a State per
// position (the domain aggregates' own Apply for plans, dimensions and
// commits; actuals, closes and published forecasts beside them), from
// which every answer is computed — the API's and the dashboard's, `concord
// export` and `concord replay`, the reforecast worker's history, and
// readiness (a process is ready once its view has read the log). Each
// event has exactly one read-side interpretation, there.
//
// Delivery is at least once, in position order per consumer. Exactly-once
// effects come from idempotency by position: a consumer keeps its position
// with its effects, and the wrapper skips what lies at or before it.
package projections
