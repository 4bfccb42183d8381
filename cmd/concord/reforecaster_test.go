package main

import (
	"slices"
	"testing"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/projections/catalog"
)

// TestCurrentCells checks that a reforecast leaves out the cells of
// retired members, which PublishForecast would refuse (the Realistic
// company retires products).
func TestCurrentCells(t *testing.T) {
	cat := catalog.New()
	events := []struct {
		typ   string
		event any
	}{
		{dimension.TypeDefined, dimension.Defined{ID: "region", Name: "Region", RootID: "world", RootName: "World"}},
		{dimension.TypeMemberAdded, dimension.MemberAdded{ID: "de", Name: "Germany", Parent: "world"}},
		{dimension.TypeMemberAdded, dimension.MemberAdded{ID: "fr", Name: "France", Parent: "world"}},
		{dimension.TypeDefined, dimension.Defined{ID: "product", Name: "Product", RootID: "all", RootName: "All"}},
		{dimension.TypeMemberAdded, dimension.MemberAdded{ID: "p1", Name: "Pump", Parent: "all"}},
		{dimension.TypeMemberAdded, dimension.MemberAdded{ID: "p2", Name: "Valve", Parent: "all"}},
		{dimension.TypeMemberRetired, dimension.MemberRetired{ID: "p2"}},
	}
	for i, e := range events {
		stream := dimension.Stream("region")
		if i >= 3 {
			stream = dimension.Stream("product")
		}
		n := uint64(i + 1)
		if err := cat.Apply(eventstore.RecordedEvent{Type: e.typ, Stream: stream, Position: eventstore.Position{Commit: n, Prepare: n}}, e.event); err != nil {
			t.Fatal(err)
		}
	}
	cells := []dimension.Node{
		dimension.MustParseNode("product=p1;region=de"), dimension.MustParseNode("product=p2;region=de"),
		dimension.MustParseNode("product=p1;region=fr"), dimension.MustParseNode("product=p3;region=fr"),
	}
	want := []dimension.Node{cells[0], cells[2]}
	if got := current(cat.Hierarchy(cat.Position()), cells); !slices.Equal(got, want) {
		t.Errorf("current(cells) = %v, want %v", got, want)
	}
	before := eventstore.Position{Commit: 6, Prepare: 6} // p2 not retired yet
	if got := current(cat.Hierarchy(before), cells); len(got) != 3 {
		t.Errorf("current(cells) before the retirement = %v, want every cell but the unknown product's", got)
	}
}
