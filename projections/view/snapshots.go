package view

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
)

// SnapshotStore keeps the latest snapshot of each named read model: the
// SQLite event store keeps them in its own file (a table), SnapshotDir in
// files of a directory.
type SnapshotStore interface {
	// LoadSnapshot returns the snapshot saved under name, nil when there
	// is none.
	LoadSnapshot(ctx context.Context, name string) ([]byte, error)
	// SaveSnapshot replaces the snapshot saved under name by data, at once
	// (a reader sees the old one or the new one, never a part).
	SaveSnapshot(ctx context.Context, name string, data []byte) error
	// DropSnapshot removes the snapshot saved under name, if any.
	DropSnapshot(ctx context.Context, name string) error
}

// SnapshotName is the name the Service's snapshot is saved under.
const SnapshotName = "view"

// SnapshotDir is a SnapshotStore keeping each snapshot in file NAME.snapshot
// of a directory, written to a temporary file first and renamed over the
// old one.
type SnapshotDir string

func (d SnapshotDir) path(name string) string { return filepath.Join(string(d), name+".snapshot") }

// LoadSnapshot implements SnapshotStore.
func (d SnapshotDir) LoadSnapshot(_ context.Context, name string) ([]byte, error) {
	b, err := os.ReadFile(d.path(name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// SaveSnapshot implements SnapshotStore.
func (d SnapshotDir) SaveSnapshot(_ context.Context, name string, data []byte) error {
	if err := os.MkdirAll(string(d), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(string(d), name+".snapshot.*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // fails once renamed
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing the snapshot %s: %w", f.Name(), err)
	}
	return os.Rename(f.Name(), d.path(name))
}

// DropSnapshot implements SnapshotStore.
func (d SnapshotDir) DropSnapshot(_ context.Context, name string) error {
	if err := os.Remove(d.path(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// SnapshotInfo describes a snapshot written or restored.
type SnapshotInfo struct {
	Position eventstore.Position // of the last event it folds
	Events   int                 // how many events it folds
	Bytes    int                 // its size, compressed
}

// SaveSnapshot writes the snapshot of the live state (as the last Live
// left it; nothing is read from the store) to store, unless the live state
// is at the start of the log. It encodes without holding the lock that
// live reads take: readers and writers go on meanwhile.
func (s *Service) SaveSnapshot(ctx context.Context, store SnapshotStore) (SnapshotInfo, error) {
	s.mu.Lock()
	st, marks := s.live, s.marks[:len(s.marks):len(s.marks)]
	s.mu.Unlock()
	if len(marks) == 0 {
		return SnapshotInfo{}, nil
	}
	last, err := s.eventAt(ctx, marks)
	if err != nil {
		return SnapshotInfo{}, err
	}
	data, err := encodeSnapshot(st, marks, last, snapshotHeader{Taken: time.Now().UTC()})
	if err != nil {
		return SnapshotInfo{}, err
	}
	if err := store.SaveSnapshot(ctx, SnapshotName, data); err != nil {
		return SnapshotInfo{}, fmt.Errorf("view: saving the snapshot at %s: %w", st.Position, err)
	}
	return SnapshotInfo{Position: st.Position, Events: len(marks), Bytes: len(data)}, nil
}

// Folded returns how many events the live state folds (restored from a
// snapshot or read), as the last Live left it.
func (s *Service) Folded() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.marks)
}

// eventAt reads from the store the event of the last of marks.
func (s *Service) eventAt(ctx context.Context, marks []mark) (eventstore.RecordedEvent, error) {
	n := len(marks)
	after := eventstore.Start
	if n > 1 {
		after = marks[n-2].position
	}
	batch, err := s.store.ReadAll(ctx, after, 1)
	if err != nil {
		return eventstore.RecordedEvent{}, fmt.Errorf("view: reading the event at %s: %w", marks[n-1].position, err)
	}
	if len(batch) == 0 || batch[0].Position != marks[n-1].position {
		return eventstore.RecordedEvent{}, fmt.Errorf("view: the log holds no event at %s", marks[n-1].position)
	}
	return batch[0], nil
}

// Restore makes the snapshot saved in store the Service's live state, so
// that the first Live folds only the events after it. It returns the zero
// SnapshotInfo when store holds none, and an error matching
// ErrSnapshotRefused for one it does not use — of another schema
// (SnapshotSchema), of another log (the event at its position is not the
// one it was taken after: another store, or a log rewritten), or damaged —
// leaving the Service at the start of the log. Call it before the first
// read of s.
func (s *Service) Restore(ctx context.Context, store SnapshotStore) (SnapshotInfo, error) {
	data, err := store.LoadSnapshot(ctx, SnapshotName)
	if err != nil || data == nil {
		return SnapshotInfo{}, err
	}
	h, body, err := snapshotHead(data)
	if err != nil {
		return SnapshotInfo{}, err
	}
	ss, err := decodeSnapshot(body)
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("%w: %w", ErrSnapshotRefused, err)
	}
	st, marks, err := ss.state(s.layouts, s.work)
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("%w: %w", ErrSnapshotRefused, err)
	}
	if len(marks) == 0 || len(marks) != h.Events || st.Position != h.Position {
		return SnapshotInfo{}, fmt.Errorf("%w: its header (%d events to %s) does not describe its state (%d events to %s)",
			ErrSnapshotRefused, h.Events, h.Position, len(marks), st.Position)
	}
	last, err := s.eventAt(ctx, marks)
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("%w: %w", ErrSnapshotRefused, err)
	}
	if last.ID != h.EventID || !bytes.Equal(last.Hash, h.EventHash) {
		return SnapshotInfo{}, fmt.Errorf("%w: the event at %s is %s, the snapshot was taken after %s: it is of another log",
			ErrSnapshotRefused, h.Position, last.ID, h.EventID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.marks) > 0 {
		return SnapshotInfo{}, errors.New("view: Restore after the Service read the log")
	}
	s.live, s.marks, s.restored = st, marks, st.checkpoint()
	s.logged = pastLog{from: len(marks)} // the events before the snapshot are not known
	// The checkpoints before the snapshot are not in it: an as-of state
	// before it is folded from the start of the log, keeping the
	// checkpoints it passes (foldPast).
	s.checkpoints = make([]*State, len(marks)/s.every)
	s.thinCheckpoints()
	return SnapshotInfo{Position: st.Position, Events: len(marks), Bytes: len(data)}, nil
}

// Backfill folds the log before a restored snapshot from its start, as a
// Service that folded the whole log did at its start, and keeps what that
// one keeps for as-of reads: the checkpoints it passes (those no as-of read
// kept yet) and every event it folds in memory (pastLog), before the
// restored Service's. As-of reads before the snapshot then fold from
// memory from a checkpoint at most a checkpoint interval away, instead of
// from the start of the log out of the store (seconds on a company's log).
// It returns how many events it folded: none when s restored no snapshot,
// or when a Backfill did. Run it once s answers: it costs what the fold
// the snapshot spared cost, on a goroutine (and a reader) of its own.
func (s *Service) Backfill(ctx context.Context) (int, error) {
	s.mu.Lock()
	n := s.logged.from
	var release func()
	if n > 0 {
		release = s.startBackfill()
	}
	s.mu.Unlock()
	if release == nil {
		return 0, nil
	}
	defer release()
	var pre pastLog
	if _, err := s.foldPast(ctx, nil, 0, n, &pre); err != nil {
		return 0, err
	}
	// The events folded since the restore, re-indexed into pre's tables:
	// most of them outside the lock, the few Live adds meanwhile under it.
	s.mu.Lock()
	cur := s.logged.tables()
	s.mu.Unlock()
	pre.extend(cur)
	s.mu.Lock()
	defer s.mu.Unlock()
	pre.extend(s.logged.tables())
	s.logged = pre
	return n, nil
}

// startBackfill marks a Backfill running (under s.mu) and returns what
// ends it, nil when one runs already.
func (s *Service) startBackfill() (release func()) {
	if s.backfilling != nil {
		return nil
	}
	done := make(chan struct{})
	s.backfilling = done
	return func() {
		s.mu.Lock()
		s.backfilling = nil
		s.mu.Unlock()
		close(done)
	}
}

// awaitBackfill waits, while a Backfill runs, for it to end when pos lies
// before the events s keeps in memory: the state there then folds from
// memory, instead of from the start of the log beside the backfill doing
// the same. It returns ErrBusy when ctx ends first.
func (s *Service) awaitBackfill(ctx context.Context, pos eventstore.Position) error {
	s.mu.Lock()
	done := s.backfilling
	wait := done != nil && s.indexAfter(pos) < s.logged.from
	s.mu.Unlock()
	if !wait {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrBusy, context.Cause(ctx))
	}
}

// foldPast returns the state after the first n events, folded from base,
// the state after the first from (nil: the start of the log), adding
// each event it folds to log unless nil. Where a
// checkpoint between them is missing (a restored Service lacks those
// before its snapshot) it stops there and keeps the state as that
// checkpoint, so the next as-of state near it folds from it.
//
// The live fold may thin the checkpoints meanwhile (thinCheckpoints): a
// state is kept as checkpoint c only while the distance it was found at
// still holds.
func (s *Service) foldPast(ctx context.Context, base *State, from, n int, log *pastLog) (*State, error) {
	s.mu.Lock()
	every := s.every
	s.mu.Unlock()
	for c := from/every + 1; c*every < n; c++ {
		s.mu.Lock()
		missing := s.every == every && c <= len(s.checkpoints) && s.checkpoints[c-1] == nil
		s.mu.Unlock()
		if !missing {
			continue
		}
		st, err := s.foldFrom(ctx, base, c*every-from, log)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		if s.every == every && s.checkpoints[c-1] == nil {
			s.checkpoints[c-1] = st.checkpoint()
		}
		s.mu.Unlock()
		base, from = st, c*every
	}
	return s.foldFrom(ctx, base, n-from, log)
}

// checkpointBefore returns the state to fold an as-of state of the first
// n events from (nil: the start of the log) and how many events it folds:
// the nearest checkpoint at or before n, or the restored snapshot when it
// is nearer.
func (s *Service) checkpointBefore(n int) (*State, int) {
	var base *State
	from := 0
	for c := min(n/s.every, len(s.checkpoints)); c > 0; c-- {
		if s.checkpoints[c-1] != nil {
			base, from = s.checkpoints[c-1], c*s.every
			break
		}
	}
	if r := s.restored; r != nil {
		if k := s.indexAfter(r.Position); k > from && k <= n {
			base, from = r, k
		}
	}
	return base, from
}
