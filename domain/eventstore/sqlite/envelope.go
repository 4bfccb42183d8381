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
// cheaper than reading ten narrow ones (BenchmarkReadAll). Layout, format 1:
//
//	format byte (1) | id [16] | uvarint schema version | varint recorded_at (Unix ns)
//	| uvarint-length-prefixed type, actor, correlation id, causation id, hash
//	| data (the rest)
const envelopeFormat = 1

func appendField(b []byte, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendEnvelope appends the envelope of e to b.
func appendEnvelope(b []byte, e eventstore.EventData, recordedAt int64, hash []byte) []byte {
	b = append(b, envelopeFormat)
	b = append(b, e.ID[:]...)
	b = binary.AppendUvarint(b, uint64(e.SchemaVersion))
	b = binary.AppendVarint(b, recordedAt)
	b = appendString(b, e.Type)
	b = appendString(b, e.Metadata.Actor)
	b = appendString(b, e.Metadata.CorrelationID)
	b = appendString(b, e.Metadata.CausationID)
	b = appendField(b, hash)
	return append(b, e.Data...)
}

var errEnvelope = errors.New("sqlite: corrupt event envelope")

// interner shares equal strings: a page of events repeats a few types,
// actors and correlation ids many times. A nil interner allocates each.
type interner map[string]string

func (in interner) str(b []byte) string {
	if in == nil {
		return string(b)
	}
	if s, ok := in[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	in[s] = s
	return s
}

// decodeEnvelope fills e from b. The byte slices of e (Data, Hash) alias b,
// which the caller must not reuse.
func decodeEnvelope(b []byte, e *eventstore.RecordedEvent, strs interner) error {
	if len(b) < 17 || b[0] != envelopeFormat {
		return fmt.Errorf("%w: %d bytes, format %v", errEnvelope, len(b), b[:min(len(b), 1)])
	}
	copy(e.ID[:], b[1:17])
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
	e.Type = strs.str(fields[0])
	e.Metadata.Actor = strs.str(fields[1])
	e.Metadata.CorrelationID = strs.str(fields[2])
	e.Metadata.CausationID = strs.str(fields[3])
	e.Hash = fields[4]
	e.Data = b
	return nil
}
