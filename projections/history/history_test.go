package history_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/projections/history"
	"github.com/concord-planning/concord/projections/internal/given"
)

func scenario(t *testing.T) (*history.Log, given.Marks) {
	t.Helper()
	l, m := given.Scenario()
	h := history.New()
	if err := l.ApplyTo(h); err != nil {
		t.Fatal(err)
	}
	return h, m
}

// line renders an entry for comparison: kind node actor before→after.
func line(e history.Entry) string {
	return fmt.Sprintf("%s %s %s %s→%s", e.Kind, e.Node, e.Actor, e.Before, e.After)
}

func lines(p history.Page) []string {
	var out []string
	for _, e := range p.Entries {
		out = append(out, line(e))
	}
	return out
}

func TestQueryFilters(t *testing.T) {
	h, m := scenario(t)
	de, emea := given.DE, given.EMEA
	tests := []struct {
		name string
		f    history.Filter
		want []string
	}{
		{"cell", history.Filter{Node: &de}, []string{
			"actual.recorded product=p1;region=de loader →100",
			"actual.restated product=p1;region=de dora 100→120",
			"reallocation.proposed product=p1;region=de rita →40",
			"reallocation.approved product=p1;region=de erin open→approved",
			"reallocation.proposed product=p1;region=de rita →-10",
			"reallocation.rejected product=p1;region=de erin open→rejected",
		}},
		{"cell restatements", history.Filter{Node: &de, Kinds: []history.Kind{history.ActualRestated}}, []string{
			"actual.restated product=p1;region=de dora 100→120",
		}},
		{"emea exactly", history.Filter{Node: &emea}, []string{
			"member.added region=emea admin →emea under all",
			"target.set region=emea alice →1000",
			"target.revised region=emea bob 1000→1100",
			"commit.submitted region=emea sam →900",
			"commit.submitted region=emea sam 900→950",
			"commit.withdrawn region=emea sam 950→",
			"target.cleared region=emea carol 1100→",
		}},
		{"emea subtree, actuals, latest: fr has moved out", history.Filter{Node: &emea, Subtree: true, Kinds: []history.Kind{history.ActualRecorded}}, []string{
			"actual.recorded product=p1;region=de loader →100",
		}},
		{"emea subtree, actuals, before the move", history.Filter{Node: &emea, Subtree: true, Kinds: []history.Kind{history.ActualRecorded}, AsOf: given.Before(m.Moved)}, []string{
			"actual.recorded product=p1;region=de loader →100",
			"actual.recorded product=p1;region=fr loader →50",
		}},
		{"reallocation r1 entries, one per move", history.Filter{Kinds: []history.Kind{history.ReallocationProposed, history.ReallocationApproved}}, []string{
			"reallocation.proposed product=p1;region=de rita →40",
			"reallocation.proposed product=p1;region=fr rita →-40",
			"reallocation.approved product=p1;region=de erin open→approved",
			"reallocation.approved product=p1;region=fr erin open→approved",
			"reallocation.proposed product=p2;region=us rita →10",
			"reallocation.proposed product=p1;region=de rita →-10",
		}},
		{"actor", history.Filter{Actor: "erin", Descending: true}, []string{
			"reallocation.rejected product=p1;region=de erin open→rejected",
			"reallocation.rejected product=p2;region=us erin open→rejected",
			"reallocation.approved product=p1;region=fr erin open→approved",
			"reallocation.approved product=p1;region=de erin open→approved",
		}},
		{"as of: nothing after", history.Filter{Node: &emea, AsOf: m.AprTargetRevised}, []string{
			"member.added region=emea admin →emea under all",
			"target.set region=emea alice →1000",
			"target.revised region=emea bob 1000→1100",
		}},
		{"time range", history.Filter{From: given.At(m.Restated), To: given.At(m.Proposed)}, []string{
			"actual.restated product=p1;region=de dora 100→120",
		}},
		{"plan-wide entries", history.Filter{Kinds: []history.Kind{history.VersionTagged, history.PeriodClosed}}, []string{
			"version.tagged  alice →version 4",
			"period.closed  ops →",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := h.Query(tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := lines(p); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Query(%s) =\n%q\nwant\n%q", tt.name, got, tt.want)
			}
			if p.More {
				t.Errorf("Query(%s).More = true, want false", tt.name)
			}
		})
	}
}

func TestQueryPagesWithCursor(t *testing.T) {
	h, _ := scenario(t)
	all, err := h.Query(history.Filter{Limit: history.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	for _, desc := range []bool{false, true} {
		for _, limit := range []int{1, 2, 3, 7} {
			t.Run(fmt.Sprintf("desc=%v/limit=%d", desc, limit), func(t *testing.T) {
				f := history.Filter{Limit: limit, Descending: desc}
				var got []string
				for pages := 0; ; pages++ {
					if pages > len(all.Entries) {
						t.Fatal("paging does not end")
					}
					p, err := h.Query(f)
					if err != nil {
						t.Fatal(err)
					}
					if len(p.Entries) > limit && p.Entries[len(p.Entries)-1].Position != p.Entries[len(p.Entries)-2].Position {
						t.Fatalf("page of %d entries, limit %d, not ending within one event", len(p.Entries), limit)
					}
					got = append(got, lines(p)...)
					if !p.More {
						break
					}
					f.Cursor = p.Next
				}
				want := lines(all)
				if desc {
					for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
						want[i], want[j] = want[j], want[i]
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("pages joined =\n%q\nwant\n%q", got, want)
				}
			})
		}
	}
	// A page ends between two entries of one event (a reallocation's moves)
	// without losing the second: the cursor is a position, so the page
	// boundary must fall after the whole event.
	f := history.Filter{Kinds: []history.Kind{history.ReallocationProposed}, Limit: 1}
	var n int
	for range 10 {
		p, err := h.Query(f)
		if err != nil {
			t.Fatal(err)
		}
		n += len(p.Entries)
		if !p.More {
			break
		}
		f.Cursor = p.Next
	}
	if n != 4 {
		t.Errorf("paging reallocation moves with limit 1 returned %d of 4 entries", n)
	}
}

func TestQueryErrors(t *testing.T) {
	h, _ := scenario(t)
	mars := dimension.MustParseNode("region=mars")
	tests := []struct {
		name string
		f    history.Filter
	}{
		{"negative limit", history.Filter{Limit: -1}},
		{"limit too large", history.Filter{Limit: history.MaxLimit + 1}},
		{"unknown kind", history.Filter{Kinds: []history.Kind{"nope"}}},
		{"subtree without node", history.Filter{Subtree: true}},
		{"time range backwards", history.Filter{From: given.At(eventstore.Position{Commit: 5}), To: given.At(eventstore.Position{Commit: 2})}},
	}
	for _, tt := range tests {
		if _, err := h.Query(tt.f); !errors.Is(err, history.ErrInvalidFilter) {
			t.Errorf("Query(%s) error = %v, want ErrInvalidFilter", tt.name, err)
		}
	}
	if _, err := h.Query(history.Filter{Node: &mars, Subtree: true}); err == nil {
		t.Error("Query(subtree of an unknown member) succeeded, want the catalog's error")
	}
}
