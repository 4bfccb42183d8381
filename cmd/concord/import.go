package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/domain/planning/csvimport"
)

// defaultImportBatch is the rows of one batch of `concord import`: large
// enough that a batch costs little more than its rows, far below the
// store's bound on one append (planning.MaxRows).
const defaultImportBatch = 5000

const importUsage = `Usage: concord import dimensions|plan|actuals|targets FILE.csv [--plan ID] [flags]

Imports a CSV file into the store, in the formats the API takes as text/csv
uploads. The first line names the columns (any order); one format per file:

  dimensions: dimension,member,name,parent
              product,all,All products,        (no parent: the dimension's root)
              product,pumps,Pumps,all
  plan:       plan,name,currency,fiscal_year_start,dimensions,horizon_start,metric,metric_name[,horizon_months,unit,non_negative]
              acme,Acme FY26,EUR,1,region;product,2026-01,net-revenue,Net revenue,18,EUR,true
              (one row per metric; the plan's fields repeated on every row)
  actuals:    cell,metric,period,amount
              region=dach;product=pumps,net-revenue,2027-03,1250.75
  targets:    op,node,metric,span,amount,reason
              upsert,region=emea,net-revenue,FY2027,4500000,budget FY27
              (op: upsert sets or revises as needed; set, revise, clear)

dimensions: the file describes whole hierarchies, one or more. It is checked
whole first (ids, one root per dimension, members listed twice, unknown
parents, cycles; problems listed by line), then each dimension is made what
the file says: new members added, changed names renamed, changed parents
moved, members the file leaves out retired; the changes are printed. The
same file again changes nothing. --dry-run prints the changes only.

plan: opens the plan the file describes with its metrics and fiscal calendar
(fiscal_year_start: the first month of the fiscal year, 1 to 12); when the
plan exists as described, nothing is written.

actuals and targets (--plan required): the whole file is checked first,
against the plan and the store as they stand: if any row is bad, nothing is
written and the rejected rows are listed (line, field, value, reason), and
the command fails. With --skip-bad the good rows are imported, the rejected
ones listed, and the command succeeds. After actuals are imported, a
statistical forecast of each of the plan's metrics is requested: a running
concord serve makes and publishes it, with no period close needed.

Rows are written in batches of --batch rows, each named by the file's
SHA-256 and its index (csv-<hash>-<batch size>-<n>): actuals batches are the
ledger's import ids, target batches the correlation id of their events. A
batch already written is skipped, so running the same import again writes
nothing, and an import stopped midway completes when run again with the same
file and --batch. (So rows --skip-bad left out of a batch that was written
are not taken by a later run of the same file: import them as a new file.)

FILE "-" reads standard input.

Flags:`

// importCommand implements `concord import actuals|targets FILE`.
func importCommand(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "import", importUsage)
	st := storeFlags(fs, env)
	planID := envFlag(fs, env, "plan", "CONCORD_PLAN", "", "the plan the rows belong to (actuals and targets: required)")
	batch := fs.Int("batch", defaultImportBatch, fmt.Sprintf("rows per batch, 1 to %d", planning.MaxRows))
	skipBad := fs.Bool("skip-bad", false, "import the good rows, list the rejected ones and succeed (default: reject the whole file)")
	maxListed := fs.Int("max-errors", 20, "most rejected rows listed; the rest are counted")
	dry := fs.Bool("dry-run", false, "dimensions: print the changes the file calls for, write nothing")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	var problems []string
	if len(pos) != 2 || !slices.Contains([]string{"dimensions", "plan", "actuals", "targets"}, pos[0]) {
		problems = append(problems, "want two arguments: dimensions, plan, actuals or targets, and the CSV file")
	}
	rowsOfPlan := len(pos) == 2 && (pos[0] == "actuals" || pos[0] == "targets")
	if *planID == "" && rowsOfPlan {
		problems = append(problems, "--plan is required")
	}
	if *batch < 1 || *batch > planning.MaxRows {
		problems = append(problems, fmt.Sprintf("--batch %d: want 1 to %d", *batch, planning.MaxRows))
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(env.stderr, "concord import: %s\n", p)
		}
		fs.Usage()
		return errUsage
	}
	kind, file := pos[0], pos[1]
	data, err := readInput(env, file)
	if err != nil {
		return err
	}
	if !rowsOfPlan {
		store, _, err := st.open(ctx, env)
		if err != nil {
			return err
		}
		defer store.close()
		svc := planning.New(store, planning.NewRegistry())
		if kind == "dimensions" {
			return importDimensions(ctx, env, svc, file, data, *dry, *maxListed)
		}
		return importPlan(ctx, env, svc, file, data, *maxListed)
	}
	in, err := parseImport(kind, data)
	if err != nil {
		return fmt.Errorf("import %s: %w", file, err)
	}

	store, _, err := st.open(ctx, env)
	if err != nil {
		return err
	}
	defer store.close()
	im := &importer{svc: planning.New(store, planning.NewRegistry()), store: store, call: planning.Call{By: operator()},
		kind: kind, plan: *planID, batch: *batch, sum: sha256.Sum256(data)}
	start := time.Now()
	plan, rejected, err := im.check(ctx, in, *skipBad)
	if len(rejected) > 0 {
		listRejected(env.stderr, file, rejected, len(in.lines), *maxListed, *skipBad && err == nil)
	}
	if err != nil {
		return err
	}
	res, err := im.write(ctx, env, plan)
	res.elapsed = time.Since(start)
	if err != nil {
		return fmt.Errorf("import %s: %w (batches written so far stay written; run the same import again to complete it)", file, err)
	}
	res.rejected = len(rejected)
	res.report(env.stdout, kind, file, *planID)
	if kind == "actuals" {
		return im.requestForecasts(ctx, env, plan)
	}
	return nil
}

