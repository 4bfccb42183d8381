package catalog_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/projections/catalog"
	"github.com/concord-planning/concord/projections/vintage"
)

var t0 = time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)

// feed runs cmds on a dimension aggregate and applies each recorded event
// to the catalog, one position per event; it returns the aggregate's state
// after each command, by position.
type feeder struct {
	cat  *catalog.Catalog
	n    uint64
	dims map[string]*dimension.Dimension
}

func (f *feeder) run(t *testing.T, id string, cmd func(d *dimension.Dimension) error) eventstore.Position {
	t.Helper()
	d := f.dims[id]
	if d == nil {
		d = dimension.New()
		f.dims[id] = d
	}
	before := len(d.Changes())
	if err := cmd(d); err != nil {
		t.Fatalf("command on %s: %v", id, err)
	}
	var p eventstore.Position
	for _, e := range d.Changes()[before:] {
		f.n++
		p = eventstore.Position{Commit: f.n, Prepare: f.n}
		rec := eventstore.RecordedEvent{Stream: dimension.Stream(id), Position: p, RecordedAt: t0.Add(time.Duration(f.n) * time.Hour), Type: typeName(e)}
		if err := f.cat.Apply(rec, e); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func typeName(e dimension.Event) string {
	switch e.(type) {
	case dimension.Defined:
		return dimension.TypeDefined
	case dimension.MemberAdded:
		return dimension.TypeMemberAdded
	case dimension.MemberRenamed:
		return dimension.TypeMemberRenamed
	case dimension.MemberMoved:
		return dimension.TypeMemberMoved
	case dimension.MemberRemoved:
		return dimension.TypeMemberRemoved
	}
	return dimension.TypeMemberRetired
}

// compare checks a snapshot's tree against the aggregate's own read methods.
func compare(t *testing.T, tree *catalog.Tree, d *dimension.Dimension) {
	t.Helper()
	if got, want := tree.Members(), d.Members(); !reflect.DeepEqual(got, want) {
		t.Errorf("Members() = %v, want %v", got, want)
	}
	for _, m := range d.Members() {
		kids, _ := tree.Children(m.ID)
		if want := d.Children(m.ID); !slices.Equal(kids, want) {
			t.Errorf("Children(%s) = %v, want %v", m.ID, kids, want)
		}
		leaves, _ := tree.Leaves(m.ID)
		if want := d.Leaves(m.ID); !slices.Equal(leaves, want) {
			t.Errorf("Leaves(%s) = %v, want %v", m.ID, leaves, want)
		}
		anc, _ := tree.Ancestors(m.ID)
		if want := d.Ancestors(m.ID); !slices.Equal(anc, want) {
			t.Errorf("Ancestors(%s) = %v, want %v", m.ID, anc, want)
		}
		if tree.IsLeaf(m.ID) != d.IsLeaf(m.ID) {
			t.Errorf("IsLeaf(%s) = %v, want %v", m.ID, tree.IsLeaf(m.ID), d.IsLeaf(m.ID))
		}
	}
}

func TestHierarchyAsOf(t *testing.T) {
	f := &feeder{cat: catalog.New(), dims: map[string]*dimension.Dimension{}}
	f.run(t, "region", func(d *dimension.Dimension) error { return d.Define("region", "Region", "world", "World") })
	f.run(t, "region", func(d *dimension.Dimension) error {
		return errors.Join(d.Add("emea", "EMEA", "world"), d.Add("amer", "Americas", "world"), d.Add("de", "Germany", "emea"), d.Add("fr", "France", "emea"), d.Add("us", "USA", "amer"))
	})
	f.run(t, "product", func(d *dimension.Dimension) error { return d.Define("product", "Product", "all", "All products") })
	p1 := f.run(t, "product", func(d *dimension.Dimension) error { return d.Add("pumps", "Pumps", "all") })
	snap1 := cloneDim(t, f.dims["region"])
	f.run(t, "region", func(d *dimension.Dimension) error { return d.Move("fr", "amer") })
	f.run(t, "region", func(d *dimension.Dimension) error { return d.Rename("de", "Deutschland") })
	f.run(t, "region", func(d *dimension.Dimension) error { return d.Retire("us") })
	typo := f.run(t, "region", func(d *dimension.Dimension) error { return d.Add("dee", "Germny", "emea") })
	withTypo := cloneDim(t, f.dims["region"])
	f.run(t, "region", func(d *dimension.Dimension) error { return d.Remove("dee") })
	if tree, _ := f.cat.Hierarchy(typo).Tree("region"); tree != nil {
		compare(t, tree, withTypo)
	}

	latest := f.cat.Hierarchy(vintage.Latest)
	tree, err := latest.Tree("region")
	if err != nil {
		t.Fatal(err)
	}
	compare(t, tree, f.dims["region"])
	past, _ := f.cat.Hierarchy(p1).Tree("region")
	compare(t, past, snap1)

	de, fr := dimension.MustParseNode("product=pumps;region=de"), dimension.MustParseNode("region=fr")
	emea := dimension.MustParseNode("region=emea")
	if !latest.Contains(emea, de) || latest.Contains(emea, fr) {
		t.Errorf("latest: emea contains de %v (want true), fr %v (want false)", latest.Contains(emea, de), latest.Contains(emea, fr))
	}
	if h := f.cat.Hierarchy(p1); !h.Contains(emea, fr) {
		t.Errorf("as of %v: emea does not contain fr, want it to (fr moved later)", p1)
	}
	if _, err := latest.Resolve(dimension.MustParseNode("region=dee")); !errors.Is(err, catalog.ErrUnknownMember) {
		t.Errorf("Resolve(region=dee) after its removal: error %v, want ErrUnknownMember", err)
	}
	if _, err := latest.Resolve(dimension.MustParseNode("region=xx")); !errors.Is(err, catalog.ErrUnknownMember) {
		t.Errorf("Resolve(region=xx) error %v, want ErrUnknownMember", err)
	}
	if n, err := latest.Resolve(dimension.MustParseNode("product=all;region=us")); err != nil || n.String() != "region=us" {
		t.Errorf("Resolve(product=all;region=us) = %q, %v, want region=us (retired members are history)", n, err)
	}
	if _, err := f.cat.Hierarchy(eventstore.Start).Tree("region"); !errors.Is(err, catalog.ErrUnknownDimension) {
		t.Errorf("Tree(region) at the start: error %v, want ErrUnknownDimension", err)
	}
	if got := f.cat.PositionAt(t0.Add(4*time.Hour + time.Minute)); got.Commit != 4 {
		t.Errorf("PositionAt(4h01) = %v, want 4", got)
	}
	// Re-applying an old event is ignored.
	if err := f.cat.Apply(eventstore.RecordedEvent{Stream: "dimension-region", Type: dimension.TypeMemberRetired, Position: p1}, dimension.MemberRetired{ID: "de"}); err != nil {
		t.Fatal(err)
	}
	if tree, _ := f.cat.Hierarchy(vintage.Latest).Tree("region"); !tree.IsLeaf("de") {
		t.Errorf("an event at an applied position changed the catalog")
	}
	err = f.cat.Apply(eventstore.RecordedEvent{Stream: "dimension-region", Type: dimension.TypeMemberAdded, Position: eventstore.Position{Commit: 99, Prepare: 99}}, dimension.MemberRetired{ID: "de"})
	if !errors.Is(err, catalog.ErrEventMismatch) {
		t.Errorf("Apply(mismatched) error %v, want ErrEventMismatch", err)
	}
}

// cloneDim replays d's events into a fresh aggregate: a frozen copy.
func cloneDim(t *testing.T, d *dimension.Dimension) *dimension.Dimension {
	t.Helper()
	c := dimension.New()
	for _, e := range d.Changes() {
		c.Apply(e)
	}
	return c
}
