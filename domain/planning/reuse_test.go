package planning_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/planning"
)

// TestImportIDReusedWithOtherRows: an import id names one content. The
// same rows again (amounts written otherwise) are a retry and record
// nothing; other rows under the same id are refused, each naming its row
// and field — before, they answered "recorded: 0" and were dropped.
func TestImportIDReusedWithOtherRows(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	first := []planning.ActualRow{{Cell: "region=emea", Metric: "revenue", Period: "2027-01", Amount: "1.50"}}
	if _, err := f.svc.RecordActuals(ctx, planner, planning.RecordActuals{Plan: "p1", ImportID: "erp-1", Rows: first}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		rows  []planning.ActualRow
		retry bool
		field string // of the refused row
	}{
		{"same rows", first, true, ""},
		{"same amount, written otherwise", []planning.ActualRow{{Cell: "region=emea", Metric: "revenue", Period: "2027-01", Amount: "1.5"}}, true, ""},
		{"another amount", []planning.ActualRow{{Cell: "region=emea", Metric: "revenue", Period: "2027-01", Amount: "1.51"}}, false, "amount"},
		{"a row more", []planning.ActualRow{
			{Cell: "region=emea", Metric: "revenue", Period: "2027-01", Amount: "1.50"},
			{Cell: "region=amer", Metric: "revenue", Period: "2027-01", Amount: "2"},
		}, false, "cell"},
	} {
		t.Run(c.name, func(t *testing.T) {
			head := f.head(t)
			res, err := f.svc.RecordActuals(ctx, planner, planning.RecordActuals{Plan: "p1", ImportID: "erp-1", Rows: c.rows})
			if c.retry {
				if err != nil || !res.AlreadyImported || res.Recorded != 0 {
					t.Errorf("RecordActuals = %+v, %v; want already imported", res, err)
				}
			} else {
				var ve *planning.ValidationError
				if !errors.Is(err, ledger.ErrImportReused) || !errors.As(err, &ve) || ve.Problems[0].Field != c.field {
					t.Errorf("RecordActuals = %+v, %v; want ledger.ErrImportReused naming the row's %s", res, err, c.field)
				}
			}
			if f.head(t) != head {
				t.Errorf("the log moved from %v to %v", head, f.head(t))
			}
		})
	}
}

// TestRecordedCountsOwnWrites: when a concurrent request records the same
// import between this request's check and its append, this request
// records nothing and says so (recorded 0) — before, it counted the rows
// its first, conflicting attempt would have written, so parallel imports
// reported more rows than were stored.
func TestRecordedCountsOwnWrites(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	in := planning.RecordActuals{Plan: "p1", ImportID: "erp-9", Rows: []planning.ActualRow{
		{Cell: "region=emea", Metric: "revenue", Period: "2027-01", Amount: "1"},
		{Cell: "region=amer", Metric: "revenue", Period: "2027-02", Amount: "2"},
		{Cell: "region=emea", Metric: "revenue", Period: "2027-02", Amount: "3"},
	}}
	// The racing store lets the other request record the whole import just
	// before this request's first append to a ledger.
	other := planning.New(f.store, planning.NewRegistry())
	racing := &raceStore{Store: f.store, before: func() {
		if _, err := other.RecordActuals(ctx, planner, in); err != nil {
			t.Error(err)
		}
	}}
	res, err := planning.New(racing, planning.NewRegistry()).RecordActuals(ctx, planner, in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Recorded != 0 || !res.AlreadyImported {
		t.Errorf("RecordActuals after a concurrent import of the same rows = recorded %d, already imported %v; want 0, true", res.Recorded, res.AlreadyImported)
	}
}

// raceStore runs before once, ahead of the first append.
type raceStore struct {
	eventstore.Store
	once   sync.Once
	before func()
}

func (r *raceStore) Append(ctx context.Context, stream string, expected eventstore.ExpectedVersion, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	r.once.Do(r.before)
	return r.Store.Append(ctx, stream, expected, events...)
}
