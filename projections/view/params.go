package view

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/plan"
)

// Errors returned by the queries; the API maps them to problem+json.
var (
	// ErrBadParameter is matched by every *ParamError.
	ErrBadParameter = errors.New("query: bad parameter")
	// ErrNotFound is returned when a plan, node or version does not exist
	// (at the position asked about).
	ErrNotFound = errors.New("query: not found")
	// ErrForbidden is returned when the caller's roles do not allow the
	// query.
	ErrForbidden = errors.New("query: forbidden")
)

// ParamError reports one bad query or body parameter: which, the value
// given, and what is wrong with it.
type ParamError struct {
	Field  string
	Value  string
	Reason string
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("query: parameter %s=%q: %s", e.Field, e.Value, e.Reason)
}

// Is reports that e matches ErrBadParameter.
func (e *ParamError) Is(target error) bool { return target == ErrBadParameter }

// BadParam returns a *ParamError for field, whose value v is wrong for the
// reason format (with args) describes.
func BadParam(field, value, format string, args ...any) error {
	return &ParamError{Field: field, Value: value, Reason: fmt.Sprintf(format, args...)}
}

// ref is a resolved point of the log, as reported in answers.
type ref struct {
	Ref      string `json:"ref,omitempty"`
	Position string `json:"position"`
	Time     string `json:"time,omitempty"`
}

func refOf(st *State, name string) ref {
	r := ref{Ref: name, Position: st.Position.String()}
	if !st.Time.IsZero() {
		r.Time = st.Time.UTC().Format(time.RFC3339)
	}
	return r
}

// parseWhen reads a point of the log given as a position ("123" or
// "123/123"), an RFC 3339 time or a date (the end of that day, UTC). It
// returns either a position or a time.
func parseWhen(field, v string) (pos eventstore.Position, t time.Time, isPos bool, err error) {
	if v == "" {
		return eventstore.Position{}, time.Time{}, false, BadParam(field, v, "empty")
	}
	if c := v[0]; c >= '0' && c <= '9' && !strings.ContainsAny(v, "-:T") {
		p, err := eventstore.ParsePosition(v)
		if err != nil {
			return p, t, false, BadParam(field, v, "want a log position, an RFC 3339 time or a date YYYY-MM-DD")
		}
		return p, t, true, nil
	}
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		return pos, d.Add(24*time.Hour - time.Nanosecond), false, nil
	}
	if ts, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return pos, ts, false, nil
	}
	return pos, t, false, BadParam(field, v, "want a log position, an RFC 3339 time or a date YYYY-MM-DD")
}

// parseNode reads a node in canonical text and checks it against the plan's
// dimensions as known in st.
func parseNode(st *State, p *plan.Plan, field, v string) (dimension.Node, error) {
	n, err := dimension.ParseNode(v)
	if err != nil {
		return n, BadParam(field, v, "%v", err)
	}
	var dims []*dimension.Dimension
	for _, c := range n.Coords() {
		d := st.dims[c.Dimension]
		if d == nil || !slices.Contains(p.Dimensions(), c.Dimension) {
			return n, BadParam(field, v, "%q is not a dimension of plan %s", c.Dimension, p.ID())
		}
		dims = append(dims, d)
	}
	r, err := n.Resolve(dims...)
	if err != nil {
		return n, BadParam(field, v, "%v", err)
	}
	return r, nil
}
