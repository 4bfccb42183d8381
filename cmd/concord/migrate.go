package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// defaultMigrateBatch is the most events of one stream that one Import call
// carries by default.
const defaultMigrateBatch = 500

// migrateCommand copies the whole log of one event store into another,
// keeping order, IDs, versions, data, metadata, hashes and recorded times,
// then verifies the copy. It resumes an interrupted copy and refuses a
// target that holds anything else.
func migrateCommand(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "migrate", `Usage: concord migrate --from URL --to URL [--batch N]

Copies the whole event log from one store to another (for example from
SQLite to EventStoreDB), keeping the global order, event ids, stream
versions, data, metadata, hashes and original recorded times, then
verifies the copy. Run it again after an interruption: it continues where
it stopped. The target must be empty or hold an earlier, interrupted copy
of the same source.`)
	from := envFlag(fs, env, "from", "CONCORD_MIGRATE_FROM", "", "source event store: sqlite://PATH or esdb://HOST:PORT,...?tls=...")
	to := envFlag(fs, env, "to", "CONCORD_MIGRATE_TO", "", "target event store (empty, or holding an interrupted copy of the source)")
	batch := fs.Int("batch", defaultMigrateBatch, fmt.Sprintf("most events of one stream per import, 1 to %d", eventstore.MaxBatch))
	logLevel := envFlag(fs, env, "log-level", "CONCORD_LOG_LEVEL", "info", "debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.stderr, "concord migrate: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	switch {
	case *from == "":
		return errors.New("migrate: no source: set --from (or CONCORD_MIGRATE_FROM), e.g. sqlite:///var/lib/concord/concord.db")
	case *to == "":
		return errors.New("migrate: no target: set --to (or CONCORD_MIGRATE_TO), e.g. esdb://localhost:2113?tls=false")
	case *batch < 1 || *batch > eventstore.MaxBatch:
		return fmt.Errorf("migrate: --batch %d: want 1 to %d", *batch, eventstore.MaxBatch)
	case sameStore(*from, *to):
		return fmt.Errorf("migrate: --from and --to name the same store (%s)", redact(*from))
	}
	if path, ok := sqlitePath(*from); ok {
		// Opening a SQLite store creates a missing file: a mistyped source
		// path would migrate an empty log.
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("migrate: source %s: %w", *from, err)
		}
	}
	logger, err := (&settings{logLevel: *logLevel}).logger(env.stderr)
	if err != nil {
		return err
	}
	src, err := openStore(ctx, *from, logger, true)
	if err != nil {
		return fmt.Errorf("migrate: source: %w", err)
	}
	defer src.close()
	dst, err := openStore(ctx, *to, logger, false)
	if err != nil {
		return fmt.Errorf("migrate: target: %w", err)
	}
	defer dst.close()
	target, ok := dst.Store.(importStore)
	if !ok {
		return fmt.Errorf("migrate: target %s cannot import events (%T is no eventstore.Importer)", redact(*to), dst.Store)
	}
	var total int64 = -1 // unknown
	if src.sqlite != nil {
		// SQLite positions are row ids, which count the events of an
		// append-only table.
		if head, err := src.sqlite.Head(ctx); err == nil {
			total = int64(head.Commit)
		}
	}
	m := migration{batch: *batch}
	if f, ok := env.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p := &terminalProgress{w: f, total: total}
		m.progress = p.report
		defer p.finish()
	}
	res, err := migrate(ctx, src.Store, target, m)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "migrated %s to %s\n", redact(*from), redact(*to))
	fmt.Fprintf(env.stdout, "copied:   %d events in %d imports in %v (%.0f events/s); %d events were already in the target\n",
		res.Copied, res.Imports, res.CopyTime.Round(time.Millisecond), res.rate(), res.Skipped)
	fmt.Fprintf(env.stdout, "verified: %d events in %d streams, source and target alike in global order, ids, versions, types, data, metadata, hashes and recorded times\n",
		res.Compared, res.Streams)
	fmt.Fprintf(env.stdout, "verified: the target's hash chains, %d events checked, no break\n", res.Chained)
	return nil
}

// importStore is a store that can be the target of a migration.
type importStore interface {
	eventstore.Store
	eventstore.Importer
}

// sqlitePath returns the file of a sqlite:// store URL, read as openStore
// reads it.
func sqlitePath(raw string) (string, bool) {
	rest, ok := strings.CutPrefix(raw, "sqlite://")
	if !ok {
		return "", false
	}
	if u, err := url.Parse(raw); err == nil && u.Host == "" && u.Path != "" {
		return u.Path, true
	}
	return rest, rest != ""
}

// sameStore reports whether two store URLs name the same store: the same
// SQLite file, or the same connection string.
func sameStore(a, b string) bool {
	pa, oka := sqlitePath(a)
	pb, okb := sqlitePath(b)
	if oka && okb {
		absA, errA := filepath.Abs(pa)
		absB, errB := filepath.Abs(pb)
		return errA == nil && errB == nil && absA == absB
	}
	return a == b
}

