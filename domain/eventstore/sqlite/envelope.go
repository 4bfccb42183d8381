package sqlite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
)

// The envelope column packs everything about an event that is read but never
// queried on into one binary value, because reading one wide column is much
// cheaper than reading ten narrow ones (BenchmarkReadAll). Layout, format 2:
//
//	format byte (2) | id [16] | hash rule byte | uvarint schema version
//	| varint recorded_at (Unix ns)
//	| uvarint-length-prefixed type, actor, correlation id, causation id, hash
//	| data (the rest)
//
// Format 1, written before hashes covered the recorded time, has no rule
// byte: its events are hashed under eventstore.ChainV1.
const envelopeFormat = 2

func appendField(b []byte, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendEnvelope appends the envelope of e to b.
func appendEnvelope(b []byte, e *eventstore.RecordedEvent) []byte {
	b = append(b, envelopeFormat)
	b = append(b, e.ID[:]...)
	b = append(b, byte(e.Rule))
	b = binary.AppendUvarint(b, uint64(e.SchemaVersion))
	b = binary.AppendVarint(b, e.RecordedAt.UnixNano())
	b = appendString(b, e.Type)
	b = appendString(b, e.Metadata.Actor)
	b = appendString(b, e.Metadata.CorrelationID)
	b = appendString(b, e.Metadata.CausationID)
	b = appendField(b, e.Hash)
	return append(b, e.Data...)
}

var errEnvelope = errors.New("sqlite: corrupt event envelope")

// interner shares equal strings: a page of events repeats a few types,
// actors and correlation ids many times. It first compares with the last
// string of the same field (runs of events from one command share them),
// then looks in a map. A nil *interner allocates each string.
type interner struct {
	seen map[string]string
	last [4]string // by field: type, actor, correlation id, causation id
}

func (in *interner) str(field int, b []byte) string {
	if in == nil {
		return string(b)
	}
	if in.last[field] == string(b) { // no allocation for the comparison
		return in.last[field]
	}
	s, ok := in.seen[string(b)] // nor for the lookup
	if !ok {
		if in.seen == nil {
			in.seen = map[string]string{}
		}
		s = string(b)
		in.seen[s] = s
	}
	in.last[field] = s
	return s
}

// decodeEnvelope fills e from b. The byte slices of e (Data, Hash) alias b,
// which the caller must not reuse.
func decodeEnvelope(b []byte, e *eventstore.RecordedEvent, strs *interner) error {
	if len(b) < 18 || (b[0] != 1 && b[0] != envelopeFormat) {
		return fmt.Errorf("%w: %d bytes, format %v", errEnvelope, len(b), b[:min(len(b), 1)])
	}
	copy(e.ID[:], b[1:17])
	e.Rule = eventstore.ChainV1
	if b[0] == envelopeFormat {
		e.Rule = eventstore.ChainRule(b[17])
		b = b[1:]
	}
	b = b[17:]
	sv, n := binary.Uvarint(b)
	if n <= 0 {
		return fmt.Errorf("%w: schema version", errEnvelope)
	}
	e.SchemaVersion = int(sv)
	b = b[n:]
	at, n := binary.Varint(b)
	if n <= 0 {
		return fmt.Errorf("%w: recorded time", errEnvelope)
	}
	e.RecordedAt = time.Unix(0, at).UTC()
	b = b[n:]
	var fields [5][]byte
	for i := range fields {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return fmt.Errorf("%w: field %d", errEnvelope, i)
		}
		fields[i] = b[n : n+int(l) : n+int(l)]
		b = b[n+int(l):]
	}
	e.Type = strs.str(0, fields[0])
	e.Metadata.Actor = strs.str(1, fields[1])
	e.Metadata.CorrelationID = strs.str(2, fields[2])
	e.Metadata.CausationID = strs.str(3, fields[3])
	e.Hash = fields[4]
	e.Data = b
	return nil
}
