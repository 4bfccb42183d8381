package eventstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// HashSize is the length of an event hash.
const HashSize = sha256.Size

// ChainRule names the rule by which an event's hash was computed. Every
// stored event records its rule, so events hashed under an old rule keep
// verifying under it after the store switches to a new one.
type ChainRule uint8

// The chain rules.
const (
	// ChainV1 covers everything the writer chose (ID, type, schema version,
	// metadata, data) and where the event landed in its stream, but not its
	// recorded time. Events appended before the switch to ChainV2 use it.
	ChainV1 ChainRule = 1
	// ChainV2 covers what ChainV1 covers and the recorded time, which as-of
	// by date and the history depend on; the rule's name is hashed first, so
	// no event hashes alike under both rules.
	ChainV2 ChainRule = 2
	// CurrentRule is the rule of every event appended now.
	CurrentRule = ChainV2
)

// chainV2Tag is hashed first by ChainV2.
const chainV2Tag = "concord.chain.v2"

// Chain returns the hash of r chained to prev, the hash of the previous
// event of r's stream (nil for the first), by the rule r.Rule names: it
// reads r's stream, version, the fields of r.EventData() and, from
// ChainV2 on, r.RecordedAt — never r.Position or r.Hash. Each field is
// length-prefixed, so no two different events hash alike by concatenation.
// An unknown rule returns nil, which matches no stored hash.
func Chain(prev []byte, r RecordedEvent) []byte {
	if r.Rule != ChainV1 && r.Rule != ChainV2 {
		return nil
	}
	// The fields go into one buffer, hashed at once: for an event of common
	// size the buffer lives on the stack, and the only allocation is the
	// returned hash (BenchmarkChain).
	var buf [512]byte
	b := buf[:0]
	if r.Rule == ChainV2 {
		b = appendField(b, chainV2Tag)
	}
	b = appendNumber(b, uint64(len(prev)))
	b = append(b, prev...)
	b = appendField(b, r.Stream)
	b = appendNumber(b, 8)
	b = appendNumber(b, r.Version)
	b = appendNumber(b, uint64(len(r.ID)))
	b = append(b, r.ID[:]...)
	b = appendField(b, r.Type)
	b = appendNumber(b, 8)
	b = appendNumber(b, uint64(r.SchemaVersion))
	b = appendField(b, r.Metadata.Actor)
	b = appendField(b, r.Metadata.CorrelationID)
	b = appendField(b, r.Metadata.CausationID)
	if r.Rule == ChainV2 {
		b = appendNumber(b, 8)
		b = appendNumber(b, uint64(r.RecordedAt.UnixNano()))
	}
	b = appendNumber(b, uint64(len(r.Data)))
	b = append(b, r.Data...)
	sum := sha256.Sum256(b)
	return append(make([]byte, 0, HashSize), sum[:]...)
}

// Seal returns events as a store records them when it appends them to
// stream after version, whose last hash is prev: at the versions that
// follow, recorded at the given time, hashed under CurrentRule, each
// chained to the one before. Positions are left to the store.
func Seal(prev []byte, stream string, version uint64, at time.Time, events ...EventData) []RecordedEvent {
	out := make([]RecordedEvent, len(events))
	for i, e := range events {
		version++
		out[i] = RecordedEvent{ID: e.ID, Type: e.Type, SchemaVersion: e.SchemaVersion, Stream: stream, Version: version,
			RecordedAt: at.UTC(), Metadata: e.Metadata, Data: e.Data, Rule: CurrentRule}
		out[i].Hash = Chain(prev, out[i])
		prev = out[i].Hash
	}
	return out
}

// appendNumber appends n as 8 bytes, big-endian: the length prefix of every
// field, and the content of the numeric ones.
func appendNumber(b []byte, n uint64) []byte { return binary.BigEndian.AppendUint64(b, n) }

// appendField appends s with its length prefix.
func appendField(b []byte, s string) []byte { return append(appendNumber(b, uint64(len(s))), s...) }

// ErrChainBroken matches every *ChainError and every *CheckpointError: the
// log is not what its hashes, its store's own record or a checkpoint say.
var ErrChainBroken = errors.New("eventstore: hash chain broken")

// ChainError reports an event whose stored hash does not match its content
// and predecessor, a gap in a stream's versions or in a dense global log,
// or a stream whose events disagree with the store's record of its head.
type ChainError struct {
	Stream   string
	Version  uint64
	Position Position
	Reason   string
}

func (e *ChainError) Error() string {
	if e.Stream == "" {
		return fmt.Sprintf("eventstore: log at position %v: %s", e.Position, e.Reason)
	}
	return fmt.Sprintf("eventstore: stream %q version %d (position %v): %s", e.Stream, e.Version, e.Position, e.Reason)
}

// Is makes errors.Is(err, ErrChainBroken) true for a *ChainError.
func (e *ChainError) Is(target error) bool { return target == ErrChainBroken }

// Verifier checks hash chains event by event, in global order, and keeps
// the log's Digest. The zero value is ready to use; it is not safe for
// concurrent use.
//
// Beside each stream's chain it checks the switch between rules: once an
// event of the log is hashed under a rule, no later event is hashed under an
// older one (an event moved back to ChainV1 to drop its recorded time from
// its hash is a break).
type Verifier struct {
	last   map[string]streamTip
	n      uint64
	rule   ChainRule // the newest rule seen
	since  Position  // where the log switched to rule
	digest Digest
}

type streamTip struct {
	version uint64
	hash    []byte
}

// Check verifies one event against the ones checked before it. A broken
// event still counts as checked and moves its stream's tip and the digest
// on, so that one tampered event is reported once.
func (v *Verifier) Check(r RecordedEvent) error {
	if v.last == nil {
		v.last = make(map[string]streamTip)
	}
	tip := v.last[r.Stream]
	v.last[r.Stream] = streamTip{version: r.Version, hash: r.Hash}
	v.n++
	v.digest.Add(r)
	broken := func(reason string, args ...any) error {
		return &ChainError{Stream: r.Stream, Version: r.Version, Position: r.Position, Reason: fmt.Sprintf(reason, args...)}
	}
	switch {
	case r.Version != tip.version+1:
		return broken("follows version %d", tip.version)
	case r.Rule != ChainV1 && r.Rule != ChainV2:
		return broken("unknown hash rule %d", r.Rule)
	case r.Rule < v.rule:
		return broken("hashed under rule %d after the log switched to rule %d at position %v", r.Rule, v.rule, v.since)
	case r.Rule > v.rule:
		v.rule, v.since = r.Rule, r.Position
	}
	if !bytes.Equal(Chain(tip.hash, r), r.Hash) {
		return broken("stored hash does not match the event's content and its predecessor")
	}
	return nil
}

// Checked returns the number of events verified so far.
func (v *Verifier) Checked() uint64 { return v.n }

// Streams returns the number of streams seen so far.
func (v *Verifier) Streams() int { return len(v.last) }

// Rule returns the newest hash rule seen and the position of the first
// event hashed under it: where the log switched to it (Start for the
// first event of the log, zero rule for an empty log).
func (v *Verifier) Rule() (ChainRule, Position) { return v.rule, v.since }

// Digest returns the digest of the log checked so far.
func (v *Verifier) Digest() Digest { return v.digest }
