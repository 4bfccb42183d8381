package plan

import (
	"errors"
	"fmt"
	"slices"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/text"
)

// TypeModelPinned is the stable type name of ModelPinned.
const TypeModelPinned = "plan.ModelPinned"

// MethodAuto is the pin that lets the forecaster choose (forecasting.Auto):
// pinning it removes a pin.
const MethodAuto = "auto"

// ModelPinned records that the statistical forecasts of metric ("" for
// every metric) of the cells under node (the total for every cell) are made
// with Method instead of the automatic choice; MethodAuto removes the pin.
type ModelPinned struct {
	Metric string         `json:"metric,omitempty"`
	Node   dimension.Node `json:"node"`
	Method string         `json:"method"`
	By     string         `json:"by"`
	Reason string         `json:"reason"`
}

func (ModelPinned) planEvent() {}

// ModelPin is a pin in force.
type ModelPin struct {
	Metric string
	Node   dimension.Node
	Method string
}

// PinModel records (ModelPinned) that metric's forecasts of the cells under
// node are made with method, one of methods (the forecaster's method
// names, given by the caller) or MethodAuto to remove the pin. It returns
// ErrNotOpened, ErrActorRequired, ErrReasonRequired and ErrInvalid naming
// an unknown method or metric. Pinning what is in force records nothing.
func (p *Plan) PinModel(metric string, node dimension.Node, method string, methods []string, by, reason string) error {
	if err := p.opened(); err != nil {
		return err
	}
	var errs []error
	if method != MethodAuto && !slices.Contains(methods, method) {
		errs = append(errs, fmt.Errorf("%w: method %q: want %s or one of %v", ErrInvalid, method, MethodAuto, methods))
	}
	if metric != "" && !p.measures(metric) {
		errs = append(errs, fmt.Errorf("%w: metric %q is not a measured metric of plan %s", ErrInvalid, metric, p.id))
	}
	errs = append(errs, text.Check("actor", by, MaxTextLen, ErrActorRequired, ErrInvalid),
		text.Check("reason", reason, MaxTextLen, ErrReasonRequired, ErrInvalid))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	k := slices.IndexFunc(p.pins, func(x ModelPin) bool { return x.Metric == metric && x.Node == node })
	if k >= 0 && p.pins[k].Method == method || k < 0 && method == MethodAuto {
		return nil
	}
	p.record(ModelPinned{Metric: metric, Node: node, Method: method, By: by, Reason: reason})
	return nil
}

func (p *Plan) applyPinned(e ModelPinned) {
	p.pins = slices.DeleteFunc(p.pins, func(x ModelPin) bool { return x.Metric == e.Metric && x.Node == e.Node })
	if e.Method != MethodAuto {
		p.pins = append(p.pins, ModelPin{Metric: e.Metric, Node: e.Node, Method: e.Method})
	}
}

// ModelPins returns the pins in force, in the order set.
func (p *Plan) ModelPins() []ModelPin { return slices.Clone(p.pins) }

// PinOf returns the pin that decides metric's forecast of cell: of the pins
// whose node contains it (given dims), one of the metric's own before one
// of every metric, then the one naming the most dimensions, then the
// latest set; false when none does.
func (p *Plan) PinOf(metric string, cell dimension.Node, dims []*dimension.Dimension) (ModelPin, bool) {
	var best ModelPin
	found := false
	better := func(x ModelPin) bool {
		if !found {
			return true
		}
		if (x.Metric != "") != (best.Metric != "") {
			return x.Metric != ""
		}
		return len(x.Node.Coords()) >= len(best.Node.Coords())
	}
	for _, x := range p.pins {
		if (x.Metric == "" || x.Metric == metric) && x.Node.Contains(cell, dims...) && better(x) {
			best, found = x, true
		}
	}
	return best, found
}
