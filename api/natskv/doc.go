// Package natskv keeps the API's Idempotency-Key responses in a NATS
// JetStream key-value bucket, so that a request retried on another replica
// of distributed Concord gets the first answer and records nothing twice.
// Claims are made with the bucket's compare-and-set operations (Create
// and Update at a revision), so two replicas racing on one key cannot both
// win. Keys are SHA-256 digests of the API's scoped keys (a bucket key
// allows few characters). Entries carry their own expiry; the bucket's
// MaxAge bounds how long anything stays at all.
package natskv
