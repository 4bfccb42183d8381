// Package projections carries stored events to everything that reacts to
// them: read models, process managers and the outbound publisher.
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
//     policies: StopOnFailure (read models: never skip, report unhealthy)
//     or PoisonOnFailure (process managers: persist to a PoisonStore,
//     continue). Its consumer wrapper makes every ordered consumer
//     idempotent by global position.
//   - Bus pairs a publisher and a subscriber: GoChannel in one process,
//     NATS JetStream with durable consumers and queue groups when
//     distributed. Consumers on a Bus run on a Router like those on a Feed.
//   - Runner keeps a set of read models (Projection) fed from the store,
//     reports Health and readiness, lets clients wait for their own writes
//     (WaitFor), and rebuilds a model beside the one in service, swapping
//     it in atomically (Rebuild, Model.Current). It catches models up by
//     Replay, and only then follows the log through the Feed and Router.
//   - Replay reads the log ahead, decodes each event once (pages in
//     parallel: decoding is pure) and applies it to every handler strictly
//     in position order, reporting Progress. RegisterReadModels puts the
//     business read models (catalog, rolling plan with its cube and plan
//     state, audit history) on a Runner in one call; ReplayReadModels
//     replays a whole log into fresh ones (`concord replay`).
//
// Delivery is at least once, in position order per consumer. Exactly-once
// effects come from idempotency by position: a consumer keeps its position
// with its effects, and the wrapper skips what lies at or before it.
package projections
