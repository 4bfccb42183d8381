package eventstore_test

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/google/uuid"
)

func testKey(seed byte) ed25519.PrivateKey {
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	return ed25519.NewKeyFromSeed(s)
}

// digestOf returns the digest of a small log.
func digestOf(t *testing.T) eventstore.Digest {
	t.Helper()
	var d eventstore.Digest
	at := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, r := range eventstore.Seal(nil, "plan-a", 0, at,
		eventstore.EventData{ID: uuid.NewSHA1(uuid.NameSpaceOID, []byte("a")), Type: "t", SchemaVersion: 1, Data: []byte(`{}`)},
		eventstore.EventData{ID: uuid.NewSHA1(uuid.NameSpaceOID, []byte("b")), Type: "t", SchemaVersion: 1, Data: []byte(`{}`)}) {
		r.Position = eventstore.Position{Commit: uint64(i + 1), Prepare: uint64(i + 1)}
		d.Add(r)
	}
	return d
}

// TestCheckpointSignature changes each signed field of a checkpoint in turn:
// every change fails the signature, as does another key.
func TestCheckpointSignature(t *testing.T) {
	key := testKey(1)
	pub := key.Public().(ed25519.PublicKey)
	cp := eventstore.SignCheckpoint(digestOf(t), time.Date(2027, 1, 2, 3, 4, 5, 6, time.UTC), key)
	if err := cp.Check(pub); err != nil {
		t.Fatalf("Check of a fresh checkpoint = %v", err)
	}
	if cp.Position.Commit != 2 || cp.Events != 2 || cp.KeyID != eventstore.KeyID(pub) {
		t.Errorf("checkpoint = %+v, want position 2, 2 events, key %s", cp, eventstore.KeyID(pub))
	}
	tests := []struct {
		name   string
		change func(c *eventstore.Checkpoint)
	}{
		{"position", func(c *eventstore.Checkpoint) { c.Position.Commit++ }},
		{"prepare", func(c *eventstore.Checkpoint) { c.Position.Prepare++ }},
		{"events", func(c *eventstore.Checkpoint) { c.Events-- }},
		{"digest", func(c *eventstore.Checkpoint) { c.Digest = "00" + c.Digest[2:] }},
		{"signed at", func(c *eventstore.Checkpoint) { c.SignedAt = c.SignedAt.Add(time.Nanosecond) }},
		{"signature", func(c *eventstore.Checkpoint) { c.Signature = append([]byte{c.Signature[0] ^ 1}, c.Signature[1:]...) }},
		{"key id", func(c *eventstore.Checkpoint) { c.KeyID = "0000000000000000" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cp
			tt.change(&c)
			if err := c.Check(pub); !errors.Is(err, eventstore.ErrCheckpointSignature) {
				t.Errorf("Check after changing the %s = %v, want ErrCheckpointSignature", tt.name, err)
			}
		})
	}
	if err := cp.Check(testKey(2).Public().(ed25519.PublicKey)); !errors.Is(err, eventstore.ErrCheckpointSignature) {
		t.Errorf("Check with another key = %v, want ErrCheckpointSignature", err)
	}

	b, err := json.Marshal(cp)
	if err != nil {
		t.Fatal(err)
	}
	back, err := eventstore.ParseCheckpoint(b)
	if err != nil || back.Check(pub) != nil {
		t.Errorf("ParseCheckpoint(json of a checkpoint) = %+v, %v; want it to verify", back, err)
	}
}

func TestParseCheckpointRefuses(t *testing.T) {
	good, _ := json.Marshal(eventstore.SignCheckpoint(eventstore.Digest{}, time.Unix(0, 0), testKey(1)))
	var m map[string]any
	if err := json.Unmarshal(good, &m); err != nil {
		t.Fatal(err)
	}
	with := func(k string, v any) []byte {
		c := map[string]any{}
		for kk, vv := range m {
			c[kk] = vv
		}
		c[k] = v
		b, _ := json.Marshal(c)
		return b
	}
	for name, b := range map[string][]byte{
		"not json":      []byte("checkpoint"),
		"other format":  with("format", "other"),
		"short digest":  with("digest", "abcd"),
		"hex digest":    with("digest", "zz"),
		"short sig":     with("signature", "AAAA"),
		"bad position":  with("position", "x"),
		"missing parts": []byte(`{}`),
	} {
		if _, err := eventstore.ParseCheckpoint(b); !errors.Is(err, eventstore.ErrCheckpointFormat) {
			t.Errorf("ParseCheckpoint(%s) = %v, want ErrCheckpointFormat", name, err)
		}
	}
}

func TestKeysRoundTrip(t *testing.T) {
	key := testKey(3)
	private, public, err := eventstore.EncodeKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	k, err := eventstore.ParsePrivateKey(private)
	if err != nil || !k.Equal(key) {
		t.Errorf("ParsePrivateKey(EncodeKeys) = %v, %v", k, err)
	}
	p, err := eventstore.ParsePublicKey(public)
	if err != nil || !p.Equal(key.Public()) {
		t.Errorf("ParsePublicKey(EncodeKeys) = %v, %v", p, err)
	}
	if _, err := eventstore.ParsePublicKey(private); !errors.Is(err, eventstore.ErrCheckpointFormat) {
		t.Errorf("ParsePublicKey(a private key) = %v, want ErrCheckpointFormat", err)
	}
	if _, err := eventstore.ParsePrivateKey([]byte("nonsense")); !errors.Is(err, eventstore.ErrCheckpointFormat) {
		t.Errorf("ParsePrivateKey(nonsense) = %v, want ErrCheckpointFormat", err)
	}
}

func FuzzParseCheckpoint(f *testing.F) {
	good, _ := json.Marshal(eventstore.SignCheckpoint(eventstore.Digest{}, time.Unix(0, 0), testKey(1)))
	f.Add(good)
	f.Add([]byte(`{}`))
	pub := testKey(1).Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, b []byte) {
		cp, err := eventstore.ParseCheckpoint(b)
		if err != nil {
			return
		}
		_ = cp.Check(pub) // never panics
	})
}

// TestVerifierRuleSwitch: ChainV1 events may precede ChainV2 ones, never
// follow them.
func TestVerifierRuleSwitch(t *testing.T) {
	at := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := func(n string) eventstore.EventData {
		return eventstore.EventData{ID: uuid.NewSHA1(uuid.NameSpaceOID, []byte(n)), Type: "t", SchemaVersion: 1, Data: []byte(`{}`)}
	}
	v1 := func(prev []byte, stream string, version uint64, e eventstore.EventData) eventstore.RecordedEvent {
		r := eventstore.Seal(prev, stream, version-1, at, e)[0]
		r.Rule = eventstore.ChainV1
		r.Hash = eventstore.Chain(prev, r)
		return r
	}
	old := v1(nil, "a", 1, ev("1"))
	switched := eventstore.Seal(old.Hash, "a", 1, at, ev("2"))[0]
	back := v1(nil, "b", 1, ev("3"))
	var v eventstore.Verifier
	for i, r := range []eventstore.RecordedEvent{old, switched} {
		if err := v.Check(r); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	var ce *eventstore.ChainError
	if err := v.Check(back); !errors.As(err, &ce) || ce.Stream != "b" {
		t.Errorf("a ChainV1 event after a ChainV2 one: Check = %v, want a *ChainError on stream b", err)
	}
}
