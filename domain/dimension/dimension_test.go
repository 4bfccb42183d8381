package dimension

import (
	"errors"
	"github.com/concord-planning/concord/domain/eventstore/aggregatetest"
	"reflect"
	"slices"
	"testing"
)

// region is the history of a small Region dimension:
// world > emea > dach > {de, at}, world > amer > us.
var region = []Event{
	Defined{ID: "region", Name: "Region", RootID: "world", RootName: "World"},
	MemberAdded{ID: "emea", Name: "EMEA", Parent: "world"},
	MemberAdded{ID: "dach", Name: "DACH", Parent: "emea"},
	MemberAdded{ID: "de", Name: "Germany", Parent: "dach"},
	MemberAdded{ID: "at", Name: "Austria", Parent: "dach"},
	MemberAdded{ID: "amer", Name: "Americas", Parent: "world"},
	MemberAdded{ID: "us", Name: "United States", Parent: "amer"},
}

// given replays events into a new dimension.
func given(events ...Event) *Dimension {
	d := New()
	for _, e := range events {
		d.Apply(e)
	}
	return d
}

func with(base []Event, more ...Event) []Event { return append(slices.Clone(base), more...) }

func TestCommands(t *testing.T) {
	tests := []struct {
		name    string
		given   []Event
		when    func(d *Dimension) error
		then    []Event
		wantErr []error // every error the command must report
		member  string  // the member a *MemberError must name
	}{
		{
			name: "define",
			when: func(d *Dimension) error { return d.Define("region", " Region ", "world", "World") },
			then: []Event{Defined{ID: "region", Name: "Region", RootID: "world", RootName: "World"}},
		},
		{
			name:    "define twice",
			given:   region,
			when:    func(d *Dimension) error { return d.Define("region", "Region", "world", "World") },
			wantErr: []error{ErrAlreadyDefined},
		},
		{
			name:    "define reports every bad argument",
			when:    func(d *Dimension) error { return d.Define("bad id", "", "-root", " ") },
			wantErr: []error{ErrInvalidID, ErrInvalidName},
		},
		{
			name:  "add",
			given: region,
			when:  func(d *Dimension) error { return d.Add("ch", "Switzerland", "dach") },
			then:  []Event{MemberAdded{ID: "ch", Name: "Switzerland", Parent: "dach"}},
		},
		{
			name:    "add before define",
			when:    func(d *Dimension) error { return d.Add("ch", "Switzerland", "dach") },
			wantErr: []error{ErrNotDefined},
		},
		{
			name:    "add under unknown parent",
			given:   region,
			when:    func(d *Dimension) error { return d.Add("ch", "Switzerland", "alps") },
			wantErr: []error{ErrUnknownMember}, member: "ch",
		},
		{
			name:    "add duplicate id",
			given:   region,
			when:    func(d *Dimension) error { return d.Add("de", "Deutschland", "emea") },
			wantErr: []error{ErrDuplicateMember}, member: "de",
		},
		{
			name:    "add id of a retired member",
			given:   with(region, MemberRetired{ID: "us"}),
			when:    func(d *Dimension) error { return d.Add("us", "USA", "amer") },
			wantErr: []error{ErrDuplicateMember}, member: "us",
		},
		{
			name:    "add under a retired member",
			given:   with(region, MemberRetired{ID: "us"}),
			when:    func(d *Dimension) error { return d.Add("ny", "New York", "us") },
			wantErr: []error{ErrRetired}, member: "ny",
		},
		{
			name:    "add reports id, name and parent problems at once",
			given:   region,
			when:    func(d *Dimension) error { return d.Add("a b", "", "nowhere") },
			wantErr: []error{ErrInvalidID, ErrInvalidName, ErrUnknownMember},
		},
		{
			name:    "add with a too long id",
			given:   region,
			when:    func(d *Dimension) error { return d.Add(string(make([]byte, 65)), "x", "world") },
			wantErr: []error{ErrInvalidID},
		},
		{
			name:  "rename",
			given: region,
			when:  func(d *Dimension) error { return d.Rename("de", "Deutschland") },
			then:  []Event{MemberRenamed{ID: "de", From: "Germany", To: "Deutschland"}},
		},
		{
			name:  "rename to the same name records nothing",
			given: region,
			when:  func(d *Dimension) error { return d.Rename("de", "Germany") },
		},
		{
			name:    "rename to blank",
			given:   region,
			when:    func(d *Dimension) error { return d.Rename("de", "  ") },
			wantErr: []error{ErrInvalidName}, member: "de",
		},
		{
			name:    "rename unknown",
			given:   region,
			when:    func(d *Dimension) error { return d.Rename("fr", "France") },
			wantErr: []error{ErrUnknownMember}, member: "fr",
		},
		{
			name:    "rename retired",
			given:   with(region, MemberRetired{ID: "at"}),
			when:    func(d *Dimension) error { return d.Rename("at", "Österreich") },
			wantErr: []error{ErrRetired}, member: "at",
		},
		{
			name:  "move",
			given: region,
			when:  func(d *Dimension) error { return d.Move("dach", "world") },
			then:  []Event{MemberMoved{ID: "dach", FromParent: "emea", ToParent: "world"}},
		},
		{
			name:  "move to the same parent records nothing",
			given: region,
			when:  func(d *Dimension) error { return d.Move("dach", "emea") },
		},
		{
			name:    "move under itself",
			given:   region,
			when:    func(d *Dimension) error { return d.Move("dach", "dach") },
			wantErr: []error{ErrCycle}, member: "dach",
		},
		{
			name:    "move under a descendant",
			given:   region,
			when:    func(d *Dimension) error { return d.Move("emea", "de") },
			wantErr: []error{ErrCycle}, member: "emea",
		},
		{
			name:    "move the root",
			given:   region,
			when:    func(d *Dimension) error { return d.Move("world", "emea") },
			wantErr: []error{ErrRoot}, member: "world",
		},
		{
			name:    "move under unknown",
			given:   region,
			when:    func(d *Dimension) error { return d.Move("de", "apac") },
			wantErr: []error{ErrUnknownMember}, member: "de",
		},
		{
			name:    "move under retired",
			given:   with(region, MemberRetired{ID: "us"}),
			when:    func(d *Dimension) error { return d.Move("de", "us") },
			wantErr: []error{ErrRetired}, member: "de",
		},
		{
			name:  "retire a leaf",
			given: region,
			when:  func(d *Dimension) error { return d.Retire("at") },
			then:  []Event{MemberRetired{ID: "at"}},
		},
		{
			name:  "retire a member whose children are all retired",
			given: with(region, MemberRetired{ID: "us"}),
			when:  func(d *Dimension) error { return d.Retire("amer") },
			then:  []Event{MemberRetired{ID: "amer"}},
		},
		{
			name:    "retire with active children",
			given:   region,
			when:    func(d *Dimension) error { return d.Retire("dach") },
			wantErr: []error{ErrActiveChildren}, member: "dach",
		},
		{
			name:    "retire the root",
			given:   region,
			when:    func(d *Dimension) error { return d.Retire("world") },
			wantErr: []error{ErrRoot}, member: "world",
		},
		{
			name:  "remove a leaf added by mistake",
			given: region,
			when:  func(d *Dimension) error { return d.Remove("us") },
			then:  []Event{MemberRemoved{ID: "us", Name: "United States", Parent: "amer"}},
		},
		{
			name:    "remove a member with children, even retired ones",
			given:   with(region, MemberRetired{ID: "us"}),
			when:    func(d *Dimension) error { return d.Remove("amer") },
			wantErr: []error{ErrActiveChildren}, member: "amer",
		},
		{
			name:    "remove the root",
			given:   region,
			when:    func(d *Dimension) error { return d.Remove("world") },
			wantErr: []error{ErrRoot}, member: "world",
		},
		{
			name:    "remove an unknown member",
			given:   region,
			when:    func(d *Dimension) error { return d.Remove("xx") },
			wantErr: []error{ErrUnknownMember}, member: "xx",
		},
		{
			name:    "add the id of a removed member",
			given:   with(region, MemberRemoved{ID: "us", Name: "United States", Parent: "amer"}),
			when:    func(d *Dimension) error { return d.Add("us", "USA", "amer") },
			wantErr: []error{ErrDuplicateMember}, member: "us",
		},
		{
			name:  "a parent whose child was removed is a leaf again and can be removed",
			given: with(region, MemberRemoved{ID: "us", Name: "United States", Parent: "amer"}),
			when:  func(d *Dimension) error { return d.Remove("amer") },
			then:  []Event{MemberRemoved{ID: "amer", Name: "Americas", Parent: "world"}},
		},
		{
			name:    "retire twice",
			given:   with(region, MemberRetired{ID: "at"}),
			when:    func(d *Dimension) error { return d.Retire("at") },
			wantErr: []error{ErrRetired}, member: "at",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := given(tt.given...)
			err := tt.when(d)
			aggregatetest.Then(t, d, err, tt.then, tt.wantErr)
			if tt.member != "" {
				var me *MemberError
				if !errors.As(err, &me) || me.Member != tt.member {
					t.Errorf("error %v does not name member %q", err, tt.member)
				}
			}
		})
	}
}

