package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/concord-planning/concord/api/query"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/projections/view"
)

// exportCommand implements `concord export TABLE`: a query table as CSV,
// written by the API's own query service over the opened store.
func exportCommand(ctx context.Context, env *environment, args []string) error {
	tables := query.Tables()
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	st := storeFlags(fs, env)
	planID := envFlag(fs, env, "plan", "CONCORD_PLAN", "", "the plan (required)")
	out := fs.String("out", "-", `output file ("-" = standard output)`)
	wait := fs.Duration("wait", 0, "first wait up to this long for the plan's requested forecasts to be published by a running concord serve (e.g. 60s)")

	// Every query parameter of every table is a flag (as_of is --as-of);
	// a table refuses the flags of parameters it does not read.
	var params []string
	for _, t := range tables {
		for _, p := range t.Params {
			if !slices.Contains(params, p) {
				params = append(params, p)
			}
		}
	}
	slices.Sort(params)
	values := url.Values{}
	for _, p := range params {
		usage := "the query parameter " + p + " (tables: " + strings.Join(tablesReading(tables, p), ", ") + ")"
		if p == "type" {
			usage += "; repeatable"
		}
		fs.Func(paramFlag(p), usage, func(v string) error {
			if p == "type" {
				values.Add(p, v)
			} else {
				values.Set(p, v)
			}
			return nil
		})
	}
	fs.Usage = func() {
		fmt.Fprintln(env.stderr, "Usage: concord export TABLE --plan ID [--out FILE] [query flags]\n\n"+
			"Writes a table of the query side as CSV: the bytes the API answers to\n"+
			"GET /api/v1/plans/{plan}/{TABLE}?format=csv with the same parameters, computed\n"+
			"by the same code over the store. The tables and their parameters:")
		for _, t := range tables {
			flags := make([]string, len(t.Params))
			for i, p := range t.Params {
				flags[i] = "--" + paramFlag(p)
			}
			fmt.Fprintf(env.stderr, "  %-14s %s\n", t.Name, strings.Join(flags, " "))
		}
		fmt.Fprintln(env.stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	var problems []string
	var table query.Table
	switch {
	case len(pos) != 1:
		problems = append(problems, "want one argument: the table")
	default:
		i := slices.IndexFunc(tables, func(t query.Table) bool { return t.Name == pos[0] })
		if i < 0 {
			problems = append(problems, fmt.Sprintf("no table %q", pos[0]))
			break
		}
		table = tables[i]
		for p := range values {
			if !slices.Contains(table.Params, p) {
				problems = append(problems, fmt.Sprintf("--%s is not a parameter of the %s table", paramFlag(p), table.Name))
			}
		}
	}
	if *planID == "" {
		problems = append(problems, "--plan is required")
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		for _, p := range problems {
			fmt.Fprintf(env.stderr, "concord export: %s\n", p)
		}
		fs.Usage()
		return errUsage
	}

	st.existing = true
	store, _, err := st.open(ctx, env)
	if err != nil {
		return err
	}
	defer store.close()
	v := view.NewService(store, planning.NewRegistry())
	if *wait > 0 {
		if err := waitForecasts(ctx, env, v, *planID, *wait); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	if err := query.New(v).WriteCSV(ctx, &buf, table.Name, *planID, values); err != nil {
		return fmt.Errorf("export %s: %w", table.Name, err)
	}
	if *out == "-" {
		_, err = env.stdout.Write(buf.Bytes())
		return err
	}
	return os.WriteFile(*out, buf.Bytes(), 0o644)
}

// paramFlag is the flag of a query parameter: as_of is --as-of.
func paramFlag(p string) string { return strings.ReplaceAll(p, "_", "-") }

// tablesReading lists the tables that read parameter p.
func tablesReading(tables []query.Table, p string) []string {
	var out []string
	for _, t := range tables {
		if slices.Contains(t.Params, p) {
			out = append(out, t.Name)
		}
	}
	return out
}

// waitPoll is how often waitForecasts looks at the log again.
const waitPoll = 250 * time.Millisecond

// waitForecasts waits until no forecast run of plan planID is requested
// and unpublished, at most limit.
func waitForecasts(ctx context.Context, env *environment, v *view.Service, planID string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(waitPoll)
	defer tick.Stop()
	said := false
	for {
		st, err := v.Live(ctx)
		if err != nil {
			return err
		}
		pending := st.Pending(planID)
		if len(pending) == 0 {
			return nil
		}
		if !said {
			fmt.Fprintf(env.stderr, "waiting for %d forecast runs of plan %s to be published by concord serve …\n", len(pending), planID)
			said = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("export: after %v, %d forecast runs of plan %s are still not published (%s): is concord serve running on this store?",
				limit, len(pending), planID, strings.Join(pending, ", "))
		case <-tick.C:
		}
	}
}
