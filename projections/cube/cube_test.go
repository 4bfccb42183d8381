package cube_test

import (
	"errors"
	"testing"

	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/projections/catalog"
	"github.com/concord-planning/concord/projections/cube"
	"github.com/concord-planning/concord/projections/internal/given"
	"github.com/concord-planning/concord/projections/vintage"
)

func scenario(t *testing.T) (*cube.Cube, given.Marks) {
	t.Helper()
	l, m := given.Scenario()
	c := cube.New()
	if err := l.ApplyTo(c); err != nil {
		t.Fatal(err)
	}
	return c, m
}

func TestActualsRollUpAsOf(t *testing.T) {
	c, m := scenario(t)
	before := given.Before
	tests := []struct {
		name     string
		node     dimension.Node
		asOf     eventstore.Position
		want     int64
		cells    int
		restated bool
	}{
		{"cell latest, restated", given.DE, vintage.Latest, 120, 1, true},
		{"cell before the restatement", given.DE, before(m.Restated), 100, 1, false},
		{"emea latest: fr moved out", given.EMEA, vintage.Latest, 120, 1, true},
		{"emea before the move", given.EMEA, before(m.Moved), 170, 2, true},
		{"emea before the restatement", given.EMEA, before(m.Restated), 150, 2, false},
		{"amer latest: fr moved in", given.AMER, vintage.Latest, 120, 2, false},
		{"product p1", given.P1, vintage.Latest, 170, 2, true},
		{"total", dimension.Total, vintage.Latest, 240, 3, true},
		{"total before any actual", dimension.Total, before(m.ActualsRecorded), 150, 2, false},
		{"node without cells", dimension.MustParseNode("product=p2;region=de"), vintage.Latest, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Actual(tt.node, "revenue", given.Apr, tt.asOf)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Value.Equal(decimal.FromInt(tt.want)) || got.Cells != tt.cells || got.Restated != tt.restated {
				t.Errorf("Actual(%v, Apr, %v) = %v (%d cells, restated %v), want %d (%d cells, restated %v)",
					tt.node, tt.asOf, got.Value, got.Cells, got.Restated, tt.want, tt.cells, tt.restated)
			}
		})
	}
}

func TestActualsOverSpanAndErrors(t *testing.T) {
	c, _ := scenario(t)
	span := fiscal.Span{First: given.Apr, Last: given.Jun, Kind: fiscal.KindRange}
	got, err := c.Actuals(dimension.Total, "revenue", span, vintage.Latest)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !got[0].Value.Equal(decimal.FromInt(240)) || got[1].Cells != 0 || got[2].Cells != 0 {
		t.Errorf("Actuals(total, Apr–Jun) = %+v, want 240 in April, nothing after", got)
	}
	tot, err := c.Total(given.EMEA, "revenue", span, vintage.Latest)
	if err != nil || !tot.Value.Equal(decimal.FromInt(120)) || tot.Cells != 1 {
		t.Errorf("Total(emea, Apr–Jun) = %+v, %v; want 120 over 1 cell-period", tot, err)
	}
	if got, err := c.Actuals(dimension.Total, "units", span, vintage.Latest); err != nil || got[0].Cells != 0 {
		t.Errorf("Actuals of an unknown metric = %+v, %v; want zeros", got, err)
	}
	if _, err := c.Actual(dimension.MustParseNode("region=mars"), "revenue", given.Apr, vintage.Latest); !errors.Is(err, catalog.ErrUnknownMember) {
		t.Errorf("Actual(region=mars) error = %v, want ErrUnknownMember", err)
	}
	if _, err := c.Actual(dimension.MustParseNode("colour=red"), "revenue", given.Apr, vintage.Latest); !errors.Is(err, catalog.ErrUnknownDimension) {
		t.Errorf("Actual(colour=red) error = %v, want ErrUnknownDimension", err)
	}
	// us existed only from its dimension event on: as of before, unknown.
	if _, err := c.Actual(given.US, "revenue", given.Apr, eventstore.Position{Commit: 3, Prepare: 3}); !errors.Is(err, catalog.ErrUnknownMember) {
		t.Errorf("Actual(us) as of position 3 error = %v, want ErrUnknownMember", err)
	}
}

func TestRestatementHistory(t *testing.T) {
	c, m := scenario(t)
	h := c.History(given.DE, "revenue", given.Apr, vintage.Latest)
	if len(h) != 2 {
		t.Fatalf("History(de, Apr) has %d versions, want 2: %+v", len(h), h)
	}
	if h[0].Restated || !h[0].Amount.Equal(decimal.FromInt(100)) || h[0].By != "loader" || h[0].Reason != "" {
		t.Errorf("History(de, Apr)[0] = %+v, want the recording of 100 by loader", h[0])
	}
	if !h[1].Restated || !h[1].Amount.Equal(decimal.FromInt(120)) || h[1].By != "dora" || h[1].Reason != "late invoice" ||
		h[1].Position != m.Restated || !h[1].RecordedAt.Equal(given.At(m.Restated)) {
		t.Errorf("History(de, Apr)[1] = %+v, want the restatement to 120 by dora at %v", h[1], m.Restated)
	}
	if h := c.History(given.DE, "revenue", given.Apr, eventstore.Position{Commit: m.Restated.Commit - 1, Prepare: m.Restated.Commit - 1}); len(h) != 1 {
		t.Errorf("History(de, Apr) before the restatement has %d versions, want 1", len(h))
	}
	if h := c.History(given.US, "revenue", given.May, vintage.Latest); h != nil {
		t.Errorf("History(us, May) = %+v, want none", h)
	}
}

