package api

import (
	"context"
	"errors"
	"fmt"
	"github.com/concord-planning/concord/domain/alert"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/commit"
	"github.com/concord-planning/concord/domain/decimal"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/fiscal"
	"github.com/concord-planning/concord/domain/forecast"
	"github.com/concord-planning/concord/domain/ledger"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/domain/scenario"
	"github.com/concord-planning/concord/projections/view"
	"github.com/labstack/echo/v4"
)

// ProblemType is the prefix of every problem's type URI; the slug after it
// names the kind of problem.
const ProblemType = "https://concord-planning.github.io/problems/"

// Problem is an RFC 9457 problem details body, with Errors listing each
// thing wrong (row, field, value, reason).
type Problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Instance string       `json:"instance,omitempty"`
	Errors   []FieldError `json:"errors,omitempty"`
}

// FieldError is one item of Problem.Errors. Row is 1-based (a CSV file's
// line, a JSON batch's element); 0 is left out.
type FieldError struct {
	Row    int    `json:"row,omitempty"`
	Field  string `json:"field,omitempty"`
	Value  string `json:"value,omitempty"`
	Reason string `json:"reason"`
}

// requestError is a problem the API finds in a request before the
// application sees it: malformed JSON, unknown fields, wrong types,
// content type, size, If-Match syntax, credentials.
type requestError struct {
	status int
	slug   string
	title  string
	detail string
	errors []FieldError
	header http.Header
}

func (e *requestError) Error() string {
	return fmt.Sprintf("api: %d %s: %s", e.status, e.title, e.detail)
}

func badRequest(detail string, errs ...FieldError) *requestError {
	return &requestError{status: http.StatusBadRequest, slug: "malformed-request", title: "Malformed request", detail: detail, errors: errs}
}

// kind is the HTTP meaning of an error.
type kind struct {
	status int
	slug   string
	title  string
}

var (
	kindUnauthenticated = kind{http.StatusUnauthorized, "unauthenticated", "Authentication required"}
	kindForbidden       = kind{http.StatusForbidden, "forbidden", "Forbidden"}
	kindNotFound        = kind{http.StatusNotFound, "not-found", "Not found"}
	kindPrecondition    = kind{http.StatusPreconditionFailed, "precondition-failed", "The resource changed since the version given in If-Match"}
	kindTooLarge        = kind{http.StatusRequestEntityTooLarge, "too-large", "Request too large"}
	kindInvalid         = kind{http.StatusUnprocessableEntity, "validation", "The request is not valid"}
	kindBadParameter    = kind{http.StatusBadRequest, "bad-parameter", "Bad parameter"}
	kindConflict        = kind{http.StatusConflict, "conflict", "The request conflicts with the current state"}
	kindUnavailable     = kind{http.StatusServiceUnavailable, "unavailable", "Service unavailable"}
	kindInternal        = kind{http.StatusInternalServerError, "internal", "Internal server error"}
)

// precedence orders kinds when joined errors mix them: the first present
// wins. An input problem (422) is reported before a state conflict (409):
// fixing the input comes first.
var precedence = []kind{kindInternal, kindUnavailable, kindUnauthenticated, kindForbidden, kindBadParameter, kindNotFound, kindPrecondition, kindTooLarge, kindInvalid, kindConflict}