// migration configures one run of migrate.
type migration struct {
	// batch is the most events of one stream per Import call.
	batch int
	// progress, when set, is called as the work advances: in phase
	// "checking" with the events of the target found to be a copy of the
	// source so far, in "copying" with the events of the source in the
	// target so far (found or copied), in "verifying" with the events
	// compared so far.
	progress func(phase string, done uint64)
}

// migrationResult is what a migration did.
type migrationResult struct {
	Skipped  uint64        // events already in the target, from an earlier run
	Copied   uint64        // events imported by this run
	Imports  int           // Import calls
	CopyTime time.Duration // time spent copying
	Compared uint64        // events found alike in source and target
	Streams  int           // streams in the log
	Chained  uint64        // events whose hash chain eventstore.Verify checked in the target
}

func (r migrationResult) rate() float64 {
	if r.CopyTime <= 0 {
		return 0
	}
	return float64(r.Copied) / r.CopyTime.Seconds()
}

// errTargetNotEmpty is returned when the target holds events that are not
// an earlier copy of the source's log.
var errTargetNotEmpty = errors.New("migrate: the target holds other events")

// errVerification is returned when the copy, read back, differs from the
// source.
var errVerification = errors.New("migrate: verification failed")

// migrate copies src's global log into dst and verifies the copy.
//
// The copy reads src in global order and imports each run of consecutive
// events of one stream (at most m.batch) with one Import, so the target's
// global order is the source's, and after an interruption the target
// holds a prefix of the source's log. A run first checks that prefix: the
// target's events, in global order, must be the source's first events
// (same stream, version, ID, hash and recorded time), and copying
// continues after them; anything else in the target is errTargetNotEmpty,
// naming the first event that differs. Import recomputes every hash chain
// and refuses an event whose recorded hash differs (*eventstore.ChainError,
// naming stream and version), so a tampered source stops the copy. At the
// end both logs are read again and compared event by event, and
// eventstore.Verify checks every hash chain of the target.
//
// The source must not be written to meanwhile. When ctx ends, migrate
// returns an error matching ctx.Err(); a later run resumes.
func migrate(ctx context.Context, src eventstore.Store, dst importStore, m migration) (migrationResult, error) {
	var res migrationResult
	report := func(phase string, n uint64) {
		if m.progress != nil {
			m.progress(phase, n)
		}
	}
	source := &logCursor{store: src}
	target := &logCursor{store: dst}
	for {
		t, ok, err := target.next(ctx)
		if err != nil {
			return res, fmt.Errorf("migrate: read the target: %w", err)
		}
		if !ok {
			break
		}
		s, ok, err := source.next(ctx)
		if err != nil {
			return res, fmt.Errorf("migrate: read the source: %w", err)
		}
		if !ok {
			return res, fmt.Errorf("%w: it holds more events than the source; the first one beyond the source's log is stream %q version %d (event %s)",
				errTargetNotEmpty, t.Stream, t.Version, t.ID)
		}
		if !sameCopy(s, t) {
			return res, fmt.Errorf("%w: its event %d in global order is stream %q version %d (event %s), where the source has stream %q version %d (event %s); migrate into an empty store, or into one holding an interrupted copy of this source",
				errTargetNotEmpty, res.Skipped+1, t.Stream, t.Version, t.ID, s.Stream, s.Version, s.ID)
		}
		res.Skipped++
		if res.Skipped%eventstore.MinPage == 0 {
			report("checking", res.Skipped)
		}
	}
	if res.Skipped > 0 {
		report("checking", res.Skipped)
	}

	start := time.Now()
	report("copying", res.Skipped)
	run := make([]eventstore.RecordedEvent, 0, m.batch)
	flush := func() error {
		if len(run) == 0 {
			return nil
		}
		first, last := run[0], run[len(run)-1]
		if _, err := dst.Import(ctx, first.Stream, run); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("migrate: interrupted after copying %d events (%d were already in the target); run it again to resume: %w",
					res.Copied, res.Skipped, ctx.Err())
			}
			return fmt.Errorf("migrate: copy stream %q versions %d to %d (source positions %v to %v): %w",
				first.Stream, first.Version, last.Version, first.Position, last.Position, err)
		}
		res.Imports++
		res.Copied += uint64(len(run))
		run = run[:0]
		report("copying", res.Skipped+res.Copied)
		return nil
	}
	for {
		e, ok, err := source.next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return res, fmt.Errorf("migrate: interrupted after copying %d events (%d were already in the target); run it again to resume: %w",
					res.Copied, res.Skipped, ctx.Err())
			}
			return res, fmt.Errorf("migrate: read the source after %d events: %w", res.Skipped+res.Copied+uint64(len(run)), err)
		}
		if !ok {
			break
		}
		if len(run) > 0 && (run[0].Stream != e.Stream || len(run) == m.batch) {
			if err := flush(); err != nil {
				return res, err
			}
		}
		run = append(run, e)
	}
	if err := flush(); err != nil {
		return res, err
	}
	res.CopyTime = time.Since(start)

	if err := compareLogs(ctx, src, dst, &res, report); err != nil {
		return res, err
	}
	rep, err := eventstore.Verify(ctx, dst, eventstore.VerifyOptions{})
	n := rep.Events
	res.Chained = n
	if err != nil {
		return res, fmt.Errorf("%w: the target's hash chains: %w", errVerification, err)
	}
	if n != res.Compared {
		return res, fmt.Errorf("%w: eventstore.Verify checked %d events of the target, the comparison %d", errVerification, n, res.Compared)
	}
	return res, nil
}