// requestForecasts asks for a statistical forecast of each of the plan's
// metrics from the actuals through the file's latest period, keyed by the
// file, so that running the import again asks nothing new.
func (im *importer) requestForecasts(ctx context.Context, env *environment, batches []importBatch) error {
	var last fiscal.Period
	for _, b := range batches {
		for _, r := range b.actuals {
			if p, err := fiscal.ParsePeriod(r.Period); err == nil && p > last {
				last = p
			}
		}
	}
	reqs, err := im.svc.RequestForecasts(ctx, im.call, im.plan, last.String(), fmt.Sprintf("csv-%x", im.sum[:8]),
		fmt.Sprintf("actuals through %v imported", last))
	if err != nil {
		return fmt.Errorf("the actuals are imported, but requesting their forecast failed (concord serve: POST /api/v1/plans/%s/reforecast asks again): %w", im.plan, err)
	}
	for _, r := range reqs {
		fmt.Fprintf(env.stdout, "forecast of %s from the actuals through %v requested (run %s); concord serve makes and publishes it\n", r.Metric, r.Through, r.RunID)
	}
	return nil
}

// parseInterspersed parses flags given before, between and after the
// positional arguments, which it returns in order.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

// readInput reads the whole of file ("-" is standard input).
func readInput(env *environment, file string) ([]byte, error) {
	if file == "-" {
		return io.ReadAll(env.stdin)
	}
	return os.ReadFile(file)
}

// importRows are the rows of a file, as read: actuals or targets, with
// the line of each and the rows of the wrong width.
type importRows struct {
	actuals []planning.ActualRow
	targets []planning.TargetChange
	lines   []int
	ragged  []planning.Problem
}

// parseImport reads data as a file of kind ("actuals" or "targets").
func parseImport(kind string, data []byte) (importRows, error) {
	var in importRows
	var err error
	if kind == "actuals" {
		in.actuals, in.ragged, err = csvimport.ReadActuals(bytes.NewReader(data), 0)
		for _, r := range in.actuals {
			in.lines = append(in.lines, r.Line)
		}
	} else {
		in.targets, in.ragged, err = csvimport.ReadTargets(bytes.NewReader(data), 0)
		for _, r := range in.targets {
			in.lines = append(in.lines, r.Line)
		}
	}
	for _, p := range in.ragged {
		in.lines = append(in.lines, p.Row)
	}
	return in, err
}

// importer writes one file's rows to the store.
type importer struct {
	svc   *planning.Service
	store eventstore.Store
	call  planning.Call
	kind  string
	plan  string
	batch int
	sum   [sha256.Size]byte
}

// importBatch is one batch of rows and its import id.
type importBatch struct {
	id      string
	actuals []planning.ActualRow
	targets []planning.TargetChange
	done    bool // targets: the plan holds the batch already
}

func (b importBatch) rows() int { return len(b.actuals) + len(b.targets) }

