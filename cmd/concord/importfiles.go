package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/domain/planning/csvimport"
)

// importDimensions implements `concord import dimensions FILE`: the whole
// file is checked, the changes it calls for are printed, and (unless dry)
// recorded.
func importDimensions(ctx context.Context, env *environment, svc *planning.Service, file string, data []byte, dry bool, maxListed int) error {
	rows, bad, err := csvimport.ReadMembers(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("import %s: %w", file, err)
	}
	if len(bad) > 0 {
		listRejected(env.stderr, file, bad, len(rows)+len(bad), maxListed, false)
		return errRejected(len(bad), len(rows)+len(bad))
	}
	res, err := svc.ImportDimensions(ctx, planning.Call{By: operator()}, rows, dry)
	if rejected(env, file, err, len(rows), maxListed) {
		return fmt.Errorf("import: %s has problems; nothing was imported", file)
	}
	verb := "recorded"
	if dry {
		verb = "to record (dry run: nothing was written)"
	}
	for _, c := range res.Changes {
		fmt.Fprintf(env.stdout, "  %s\n", c)
	}
	if err != nil {
		return fmt.Errorf("import %s: %w", file, err)
	}
	fmt.Fprintf(env.stdout, "dimensions from %s: %d members in the file; %d changes %s\n", file, len(rows), len(res.Changes), verb)
	return nil
}

// importPlan implements `concord import plan FILE`: it opens the plan
// the file describes unless it exists as described.
func importPlan(ctx context.Context, env *environment, svc *planning.Service, file string, data []byte, maxListed int) error {
	rows, bad, err := csvimport.ReadPlan(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("import %s: %w", file, err)
	}
	if len(bad) > 0 {
		listRejected(env.stderr, file, bad, len(rows)+len(bad), maxListed, false)
		return errRejected(len(bad), len(rows)+len(bad))
	}
	in, err := planning.PlanFromRows(rows)
	if err == nil {
		var created bool
		if _, created, err = svc.EnsurePlan(ctx, planning.Call{By: operator()}, in); err == nil {
			state := "exists as the file describes it; nothing was written"
			if created {
				state = "opened"
			}
			fmt.Fprintf(env.stdout, "plan %s (%d metrics, dimensions %v, fiscal year from month %d): %s\n",
				in.ID, len(in.Metrics), in.Dimensions, in.FiscalYearStart, state)
			return nil
		}
	}
	if rejected(env, file, err, len(rows), maxListed) {
		return fmt.Errorf("import: %s has problems; nothing was imported", file)
	}
	return fmt.Errorf("import %s: %w", file, err)
}

// rejected lists the problems of err when it is a *planning.ValidationError
// and reports whether it was one.
func rejected(env *environment, file string, err error, total, maxListed int) bool {
	var ve *planning.ValidationError
	if !errors.As(err, &ve) {
		return false
	}
	listRejected(env.stderr, file, ve.Problems, total, maxListed, false)
	return true
}
