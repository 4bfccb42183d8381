package company_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/projections/catalog"
	"github.com/concord-planning/concord/projections/company"
	"github.com/concord-planning/concord/projections/history"
	"github.com/concord-planning/concord/projections/planstate"
	"github.com/concord-planning/concord/projections/rolling"
	"github.com/concord-planning/concord/projections/vintage"
)

// models is every read model, fed together.
type models struct {
	rolling *rolling.Plans // with its cube, catalog and plan state
	history *history.Log
	catalog *catalog.Catalog // a standalone one, as the wiring may run it
}

func newModels() *models {
	return &models{rolling: rolling.New(), history: history.New(), catalog: catalog.New()}
}

func (m *models) apply(t testing.TB, rec eventstore.RecordedEvent, ev any) {
	if err := m.applyErr(rec, ev); err != nil {
		t.Helper()
		t.Fatalf("Apply(%v %s): %v", rec.Position, rec.Type, err)
	}
}

func (m *models) applyErr(rec eventstore.RecordedEvent, ev any) error {
	if err := m.rolling.Apply(rec, ev); err != nil {
		return err
	}
	if err := m.history.Apply(rec, ev); err != nil {
		return err
	}
	return m.catalog.Apply(rec, ev)
}

// decoded is a log decoded through the registry, as a runner would.
type decoded struct {
	recs   []eventstore.RecordedEvent
	events []any
}

func decode(t testing.TB, l *company.Log) decoded {
	t.Helper()
	reg := company.Registry()
	d := decoded{recs: l.Events, events: make([]any, len(l.Events))}
	for i, rec := range l.Events {
		ev, err := reg.Decode(rec)
		if err != nil {
			t.Fatalf("Decode(%v): %v", rec.Position, err)
		}
		d.events[i] = ev
	}
	return d
}

// rebuild applies the first n events to fresh models in one pass.
func rebuild(t testing.TB, d decoded, n int) *models {
	m := newModels()
	for i := range n {
		m.apply(t, d.recs[i], d.events[i])
	}
	return m
}

// dump is everything the read models answer as of a position, through
// their public queries only.
func dump(t testing.TB, m *models, l *company.Log, asOf, half eventstore.Position) map[string]any {
	t.Helper()
	out := map[string]any{}
	put := func(k string, v any) { out[k] = v }
	putErr := func(k string, v any, err error) {
		if err != nil {
			out[k] = "error: " + err.Error()
			return
		}
		out[k] = v
	}
	cb := m.rolling.Cube()
	st := m.rolling.State()

	// Catalog: the hierarchy, through both catalogs.
	var nodes []dimension.Node
	for name, cat := range map[string]*catalog.Catalog{"cube": cb.Catalog(), "own": m.catalog, "history": m.history.Catalog()} {
		h := cat.Hierarchy(asOf)
		put("dims/"+name, h.Dimensions())
		for _, d := range h.Dimensions() {
			tree, _ := h.Tree(d.ID)
			put("members/"+name+"/"+d.ID, tree.Members())
			for _, mem := range tree.Members() {
				kids, _ := tree.Children(mem.ID)
				leaves, _ := tree.Leaves(mem.ID)
				put(fmt.Sprintf("tree/%s/%s/%s", name, d.ID, mem.ID), []any{kids, leaves, tree.IsLeaf(mem.ID)})
				if name == "cube" {
					nodes = append(nodes, dimension.MustNode(dimension.Coord{Dimension: d.ID, Member: mem.ID}))
				}
			}
		}
	}
	nodes = append(nodes, dimension.Total, dimension.MustParseNode("bu=bu1;region=rg1"), dimension.MustParseNode("bu=bu2;product=pl1;region=rg2"))

	// Cube.
	cells := cb.Cells(asOf)
	put("cells", cells)
	put("metrics", cb.Metrics(asOf))
	put("closed", cb.Closed(asOf))
	last, ok := cb.LastClosed(asOf)
	put("lastClosed", []any{last, ok})
	span := fiscal.Span{First: fiscal.NewPeriod(2026, 1), Last: fiscal.NewPeriod(2027, 12), Kind: fiscal.KindRange}
	for _, metric := range l.Metrics {
		for _, n := range nodes {
			a, err := cb.Actuals(n, metric, span, asOf)
			putErr("actuals/"+metric+"/"+n.String(), a, err)
		}
		for i, c := range cells {
			if i%5 == 0 {
				for p := span.First; p <= span.Last; p += 3 {
					put(fmt.Sprintf("cellhist/%s/%s/%v", metric, c, p), cb.History(c, metric, p, asOf))
				}
			}
		}
	}

	// Plan state.
	put("plans", st.Plans(asOf))
	id := l.PlanID
	ts, err := st.Targets(id, planstate.Filter{}, asOf)
	putErr("targets", ts, err)
	ra, err := st.Reallocations(id, "", asOf)
	putErr("reallocations", ra, err)
	tags, err := st.Tags(id, asOf)
	putErr("tags", tags, err)
	ap, err := st.Approvals(id, asOf)
	putErr("approvals", ap, err)
	put("commits", st.Commits(id, planstate.Filter{}, asOf))
	put("runs", len(st.Runs(id, asOf)))
	diff, err := st.Diff(id, planstate.Filter{}, half, asOf)
	putErr("diff", diff, err)
	for _, tag := range tags {
		p, err := st.TagPosition(id, tag.Tag, asOf)
		putErr("tagpos/"+tag.Tag, p, err)
	}
	for _, metric := range l.Metrics {
		fn := st.ForecastNodes(id, metric, asOf)
		put("fcnodes/"+metric, fn)
		for _, n := range fn {
			pts, ok := st.Forecast(id, n, metric, span, asOf)
			put("fc/"+metric+"/"+n.String(), []any{pts, ok})
		}
		for i, tg := range ts {
			if i%7 == 0 {
				h, err := st.TargetHistory(id, tg.Node, tg.Metric, tg.Span, asOf)
				putErr(fmt.Sprintf("targethist/%d", i), h, err)
			}
		}
		// Rolling windows, every policy, default rows and a few chosen ones.
		for _, pol := range []rolling.Policy{rolling.Statistical, rolling.Commit, rolling.BestCase} {
			w, err := m.rolling.Window(rolling.Query{Plan: id, Metric: metric, Policy: pol, AsOf: asOf})
			putErr("window/"+metric+"/"+string(pol), w, err)
			w, err = m.rolling.Window(rolling.Query{Plan: id, Metric: metric, Policy: pol, AsOf: asOf, Back: 6, Forward: 4, Nodes: nodes[:min(len(nodes), 12)]})
			putErr("window6/"+metric+"/"+string(pol), w, err)
		}
	}

	// History: every entry, page by page, both ways; a node and subtrees.
	filters := map[string]history.Filter{"all": {}, "desc": {Descending: true, Limit: 37}}
	for i, n := range nodes {
		if i%3 == 0 {
			filters["subtree/"+n.String()] = history.Filter{Node: &n, Subtree: true, Limit: 50}
		}
	}
	for i, c := range cells {
		if i%9 == 0 {
			filters["node/"+c.String()] = history.Filter{Node: &c, Limit: 3}
		}
	}
	filters["actor"] = history.Filter{Actor: "board", Kinds: []history.Kind{history.VersionApproved}}
	filters["metric-span"] = history.Filter{Metric: "revenue", Span: &span, Limit: 500}
	for name, f := range filters {
		f.AsOf = asOf
		var all []history.Entry
		for range 10_000 {
			page, err := m.history.Query(f)
			if err != nil {
				put("history/"+name, "error: "+err.Error())
				break
			}
			all = append(all, page.Entries...)
			if !page.More {
				break
			}
			f.Cursor = page.Next
		}
		put("history/"+name, all)
	}
	return out
}