func TestClosingsAndCells(t *testing.T) {
	c, m := scenario(t)
	before := eventstore.Position{Commit: m.AprClosed.Commit - 1, Prepare: m.AprClosed.Commit - 1}
	if !c.IsClosed(given.Apr, vintage.Latest) || c.IsClosed(given.Apr, before) || c.IsClosed(given.May, vintage.Latest) {
		t.Errorf("IsClosed: April latest %v (want true), April before its close %v (want false), May %v (want false)",
			c.IsClosed(given.Apr, vintage.Latest), c.IsClosed(given.Apr, before), c.IsClosed(given.May, vintage.Latest))
	}
	if p, ok := c.LastClosed(vintage.Latest); !ok || p != given.Apr {
		t.Errorf("LastClosed() = %v, %v; want April", p, ok)
	}
	if _, ok := c.LastClosed(before); ok {
		t.Error("LastClosed before the close found one")
	}
	cl := c.Closed(vintage.Latest)
	if len(cl) != 1 || cl[0].By != "ops" || cl[0].Position != m.AprClosed {
		t.Errorf("Closed() = %+v, want April by ops at %v", cl, m.AprClosed)
	}
	if got := c.Cells(vintage.Latest); len(got) != 3 || got[0] != given.DE || got[2] != given.US {
		t.Errorf("Cells() = %v, want de, fr, us in recording order", got)
	}
	if got := c.Cells(eventstore.Position{Commit: m.ActualsRecorded.Commit - 1, Prepare: m.ActualsRecorded.Commit - 1}); len(got) != 2 {
		t.Errorf("Cells() before us was recorded = %v, want 2", got)
	}
	if got := c.Metrics(vintage.Latest); len(got) != 1 || got[0] != "revenue" {
		t.Errorf("Metrics() = %v, want [revenue]", got)
	}
	if got := c.PositionAt(given.At(m.Restated)); got != m.Restated {
		t.Errorf("PositionAt(time of the restatement) = %v, want %v", got, m.Restated)
	}
}

func TestApplyRejectsMismatchAndIgnoresRepeats(t *testing.T) {
	l, _ := given.Scenario()
	c := cube.New()
	if err := l.ApplyTo(c); err != nil {
		t.Fatal(err)
	}
	e := l.Events[len(l.Events)-1]
	bad := e.Rec
	bad.Position = eventstore.Position{Commit: 1000, Prepare: 1000}
	bad.Type = "ledger.ActualRecorded"
	if err := c.Apply(bad, e.Value); !errors.Is(err, cube.ErrEventMismatch) {
		t.Errorf("Apply(a PeriodClosed named ActualRecorded) = %v, want ErrEventMismatch", err)
	}
	if c.Position() != e.Rec.Position {
		t.Errorf("after a failed Apply the cube is at %v, want %v", c.Position(), e.Rec.Position)
	}
	// A repeated event changes nothing.
	for _, ev := range l.Events {
		if err := c.Apply(ev.Rec, ev.Value); err != nil {
			t.Fatal(err)
		}
	}
	if a, _ := c.Actual(dimension.Total, "revenue", given.Apr, vintage.Latest); !a.Value.Equal(decimal.FromInt(240)) {
		t.Errorf("after replaying every event again the total is %v, want 240", a.Value)
	}
}

// TestReopenedPeriod: a reopened period is open from its reopen on, and
// closed again from its next close; as of earlier positions it reads as
// it stood then.
func TestReopenedPeriod(t *testing.T) {
	c, m := scenario(t)
	at := func(n uint64) eventstore.Position { return eventstore.Position{Commit: n, Prepare: n} }
	stream := ledger.Stream(given.Apr)
	for _, e := range []struct {
		rec eventstore.RecordedEvent
		ev  any
	}{
		{eventstore.RecordedEvent{Stream: stream, Type: ledger.TypePeriodReopened, Position: at(1000)}, ledger.PeriodReopened{Period: given.Apr, Reason: "late", By: "ops"}},
		{eventstore.RecordedEvent{Stream: stream, Type: ledger.TypePeriodClosed, Position: at(1001)}, ledger.PeriodClosed{Period: given.Apr, By: "controller"}},
	} {
		if err := c.Apply(e.rec, e.ev); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		asOf   eventstore.Position
		closed bool
		by     string
	}{
		{m.AprClosed, true, "ops"},
		{at(999), true, "ops"},
		{at(1000), false, ""},
		{at(1001), true, "controller"},
	} {
		_, last := c.LastClosed(tt.asOf)
		cl := c.Closed(tt.asOf)
		if c.IsClosed(given.Apr, tt.asOf) != tt.closed || last != tt.closed || (len(cl) == 1) != tt.closed || (tt.closed && cl[0].By != tt.by) {
			t.Errorf("as of %v: IsClosed %v, LastClosed %v, Closed %+v; want closed %v by %q", tt.asOf, c.IsClosed(given.Apr, tt.asOf), last, cl, tt.closed, tt.by)
		}
	}
}
