package audit

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
)

// ErrUnsigned is returned by Sign when the log does not verify: a broken
// log is never signed.
var ErrUnsigned = errors.New("audit: the log does not verify; nothing signed")

// Sign verifies the whole log of s and returns a checkpoint of its head
// signed with key at the given time, with the verification's report. A log
// with a break returns an error matching both ErrUnsigned and
// eventstore.ErrChainBroken.
func Sign(ctx context.Context, s eventstore.Store, key ed25519.PrivateKey, now time.Time) (eventstore.Checkpoint, eventstore.Report, error) {
	rep, err := eventstore.Verify(ctx, s, eventstore.VerifyOptions{})
	if errors.Is(err, eventstore.ErrChainBroken) {
		return eventstore.Checkpoint{}, rep, fmt.Errorf("%w: %w", ErrUnsigned, err)
	}
	if err != nil {
		return eventstore.Checkpoint{}, rep, err
	}
	return eventstore.SignCheckpoint(rep.Digest, now, key), rep, nil
}

// Name is the file name of a checkpoint at p in a directory.
func Name(p eventstore.Position) string { return fmt.Sprintf("checkpoint-%020d.json", p.Commit) }

// Write adds cp to dir (created if needed) and returns its path.
func Write(dir string, cp eventstore.Checkpoint) (string, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("audit: %w", err)
	}
	b, err := json.MarshalIndent(cp, "", "  ")
	if err != nil {
		return "", fmt.Errorf("audit: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".checkpoint-*")
	if err != nil {
		return "", fmt.Errorf("audit: %w", err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	if err := errors.Join(werr, tmp.Sync(), tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("audit: write %s: %w", tmp.Name(), err)
	}
	path := filepath.Join(dir, Name(cp.Position))
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("audit: %w", err)
	}
	return path, nil
}

// Read reads the checkpoint in the file at path and checks its signature
// with pub (eventstore.Checkpoint.Check).
func Read(path string, pub ed25519.PublicKey) (eventstore.Checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return eventstore.Checkpoint{}, fmt.Errorf("audit: %w", err)
	}
	cp, err := eventstore.ParseCheckpoint(b)
	if err == nil {
		err = cp.Check(pub)
	}
	if err != nil {
		return eventstore.Checkpoint{}, fmt.Errorf("audit: checkpoint %s: %w", path, err)
	}
	return cp, nil
}

// Latest returns the newest checkpoint of dir, its signature checked, and
// its path; ok is false when dir does not exist or holds none. A newest
// checkpoint whose signature does not verify is an error, not skipped:
// someone wrote it.
func Latest(dir string, pub ed25519.PublicKey) (cp eventstore.Checkpoint, path string, ok bool, err error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return cp, "", false, nil
	}
	if err != nil {
		return cp, "", false, fmt.Errorf("audit: checkpoint directory: %w", err)
	}
	for i := len(entries) - 1; i >= 0; i-- { // ReadDir sorts by name
		name := entries[i].Name()
		if !strings.HasPrefix(name, "checkpoint-") || !strings.HasSuffix(name, ".json") {
			continue
		}
		path = filepath.Join(dir, name)
		cp, err = Read(path, pub)
		return cp, path, err == nil, err
	}
	return cp, "", false, nil
}

// Options configure an Auditor.
type Options struct {
	// Dir is the checkpoint directory; empty means no checkpoints.
	Dir string
	// Key signs checkpoints (Checkpoint, Run); nil means the Auditor only
	// reports. PublicKey checks the directory's checkpoints; it defaults to
	// Key's public half.
	Key       ed25519.PrivateKey
	PublicKey ed25519.PublicKey
	// MaxAge is how long a Status stays current. Default one minute.
	MaxAge time.Duration
	// Clock reads the time for signatures and ages. Default time.Now.
	Clock func() time.Time
	// Logger logs each checkpoint and each failed one; nil discards.
	Logger *slog.Logger
}

// Status is the integrity of the log as last verified.
type Status struct {
	CheckedAt time.Time
	Report    eventstore.Report
	// Breaks are the breaks found (each matching eventstore.ErrChainBroken);
	// none means the log verified.
	Breaks []error
	// Checkpoint is the newest checkpoint of the directory the log was
	// anchored to; nil when there is none. CheckpointErr says why it could
	// not be used (unreadable, bad signature).
	Checkpoint    *eventstore.Checkpoint
	CheckpointErr error
}

