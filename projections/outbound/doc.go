// Package outbound publishes Concord's domain events to an external topic,
// for downstream systems (a data warehouse, a CRM, a notification service).
//
// The message schema is versioned and documented in SCHEMA.md beside this
// file; a test keeps that document equal to the registered event types and
// their fields. In short: one message per stored event, in log order, on
// the topic Topic ("concord_events_v1"); the payload is the event's data as
// stored (JSON); the metadata (NATS headers on JetStream) carry the event
// id, type, schema version, stream, stream version, global position,
// recorded time, actor, correlation and causation ids, and
// MetaMessageSchema = MessageSchema, the version of this envelope. Events
// of access tokens are never published: their hashes are secrets.
//
// Delivery is once per topic, in log order, however many relays publish to
// it and however far one falls behind another: each message names the
// stream sequence its relay expects the topic to end at, so the server
// refuses a message another relay got in first, and the relay then skips
// what the topic holds (see Handler). The message id is the event id, so
// JetStream also drops a republished event within its duplicate window.
// LastPublished makes the published stream its own checkpoint: a restarted
// publisher continues after the last event the topic holds, and several
// replicas may run it at once.
package outbound
