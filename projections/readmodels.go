package projections

import (
	"context"
	"errors"
	"fmt"

	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/projections/catalog"
	"github.com/concord-planning/concord/projections/history"
	"github.com/concord-planning/concord/projections/rolling"
)

// Folder is a read model that folds events without I/O, and so without a
// context: the business read models (catalog, rolling, history, …). It
// meets the Projection contract otherwise.
type Folder interface {
	Apply(rec eventstore.RecordedEvent, event any) error
}

// Folded adapts a Folder to Projection; Model is the read model.
type Folded[T Folder] struct{ Model T }

// Apply folds the event into the model; ctx is not needed.
func (f Folded[T]) Apply(_ context.Context, rec eventstore.RecordedEvent, event any) error {
	return f.Model.Apply(rec, event)
}

// RegisterFolder registers a Folder built by factory under name, as
// Register does.
func RegisterFolder[T Folder](r *Runner, name string, factory func() T) (*Model[Folded[T]], error) {
	return Register(r, name, func() Folded[T] { return Folded[T]{Model: factory()} })
}

// The names the business read models are registered under.
const (
	CatalogModel = "catalog"
	RollingModel = "rolling"
	HistoryModel = "history"
)

// ReadModels are the business read models of Concord: the dimensions
// catalog, the rolling plan (which owns the actuals cube and the plan
// state) and the audit history. Each accessor returns the instance in
// service: hold it for one query only, since a Rebuild may swap in another.
// ReadModels is safe for concurrent use.
type ReadModels struct {
	catalog *Model[Folded[*catalog.Catalog]]
	rolling *Model[Folded[*rolling.Plans]]
	history *Model[Folded[*history.Log]]
}

// RegisterReadModels registers the business read models on r under
// CatalogModel, RollingModel and HistoryModel, and returns their handles.
// Register them before Run, so that they catch up in one replay. It
// returns ErrDuplicateConsumer when one of the names is taken.
func RegisterReadModels(r *Runner) (*ReadModels, error) {
	m := &ReadModels{}
	var err error
	if m.catalog, err = RegisterFolder(r, CatalogModel, catalog.New); err != nil {
		return nil, err
	}
	if m.rolling, err = RegisterFolder(r, RollingModel, rolling.New); err != nil {
		return nil, err
	}
	if m.history, err = RegisterFolder(r, HistoryModel, history.New); err != nil {
		return nil, err
	}
	return m, nil
}

func newReadModels() *ReadModels {
	return &ReadModels{
		catalog: newModel(CatalogModel, func() Folded[*catalog.Catalog] { return Folded[*catalog.Catalog]{catalog.New()} }),
		rolling: newModel(RollingModel, func() Folded[*rolling.Plans] { return Folded[*rolling.Plans]{rolling.New()} }),
		history: newModel(HistoryModel, func() Folded[*history.Log] { return Folded[*history.Log]{history.New()} }),
	}
}

// Catalog returns the dimensions catalog in service.
func (m *ReadModels) Catalog() *catalog.Catalog { return m.catalog.Current().Model }

// Rolling returns the rolling plan in service; its Cube and State serve
// the actuals and plan-state queries.
func (m *ReadModels) Rolling() *rolling.Plans { return m.rolling.Current().Model }

// History returns the audit history in service.
func (m *ReadModels) History() *history.Log { return m.history.Current().Model }

// Position returns the position every read model has applied: the least
// of theirs.
func (m *ReadModels) Position() eventstore.Position {
	p := m.catalog.Position()
	for _, q := range []eventstore.Position{m.rolling.Position(), m.history.Position()} {
		if q.Before(p) {
			p = q
		}
	}
	return p
}

// WaitFor blocks until every read model has applied the event at pos (or a
// later one), or ctx ends; see Model.WaitFor.
func (m *ReadModels) WaitFor(ctx context.Context, pos eventstore.Position) error {
	for _, w := range []interface {
		WaitFor(context.Context, eventstore.Position) error
	}{m.catalog, m.rolling, m.history} {
		if err := w.WaitFor(ctx, pos); err != nil {
			return err
		}
	}
	return nil
}

// ErrReplay is returned (wrapped, with the cause) by ReplayReadModels when
// the log cannot be replayed to its end.
var ErrReplay = errors.New("projections: replay failed")

// ReplayReadModels replays the whole log of store (from cfg.After, which
// should be the start) into fresh business read models, as a Runner's
// catch-up does: read ahead, decoded once in parallel with cfg.Registry,
// applied in position order; cfg.Progress reports events done of the total
// and the time elapsed. It returns the models, how far the replay came,
// and an error matching ErrReplay (and the cause: the store's, a
// *eventstore.DecodeError, a read model's, ctx's) if it did not reach the
// end; the models then hold every event up to Progress.Position.
func ReplayReadModels(ctx context.Context, store LogReader, cfg ReplayConfig) (*ReadModels, Progress, error) {
	m := newReadModels()
	prog, errs := replay(ctx, store, cfg, []sink{m.catalog, m.rolling, m.history}, true)
	if err := errors.Join(errs...); err != nil {
		return m, prog, fmt.Errorf("%w at %v: %w", ErrReplay, prog.Position, err)
	}
	return m, prog, nil
}
