package sqlite

import (
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/google/uuid"
)

func FuzzDecodeEnvelope(f *testing.F) {
	e := eventstore.RecordedEvent{ID: uuid.MustParse("0b5d0c7e-8f51-4c35-9c1b-0d6f4a3e2b11"), Type: "plan.TargetSet", SchemaVersion: 2,
		Data: []byte(`{"a":1}`), Metadata: eventstore.Metadata{Actor: "ann", CorrelationID: "c", CausationID: "d"},
		RecordedAt: time.Unix(0, 1_700_000_000_000_000_000), Hash: []byte("hash"), Rule: eventstore.ChainV2}
	f.Add(appendEnvelope(nil, &e))
	f.Add([]byte{1})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var got eventstore.RecordedEvent
		if err := decodeEnvelope(b, &got, nil); err != nil {
			return
		}
		again := appendEnvelope(nil, &got)
		var back eventstore.RecordedEvent
		if err := decodeEnvelope(again, &back, &interner{}); err != nil {
			t.Fatalf("re-encoded envelope does not decode: %v", err)
		}
		if back.ID != got.ID || back.Type != got.Type || string(back.Data) != string(got.Data) || back.Metadata != got.Metadata ||
			string(back.Hash) != string(got.Hash) || !back.RecordedAt.Equal(got.RecordedAt) || back.Rule != got.Rule {
			t.Fatalf("round trip changed the event: %+v vs %+v", back, got)
		}
	})
}

func TestEnvelopeRoundTrip(t *testing.T) {
	e := eventstore.RecordedEvent{ID: uuid.New(), Type: "ledger.ActualRecorded", SchemaVersion: 1,
		Data: []byte(`{"amount":"1.50"}`), Metadata: eventstore.Metadata{Actor: "importer", CorrelationID: "r-1"},
		RecordedAt: time.Unix(0, 42), Hash: []byte{1, 2, 3}, Rule: eventstore.ChainV2}
	var got eventstore.RecordedEvent
	if err := decodeEnvelope(appendEnvelope(nil, &e), &got, &interner{}); err != nil {
		t.Fatal(err)
	}
	if got.ID != e.ID || got.Type != e.Type || got.SchemaVersion != 1 || string(got.Data) != string(e.Data) ||
		got.Metadata != e.Metadata || got.RecordedAt.UnixNano() != 42 || string(got.Hash) != "\x01\x02\x03" || got.Rule != eventstore.ChainV2 {
		t.Errorf("decode(encode(e)) = %+v", got)
	}
}
