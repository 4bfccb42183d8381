// Command concord is the one Concord binary: it serves the API and dashboard,
// builds the demo company, and runs the analysts' batch commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand of the binary.
type command struct {
	summary string
	run     func(ctx context.Context, env *environment, args []string) error
}

// environment is what a subcommand may read from the outside world: the
// process environment and the standard streams. Only cmd/ reads flags and
// environment variables.
type environment struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// commands lists every subcommand. Each lives in its own file.
func commands() map[string]command {
	return map[string]command{
		"version":    {summary: "print the version", run: versionCommand},
		"forecast":   {summary: "statistical forecasts for every series of a long CSV", run: forecastCommand},
		"reconcile":  {summary: "reconcile forecasts to a coherent plan that meets targets (CSV in/out)", run: reconcileCommand},
		"verify":     {summary: "check every hash chain, the stream heads and optionally a signed checkpoint; report any break", run: verifyCommand},
		"checkpoint": {summary: "verify the log and sign a checkpoint of its head (Ed25519)", run: checkpointCommand},
		"keygen":     {summary: "make an Ed25519 key pair for signing checkpoints", run: keygenCommand},
		"serve":      {summary: "serve the HTTP API and the dashboard", run: serveCommand},
		"demo":       {summary: "build a demo company in a new embedded store and serve it on 127.0.0.1", run: demoCommand},
		"token":      {summary: "create, list and revoke API tokens", run: tokenCommand},
		"replay":     {summary: "rebuild the read side from the whole log, with progress and timing", run: replayCommand},
		"worker":     {summary: "make the forecasts serve processes request over NATS (distributed mode)", run: workerCommand},
		"import":     {summary: "import dimensions, a plan, actuals or targets from a CSV file (the API's CSV formats), checked whole first", run: importCommand},
		"export":     {summary: "write a query table (variance, rolling, history, ...) as CSV, as the API serves it", run: exportCommand},
		"generate":   {summary: "write a generated company (demo, realistic or large size) into an empty store", run: generateCommand},
		"migrate":    {summary: "copy the whole event log to another store (e.g. SQLite to EventStoreDB) and verify it", run: migrateCommand},
	}
}

var version = "dev"

func versionCommand(_ context.Context, env *environment, _ []string) error {
	_, err := fmt.Fprintf(env.stdout, "concord %s\n", version)
	return err
}

// errUsage is returned when the command line cannot be understood; main
// prints usage and exits with status 2.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := &environment{getenv: os.Getenv, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	err := run(ctx, env, os.Args[1:])
	stop()
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "concord: %v\n", err)
		os.Exit(1)
	}
}

// run dispatches to the subcommand named by args[0].
func run(ctx context.Context, env *environment, args []string) error {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.stdout, cmds)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "concord: unknown command %q\n\n", args[0])
		usage(env.stderr, cmds)
		return errUsage
	}
	if err := c.run(ctx, env, args[1:]); !errors.Is(err, errHelp) {
		return err
	}
	return nil
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "Usage: concord <command> [flags]\n\nCommands:")
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
	fmt.Fprint(w, `
Every flag has an environment twin; the flag wins when both are set:
  CONCORD_STORE            --store       sqlite://PATH (default sqlite://concord.db) or esdb://HOST:PORT,...
  CONCORD_LOG_LEVEL        --log-level   debug, info, warn, error
  CONCORD_LISTEN           --listen      HTTP address (default 127.0.0.1:8080)
  CONCORD_JWT_SECRET_FILE  --jwt-secret-file   HS256 secret for bearer JWTs
  CONCORD_CORS_ORIGINS     --cors-origins      origins allowed cross-origin requests
  CONCORD_TRUSTED_PROXIES  --trusted-proxies   CIDRs whose X-Forwarded-For is believed
  CONCORD_RATE_LIMIT       --rate-limit  requests/s per client IP (default 50)
  CONCORD_BUS              --bus         memory:// (in process) or nats://HOST:PORT,... (NATS JetStream)
  CONCORD_OUTBOUND_TOPIC   --outbound-topic    serve: topic of published domain events (default concord_events_v1)
  CONCORD_WORKER_CONCURRENCY  --concurrency    worker: jobs run at once (default 1)
  CONCORD_JOBS_IN_FLIGHT   --jobs-in-flight    worker: unacknowledged jobs of the whole group (default 64)
  CONCORD_JOB_ACK_WAIT     --job-ack-wait      worker: time before an unacknowledged job goes to another worker (default 10m)
  CONCORD_PLAN             --plan        the plan of concord import and concord export
  CONCORD_MIGRATE_FROM, CONCORD_MIGRATE_TO   concord migrate's --from and --to
  CONCORD_CHECKPOINT_KEY   --key / --checkpoint-key   checkpoint, serve: Ed25519 private key signing checkpoints
  CONCORD_CHECKPOINT_DIR   --dir / --checkpoint-dir   checkpoint, serve: directory of signed checkpoints
  CONCORD_CHECKPOINT_PUBLIC_KEY  --public-key / --checkpoint-public-key   verify, serve: key checking checkpoints
  CONCORD_CHECKPOINT_EVERY --checkpoint-every  serve: sign a checkpoint this often (default 0: never)

Run 'concord <command> -h' for the flags of one command.
`)
}
