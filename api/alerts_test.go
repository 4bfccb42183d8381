package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/concord-planning/concord/api"
	"github.com/concord-planning/concord/domain/alert"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/planning"
)

// TestAlertInbox: a planner defines a rule over EMEA and the Americas;
// both conditions hold (recorded as the alert process would); each sales
// principal sees and acknowledges only the alert of its scope, as itself.
func TestAlertInbox(t *testing.T) {
	e := newEnv(t, api.Config{})
	e.openPlan()
	rule := `{"id":"fy-risk","kind":"probability_below","nodes":["region=emea","region=amer"],"metric":"revenue","year":2027,"threshold":0.5,"severity":"critical","owners":["role:sales"]}`
	if w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/alert-rules", as: "alice", body: rule}); w.Code != http.StatusCreated {
		t.Fatalf("define rule = %d %s", w.Code, w.Body)
	}
	if w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/alert-rules", as: "alice",
		body: `{"id":"bad","kind":"probability_below","nodes":["region=mars"],"metric":"profit","year":2027,"threshold":50,"severity":"critical"}`}); w.Code != http.StatusUnprocessableEntity {
		t.Errorf("define a bad rule = %d %s, want 422", w.Code, w.Body)
	}
	books := eventstore.NewRepository(e.store, planning.NewRegistry(), alert.New)
	pos := e.head()
	if _, err := books.Update(context.Background(), alert.Stream("fy27"), eventstore.Any, eventstore.Command{}, func(b *alert.Book) error {
		for _, n := range []string{"region=emea", "region=amer"} {
			if err := b.Observe(alert.Observation{Rule: "fy-risk", Node: dimension.MustParseNode(n), Holds: true, After: 0.3, Position: pos}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	inbox := func(as string) []api.Alert {
		t.Helper()
		w := e.do(req{method: "GET", path: "/api/v1/plans/fy27/alerts?open=true", as: as})
		var out []api.Alert
		if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &out) != nil {
			t.Fatalf("GET alerts as %s = %d %s", as, w.Code, w.Body)
		}
		return out
	}
	if got := inbox("alice"); len(got) != 2 {
		t.Errorf("alice's inbox holds %d alerts, want 2", len(got))
	}
	sam := inbox("sam")
	if len(sam) != 1 || sam[0].Node != "region=emea" {
		t.Fatalf("sam's inbox = %+v, want the EMEA alert only", sam)
	}
	amer := inbox("ann")[0].ID
	if w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/alerts/" + amer + "/acknowledge", as: "sam", body: `{"comment":"not mine"}`}); w.Code != http.StatusNotFound {
		t.Errorf("sam acknowledges the Americas alert = %d, want 404", w.Code)
	}
	if w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/alerts/" + sam[0].ID + "/acknowledge", as: "sam", body: `{"comment":"on it","by":"ceo"}`}); w.Code != http.StatusBadRequest {
		t.Errorf("acknowledge naming its own principal = %d, want 400", w.Code)
	}
	if w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/alerts/" + sam[0].ID + "/acknowledge", as: "sam", body: `{"comment":"on it"}`}); w.Code != http.StatusOK {
		t.Fatalf("acknowledge = %d %s", w.Code, w.Body)
	}
	if w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/alerts/" + sam[0].ID + "/acknowledge", as: "alice", body: `{"comment":"again"}`}); w.Code != http.StatusConflict {
		t.Errorf("acknowledge twice = %d, want 409", w.Code)
	}
	if ack := inbox("sam")[0].Acknowledged; ack == nil || ack.By != "token:sam" || ack.Comment != "on it" {
		t.Errorf("acknowledgement = %+v, want token:sam's", ack)
	}
	if w := e.do(req{method: "POST", path: "/api/v1/plans/fy27/alert-rules/fy-risk/remove", as: "alice", body: `{}`}); w.Code != http.StatusOK {
		t.Fatalf("remove rule = %d %s", w.Code, w.Body)
	}
	if got := inbox("alice"); len(got) != 0 {
		t.Errorf("%d open alerts after the rule's removal, want 0", len(got))
	}
	if w := e.do(req{method: "GET", path: "/api/v1/plans/fy27/dead-letters", as: "admin"}); w.Code != http.StatusOK || w.Body.String() != "[]\n" {
		t.Errorf("dead letters = %d %q, want an empty list", w.Code, w.Body)
	}
}