// Auditor verifies a store's log for a running server; see the package
// comment.
type Auditor struct {
	store eventstore.Store
	opts  Options

	run  sync.Mutex // one verification at a time
	mu   sync.Mutex // guards last
	last *Status
}

// NewAuditor returns an Auditor of s.
func NewAuditor(s eventstore.Store, opts Options) *Auditor {
	if opts.MaxAge <= 0 {
		opts.MaxAge = time.Minute
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.PublicKey == nil && opts.Key != nil {
		opts.PublicKey = opts.Key.Public().(ed25519.PublicKey)
	}
	return &Auditor{store: s, opts: opts}
}

// Status returns the status of the log, verifying it again when the last
// status is older than MaxAge. The error is only for a log that could not
// be read.
func (a *Auditor) Status(ctx context.Context) (Status, error) {
	if st, ok := a.current(); ok {
		return st, nil
	}
	a.run.Lock()
	defer a.run.Unlock()
	if st, ok := a.current(); ok { // verified while this call waited
		return st, nil
	}
	return a.verify(ctx)
}

func (a *Auditor) current() (Status, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.last == nil || a.opts.Clock().Sub(a.last.CheckedAt) >= a.opts.MaxAge {
		return Status{}, false
	}
	return *a.last, true
}

// verify checks the whole log against the newest checkpoint. The caller
// holds a.run.
func (a *Auditor) verify(ctx context.Context) (Status, error) {
	st := Status{CheckedAt: a.opts.Clock()}
	var opts eventstore.VerifyOptions
	if a.opts.Dir != "" && a.opts.PublicKey != nil {
		cp, _, ok, err := Latest(a.opts.Dir, a.opts.PublicKey)
		st.CheckpointErr = err
		if ok {
			st.Checkpoint, opts.Checkpoint = &cp, &cp
		}
	}
	rep, err := eventstore.Verify(ctx, a.store, opts)
	if err != nil && !errors.Is(err, eventstore.ErrChainBroken) {
		return Status{}, err
	}
	if err != nil {
		st.Breaks = Breaks(err)
	}
	st.Report = rep
	a.mu.Lock()
	a.last = &st
	a.mu.Unlock()
	return st, nil
}

// Checkpoint verifies the log, signs a checkpoint of its head and writes it
// to the directory, unless the newest checkpoint already covers that head.
// It returns the checkpoint and whether it is new.
func (a *Auditor) Checkpoint(ctx context.Context) (eventstore.Checkpoint, bool, error) {
	if a.opts.Key == nil || a.opts.Dir == "" {
		return eventstore.Checkpoint{}, false, errors.New("audit: checkpoints need a key and a directory")
	}
	a.run.Lock()
	defer a.run.Unlock()
	st, err := a.verify(ctx)
	switch {
	case err != nil:
		return eventstore.Checkpoint{}, false, err
	case len(st.Breaks) > 0:
		return eventstore.Checkpoint{}, false, fmt.Errorf("%w: %w", ErrUnsigned, errors.Join(st.Breaks...))
	case st.CheckpointErr != nil:
		return eventstore.Checkpoint{}, false, fmt.Errorf("%w: %w", ErrUnsigned, st.CheckpointErr)
	case st.Checkpoint != nil && st.Checkpoint.Position == st.Report.Digest.Position():
		return *st.Checkpoint, false, nil
	}
	cp := eventstore.SignCheckpoint(st.Report.Digest, a.opts.Clock(), a.opts.Key)
	if _, err := Write(a.opts.Dir, cp); err != nil {
		return eventstore.Checkpoint{}, false, err
	}
	a.mu.Lock()
	a.last.Checkpoint, a.last.Report.Anchored, a.last.Report.Beyond = &cp, true, 0
	a.mu.Unlock()
	return cp, true, nil
}

// Run signs a checkpoint every interval until ctx ends, logging each one
// and each failure (a failure does not stop it).
func (a *Auditor) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		cp, fresh, err := a.Checkpoint(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			a.opts.Logger.Error("checkpoint failed", "err", err)
		case fresh:
			a.opts.Logger.Info("checkpoint signed", "position", cp.Position.String(), "events", cp.Events, "key_id", cp.KeyID)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Breaks returns the breaks joined in an error of eventstore.Verify (the
// errors joined in err, or err alone).
func Breaks(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
