package eventstore

import (
	"crypto/sha256"
	"encoding/hex"
)

// digestTag is hashed first by every link of a Digest.
const digestTag = "concord.log.v1"

// Digest is a running hash over the global log: each event folds in its
// position, stream, version, hash rule, recorded time and hash, after the
// digest of everything before it. Two logs have equal digests at a position
// only if they hold the same events, in the same order, at the same
// positions, so any rewrite, insertion, deletion or reordering before a
// position changes the digest there; a signed Checkpoint of it anchors the
// log outside the store. The zero value is the digest of the empty log.
type Digest struct {
	sum    [sha256.Size]byte
	events uint64
	at     Position
}

// Add folds r, the event after the ones added so far, into the digest.
func (d *Digest) Add(r RecordedEvent) {
	var buf [256]byte
	b := appendField(buf[:0], digestTag)
	b = appendNumber(b, uint64(len(d.sum)))
	b = append(b, d.sum[:]...)
	b = appendNumber(b, r.Position.Commit)
	b = appendNumber(b, r.Position.Prepare)
	b = appendField(b, r.Stream)
	b = appendNumber(b, r.Version)
	b = appendNumber(b, uint64(r.Rule))
	b = appendNumber(b, uint64(r.RecordedAt.UnixNano()))
	b = appendNumber(b, uint64(len(r.Hash)))
	b = append(b, r.Hash...)
	d.sum = sha256.Sum256(b)
	d.events++
	d.at = r.Position
}

// Events returns the number of events folded in.
func (d Digest) Events() uint64 { return d.events }

// Position returns the position of the last event folded in (Start for the
// empty log).
func (d Digest) Position() Position { return d.at }

// String returns the digest in hexadecimal.
func (d Digest) String() string { return hex.EncodeToString(d.sum[:]) }
