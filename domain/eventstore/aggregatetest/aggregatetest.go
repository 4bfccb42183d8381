// Package aggregatetest checks the outcome of a command in given/when/then
// tests of event-sourced aggregates: given events, when a command, then
// these events (or these errors, and no events).
package aggregatetest

import (
	"errors"
	"reflect"
	"testing"

	"github.com/concord-planning/concord/domain/eventstore"
)

// Then checks the outcome of a command on a: err must match every error of
// wantErr (errors.Is), or be nil when wantErr is empty; and the events the
// command recorded must equal then (nil when it recorded none).
func Then[A eventstore.Aggregate[E], E any](t testing.TB, a A, err error, then []E, wantErr []error) {
	t.Helper()
	for _, want := range wantErr {
		if !errors.Is(err, want) {
			t.Errorf("error = %v, want %v", err, want)
		}
	}
	if len(wantErr) == 0 && err != nil {
		t.Fatalf("unexpected error %v", err)
	}
	if got := a.Changes(); !reflect.DeepEqual(got, then) {
		t.Errorf("Changes() = %#v\nwant %#v", got, then)
	}
}