var (
	notFound = []error{plan.ErrNotOpened, dimension.ErrNotDefined, plan.ErrUnknownReallocation, commit.ErrUnknown,
		access.ErrUnknown, ledger.ErrNotRecorded, alert.ErrUnknownRule, alert.ErrUnknownAlert, scenario.ErrUnknown}
	conflicts = []error{plan.ErrInUse, dimension.ErrAlreadyDefined, dimension.ErrDuplicateMember, dimension.ErrRetired, dimension.ErrActiveChildren,
		plan.ErrAlreadyOpened, plan.ErrTargetExists, plan.ErrNoTarget, plan.ErrUnchanged, plan.ErrReallocationExists,
		plan.ErrReallocationClosed, plan.ErrReallocationPending, plan.ErrTargetChanged, plan.ErrTagExists, plan.ErrStale,
		ledger.ErrClosed, ledger.ErrAlreadyRecorded, ledger.ErrUnchanged, ledger.ErrImportReused, commit.ErrDuplicate, commit.ErrNotCurrent,
		commit.ErrWrongPlan, forecast.ErrAlreadyPublished, forecast.ErrAlreadyRequested, forecast.ErrMismatch,
		access.ErrDuplicate, access.ErrRevoked, eventstore.ErrDuplicateEvent, planning.ErrInUse,
		alert.ErrWrongPlan, alert.ErrAcknowledged, alert.ErrNoDelivery,
		planning.ErrPeriodOrder, planning.ErrMissingActuals, ledger.ErrNotClosed, plan.ErrIncoherent,
		scenario.ErrExists, scenario.ErrClosed, scenario.ErrWrongPlan}
	invalid = []error{planning.ErrValidation, planning.ErrFuturePeriod,
		plan.ErrInvalid, plan.ErrReasonRequired, plan.ErrActorRequired, plan.ErrUnknownMetric, plan.ErrUnknownDimension,
		plan.ErrInvalidSpan, plan.ErrNegative, plan.ErrUnbalanced, plan.ErrUnknownTag, plan.ErrUnknownVersion,
		dimension.ErrInvalidID, dimension.ErrInvalidName, dimension.ErrUnknownMember, dimension.ErrCycle, dimension.ErrRoot,
		dimension.ErrUnknownDimension, dimension.ErrNotLeaf, dimension.ErrNodeSyntax,
		ledger.ErrImportID, ledger.ErrInvalidText, ledger.ErrActorRequired, ledger.ErrReasonRequired, ledger.ErrEmptyBatch,
		ledger.ErrWrongPeriod, ledger.ErrInvalidMetric, ledger.ErrDuplicateRow,
		commit.ErrInvalid, commit.ErrCommentRequired, commit.ErrReasonRequired, commit.ErrActorRequired,
		forecast.ErrInvalid, forecast.ErrReasonRequired, forecast.ErrInvalidSeries, forecast.ErrTooLarge,
		access.ErrInvalid, access.ErrActorRequired, access.ErrReasonRequired,
		alert.ErrInvalid, alert.ErrNotWatched, alert.ErrCommentRequired, alert.ErrActorRequired,
		fiscal.ErrSyntax, fiscal.ErrRange, decimal.ErrSyntax, decimal.ErrOverflow, eventstore.ErrInvalidEvent,
		scenario.ErrInvalid, scenario.ErrTooManyChanges, scenario.ErrReasonRequired, scenario.ErrActorRequired}
)

// classify returns the kind of one error (not a joined one).
func classify(err error) kind {
	var ce *eventstore.ConflictError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		return kind{he.Code, slugOf(he.Code), http.StatusText(he.Code)}
	case errors.Is(err, planning.ErrUnauthenticated):
		return kindUnauthenticated
	case errors.Is(err, planning.ErrForbidden), errors.Is(err, plan.ErrSelfApproval), errors.Is(err, view.ErrForbidden):
		return kindForbidden
	case errors.Is(err, view.ErrBadParameter):
		return kindBadParameter // a query's parameter: which one is in errors[]
	case errors.Is(err, view.ErrNotFound):
		return kindNotFound
	case errors.As(err, &ce):
		if ce.Expected == eventstore.Any {
			return kindConflict // concurrent writers kept winning
		}
		return kindPrecondition
	case errors.Is(err, planning.ErrTooManyRows), errors.Is(err, ledger.ErrTooManyRows):
		return kindTooLarge
	case errors.Is(err, view.ErrBusy), errors.Is(err, view.ErrClosed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, eventstore.ErrClosed), errors.Is(err, ErrUnavailable):
		return kindUnavailable
	}
	for _, e := range invalid {
		if errors.Is(err, e) {
			return kindInvalid
		}
	}
	for _, e := range notFound {
		if errors.Is(err, e) {
			return kindNotFound
		}
	}
	for _, e := range conflicts {
		if errors.Is(err, e) {
			return kindConflict
		}
	}
	return kindInternal
}

