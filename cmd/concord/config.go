package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/eventstore/sqlite"
)

// settings are the options shared by the commands that open the event store.
type settings struct {
	store    string
	logLevel string
	// existing is set by commands that only read: an embedded store must
	// already exist (sqlite.Options.Existing), never be created empty.
	existing bool
}

// defaultStore is the embedded event store of a fresh installation.
const defaultStore = "sqlite://concord.db"

// envFlag declares a string flag whose default comes from the environment
// variable env when it is set, so that every flag has a CONCORD_* twin.
func envFlag(fs *flag.FlagSet, env *environment, name, variable, def, usage string) *string {
	p := new(string)
	envVar(fs, env, p, name, variable, def, usage)
	return p
}

// envVar is envFlag storing into p.
func envVar(fs *flag.FlagSet, env *environment, p *string, name, variable, def, usage string) {
	if v := env.getenv(variable); v != "" {
		def = v
	}
	fs.StringVar(p, name, def, usage+" (env "+variable+")")
}

// storeFlags declares --store and --log-level on fs.
func storeFlags(fs *flag.FlagSet, env *environment) *settings {
	s := &settings{}
	envVar(fs, env, &s.store, "store", "CONCORD_STORE", defaultStore,
		"event store: sqlite://PATH (embedded) or esdb://HOST:PORT,...?tls=... (EventStoreDB)")
	envVar(fs, env, &s.logLevel, "log-level", "CONCORD_LOG_LEVEL", "info", "debug, info, warn or error")
	return s
}

// logger returns the process logger: JSON lines on w at the configured level.
func (s *settings) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(s.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", s.logLevel)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})), nil
}

// openedStore is an event store and how to release it.
type openedStore struct {
	eventstore.Store
	close func() error
	// sqlite is set when the store is the embedded one.
	sqlite *sqlite.Store
}

// openStore opens the event store named by a --store URL. With existing,
// an embedded store that does not exist is an error (sqlite.ErrNoStore)
// rather than created.
func openStore(ctx context.Context, raw string, logger *slog.Logger, existing bool) (*openedStore, error) {
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, fmt.Errorf("--store %q: want sqlite://PATH or esdb://HOST:PORT", raw)
	}
	switch scheme {
	case "sqlite":
		path, ok := sqlitePath(raw)
		if !ok {
			return nil, fmt.Errorf("--store %q: the SQLite file path is empty", raw)
		}
		if dir := filepath.Dir(path); dir != "." && !existing {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("--store %q: %w", raw, err)
			}
		}
		s, err := sqlite.Open(ctx, path, sqlite.Options{Existing: existing})
		if err != nil {
			return nil, fmt.Errorf("--store %q: %w", redact(raw), err)
		}
		logger.Debug("event store opened", "kind", "sqlite", "path", path)
		return &openedStore{Store: s, close: s.Close, sqlite: s}, nil
	case "esdb", "esdb+discover", "kurrentdb", "kurrentdb+discover":
		return openESDB(ctx, raw, logger)
	}
	return nil, fmt.Errorf("--store %q: unknown scheme %q (want sqlite or esdb)", raw, scheme)
}

// redact hides the password of a connection string for logs and errors.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}

// open returns the process logger and opens the configured store.
func (s *settings) open(ctx context.Context, env *environment) (*openedStore, *slog.Logger, error) {
	logger, err := s.logger(env.stderr)
	if err != nil {
		return nil, nil, err
	}
	store, err := openStore(ctx, s.store, logger, s.existing)
	return store, logger, err
}

// newFlagSet returns the flag set of a command: errors and help go to
// env's stderr, help being usage followed by the flags.
func newFlagSet(env *environment, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintln(env.stderr, usage)
		fs.PrintDefaults()
	}
	return fs
}

// errHelp is returned when a command printed its help: run reports success.
var errHelp = errors.New("help shown")

// parseFlags parses args into fs: -h prints the command's help (errHelp),
// any other problem has been printed by the flag package (errUsage).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return errUsage
	}
	return nil
}