// sameCopy reports whether t, read from the target, is a copy of s: the
// same event, at the same place of the same stream, recorded at the same
// time. The hash covers type, schema version, metadata and data.
func sameCopy(s, t eventstore.RecordedEvent) bool {
	return s.ID == t.ID && s.Stream == t.Stream && s.Version == t.Version &&
		bytes.Equal(s.Hash, t.Hash) && s.RecordedAt.Equal(t.RecordedAt)
}

// compareLogs reads both logs in global order and checks that they hold the
// same events, field by field (positions aside), in the same order.
func compareLogs(ctx context.Context, src, dst eventstore.Store, res *migrationResult, report func(string, uint64)) error {
	source := &logCursor{store: src}
	target := &logCursor{store: dst}
	streams := map[string]struct{}{}
	report("verifying", 0)
	for {
		s, sok, err := source.next(ctx)
		if err != nil {
			return fmt.Errorf("%w: read the source: %w", errVerification, err)
		}
		t, tok, err := target.next(ctx)
		if err != nil {
			return fmt.Errorf("%w: read the target: %w", errVerification, err)
		}
		switch {
		case !sok && !tok:
			res.Streams = len(streams)
			report("verifying", res.Compared)
			return nil
		case !tok:
			return fmt.Errorf("%w: the target ends after %d events; the source goes on with stream %q version %d (was the source written to during the migration?)",
				errVerification, res.Compared, s.Stream, s.Version)
		case !sok:
			return fmt.Errorf("%w: the source ends after %d events; the target goes on with stream %q version %d",
				errVerification, res.Compared, t.Stream, t.Version)
		}
		if diff := differences(s, t); diff != "" {
			return fmt.Errorf("%w: event %d in global order, source stream %q version %d, target stream %q version %d: %s",
				errVerification, res.Compared+1, s.Stream, s.Version, t.Stream, t.Version, diff)
		}
		streams[s.Stream] = struct{}{}
		res.Compared++
		if res.Compared%eventstore.MinPage == 0 {
			report("verifying", res.Compared)
		}
	}
}

// differences names the fields in which t differs from s, positions aside.
func differences(s, t eventstore.RecordedEvent) string {
	var d []string
	check := func(same bool, field string) {
		if !same {
			d = append(d, field)
		}
	}
	check(s.ID == t.ID, "id")
	check(s.Stream == t.Stream, "stream")
	check(s.Version == t.Version, "version")
	check(s.Type == t.Type, "type")
	check(s.SchemaVersion == t.SchemaVersion, "schema version")
	check(bytes.Equal(s.Data, t.Data), "data")
	check(s.Metadata == t.Metadata, "metadata")
	check(bytes.Equal(s.Hash, t.Hash), "hash")
	if !s.RecordedAt.Equal(t.RecordedAt) {
		d = append(d, fmt.Sprintf("recorded time (%v, %v)", s.RecordedAt, t.RecordedAt))
	}
	return strings.Join(d, ", ")
}

// logCursor reads a store's global log one event at a time, a page ahead.
type logCursor struct {
	store eventstore.Store
	after eventstore.Position
	page  []eventstore.RecordedEvent
	i     int
	done  bool
}

// next returns the next event, or false at the end of the log.
func (c *logCursor) next(ctx context.Context) (eventstore.RecordedEvent, bool, error) {
	if c.i == len(c.page) {
		if c.done {
			return eventstore.RecordedEvent{}, false, nil
		}
		page, err := c.store.ReadAll(ctx, c.after, eventstore.MinPage)
		if err != nil {
			return eventstore.RecordedEvent{}, false, err
		}
		if len(page) == 0 {
			c.done = true
			return eventstore.RecordedEvent{}, false, nil
		}
		c.page, c.i = page, 0
		c.after = page[len(page)-1].Position
	}
	e := c.page[c.i]
	c.i++
	return e, true, nil
}

// terminalProgress draws the migration's progress on a terminal: one bar
// per phase, with counts and rate (a spinner when the total is unknown).
type terminalProgress struct {
	w     *os.File
	total int64 // events in the source, or -1
	phase string
	bar   *progressbar.ProgressBar
}

func (p *terminalProgress) report(phase string, done uint64) {
	if phase != p.phase {
		p.finish()
		p.phase = phase
		p.bar = progressbar.NewOptions64(p.total, progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(phase), progressbar.OptionShowCount(), progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("events"), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish())
	}
	_ = p.bar.Set64(int64(done))
}

func (p *terminalProgress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}