// batches splits in into batches of im.batch rows, named by the file's
// hash, the batch size and their index, and leaves out the rows whose
// line is in drop (a batch left empty is dropped whole). The chunks are
// cut before rows are left out, so a batch's name does not depend on
// which rows were rejected.
func (im *importer) batches(in importRows, drop map[int]bool) []importBatch {
	id := func(i int) string { return fmt.Sprintf("csv-%x-%d-%d", im.sum[:8], im.batch, i+1) }
	var out []importBatch
	for i, k := 0, 0; k < len(in.actuals); i, k = i+1, k+im.batch {
		b := importBatch{id: id(i)}
		for _, r := range in.actuals[k:min(k+im.batch, len(in.actuals))] {
			if !drop[r.Line] {
				b.actuals = append(b.actuals, r)
			}
		}
		if b.rows() > 0 {
			out = append(out, b)
		}
	}
	for i, k := 0, 0; k < len(in.targets); i, k = i+1, k+im.batch {
		b := importBatch{id: id(i)}
		for _, r := range in.targets[k:min(k+im.batch, len(in.targets))] {
			if !drop[r.Line] {
				b.targets = append(b.targets, r)
			}
		}
		if b.rows() > 0 {
			out = append(out, b)
		}
	}
	return out
}

// check checks the whole file against the plan and the store, before
// anything is written. It returns the batches to write and the problems
// of the rows rejected. Without skipBad, any rejected row is an error;
// with it, rejected rows are left out and the rest checked again (a row
// may have been bad only beside one left out), until what remains passes.
// A problem of the import as a whole (row 0) is always an error.
func (im *importer) check(ctx context.Context, in importRows, skipBad bool) ([]importBatch, []planning.Problem, error) {
	rejected := slices.Clone(in.ragged)
	drop := map[int]bool{}
	for _, p := range in.ragged {
		drop[p.Row] = true
	}
	if len(rejected) > 0 && !skipBad {
		return nil, rejected, errRejected(len(drop), len(in.lines))
	}
	for {
		batches := im.batches(in, drop)
		if len(batches) == 0 {
			return nil, rejected, fmt.Errorf("import: no rows to import (%d rejected)", len(drop))
		}
		err := im.checkBatches(ctx, batches)
		var ve *planning.ValidationError
		if !errors.As(err, &ve) {
			return batches, rejected, err
		}
		whole := false
		for _, p := range ve.Problems {
			rejected = append(rejected, p)
			whole = whole || p.Row == 0
			drop[p.Row] = true
		}
		if whole || !skipBad {
			return nil, rejected, errRejected(len(drop)-btoi(drop[0]), len(in.lines))
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func errRejected(bad, total int) error {
	return fmt.Errorf("import: %d of %d rows rejected; nothing was imported", bad, total)
}

// checkBatches checks batches as they would be written, in order.
func (im *importer) checkBatches(ctx context.Context, batches []importBatch) error {
	if im.kind == "actuals" {
		ins := make([]planning.RecordActuals, len(batches))
		for i, b := range batches {
			ins[i] = planning.RecordActuals{Plan: im.plan, ImportID: b.id, Rows: b.actuals}
		}
		return im.svc.CheckActuals(ctx, im.call, ins...)
	}
	done, err := im.appliedBatches(ctx)
	if err != nil {
		return err
	}
	var rest []planning.TargetChange
	for i := range batches {
		batches[i].done = done[batches[i].id]
		if !batches[i].done {
			rest = append(rest, batches[i].targets...)
		}
	}
	if len(rest) == 0 {
		return nil
	}
	return im.svc.CheckTargets(ctx, im.call, im.plan, rest)
}

// appliedBatches returns the correlation ids of the events of the plan's
// stream that an operator wrote (actor "cli:…"): the target batches it
// holds. An API client can forge neither: the server chooses the
// correlation ids of its requests, and the actor comes from credentials.
func (im *importer) appliedBatches(ctx context.Context) (map[string]bool, error) {
	ids := map[string]bool{}
	stream := plan.Stream(im.plan)
	for from := uint64(1); ; {
		page, err := im.store.ReadStream(ctx, stream, from, eventstore.MinPage)
		if err != nil {
			return nil, err
		}
		if len(page) == 0 {
			return ids, nil
		}
		for _, e := range page {
			if strings.HasPrefix(e.Metadata.Actor, operatorPrefix) {
				ids[e.Metadata.CorrelationID] = true
			}
		}
		from = page[len(page)-1].Version + 1
	}
}

// importResult sums up what an import wrote.
type importResult struct {
	rows, batches        int // to import, as checked
	recorded             int // rows written by this run
	skipped, skippedRows int // batches (and their rows) written before
	rejected             int
	elapsed              time.Duration
	position             eventstore.Position
}

// write writes batches in order, with a progress bar on a terminal and a
// line per batch otherwise.
func (im *importer) write(ctx context.Context, env *environment, batches []importBatch) (importResult, error) {
	res := importResult{batches: len(batches)}
	for _, b := range batches {
		res.rows += b.rows()
	}
	bar := progressBar(env, res.rows, "importing "+im.kind)
	if bar != nil {
		defer bar.Finish()
	}
	for i, b := range batches {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		recorded, already, pos, err := im.writeBatch(ctx, b)
		if err != nil {
			return res, fmt.Errorf("batch %d of %d (%s): %w", i+1, len(batches), b.id, err)
		}
		res.recorded += recorded
		if already {
			res.skipped++
			res.skippedRows += b.rows()
		}
		if res.position.Before(pos) {
			res.position = pos
		}
		switch {
		case bar != nil:
			_ = bar.Add(b.rows())
		case already:
			fmt.Fprintf(env.stderr, "batch %d/%d %s: %d rows, already imported\n", i+1, len(batches), b.id, b.rows())
		default:
			fmt.Fprintf(env.stderr, "batch %d/%d %s: %d rows recorded\n", i+1, len(batches), b.id, recorded)
		}
	}
	return res, nil
}

// writeBatch writes one batch: actuals through RecordActuals (the ledger
// skips an import id it has seen), targets through ChangeTargets with the
// batch's id as correlation id and idempotency key.
func (im *importer) writeBatch(ctx context.Context, b importBatch) (recorded int, already bool, pos eventstore.Position, err error) {
	if im.kind == "actuals" {
		r, err := im.svc.RecordActuals(ctx, im.call, planning.RecordActuals{Plan: im.plan, ImportID: b.id, Rows: b.actuals})
		return r.Recorded, r.AlreadyImported, r.Position, err
	}
	if b.done {
		return 0, true, eventstore.Start, nil
	}
	call := im.call
	call.CorrelationID, call.IdempotencyKey = b.id, b.id
	r, err := im.svc.ChangeTargets(ctx, call, im.plan, b.targets)
	return len(b.targets), false, r.Position, err
}

// report prints the summary of an import.
func (r importResult) report(w io.Writer, kind, file, planID string) {
	rate := 0.0
	if s := r.elapsed.Seconds(); s > 0 {
		rate = float64(r.recorded) / s
	}
	fmt.Fprintf(w, "imported %s from %s into plan %s: %d rows in %d batches; %d rows recorded, %d batches (%d rows) already imported",
		kind, file, planID, r.rows, r.batches, r.recorded, r.skipped, r.skippedRows)
	if r.rejected > 0 {
		fmt.Fprintf(w, ", %d rows rejected", r.rejected)
	}
	fmt.Fprintf(w, "; %v, %.0f rows/s", r.elapsed.Round(time.Millisecond), rate)
	if r.position != eventstore.Start {
		fmt.Fprintf(w, "; log position %v", r.position)
	}
	fmt.Fprintln(w)
}

// listRejected prints the problems of the rejected rows, by line, at most
// limit of them and a count of the rest.
func listRejected(w io.Writer, file string, problems []planning.Problem, total, limit int, imported bool) {
	ps := slices.Clone(problems)
	slices.SortStableFunc(ps, func(a, b planning.Problem) int { return a.Row - b.Row })
	rows := map[int]bool{}
	for _, p := range ps {
		if p.Row > 0 {
			rows[p.Row] = true
		}
	}
	outcome := "nothing was imported"
	if imported {
		outcome = "the other rows were imported"
	}
	if len(rows) == 0 {
		fmt.Fprintf(w, "%s: rejected as a whole (%d problems); %s:\n", file, len(ps), outcome)
	} else {
		fmt.Fprintf(w, "%s: %d of %d rows rejected (%d problems); %s:\n", file, len(rows), total, len(ps), outcome)
	}
	for i, p := range ps {
		if limit >= 0 && i == limit {
			fmt.Fprintf(w, "  ... and %d more\n", len(ps)-limit)
			break
		}
		where := "the import"
		if p.Row > 0 {
			where = "line " + strconv.Itoa(p.Row)
		}
		if p.Field != "" {
			fmt.Fprintf(w, "  %s, %s %q: %s\n", where, p.Field, p.Value, p.Reason)
		} else {
			fmt.Fprintf(w, "  %s: %s\n", where, p.Reason)
		}
	}
}
