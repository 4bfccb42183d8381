// Package audit keeps the evidence that an event log was not tampered with:
// it verifies the log (eventstore.Verify), signs checkpoints of it with an
// Ed25519 key kept outside the store (eventstore.SignCheckpoint), keeps
// them in a directory, and reports the latest status.
//
// A checkpoint directory holds one JSON file per checkpoint, named
// checkpoint-POSITION.json with the position zero-padded to 20 digits, so
// that names sort as positions do; files are written under a temporary name
// and renamed into place, so a reader never sees half a checkpoint. The
// newest checkpoint is the one with the highest position.
//
// An Auditor serves the status of a running server: Status verifies the
// whole log at most once per Options.MaxAge (callers in between share the
// last result; one verification runs at a time), anchored to the newest
// checkpoint of the directory whose signature verifies; Checkpoint
// verifies and signs a new one; Run does so on a schedule. An Auditor is
// safe for concurrent use.
package audit