func diffDumps(t *testing.T, what string, got, want map[string]any) {
	t.Helper()
	bad := 0
	for k, w := range want {
		if g := got[k]; !reflect.DeepEqual(g, w) {
			bad++
			if bad <= 5 {
				t.Errorf("%s: %s differs:\n got %.800s\nwant %.800s", what, k, fmt.Sprintf("%+v", g), fmt.Sprintf("%+v", w))
			}
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: %s only in one of them", what, k)
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d keys differ in all", what, bad)
	}
}

// TestRebuildEqualsLive feeds random valid logs to the read models in
// chunks, interleaved with queries and repeated events, and checks that a
// one-pass rebuild answers exactly like them, and that every model as of a
// position answers like a rebuild up to that position.
func TestRebuildEqualsLive(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			l, err := company.Generate(company.Small(seed))
			if err != nil {
				t.Fatal(err)
			}
			if l.Rejected == 0 {
				t.Errorf("the generator had no command refused: it does not exercise the invariants")
			}
			d := decode(t, l)
			types := map[string]bool{}
			for _, r := range d.recs {
				types[r.Type] = true
			}
			for _, name := range company.Registry().Names() {
				// chance events, and the single-event forecast runs written
				// before runs had parts (read, never recorded any more)
				if !types[name] && name != "dimension.MemberMoved" && name != "dimension.MemberRenamed" && name != dimension.TypeMemberRemoved && name != forecast.TypePublished {
					t.Errorf("log of %d events has no %s", len(d.recs), name)
				}
			}
			rng := rand.New(rand.NewPCG(seed, 99))
			live := newModels()
			for i := 0; i < len(d.recs); {
				n := 1 + rng.IntN(400)
				for j := i; j < min(i+n, len(d.recs)); j++ {
					live.apply(t, d.recs[j], d.events[j])
				}
				i = min(i+n, len(d.recs))
				// Replays of applied events change nothing.
				k := rng.IntN(i)
				live.apply(t, d.recs[k], d.events[k])
				// Queries in between, at random vintages, fill the caches.
				if rng.IntN(4) == 0 {
					_ = dump(t, live, l, d.recs[rng.IntN(i)].Position, d.recs[rng.IntN(i)].Position)
				}
			}
			full := rebuild(t, d, len(d.recs))
			if got, want := live.rolling.Position(), full.rolling.Position(); got != want {
				t.Errorf("live at %v, rebuild at %v", got, want)
			}
			mid := d.recs[len(d.recs)/2].Position
			diffDumps(t, "live vs rebuild", dump(t, live, l, vintage.Latest, mid), dump(t, full, l, vintage.Latest, mid))

			for _, frac := range []float64{0.05, 0.3, 0.55, 0.8, 0.97} {
				n := int(frac * float64(len(d.recs)))
				p := d.recs[n-1].Position
				part := rebuild(t, d, n)
				diffDumps(t, fmt.Sprintf("as of %v vs rebuild to it", p), dump(t, live, l, p, d.recs[n/2].Position), dump(t, part, l, vintage.Latest, d.recs[n/2].Position))
				// A time maps to the last position recorded at or before it.
				at := d.recs[n-1].RecordedAt
				want := p
				for j := n; j < len(d.recs) && !d.recs[j].RecordedAt.After(at); j++ {
					want = d.recs[j].Position
				}
				for name, got := range map[string]eventstore.Position{"cube": live.rolling.Cube().PositionAt(at), "state": live.rolling.State().PositionAt(at), "history": live.history.PositionAt(at)} {
					if got != want {
						t.Errorf("%s.PositionAt(%v) = %v, want %v", name, at, got, want)
					}
				}
			}
		})
	}
}

var _ = commit.ConfidenceCommit
