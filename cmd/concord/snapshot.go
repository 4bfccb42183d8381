package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/concord-planning/concord/projections/view"
)

// snapshotConfig configures the read side's snapshots (serve and demo).
type snapshotConfig struct {
	dir      string        // --snapshot-dir; "": the SQLite store's own file
	every    int           // --snapshot-every, in events; 0: no snapshots
	interval time.Duration // --snapshot-interval
}

// snapshotFlags are the flags of snapshotConfig, as given.
type snapshotFlags struct {
	dir, every, interval *string
}

func declareSnapshotFlags(fs *flag.FlagSet, env *environment) *snapshotFlags {
	return &snapshotFlags{
		dir: envFlag(fs, env, "snapshot-dir", "CONCORD_SNAPSHOT_DIR", "",
			"directory of the read side's snapshot (view.snapshot); empty: the SQLite store's own file, or no snapshots with another store"),
		every: envFlag(fs, env, "snapshot-every", "CONCORD_SNAPSHOT_EVERY", "100000",
			"write a snapshot of the read side after this many new events (and at once after a start without a snapshot it could use, and at shutdown); 0: never read or write snapshots"),
		interval: envFlag(fs, env, "snapshot-interval", "CONCORD_SNAPSHOT_INTERVAL", "10m",
			"write a snapshot of the read side this often when any event arrived since the last"),
	}
}

func (f *snapshotFlags) config() (snapshotConfig, error) {
	var errs []error
	c := snapshotConfig{dir: *f.dir}
	if n, err := strconv.Atoi(*f.every); err != nil || n < 0 {
		errs = append(errs, fmt.Errorf("--snapshot-every %q: want a whole number of events, or 0", *f.every))
	} else {
		c.every = n
	}
	if d, err := time.ParseDuration(*f.interval); err != nil || d < time.Second {
		errs = append(errs, fmt.Errorf("--snapshot-interval %q: want a duration of at least 1s, e.g. 10m", *f.interval))
	} else {
		c.interval = d
	}
	return c, errors.Join(errs...)
}

// snapshotStore returns where the read side's snapshots are kept: the
// directory configured, else the SQLite store's file; nil when snapshots
// are off or the store keeps none.
func snapshotStore(c snapshotConfig, st *openedStore) view.SnapshotStore {
	switch {
	case c.every == 0:
		return nil
	case c.dir != "":
		return view.SnapshotDir(c.dir)
	case st.sqlite != nil:
		return st.sqlite
	}
	return nil
}

// snapshotCheck is how often the snapshotter looks at the number of
// events folded.
const snapshotCheck = 5 * time.Second

// snapshotGrace bounds the snapshot written at shutdown, so that a
// SIGTERM drains within 10 s (issue 12) with time left for the rest: the
// Large company's snapshot takes over a minute to write and is abandoned,
// the next start folding from the previous snapshot (at most
// --snapshot-every events or --snapshot-interval old).
const snapshotGrace = 5 * time.Second

// snapshotter restores the view from its snapshot at start, and writes
// snapshots of it: every so many events or so often (saveIfDue), and at
// shutdown.
type snapshotter struct {
	view  *view.Service
	store view.SnapshotStore
	cfg   snapshotConfig
	log   *slog.Logger
	saved int       // events the latest snapshot folds
	at    time.Time // when it was written or read; zero when there is none
}

// restore makes the view start from the snapshot, if there is one it can
// use; a snapshot it cannot use is logged and the view folds the log from
// its start.
func (s *snapshotter) restore(ctx context.Context) {
	begin := time.Now()
	info, err := s.view.Restore(ctx, s.store)
	switch {
	case err != nil:
		s.log.Warn("snapshot not used: the read side folds the log from its start", "err", err)
	case info.Events == 0:
		s.log.Info("no snapshot: the read side folds the log from its start")
	default:
		s.saved, s.at = info.Events, time.Now()
		s.log.Info("snapshot restored", "position", info.Position.String(), "events", info.Events, "bytes", info.Bytes,
			"elapsed", time.Since(begin).Round(time.Millisecond))
	}
}

// backfill folds the log before a restored snapshot once the view answers
// (view.Service.Backfill), so that as-of reads there fold from memory and
// a nearby checkpoint, as after a start from the beginning of the log.
func (s *snapshotter) backfill(ctx context.Context) {
	begin := time.Now()
	n, err := s.view.Backfill(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.Warn("the log before the snapshot not folded: as-of reads before it fold from the start of the log", "err", err)
	case n > 0:
		s.log.Info("the log before the snapshot folded for as-of reads", "events", n, "elapsed", time.Since(begin).Round(time.Millisecond))
	}
}

// run writes snapshots until ctx ends, whenever one is due (saveIfDue):
// at once, then at every check.
func (s *snapshotter) run(ctx context.Context) {
	tick := time.NewTicker(min(snapshotCheck, s.cfg.interval))
	defer tick.Stop()
	for {
		s.saveIfDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// saveIfDue writes a snapshot when cfg.every events or more were folded
// since the latest, or cfg.interval passed since it and any event was. A
// view that started without a snapshot (none, or one it could not use)
// has none to count from, so it writes one at once; one restored from a
// snapshot lets the few events it folded past it wait for these rules (a
// snapshot is a whole state: the Large company's took 48 s of CPU, beside
// the first reads, to add the 3 events a stop had left).
func (s *snapshotter) saveIfDue(ctx context.Context) {
	if n := s.view.Folded(); n-s.saved >= s.cfg.every || (n > s.saved && time.Since(s.at) >= s.cfg.interval) {
		s.save(ctx)
	}
}

// final writes a last snapshot at shutdown, if the view folded events
// since the latest, giving up after snapshotGrace.
func (s *snapshotter) final() {
	if s.view.Folded() <= s.saved {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), snapshotGrace)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); s.save(ctx) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.log.Warn("snapshot at shutdown abandoned", "after", snapshotGrace)
	}
}

func (s *snapshotter) save(ctx context.Context) {
	begin := time.Now()
	info, err := s.view.SaveSnapshot(ctx, s.store)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("snapshot not written", "err", err)
		}
		return
	}
	s.saved, s.at = info.Events, time.Now()
	s.log.Info("snapshot written", "position", info.Position.String(), "events", info.Events, "bytes", info.Bytes,
		"elapsed", time.Since(begin).Round(time.Millisecond))
}