func slugOf(status int) string {
	switch status {
	case http.StatusNotFound:
		return "not-found"
	case http.StatusMethodNotAllowed:
		return "method-not-allowed"
	case http.StatusRequestEntityTooLarge:
		return "too-large"
	case http.StatusTooManyRequests:
		return "rate-limited"
	case http.StatusUnsupportedMediaType:
		return "unsupported-media-type"
	case http.StatusUnauthorized:
		return "unauthenticated"
	case http.StatusForbidden:
		return "forbidden"
	}
	return "http-" + strconv.Itoa(status)
}

// leaves splits joined errors; a *planning.ValidationError is one leaf.
func leaves(err error) []error {
	if _, ok := err.(*planning.ValidationError); ok {
		return []error{err}
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}

// problemOf turns an error into a problem body.
func problemOf(err error) (Problem, http.Header) {
	var re *requestError
	if errors.As(err, &re) {
		return Problem{Type: ProblemType + re.slug, Title: re.title, Status: re.status, Detail: re.detail, Errors: re.errors}, re.header
	}
	ls := leaves(err)
	k := kindInternal
	found := map[int]bool{}
	for _, l := range ls {
		found[classify(l).status] = true
	}
	for _, p := range precedence {
		if found[p.status] {
			k = p
			break
		}
	}
	if len(ls) == 1 {
		k = classify(ls[0])
	}
	p := Problem{Type: ProblemType + k.slug, Title: k.title, Status: k.status}
	var header http.Header
	if k == kindUnavailable {
		header = http.Header{"Retry-After": {retryAfter}}
	}
	var he *echo.HTTPError
	switch {
	case k == kindInternal:
		p.Detail = "the server failed to handle the request; it has been logged"
		return p, nil
	case errors.As(err, &he):
		p.Detail = fmt.Sprint(he.Message)
		return p, header
	}
	p.Detail = err.Error()
	for _, l := range ls {
		p.Errors = append(p.Errors, fieldErrors(l)...)
	}
	if len(ls) == 1 && len(p.Errors) == 1 && p.Errors[0].Row == 0 && p.Errors[0].Field == "" {
		p.Errors = nil // the detail says it all
	}
	return p, header
}

// retryAfter is the Retry-After of a 503 (seconds): long enough for an
// analysis that outlived a query's deadline to finish in most cases.
const retryAfter = "2"

// fieldErrors lists what one error says is wrong.
func fieldErrors(err error) []FieldError {
	var (
		ve  *planning.ValidationError
		row *ledger.RowError
		me  *dimension.MemberError
		pe  *view.ParamError
	)
	switch {
	case errors.As(err, &pe):
		return []FieldError{{Field: pe.Field, Value: pe.Value, Reason: pe.Reason}}
	case errors.As(err, &ve):
		out := make([]FieldError, len(ve.Problems))
		for i, p := range ve.Problems {
			out[i] = FieldError{Row: p.Row, Field: p.Field, Value: p.Value, Reason: p.Reason}
		}
		return out
	case errors.As(err, &row):
		return []FieldError{{Row: row.Row, Field: row.Field, Value: row.Value, Reason: row.Reason}}
	case errors.As(err, &me):
		return []FieldError{{Field: "member", Value: me.Member, Reason: me.Error()}}
	}
	return []FieldError{{Reason: err.Error()}}
}

// errorHandler is the server's one echo.HTTPErrorHandler: every error a
// handler or middleware returns becomes an application/problem+json
// response. Internal errors are logged with the request id.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	p, header := problemOf(err)
	p.Instance = c.Request().URL.Path
	if p.Status >= 500 {
		s.log.ErrorContext(c.Request().Context(), "request failed", slog.String("request_id", requestID(c)),
			slog.String("method", c.Request().Method), slog.String("path", c.Request().URL.Path), slog.Any("error", err))
	}
	for k, vs := range header {
		for _, v := range vs {
			c.Response().Header().Add(k, v)
		}
	}
	if p.Status == http.StatusUnauthorized && c.Response().Header().Get(echo.HeaderWWWAuthenticate) == "" {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="concord"`)
	}
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	c.Response().WriteHeader(p.Status)
	if c.Request().Method == http.MethodHead {
		return
	}
	_ = encodeJSON(c.Response(), p)
}
