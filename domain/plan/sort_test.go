package plan

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/fiscal"
)

// TestSortTargets: sortTargets orders a table's targets by metric, node
// text, span start and span end (CompareTargets, which returns at the
// first difference), for several metrics, nodes whose texts share long
// prefixes, and spans of one month to a year: the order an analysis's
// targets are reconciled in, and its conflicts found.
func TestSortTargets(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 12))
	var table targetTable
	for range 3000 {
		node := dimension.Total
		if rng.IntN(10) > 0 {
			node = dimension.MustNode(dimension.Coord{Dimension: "bu", Member: fmt.Sprintf("bu%d", rng.IntN(4))},
				dimension.Coord{Dimension: "product", Member: fmt.Sprintf("p%d", rng.IntN(30))})
		}
		first := fiscal.NewPeriod(2025+rng.IntN(3), 1).Add(rng.IntN(12))
		span := fiscal.Span{First: first, Last: first.Add([]int{0, 2, 11}[rng.IntN(3)])}
		k := targetKey{node: node, metric: []string{"revenue", "margin", "units"}[rng.IntN(3)], span: span}
		table.set(k, &target{amount: decimal.New(int64(rng.IntN(1000)), 0), changedAt: uint64(rng.IntN(50))})
	}
	got := sortTargets(nil, table.all())
	var want []Target
	for k, v := range table.all() {
		want = append(want, Target{Node: k.node, Metric: k.metric, Span: k.span, Amount: v.amount, ChangedAt: v.changedAt})
	}
	slices.SortFunc(want, func(a, b Target) int {
		return cmp.Or(strings.Compare(a.Metric, b.Metric), strings.Compare(a.Node.String(), b.Node.String()),
			cmp.Compare(a.Span.First, b.Span.First), cmp.Compare(a.Span.Last, b.Span.Last))
	})
	if len(got) != len(want) {
		t.Fatalf("sortTargets returned %d targets, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("target %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
