package eventstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Ledger is implemented by stores that keep, beside their events, their own
// record of where each stream ends, and that number their global log 1, 2,
// 3, … without gaps. Verify compares the log with that record: a deleted
// tail of a stream, or a deleted event anywhere but at the very end of the
// log, is a break even when the hash chains were repaired.
type Ledger interface {
	// Record returns the store's record, read at one instant.
	Record(ctx context.Context) (Record, error)
}

// Record is a store's own account of its log (see Ledger).
type Record struct {
	Heads    map[string]Head // every stream's last version and hash
	Head     Position        // the last position of the log
	Consumed Position        // the furthest position a consumer checkpoint records
}

// Head is the recorded end of a stream.
type Head struct {
	Version uint64
	Hash    []byte
}

// VerifyOptions say what Verify anchors the log to beyond its own hashes.
type VerifyOptions struct {
	// Checkpoint, when set, is a checkpoint whose signature the caller has
	// checked (Checkpoint.Check): the log up to its position must have its
	// event count and digest.
	Checkpoint *Checkpoint
	// Exact requires the log to end at the checkpoint: for a copy of the
	// store taken when the checkpoint was signed, where any later event is
	// an insertion.
	Exact bool
}

// Report is what Verify found.
type Report struct {
	Events  uint64 // events checked
	Streams int
	Digest  Digest // of the whole log read; its Position is the head
	// Rule is the newest hash rule of the log, in use from position
	// RuleSince on (see Verifier.Rule).
	Rule      ChainRule
	RuleSince Position
	// Ledger is true when the store's own record was compared (Ledger).
	Ledger bool
	// Anchored is true when VerifyOptions.Checkpoint was matched and no
	// break was found up to it: the log up to the checkpoint is the one
	// signed. Beyond counts the events after it, which only their hash
	// chains (and the store's record) vouch for.
	Anchored bool
	Beyond   uint64
}

// Verify reads the whole global log and checks every stream's hash chain
// (Verifier), the store's own record when it keeps one (Ledger), and the
// checkpoint of opts. It returns every break found, joined, each matching
// ErrChainBroken; any other error means the log could not be read.
func Verify(ctx context.Context, s Store, opts VerifyOptions) (Report, error) {
	var (
		v    Verifier
		errs []error
		rec  *Record
		rep  Report
	)
	if l, ok := s.(Ledger); ok {
		r, err := l.Record(ctx)
		if err != nil {
			return rep, err
		}
		rec, rep.Ledger = &r, true
	}
	cp := opts.Checkpoint
	reached := false // an event at or after the checkpoint's position was read
	var prev Position
	after := Start
	for {
		batch, err := s.ReadAll(ctx, after, MinPage)
		if err != nil {
			return rep, err
		}
		if len(batch) == 0 {
			break
		}
		for _, r := range batch {
			if err := v.Check(r); err != nil {
				errs = append(errs, err)
			}
			if rec != nil {
				errs = appendErr(errs, rec.check(r, prev))
			}
			if cp != nil && !reached && !r.Position.Before(cp.Position) {
				err := matchCheckpoint(cp, v.Digest())
				reached, rep.Anchored = true, err == nil && len(errs) == 0
				errs = appendErr(errs, err)
			} else if reached {
				rep.Beyond++
			}
			prev = r.Position
		}
		after = batch[len(batch)-1].Position
	}
	rep.Events, rep.Streams, rep.Digest = v.Checked(), v.Streams(), v.Digest()
	rep.Rule, rep.RuleSince = v.Rule()
	if rec != nil {
		errs = append(errs, rec.ends(&v, prev)...)
	}
	if cp != nil {
		switch {
		case !reached:
			errs = append(errs, &CheckpointError{Checkpoint: cp.Position,
				Reason: fmt.Sprintf("the log ends at position %v with %d events, before the checkpoint (%d events): it was truncated", prev, v.Checked(), cp.Events)})
		case opts.Exact && rep.Beyond > 0:
			errs = append(errs, &CheckpointError{Checkpoint: cp.Position,
				Reason: fmt.Sprintf("%d event(s) after the checkpoint, up to position %v, in a log that should end there", rep.Beyond, prev)})
		}
	}
	return rep, errors.Join(errs...)
}

func appendErr(errs []error, err error) []error {
	if err != nil {
		return append(errs, err)
	}
	return errs
}

// matchCheckpoint compares the digest of the log up to and including the
// first event at or after the checkpoint's position with the checkpoint.
func matchCheckpoint(cp *Checkpoint, d Digest) error {
	switch {
	case d.Position() != cp.Position:
		return &CheckpointError{Checkpoint: cp.Position,
			Reason: fmt.Sprintf("the log has no event at that position (the next is at %v): events were deleted or renumbered", d.Position())}
	case d.Events() != cp.Events:
		return &CheckpointError{Checkpoint: cp.Position,
			Reason: fmt.Sprintf("the log holds %d events up to it, the checkpoint %d: events were deleted or inserted", d.Events(), cp.Events)}
	case d.String() != cp.Digest:
		return &CheckpointError{Checkpoint: cp.Position,
			Reason: "the digest of the log up to it differs from the signed one: events before it were rewritten, reordered or replaced"}
	}
	return nil
}

// check compares event r, read after the event at prev, with the record.
func (rec *Record) check(r RecordedEvent, prev Position) error {
	broken := func(reason string, args ...any) error {
		return &ChainError{Stream: r.Stream, Version: r.Version, Position: r.Position, Reason: fmt.Sprintf(reason, args...)}
	}
	if r.Position.Commit != prev.Commit+1 {
		return broken("follows position %v in a log numbered without gaps: events were deleted", prev)
	}
	if r.Position.Compare(rec.Head) > 0 {
		return nil // appended after the record was read
	}
	h, ok := rec.Heads[r.Stream]
	switch {
	case !ok:
		return broken("the store has no record of the stream")
	case r.Version > h.Version:
		return broken("the store records the stream's head at version %d", h.Version)
	case r.Version == h.Version && !bytes.Equal(r.Hash, h.Hash):
		return broken("the store records another hash for the stream's head")
	}
	return nil
}

// ends checks that the log read, last at position last, reached every
// recorded stream head and consumer checkpoint.
func (rec *Record) ends(v *Verifier, last Position) []error {
	var errs []error
	for _, stream := range slices.Sorted(maps.Keys(rec.Heads)) {
		h := rec.Heads[stream]
		if got := v.last[stream].version; got < h.Version {
			errs = append(errs, &ChainError{Stream: stream, Version: got, Position: last,
				Reason: fmt.Sprintf("the log ends the stream at version %d, the store records version %d: its tail was deleted", got, h.Version)})
		}
	}
	if last.Before(rec.Head) {
		errs = append(errs, &ChainError{Position: last, Reason: fmt.Sprintf("the log ends at position %v, the store recorded %v", last, rec.Head)})
	}
	if last.Before(rec.Consumed) {
		errs = append(errs, &ChainError{Position: last,
			Reason: fmt.Sprintf("the log ends at position %v, but a consumer has handled events up to %v: its tail was deleted", last, rec.Consumed)})
	}
	return errs
}
