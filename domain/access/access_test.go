package access_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/google/uuid"
)

var emea = dimension.MustParseNode("region=emea")

func issued(id, name string, role access.Role, secret string, scopes ...dimension.Node) access.TokenIssued {
	return access.TokenIssued{ID: id, Name: name, Role: role, Scopes: scopes, Hash: access.Hash(secret), By: "root"}
}

func given(events ...access.Event) *access.Tokens {
	t := access.New()
	for _, e := range events {
		t.Apply(e)
	}
	return t
}

func TestIssue(t *testing.T) {
	first := issued("t1", "alice", access.RolePlanner, "s1")
	tests := []struct {
		name  string
		given []access.Event
		issue access.TokenIssued
		want  []error // nil: accepted
	}{
		{"planner", nil, first, nil},
		{"sales with scope", nil, issued("t2", "bob", access.RoleSales, "s2", emea), nil},
		{"sales without scope", nil, issued("t2", "bob", access.RoleSales, "s2"), []error{access.ErrInvalid}},
		{"scope on planner", nil, issued("t2", "bob", access.RolePlanner, "s2", emea), []error{access.ErrInvalid}},
		{"total scope", nil, issued("t2", "bob", access.RoleSales, "s2", dimension.Total), []error{access.ErrInvalid}},
		{"scope twice", nil, issued("t2", "bob", access.RoleSales, "s2", emea, emea), []error{access.ErrInvalid}},
		{"unknown role", nil, issued("t2", "bob", "root", "s2"), []error{access.ErrInvalid}},
		{"bad id", nil, issued("-x", "bob", access.RoleViewer, "s2"), []error{access.ErrInvalid}},
		{"blank name", nil, issued("t2", " ", access.RoleViewer, "s2"), []error{access.ErrInvalid}},
		{"short hash", nil, access.TokenIssued{ID: "t2", Name: "bob", Role: access.RoleViewer, Hash: []byte{1}, By: "root"}, []error{access.ErrInvalid}},
		{"no actor", nil, access.TokenIssued{ID: "t2", Name: "bob", Role: access.RoleViewer, Hash: access.Hash("x")}, []error{access.ErrActorRequired}},
		{"same id", []access.Event{first}, issued("t1", "bob", access.RoleViewer, "s2"), []error{access.ErrDuplicate}},
		{"same name", []access.Event{first}, issued("t2", "alice", access.RoleViewer, "s2"), []error{access.ErrDuplicate}},
		{"same secret", []access.Event{first}, issued("t2", "bob", access.RoleViewer, "s1"), []error{access.ErrDuplicate}},
		{"same name after revoke", []access.Event{first, access.TokenRevoked{ID: "t1", By: "root", Reason: "left"}}, issued("t2", "alice", access.RoleViewer, "s2"), []error{access.ErrDuplicate}},
		{"everything wrong", nil, access.TokenIssued{ID: "", Name: "", Role: "x"}, []error{access.ErrInvalid, access.ErrActorRequired}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := given(tc.given...)
			err := tok.Issue(tc.issue)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Issue(%+v) = %v, want nil", tc.issue, err)
				}
				if got := tok.Changes(); len(got) != 1 || !reflect.DeepEqual(got[0], tc.issue) {
					t.Fatalf("Issue recorded %+v, want [%+v]", got, tc.issue)
				}
				if _, ok := tok.Lookup(tc.issue.Hash); !ok {
					t.Errorf("Lookup of the new hash found nothing")
				}
				return
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("Issue(%+v) = %v, want %v", tc.issue, err, w)
				}
			}
			if len(tok.Changes()) != 0 {
				t.Errorf("a refused Issue recorded %v", tok.Changes())
			}
		})
	}
}

func TestRevoke(t *testing.T) {
	first := issued("t1", "alice", access.RolePlanner, "s1")
	revoked := access.TokenRevoked{ID: "t1", By: "root", Reason: "left"}
	tests := []struct {
		name     string
		given    []access.Event
		id, by   string
		reason   string
		want     error
		recorded bool
	}{
		{"revoke", []access.Event{first}, "t1", "root", " left ", nil, true},
		{"unknown", []access.Event{first}, "t9", "root", "x", access.ErrUnknown, false},
		{"twice", []access.Event{first, revoked}, "t1", "root", "x", access.ErrRevoked, false},
		{"no reason", []access.Event{first}, "t1", "root", "", access.ErrReasonRequired, false},
		{"no actor", []access.Event{first}, "t1", "", "x", access.ErrActorRequired, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := given(tc.given...)
			err := tok.Revoke(tc.id, tc.by, tc.reason)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Revoke(%q) = %v, want %v", tc.id, err, tc.want)
			}
			if got := len(tok.Changes()) == 1; got != tc.recorded {
				t.Fatalf("Revoke recorded %v, want recorded=%v", tok.Changes(), tc.recorded)
			}
			if tc.recorded {
				if _, ok := tok.Lookup(access.Hash("s1")); ok {
					t.Errorf("Lookup found a revoked token")
				}
				if got := tok.Changes()[0]; got != (access.TokenRevoked{ID: "t1", By: "root", Reason: "left"}) {
					t.Errorf("recorded %+v", got)
				}
			}
		})
	}
}

func TestEventsRoundTrip(t *testing.T) {
	r := eventstore.NewRegistry()
	access.RegisterEvents(r)
	for _, e := range []access.Event{issued("t1", "bob", access.RoleSales, "s", emea), access.TokenRevoked{ID: "t1", By: "root", Reason: "r"}} {
		d, err := r.Encode(uuid.New(), e, eventstore.Metadata{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Decode(eventstore.RecordedEvent{Type: d.Type, SchemaVersion: d.SchemaVersion, Data: d.Data})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Errorf("Decode(Encode(%+v)) = %+v", e, got)
		}
	}
}
