package eventstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// HashSize is the length of an event hash.
const HashSize = sha256.Size

// Chain returns the hash of event e stored at version of stream, chained to
// prev, the hash of the stream's previous event (nil for the first). It
// covers everything the writer chose (ID, type, schema version, metadata,
// data) and where it landed in its stream, but not the global position or
// the recorded time, which the store assigns at commit. Each field is
// length-prefixed, so no two different events hash alike by concatenation.
func Chain(prev []byte, stream string, version uint64, e EventData) []byte {
	// The fields go into one buffer, hashed at once: for an event of common
	// size the buffer lives on the stack, and the only allocation is the
	// returned hash (BenchmarkChain).
	var buf [512]byte
	b := appendNumber(buf[:0], uint64(len(prev)))
	b = append(b, prev...)
	b = appendField(b, stream)
	b = appendNumber(b, 8)
	b = appendNumber(b, version)
	b = appendNumber(b, uint64(len(e.ID)))
	b = append(b, e.ID[:]...)
	b = appendField(b, e.Type)
	b = appendNumber(b, 8)
	b = appendNumber(b, uint64(e.SchemaVersion))
	b = appendField(b, e.Metadata.Actor)
	b = appendField(b, e.Metadata.CorrelationID)
	b = appendField(b, e.Metadata.CausationID)
	b = appendNumber(b, uint64(len(e.Data)))
	b = append(b, e.Data...)
	sum := sha256.Sum256(b)
	return append(make([]byte, 0, HashSize), sum[:]...)
}

// appendNumber appends n as 8 bytes, big-endian: the length prefix of every
// field, and the content of the numeric ones.
func appendNumber(b []byte, n uint64) []byte { return binary.BigEndian.AppendUint64(b, n) }

// appendField appends s with its length prefix.
func appendField(b []byte, s string) []byte { return append(appendNumber(b, uint64(len(s))), s...) }

// ErrChainBroken matches every *ChainError.
var ErrChainBroken = errors.New("eventstore: hash chain broken")

// ChainError reports an event whose stored hash does not match its content
// and predecessor, or a gap in a stream's versions.
type ChainError struct {
	Stream   string
	Version  uint64
	Position Position
	Reason   string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("eventstore: stream %q version %d (position %v): %s", e.Stream, e.Version, e.Position, e.Reason)
}

// Is makes errors.Is(err, ErrChainBroken) true for a *ChainError.
func (e *ChainError) Is(target error) bool { return target == ErrChainBroken }

// Verifier checks hash chains event by event, in global order. The zero
// value is ready to use; it is not safe for concurrent use.
type Verifier struct {
	last map[string]streamTip
	n    uint64
}

type streamTip struct {
	version uint64
	hash    []byte
}

// Check verifies one event against the ones checked before it.
func (v *Verifier) Check(r RecordedEvent) error {
	if v.last == nil {
		v.last = make(map[string]streamTip)
	}
	tip := v.last[r.Stream]
	if r.Version != tip.version+1 {
		return &ChainError{Stream: r.Stream, Version: r.Version, Position: r.Position,
			Reason: fmt.Sprintf("follows version %d", tip.version)}
	}
	want := Chain(tip.hash, r.Stream, r.Version, r.EventData())
	if !bytes.Equal(want, r.Hash) {
		return &ChainError{Stream: r.Stream, Version: r.Version, Position: r.Position,
			Reason: "stored hash does not match the event's content and its predecessor"}
	}
	v.last[r.Stream] = streamTip{version: r.Version, hash: r.Hash}
	v.n++
	return nil
}

// Checked returns the number of events verified so far.
func (v *Verifier) Checked() uint64 { return v.n }

// Streams returns the number of streams seen so far.
func (v *Verifier) Streams() int { return len(v.last) }

// Verify reads the whole global log and checks every stream's hash chain. It
// returns every break found (joined), and the number of events checked.
// Events after a break in the same stream are checked against the stored
// hash, so one tampered event is reported once.
func Verify(ctx context.Context, s Store) (uint64, error) {
	var v Verifier
	var errs []error
	after := Start
	for {
		batch, err := s.ReadAll(ctx, after, 4096)
		if err != nil {
			return v.n, err
		}
		for _, r := range batch {
			if err := v.Check(r); err != nil {
				errs = append(errs, err)
				v.last[r.Stream] = streamTip{version: r.Version, hash: r.Hash}
				v.n++
			}
			after = r.Position
		}
		if len(batch) == 0 {
			return v.n, errors.Join(errs...)
		}
	}
}
