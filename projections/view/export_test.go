package view

import (
	"bytes"
	"context"
	"encoding/gob"
	"github.com/concord-planning/concord/domain/eventstore"
)

// SetCheckpointEvery sets the distance between the checkpoints of s, for
// tests; call it before the first read of s.
func SetCheckpointEvery(s *Service, every int) { s.every = every }

// CheckpointDistance returns the distance, in events, between the
// checkpoints of s.
func CheckpointDistance(s *Service) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.every
}

// Checkpoints returns how many checkpoint states s keeps.
func Checkpoints(s *Service) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.checkpoints)
}

// StateOf returns the state a version reference of plan planID names,
// for tests.
func StateOf(ctx context.Context, s *Service, planID, ref string) (*State, error) {
	return s.state(ctx, planID, "as_of", ref)
}

// LiveEncoding returns the encoded live state of s and its marks, as a
// snapshot holds them: equal states encode to equal bytes.
func LiveEncoding(s *Service) []byte {
	s.mu.Lock()
	st, marks := s.live, s.marks
	s.mu.Unlock()
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(snapshotOf(st, marks)); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// HoldBackfill makes s act as if a Backfill were running until release.
func HoldBackfill(s *Service) (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.startBackfill()
}

// AwaitBackfill is Service.awaitBackfill.
func AwaitBackfill(ctx context.Context, s *Service, pos eventstore.Position) error {
	return s.awaitBackfill(ctx, pos)
}

// PastLogFrom returns how many events of the log precede those s keeps in
// memory for past folds (a restored Service's snapshot's, until Backfill).
func PastLogFrom(s *Service) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logged.from
}

// MissingCheckpoints returns how many checkpoint states s lacks (a
// restored Service lacks those before its snapshot until it folds past
// them).
func MissingCheckpoints(s *Service) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.checkpoints {
		if c == nil {
			n++
		}
	}
	return n
}
