package eventstore_test

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/google/uuid"
)

// TestChainPinned pins Chain's output under both rules, so a faster
// implementation cannot change the hashes already stored. The reference
// values come from an independent implementation of the documented layout
// (every field length-prefixed with 8 bytes big-endian, numbers as 8 bytes
// big-endian), Python 3's hashlib:
//
//	def field(b): return struct.pack('>Q', len(b)) + b
//	m = field(prev) + field(stream) + field(struct.pack('>Q', version)) + field(uuid.UUID(id).bytes)
//	    + field(type) + field(struct.pack('>Q', schema_version)) + field(actor)
//	    + field(correlation_id) + field(causation_id) + field(data)
//	hashlib.sha256(m).hexdigest()
//
// and for ChainV2, the rule's tag first and the recorded time (Unix ns)
// before the data:
//
//	m = field(b"concord.chain.v2") + field(prev) + ... + field(causation_id)
//	    + field(struct.pack('>q', recorded_at_ns)) + field(data)
func TestChainPinned(t *testing.T) {
	tests := []struct {
		name    string
		prev    []byte
		stream  string
		version uint64
		e       eventstore.EventData
		rule    eventstore.ChainRule
		at      time.Time
		want    string
	}{
		{
			name: "first event", stream: "plan-FY27", version: 1,
			e: eventstore.EventData{ID: uuid.MustParse("0b5d0c7e-8f51-4c35-9c1b-0d6f4a3e2b11"), Type: "plan.TargetSet", SchemaVersion: 2,
				Data: []byte(`{"a":1}`), Metadata: eventstore.Metadata{Actor: "ann", CorrelationID: "c-1"}},
			want: "f7c4d3e4f9415bb7a2ea8a95af76f9401fbe34a5ee3b8a9727150fda77647483",
		},
		{
			name: "chained, larger than the stack buffer", stream: "ledger-7", version: 3,
			e: eventstore.EventData{ID: uuid.MustParse("0b5d0c7e-8f51-4c35-9c1b-0d6f4a3e2b12"), Type: "ledger.ActualRecorded", SchemaVersion: 1,
				Data: bytes.Repeat([]byte("x"), 1000), Metadata: eventstore.Metadata{Actor: "importer", CorrelationID: "req-1", CausationID: "evt-9"}},
			want: "577e54c38d49c2ab09e7689f535144d3a8cad77e2963785201c794f066074fb8",
		},
		{
			name: "v2 first event", stream: "plan-FY27", version: 1, rule: eventstore.ChainV2, at: time.Unix(1798761600, 123),
			e: eventstore.EventData{ID: uuid.MustParse("0b5d0c7e-8f51-4c35-9c1b-0d6f4a3e2b11"), Type: "plan.TargetSet", SchemaVersion: 2,
				Data: []byte(`{"a":1}`), Metadata: eventstore.Metadata{Actor: "ann", CorrelationID: "c-1"}},
			want: "fe1147ff5ff11649d7c95585abf69ed75c9fe2d3d18c424b4f03b42f86eb025d",
		},
		{
			name: "v2 chained, larger than the stack buffer", stream: "ledger-7", version: 3, rule: eventstore.ChainV2, at: time.Unix(1798761600, 124),
			e: eventstore.EventData{ID: uuid.MustParse("0b5d0c7e-8f51-4c35-9c1b-0d6f4a3e2b12"), Type: "ledger.ActualRecorded", SchemaVersion: 1,
				Data: bytes.Repeat([]byte("x"), 1000), Metadata: eventstore.Metadata{Actor: "importer", CorrelationID: "req-1", CausationID: "evt-9"}},
			want: "6dfe6c611f7910cdd64091f1c214d42eaf9a869bcbcb1d3644bb6f0a18220d99",
		},
	}
	prev := make([]byte, 32)
	for i := range prev {
		prev[i] = byte(i)
	}
	tests[1].prev, tests[3].prev = prev, prev
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := eventstore.RecordedEvent{ID: tt.e.ID, Type: tt.e.Type, SchemaVersion: tt.e.SchemaVersion, Stream: tt.stream, Version: tt.version,
				RecordedAt: tt.at, Metadata: tt.e.Metadata, Data: tt.e.Data, Rule: tt.rule}
			if tt.rule == 0 {
				r.Rule = eventstore.ChainV1
			}
			if got := hex.EncodeToString(eventstore.Chain(tt.prev, r)); got != tt.want {
				t.Errorf("Chain = %s, want %s", got, tt.want)
			}
		})
	}
}

func BenchmarkChain(b *testing.B) {
	e := eventstore.EventData{ID: uuid.MustParse("0b5d0c7e-8f51-4c35-9c1b-0d6f4a3e2b12"), Type: "ledger.ActualRecorded", SchemaVersion: 1,
		Data:     []byte(`{"import_id":"imp-1","cell":"bu=bu1;product=p3;region=r2","metric":"net_revenue","period":"2027-03","amount":"1003.03"}`),
		Metadata: eventstore.Metadata{Actor: "importer", CorrelationID: "req-1"}}
	r := eventstore.Seal(make([]byte, 32), "ledger-7", 2, time.Unix(1798761600, 0), e)[0]
	b.ReportAllocs()
	for b.Loop() {
		r.Hash = eventstore.Chain(r.Hash, r)
	}
}

func BenchmarkDigest(b *testing.B) {
	r := eventstore.Seal(make([]byte, 32), "ledger-7", 2, time.Unix(1798761600, 0), eventstore.EventData{ID: uuid.New(), Type: "t", SchemaVersion: 1})[0]
	var d eventstore.Digest
	b.ReportAllocs()
	for b.Loop() {
		r.Position.Commit++
		d.Add(r)
	}
}
