package eventstore

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// CheckpointFormat names the layout of a Checkpoint and of the message its
// signature covers.
const CheckpointFormat = "concord.checkpoint.v1"

// Checkpoint is a signed statement about the global log: up to and
// including Position it holds Events events and has the Digest given. It is
// signed with an Ed25519 key kept outside the event store, so someone who
// can write the store's file can rewrite hashes but not checkpoints: the
// log up to a checkpoint is proved unchanged by recomputing its digest
// (Verify with VerifyOptions.Checkpoint).
type Checkpoint struct {
	Format    string    `json:"format"`
	Position  Position  `json:"position"`
	Events    uint64    `json:"events"`
	Digest    string    `json:"digest"` // Digest.String()
	SignedAt  time.Time `json:"signed_at"`
	KeyID     string    `json:"key_id"` // KeyID of the public key
	Signature []byte    `json:"signature"`
}

// Errors about checkpoints and their keys.
var (
	// ErrCheckpointSignature is returned when a checkpoint's signature does
	// not verify under the public key given, or it was made by another key.
	ErrCheckpointSignature = errors.New("eventstore: checkpoint signature does not verify")
	// ErrCheckpointFormat is returned for a checkpoint or key that cannot
	// be read.
	ErrCheckpointFormat = errors.New("eventstore: not a checkpoint")
)

// SignCheckpoint returns the checkpoint of the log whose digest is d,
// signed at the given time with key.
func SignCheckpoint(d Digest, at time.Time, key ed25519.PrivateKey) Checkpoint {
	c := Checkpoint{Format: CheckpointFormat, Position: d.Position(), Events: d.Events(), Digest: d.String(),
		SignedAt: at.UTC(), KeyID: KeyID(key.Public().(ed25519.PublicKey))}
	c.Signature = ed25519.Sign(key, c.message())
	return c
}

// message is what the signature covers: every field but the signature, one
// per line, in a fixed order and format.
func (c Checkpoint) message() []byte {
	b := []byte(CheckpointFormat + "\n")
	b = append(b, "position="+c.Position.String()+"\n"...)
	b = append(b, "events="+strconv.FormatUint(c.Events, 10)+"\n"...)
	b = append(b, "digest="+c.Digest+"\n"...)
	b = append(b, "signed_at="+c.SignedAt.UTC().Format(time.RFC3339Nano)+"\n"...)
	return append(b, "key_id="+c.KeyID+"\n"...)
}

// Check verifies c's signature with pub; it returns an error matching
// ErrCheckpointSignature when it does not verify.
func (c Checkpoint) Check(pub ed25519.PublicKey) error {
	if c.Format != CheckpointFormat {
		return fmt.Errorf("%w: format %q, want %q", ErrCheckpointFormat, c.Format, CheckpointFormat)
	}
	if id := KeyID(pub); c.KeyID != id {
		return fmt.Errorf("%w: signed by key %s, the public key given is %s", ErrCheckpointSignature, c.KeyID, id)
	}
	if !ed25519.Verify(pub, c.message(), c.Signature) {
		return fmt.Errorf("%w: checkpoint at position %v signed at %s", ErrCheckpointSignature, c.Position, c.SignedAt.Format(time.RFC3339))
	}
	return nil
}

// ParseCheckpoint reads a checkpoint written as JSON (encoding/json of a
// Checkpoint). It does not check the signature: see Check.
func ParseCheckpoint(b []byte) (Checkpoint, error) {
	var c Checkpoint
	if err := json.Unmarshal(b, &c); err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %w", ErrCheckpointFormat, err)
	}
	if c.Format != CheckpointFormat {
		return Checkpoint{}, fmt.Errorf("%w: format %q, want %q", ErrCheckpointFormat, c.Format, CheckpointFormat)
	}
	if d, err := hex.DecodeString(c.Digest); err != nil || len(d) != sha256.Size {
		return Checkpoint{}, fmt.Errorf("%w: digest %q is not %d bytes in hexadecimal", ErrCheckpointFormat, c.Digest, sha256.Size)
	}
	if len(c.Signature) != ed25519.SignatureSize {
		return Checkpoint{}, fmt.Errorf("%w: signature of %d bytes, want %d", ErrCheckpointFormat, len(c.Signature), ed25519.SignatureSize)
	}
	return c, nil
}

// KeyID names a public key: the first 8 bytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// PEM block types of checkpoint keys.
const (
	privateKeyBlock = "PRIVATE KEY" // PKCS #8
	publicKeyBlock  = "PUBLIC KEY"  // PKIX
)

// EncodeKeys returns key and its public half as PEM (PKCS #8 and PKIX, as
// openssl genpkey -algorithm ed25519 writes them).
func EncodeKeys(key ed25519.PrivateKey) (private, public []byte, err error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: privateKeyBlock, Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: publicKeyBlock, Bytes: pubDER}), nil
}

// ParsePrivateKey reads an Ed25519 private key in PEM (PKCS #8).
func ParsePrivateKey(b []byte) (ed25519.PrivateKey, error) {
	return parseKey[ed25519.PrivateKey](b, privateKeyBlock, "PKCS #8", x509.ParsePKCS8PrivateKey)
}

// ParsePublicKey reads an Ed25519 public key in PEM (PKIX).
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	return parseKey[ed25519.PublicKey](b, publicKeyBlock, "PKIX", x509.ParsePKIXPublicKey)
}

// parseKey reads the PEM block of type block in b with parse, and checks
// that it holds a K.
func parseKey[K any](b []byte, block, syntax string, parse func([]byte) (any, error)) (K, error) {
	var zero K
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != block {
		return zero, fmt.Errorf("%w: want a PEM %q block (%s Ed25519)", ErrCheckpointFormat, block, syntax)
	}
	k, err := parse(blk.Bytes)
	if err != nil {
		return zero, fmt.Errorf("%w: %w", ErrCheckpointFormat, err)
	}
	key, ok := k.(K)
	if !ok {
		return zero, fmt.Errorf("%w: a %T, want an Ed25519 key", ErrCheckpointFormat, k)
	}
	return key, nil
}

// CheckpointError reports a log that disagrees with a checkpoint.
type CheckpointError struct {
	Checkpoint Position // the checkpoint's position
	Reason     string
}

func (e *CheckpointError) Error() string {
	return fmt.Sprintf("eventstore: checkpoint at position %v: %s", e.Checkpoint, e.Reason)
}

// Is makes errors.Is(err, ErrChainBroken) true for a *CheckpointError.
func (e *CheckpointError) Is(target error) bool { return target == ErrChainBroken }