func TestReadMethods(t *testing.T) {
	d := given(with(region,
		MemberMoved{ID: "dach", FromParent: "emea", ToParent: "world"},
		MemberAdded{ID: "ch", Name: "Switzerland", Parent: "dach"},
		MemberRetired{ID: "at"},
	)...)
	if got, want := d.Children("world"), []string{"emea", "amer", "dach"}; !slices.Equal(got, want) {
		t.Errorf("Children(world) = %v, want %v", got, want)
	}
	if got, want := d.Children("dach"), []string{"de", "ch"}; !slices.Equal(got, want) {
		t.Errorf("Children(dach) = %v, want %v (retired at skipped)", got, want)
	}
	if got, want := d.Leaves("world"), []string{"emea", "us", "de", "ch"}; !slices.Equal(got, want) {
		t.Errorf("Leaves(world) = %v, want %v", got, want)
	}
	if got := d.Leaves("at"); got != nil {
		t.Errorf("Leaves(at) = %v, want nil for a retired member", got)
	}
	if got, want := d.Ancestors("de"), []string{"dach", "world"}; !slices.Equal(got, want) {
		t.Errorf("Ancestors(de) = %v, want %v", got, want)
	}
	if got, want := d.Path("ch"), []string{"world", "dach", "ch"}; !slices.Equal(got, want) {
		t.Errorf("Path(ch) = %v, want %v", got, want)
	}
	if got := d.Path("nowhere"); got != nil {
		t.Errorf("Path(nowhere) = %v, want nil", got)
	}
	for id, want := range map[string]bool{"emea": true, "de": true, "dach": false, "at": false, "world": false, "x": false} {
		if got := d.IsLeaf(id); got != want {
			t.Errorf("IsLeaf(%s) = %v, want %v", id, got, want)
		}
	}
	for _, c := range []struct {
		anc, id string
		want    bool
	}{{"world", "de", true}, {"dach", "de", true}, {"de", "de", true}, {"emea", "de", false}, {"de", "dach", false}, {"x", "de", false}} {
		if got := d.Covers(c.anc, c.id); got != c.want {
			t.Errorf("Covers(%s, %s) = %v, want %v", c.anc, c.id, got, c.want)
		}
	}
	m, ok := d.Member("at")
	if want := (Member{ID: "at", Name: "Austria", Parent: "dach", Retired: true}); !ok || m != want {
		t.Errorf("Member(at) = %+v, %v, want %+v", m, ok, want)
	}
	if got := len(d.Members()); got != 8 {
		t.Errorf("len(Members()) = %d, want 8", got)
	}
	if d.ID() != "region" || d.Name() != "Region" || d.Root() != "world" {
		t.Errorf("ID, Name, Root = %q, %q, %q", d.ID(), d.Name(), d.Root())
	}
}

// TestReplay runs commands, replays what they recorded into a new
// dimension, and expects the same state.
func TestReplay(t *testing.T) {
	d, err := Define("product", "Product", "all", "All products")
	if err != nil {
		t.Fatal(err)
	}
	steps := []error{
		d.Add("pumps", "Pumps", "all"),
		d.Add("valves", "Valves", "all"),
		d.Add("p1", "Pump P1", "pumps"),
		d.Add("p2", "Pump P2", "pumps"),
		d.Move("p2", "valves"),
		d.Rename("p1", "Pump P1 mk2"),
		d.Retire("p2"),
	}
	if err := errors.Join(steps...); err != nil {
		t.Fatal(err)
	}
	back := given(d.Changes()...)
	d.changes = nil
	if !reflect.DeepEqual(back, d) {
		t.Errorf("replayed state\n%+v\nwant\n%+v", back, d)
	}
}

func TestValidID(t *testing.T) {
	for s, want := range map[string]bool{
		"emea": true, "EMEA-1": true, "a.b_c": true, "0": true,
		"": false, "-a": false, "_a": false, "a b": false, "a=b": false, "a;b": false, "é": false,
		string(make([]byte, 64)): false,
	} {
		if got := ValidID(s); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", s, got, want)
		}
	}
	long := "a"
	for len(long) < 64 {
		long += "b"
	}
	if !ValidID(long) || ValidID(long+"c") {
		t.Errorf("ValidID accepts up to 64 bytes: %v, %v", ValidID(long), ValidID(long+"c"))
	}
}

// TestClone: a clone equals the dimension replayed from the same events,
// and commands on the clone (which change members and their children in
// place) leave the original as it was.
func TestClone(t *testing.T) {
	d := given(region...)
	c := d.Clone()
	if !reflect.DeepEqual(c, d) {
		t.Fatalf("clone\n%+v\nwant\n%+v", c, d)
	}
	steps := []error{
		c.Move("at", "amer"),
		c.Rename("de", "Deutschland"),
		c.Retire("us"),
		c.Add("fr", "France", "emea"),
		c.Remove("fr"),
	}
	if err := errors.Join(steps...); err != nil {
		t.Fatal(err)
	}
	if want := given(region...); !reflect.DeepEqual(d, want) {
		t.Errorf("original after commands on its clone\n%+v\nwant it unchanged\n%+v", d, want)
	}
	back := given(with(region, c.Changes()...)...)
	back.changes = c.Changes()
	if !reflect.DeepEqual(c, back) {
		t.Errorf("clone after commands\n%+v\nwant the replay of its events\n%+v", c, back)
	}
}
