package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/plan"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/domain/planning/csvimport"
	"github.com/concord-planning/concord/domain/text"
	"github.com/labstack/echo/v4"
)

// call builds the application's Call from the request: the principal, If-Match,
// Idempotency-Key and request id.
func call(c echo.Context) (planning.Call, error) {
	exp, err := ifMatch(c.Request())
	if err != nil {
		return planning.Call{}, err
	}
	by := principalOf(c)
	key := c.Request().Header.Get(HeaderIdempotencyKey)
	if key != "" {
		// The events' ids derive from the key: namespaced by the API and
		// the principal, no client's key can match another's, nor an
		// import batch of `concord import`.
		key = "api\x00" + by.Actor + "\x00" + key
	}
	return planning.Call{By: by, IfMatch: exp, IdempotencyKey: key, CorrelationID: requestID(c)}, nil
}

// randomHex returns 16 random hex digits, for names the server chooses.
func randomHex() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// later returns the later of two log positions.
func later(a, b eventstore.Position) eventstore.Position {
	if a.Before(b) {
		return b
	}
	return a
}

// CommandResult is the answer to a command on one stream. ID names what
// the command created when the server chose the name (a reallocation
// proposed without an id); it is left out otherwise.
type CommandResult struct {
	Stream   string `json:"stream"`
	Version  uint64 `json:"version"`
	Position string `json:"position"`
	ID       string `json:"id,omitempty"`
}

func commandResult(r planning.Result) CommandResult {
	return CommandResult{Stream: r.Stream, Version: r.Version, Position: r.Position.String()}
}

// respond writes a command's result with its ETag and position; created
// answers 201 with Location.
func respond(c echo.Context, r planning.Result, location string) error {
	h := c.Response().Header()
	h.Set("ETag", etag(r.Version))
	h.Set(HeaderPosition, r.Position.String())
	if location != "" {
		h.Set(echo.HeaderLocation, location)
		return c.JSON(http.StatusCreated, commandResult(r))
	}
	return c.JSON(http.StatusOK, commandResult(r))
}

// command decodes the JSON body into a new In, builds the call, and runs
// do; its result is the response.
func command[In any](s *Server, do func(c echo.Context, call planning.Call, in In) (planning.Result, error), created func(c echo.Context, in In) string) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in In
		if err := decodeJSON(c, s.cfg.BodyLimit, &in); err != nil {
			return err
		}
		cl, err := call(c)
		if err != nil {
			return err
		}
		r, err := do(c, cl, in)
		if err != nil {
			return err
		}
		loc := ""
		if created != nil {
			loc = created(c, in)
		}
		return respond(c, r, loc)
	}
}

// --- dimensions ---

type defineDimensionIn struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	RootID   string `json:"root_id"`
	RootName string `json:"root_name"`
}

func (s *Server) defineDimension(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in defineDimensionIn) (planning.Result, error) {
		return s.svc.DefineDimension(c.Request().Context(), cl, planning.DefineDimension{ID: in.ID, Name: in.Name, RootID: in.RootID, RootName: in.RootName})
	}, func(c echo.Context, in defineDimensionIn) string {
		return "/api/v1/dimensions/" + url.PathEscape(in.ID)
	})(c)
}

type addMemberIn struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Parent string `json:"parent"`
}

func (s *Server) addMember(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in addMemberIn) (planning.Result, error) {
		return s.svc.AddMember(c.Request().Context(), cl, planning.AddMember{Dimension: c.Param("dimension"), ID: in.ID, Name: in.Name, Parent: in.Parent})
	}, nil)(c)
}

type renameMemberIn struct {
	Name string `json:"name"`
}

func (s *Server) renameMember(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in renameMemberIn) (planning.Result, error) {
		return s.svc.RenameMember(c.Request().Context(), cl, c.Param("dimension"), c.Param("member"), in.Name)
	}, nil)(c)
}

type moveMemberIn struct {
	Parent string `json:"parent"`
}

func (s *Server) moveMember(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in moveMemberIn) (planning.Result, error) {
		return s.svc.MoveMember(c.Request().Context(), cl, c.Param("dimension"), c.Param("member"), in.Parent)
	}, nil)(c)
}

type emptyIn struct{}

func (s *Server) retireMember(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, _ emptyIn) (planning.Result, error) {
		return s.svc.RetireMember(c.Request().Context(), cl, c.Param("dimension"), c.Param("member"))
	}, nil)(c)
}

func (s *Server) removeMember(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, _ emptyIn) (planning.Result, error) {
		return s.svc.RemoveMember(c.Request().Context(), cl, c.Param("dimension"), c.Param("member"))
	}, nil)(c)
}

// DimensionImportOutput answers a dimensions file: the changes it called
// for, in the order recorded (or, for a dry run, to be recorded), and the
// dimensions written.
type DimensionImportOutput struct {
	DryRun   bool                    `json:"dry_run"`
	Changes  []DimensionChangeOutput `json:"changes"`
	Written  []CommandResult         `json:"written"`
	Position string                  `json:"position"`
}

// DimensionChangeOutput is one change of a dimensions file.
type DimensionChangeOutput struct {
	Line      int    `json:"line,omitempty"`
	Kind      string `json:"kind"`
	Dimension string `json:"dimension"`
	Member    string `json:"member"`
	Name      string `json:"name"`
	Parent    string `json:"parent,omitempty"`
	From      string `json:"from,omitempty"`
	Text      string `json:"text"`
}

// importDimensions takes a dimensions file (text/csv: dimension,member,
// name,parent) and makes the store's dimensions what it describes;
// ?dry_run=true answers the changes and records nothing.
func (s *Server) importDimensions(c echo.Context) error {
	if mt := mediaType(c.Request()); mt != mediaCSV {
		return unsupported(mt, mediaCSV)
	}
	dry, err := dryRun(c)
	if err != nil {
		return err
	}
	body, err := bodyReader(c, s.cfg.UploadLimit)
	if err != nil {
		return err
	}
	rows, bad, err := csvimport.ReadMembers(body)
	if err != nil {
		return csvError(err, s.cfg.UploadLimit)
	}
	if err := s.checkRows(len(rows) + len(bad)); err != nil {
		return err
	}
	if len(bad) > 0 {
		return rowProblems(problemList(bad))
	}
	cl, err := call(c)
	if err != nil {
		return err
	}
	res, err := s.svc.ImportDimensions(c.Request().Context(), cl, rows, dry)
	if err != nil {
		return err
	}
	out := DimensionImportOutput{DryRun: dry, Changes: []DimensionChangeOutput{}, Written: []CommandResult{}}
	for _, ch := range res.Changes {
		out.Changes = append(out.Changes, DimensionChangeOutput{Line: ch.Line, Kind: string(ch.Kind), Dimension: ch.Dimension, Member: ch.Member,
			Name: ch.Name, Parent: ch.Parent, From: ch.From, Text: ch.String()})
	}
	var pos eventstore.Position
	for _, r := range res.Results {
		out.Written = append(out.Written, commandResult(r))
		pos = later(pos, r.Position)
	}
	out.Position = pos.String()
	c.Response().Header().Set(HeaderPosition, out.Position)
	return c.JSON(http.StatusOK, out)
}

// Dimension is a dimension as GET shows it.
type Dimension struct {
	ID      string         `json:"id"`
	Name    string         `json:"name"`
	Root    string         `json:"root"`
	Version uint64         `json:"version"`
	Members []MemberOutput `json:"members"`
}

// MemberOutput is one member of a Dimension.
type MemberOutput struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Parent  string `json:"parent,omitempty"`
	Retired bool   `json:"retired"`
}

func (s *Server) getDimension(c echo.Context) error {
	d, v, err := s.svc.Dimension(c.Request().Context(), principalOf(c), c.Param("dimension"))
	if err != nil {
		return err
	}
	out := Dimension{ID: d.ID(), Name: d.Name(), Root: d.Root(), Version: v, Members: []MemberOutput{}}
	for _, m := range d.Members() {
		out.Members = append(out.Members, MemberOutput{ID: m.ID, Name: m.Name, Parent: m.Parent, Retired: m.Retired})
	}
	c.Response().Header().Set("ETag", etag(v))
	return c.JSON(http.StatusOK, out)
}

// --- plans ---

type metricIn struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Unit        string `json:"unit"`
	NonNegative bool   `json:"non_negative"`
}

type openPlanIn struct {
	ID              string     `json:"id"`
	Name            string     `json:"name"`
	Currency        string     `json:"currency"`
	Metrics         []metricIn `json:"metrics"`
	FiscalYearStart uint8      `json:"fiscal_year_start"`
	Dimensions      []string   `json:"dimensions"`
	HorizonStart    string     `json:"horizon_start"`
	HorizonMonths   uint16     `json:"horizon_months"`
}

func (s *Server) openPlan(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in openPlanIn) (planning.Result, error) {
		ms := make([]plan.Metric, len(in.Metrics))
		for i, m := range in.Metrics {
			ms[i] = plan.Metric{ID: m.ID, Name: m.Name, Unit: m.Unit, NonNegative: m.NonNegative}
		}
		return s.svc.OpenPlan(c.Request().Context(), cl, planning.OpenPlan{ID: in.ID, Name: in.Name, Currency: in.Currency, Metrics: ms,
			FiscalYearStart: int(in.FiscalYearStart), Dimensions: in.Dimensions, HorizonStart: in.HorizonStart, HorizonMonths: int(in.HorizonMonths)})
	}, func(c echo.Context, in openPlanIn) string { return "/api/v1/plans/" + url.PathEscape(in.ID) })(c)
}

type renamePlanIn struct {
	Name string `json:"name"`
}

func (s *Server) renamePlan(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in renamePlanIn) (planning.Result, error) {
		return s.svc.RenamePlan(c.Request().Context(), cl, c.Param("plan"), in.Name)
	}, nil)(c)
}

type discardPlanIn struct {
	Reason string `json:"reason"`
}

func (s *Server) discardPlan(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in discardPlanIn) (planning.Result, error) {
		return s.svc.DiscardPlan(c.Request().Context(), cl, c.Param("plan"), in.Reason)
	}, nil)(c)
}

// Plan is a plan as GET shows it.
type Plan struct {
	ID              string           `json:"id"`
	Name            string           `json:"name"`
	Currency        string           `json:"currency"`
	Metrics         []metricIn       `json:"metrics"`
	FiscalYearStart int              `json:"fiscal_year_start"`
	Dimensions      []string         `json:"dimensions"`
	HorizonFirst    string           `json:"horizon_first"`
	HorizonLast     string           `json:"horizon_last"`
	Version         uint64           `json:"version"`
	ChangedAt       uint64           `json:"changed_at"`
	Tags            []TagOutput      `json:"tags"`
	Reallocations   []Reallocation   `json:"reallocations"`
	Approvals       []ApprovalOutput `json:"approvals"`
}

// TagOutput is a version tag.
type TagOutput struct {
	Tag     string `json:"tag"`
	Version uint64 `json:"version"`
	By      string `json:"by"`
}

// ApprovalOutput is a version approval.
type ApprovalOutput struct {
	Version uint64 `json:"version"`
	Tag     string `json:"tag,omitempty"`
	By      string `json:"by"`
	Comment string `json:"comment,omitempty"`
}

// Reallocation is a reallocation as GET shows it.
type Reallocation struct {
	ID     string       `json:"id"`
	Status string       `json:"status"`
	Metric string       `json:"metric"`
	Span   string       `json:"span"`
	By     string       `json:"by"`
	Moves  []MoveOutput `json:"moves"`
}

// MoveOutput is one move of a Reallocation.
type MoveOutput struct {
	Node  string `json:"node"`
	Delta string `json:"delta"`
}

func (s *Server) getPlan(c echo.Context) error {
	p, v, err := s.planAsOf(c)
	if err != nil {
		return err
	}
	h := p.Horizon()
	out := Plan{ID: p.ID(), Name: p.Name(), Currency: p.Currency(), FiscalYearStart: int(p.Calendar().StartMonth()), Dimensions: p.Dimensions(),
		HorizonFirst: h.First.String(), HorizonLast: h.Last.String(), Version: v, ChangedAt: p.ChangedAt(),
		Metrics: []metricIn{}, Tags: []TagOutput{}, Reallocations: []Reallocation{}, Approvals: []ApprovalOutput{}}
	for _, m := range p.Metrics() {
		out.Metrics = append(out.Metrics, metricIn{ID: m.ID, Name: m.Name, Unit: m.Unit, NonNegative: m.NonNegative})
	}
	for _, t := range p.Tags() {
		out.Tags = append(out.Tags, TagOutput{Tag: t.Tag, Version: t.Version, By: t.By})
	}
	for _, a := range p.Approvals() {
		out.Approvals = append(out.Approvals, ApprovalOutput{Version: a.Version, Tag: a.Tag, By: a.By, Comment: a.Comment})
	}
	for _, r := range p.Reallocations() {
		ro := Reallocation{ID: r.ID, Status: string(r.Status), Metric: r.Metric, Span: p.Calendar().Format(r.Span), By: r.By, Moves: []MoveOutput{}}
		for _, m := range r.Moves {
			ro.Moves = append(ro.Moves, MoveOutput{Node: m.Node.String(), Delta: m.Delta.String()})
		}
		out.Reallocations = append(out.Reallocations, ro)
	}
	return c.JSON(http.StatusOK, out)
}

// planAsOf returns the plan of the request's path as it stands, with its
// stream version as the response's ETag (for If-Match), or, with as_of (a
// log position, a time, a date or tag:NAME), the version known then, read
// from the read side, with its log position in X-Concord-Position and no
// ETag (there is nothing to update).
func (s *Server) planAsOf(c echo.Context) (*plan.Plan, uint64, error) {
	if asOf := c.QueryParam("as_of"); asOf != "" {
		p, pos, err := s.view.PlanAsOf(c.Request().Context(), c.Param("plan"), asOf)
		if err != nil {
			return nil, 0, err
		}
		c.Response().Header().Set(HeaderPosition, pos)
		return p, p.Version(), nil
	}
	p, v, err := s.svc.Plan(c.Request().Context(), principalOf(c), c.Param("plan"))
	if err != nil {
		return nil, 0, err
	}
	c.Response().Header().Set("ETag", etag(v))
	return p, v, nil
}

// Target is a target as GET lists it.
type Target struct {
	Node      string `json:"node"`
	Metric    string `json:"metric"`
	Span      string `json:"span"`
	Amount    string `json:"amount"`
	ChangedAt uint64 `json:"changed_at"`
}

// listTargets pages through a plan's targets, read from the query side:
// as they stand, with the plan's stream version as ETag, or as of as_of
// (as planAsOf).
func (s *Server) listTargets(c echo.Context) error {
	pg, err := pageParams(c)
	if err != nil {
		return err
	}
	asOf := c.QueryParam("as_of")
	all, p, pos, err := s.view.Targets(c.Request().Context(), c.Param("plan"), asOf) // ordered by metric, node, span
	if err != nil {
		return err
	}
	if asOf != "" {
		c.Response().Header().Set(HeaderPosition, pos)
	} else {
		c.Response().Header().Set("ETag", etag(p.Version()))
	}
	items, next, err := paginate(all, pg, func(t plan.Target) string {
		return fmt.Sprintf("%s\x00%s\x00%010d\x00%010d", t.Metric, t.Node, t.Span.First, t.Span.Last)
	})
	if err != nil {
		return err
	}
	out := Page[Target]{Items: make([]Target, len(items)), NextCursor: next}
	for i, t := range items {
		out.Items[i] = Target{Node: t.Node.String(), Metric: t.Metric, Span: p.Calendar().Format(t.Span), Amount: t.Amount.String(), ChangedAt: t.ChangedAt}
	}
	return c.JSON(http.StatusOK, out)
}

type targetIn struct {
	Node    string `json:"node"`
	Metric  string `json:"metric"`
	Span    string `json:"span"`
	Amount  amount `json:"amount"`
	Reason  string `json:"reason"`
	Cascade bool   `json:"cascade"`
}

type clearTargetIn struct {
	Node   string `json:"node"`
	Metric string `json:"metric"`
	Span   string `json:"span"`
	Reason string `json:"reason"`
}

func (s *Server) changeTarget(op planning.TargetOp) echo.HandlerFunc {
	if op == planning.OpClear {
		return func(c echo.Context) error {
			return command(s, func(c echo.Context, cl planning.Call, in clearTargetIn) (planning.Result, error) {
				return s.svc.ChangeTarget(c.Request().Context(), cl, c.Param("plan"),
					planning.TargetChange{Op: op, Node: in.Node, Metric: in.Metric, Span: in.Span, Reason: in.Reason})
			}, nil)(c)
		}
	}
	return func(c echo.Context) error {
		return command(s, func(c echo.Context, cl planning.Call, in targetIn) (planning.Result, error) {
			if in.Amount == "" {
				return planning.Result{}, badRequest(`field "amount" is required`, FieldError{Field: "amount", Reason: "required"})
			}
			return s.svc.ChangeTarget(c.Request().Context(), cl, c.Param("plan"),
				planning.TargetChange{Op: op, Node: in.Node, Metric: in.Metric, Span: in.Span, Amount: string(in.Amount), Reason: in.Reason, Cascade: in.Cascade})
		}, nil)(c)
	}
}

type targetRowIn struct {
	Op     string `json:"op"`
	Node   string `json:"node"`
	Metric string `json:"metric"`
	Span   string `json:"span"`
	Amount amount `json:"amount"`
	Reason string `json:"reason"`
}

type targetBatchIn struct {
	Rows rowList[targetRowIn] `json:"rows"`
}

// changeTargets applies a batch of target changes (JSON or CSV) as one
// command; ?dry_run=true runs every check of the batch and records nothing.
func (s *Server) changeTargets(c echo.Context) error {
	dry, err := dryRun(c)
	if err != nil {
		return err
	}
	var rows []planning.TargetChange
	switch mt := mediaType(c.Request()); mt {
	case mediaJSON:
		var in targetBatchIn
		if err := decodeJSON(c, s.cfg.UploadLimit, &in); err != nil {
			return err
		}
		if err := s.checkRows(len(in.Rows)); err != nil {
			return err
		}
		for i, r := range in.Rows {
			rows = append(rows, planning.TargetChange{Line: i + 1, Op: planning.TargetOp(r.Op), Node: r.Node, Metric: r.Metric, Span: r.Span, Amount: string(r.Amount), Reason: r.Reason})
		}
	case mediaCSV:
		body, err := bodyReader(c, s.cfg.UploadLimit)
		if err != nil {
			return err
		}
		changes, bad, err := csvimport.ReadTargets(body, s.cfg.MaxBatchRows)
		if err != nil {
			return csvError(err, s.cfg.UploadLimit)
		}
		if len(bad) > 0 {
			return rowProblems(problemList(bad))
		}
		rows = changes
	default:
		return unsupported(mt, mediaJSON, mediaCSV)
	}
	cl, err := call(c)
	if err != nil {
		return err
	}
	if dry {
		// The checks of ChangeTargets, row problems (422) and the sums the
		// batch would break (409) alike; nothing is recorded.
		if err := s.svc.CheckTargets(c.Request().Context(), cl, c.Param("plan"), rows); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, TargetCheck{DryRun: true, Rows: len(rows)})
	}
	r, err := s.svc.ChangeTargets(c.Request().Context(), cl, c.Param("plan"), rows)
	if err != nil {
		return err
	}
	return respond(c, r, "")
}

// dryRun reads ?dry_run= (default false).
func dryRun(c echo.Context) (bool, error) {
	v := c.QueryParam("dry_run")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest(`dry_run is "true" or "false"`, FieldError{Field: "dry_run", Value: v, Reason: "not a boolean"})
	}
	return b, nil
}

// TargetCheck answers a dry run of a batch of target changes: the batch
// would be taken as it is, and nothing was recorded.
type TargetCheck struct {
	DryRun bool `json:"dry_run"`
	Rows   int  `json:"rows"`
}

// checkRows refuses a batch longer than Config.MaxBatchRows (413).
func (s *Server) checkRows(n int) error {
	if n > s.cfg.MaxBatchRows {
		return &requestError{status: http.StatusRequestEntityTooLarge, slug: "too-many-rows", title: "Too many rows",
			detail: fmt.Sprintf("the batch holds %d rows, at most %d are taken at once; split it", n, s.cfg.MaxBatchRows)}
	}
	return nil
}

// rowProblems is the 422 answer to CSV rows that cannot be read as rows.
func rowProblems(errs []FieldError) error {
	return &requestError{status: http.StatusUnprocessableEntity, slug: "validation", title: "The request is not valid",
		detail: fmt.Sprintf("%d rows of the upload are not well formed; nothing was recorded", len(errs)), errors: errs}
}

type moveIn struct {
	Node  string `json:"node"`
	Delta amount `json:"delta"`
}

type proposeIn struct {
	ID     string   `json:"id"`
	Metric string   `json:"metric"`
	Span   string   `json:"span"`
	Moves  []moveIn `json:"moves"`
	Reason string   `json:"reason"`
}

// proposeReallocation records a proposal; without an id in the body the
// server names it "r-" and 16 random hex digits. The answer (201) carries
// the id beside the stream's version and position.
func (s *Server) proposeReallocation(c echo.Context) error {
	var in proposeIn
	if err := decodeJSON(c, s.cfg.BodyLimit, &in); err != nil {
		return err
	}
	cl, err := call(c)
	if err != nil {
		return err
	}
	if in.ID == "" {
		id, err := randomHex()
		if err != nil {
			return fmt.Errorf("api: naming a reallocation: %w", err)
		}
		in.ID = "r-" + id
	}
	moves := make([]planning.Move, len(in.Moves))
	for i, m := range in.Moves {
		moves[i] = planning.Move{Node: m.Node, Delta: string(m.Delta)}
	}
	r, err := s.svc.ProposeReallocation(c.Request().Context(), cl, c.Param("plan"),
		planning.ProposeReallocation{ID: in.ID, Metric: in.Metric, Span: in.Span, Moves: moves, Reason: in.Reason})
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("ETag", etag(r.Version))
	h.Set(HeaderPosition, r.Position.String())
	h.Set(echo.HeaderLocation, "/api/v1/plans/"+url.PathEscape(c.Param("plan"))+"/reallocations/"+url.PathEscape(in.ID))
	out := commandResult(r)
	out.ID = in.ID
	return c.JSON(http.StatusCreated, out)
}

type commentIn struct {
	Comment string `json:"comment"`
}

func (s *Server) approveReallocation(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in commentIn) (planning.Result, error) {
		return s.svc.ApproveReallocation(c.Request().Context(), cl, c.Param("plan"), c.Param("id"), in.Comment)
	}, nil)(c)
}

type reasonIn struct {
	Reason string `json:"reason"`
}

func (s *Server) rejectReallocation(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in reasonIn) (planning.Result, error) {
		return s.svc.RejectReallocation(c.Request().Context(), cl, c.Param("plan"), c.Param("id"), in.Reason)
	}, nil)(c)
}

type tagIn struct {
	Tag string `json:"tag"`
}

func (s *Server) tagVersion(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in tagIn) (planning.Result, error) {
		return s.svc.TagVersion(c.Request().Context(), cl, c.Param("plan"), in.Tag)
	}, nil)(c)
}

type approveIn struct {
	Version uint64 `json:"version"`
	Tag     string `json:"tag"`
	Comment string `json:"comment"`
}

func (s *Server) approveVersion(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in approveIn) (planning.Result, error) {
		return s.svc.ApproveVersion(c.Request().Context(), cl, c.Param("plan"), in.Version, in.Tag, in.Comment)
	}, nil)(c)
}

// --- actuals and periods ---

type actualRowIn struct {
	Cell   string `json:"cell"`
	Metric string `json:"metric"`
	Period string `json:"period"`
	Amount amount `json:"amount"`
}

type actualsIn struct {
	ImportID string               `json:"import_id"`
	Rows     rowList[actualRowIn] `json:"rows"`
}

// ImportOutput answers an import of actuals.
type ImportOutput struct {
	ImportID        string          `json:"import_id"`
	Recorded        int             `json:"recorded"`
	AlreadyImported bool            `json:"already_imported"`
	Periods         []CommandResult `json:"periods"`
	Position        string          `json:"position"`
	// Forecasts are the statistical forecasts the import requested (one
	// per metric of the plan), made and published in the background.
	Forecasts []ForecastRequestOutput `json:"forecasts"`
}

// ForecastRequestOutput is one requested forecast run.
type ForecastRequestOutput struct {
	RunID   string `json:"run_id"`
	Metric  string `json:"metric"`
	Through string `json:"through"`
}

func forecastRequests(reqs []planning.ForecastRequest) []ForecastRequestOutput {
	out := make([]ForecastRequestOutput, len(reqs))
	for i, r := range reqs {
		out[i] = ForecastRequestOutput{RunID: r.RunID, Metric: r.Metric, Through: r.Through.String()}
	}
	return out
}

type reforecastIn struct {
	Through string `json:"through"`
}

// ReforecastOutput answers POST /plans/{plan}/reforecast.
type ReforecastOutput struct {
	Forecasts []ForecastRequestOutput `json:"forecasts"`
	Position  string                  `json:"position"`
}

// reforecast requests a statistical forecast of every metric of the plan
// from the actuals through the given period (by default the latest period
// with actuals of any of its metrics), at once.
func (s *Server) reforecast(c echo.Context) error {
	var in reforecastIn
	if err := decodeJSON(c, s.cfg.BodyLimit, &in); err != nil {
		return err
	}
	cl, err := call(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if in.Through == "" {
		last, ok, err := s.view.LastActual(ctx, c.Param("plan"))
		if err != nil {
			return err
		}
		if !ok {
			return &requestError{status: http.StatusConflict, slug: "no-actuals", title: "No actuals to forecast from",
				detail: fmt.Sprintf("plan %q has no actuals yet: import them first (POST /api/v1/plans/%s/actuals or concord import actuals)", c.Param("plan"), c.Param("plan"))}
		}
		in.Through = last.String()
	}
	key := cl.IdempotencyKey
	if key == "" {
		if key, err = randomHex(); err != nil {
			return fmt.Errorf("api: naming a reforecast: %w", err)
		}
	}
	reqs, err := s.svc.RequestForecasts(ctx, cl, c.Param("plan"), in.Through, "reforecast-"+key, "reforecast requested by "+cl.By.Actor)
	if err != nil {
		return err
	}
	out := ReforecastOutput{Forecasts: forecastRequests(reqs)}
	var pos eventstore.Position
	for _, r := range reqs {
		pos = later(pos, r.Result.Position)
	}
	out.Position = pos.String()
	c.Response().Header().Set(HeaderPosition, out.Position)
	return c.JSON(http.StatusAccepted, out)
}

func (s *Server) recordActuals(c echo.Context) error {
	in := planning.RecordActuals{Plan: c.Param("plan")}
	switch mt := mediaType(c.Request()); mt {
	case mediaJSON:
		var body actualsIn
		if err := decodeJSON(c, s.cfg.UploadLimit, &body); err != nil {
			return err
		}
		if err := s.checkRows(len(body.Rows)); err != nil {
			return err
		}
		in.ImportID = body.ImportID
		for i, r := range body.Rows {
			in.Rows = append(in.Rows, planning.ActualRow{Line: i + 1, Cell: r.Cell, Metric: r.Metric, Period: r.Period, Amount: string(r.Amount)})
		}
	case mediaCSV:
		in.ImportID = c.QueryParam("import_id")
		if in.ImportID == "" {
			return badRequest("a CSV upload names its import in the query: ?import_id=…", FieldError{Field: "import_id", Reason: "required"})
		}
		if why := text.Problem(in.ImportID); why != "" {
			return notText("import_id", in.ImportID, why)
		}
		body, err := bodyReader(c, s.cfg.UploadLimit)
		if err != nil {
			return err
		}
		rows, bad, err := csvimport.ReadActuals(body, s.cfg.MaxBatchRows)
		if err != nil {
			return csvError(err, s.cfg.UploadLimit)
		}
		if len(bad) > 0 {
			return rowProblems(problemList(bad))
		}
		in.Rows = rows
	default:
		return unsupported(mt, mediaJSON, mediaCSV)
	}
	cl, err := call(c)
	if err != nil {
		return err
	}
	res, err := s.svc.RecordActuals(c.Request().Context(), cl, in)
	if err != nil {
		return err
	}
	out := ImportOutput{ImportID: res.ImportID, Recorded: res.Recorded, AlreadyImported: res.AlreadyImported, Periods: []CommandResult{},
		Position: res.Position.String(), Forecasts: []ForecastRequestOutput{}}
	for _, p := range res.Periods {
		out.Periods = append(out.Periods, commandResult(p))
	}
	if res.Recorded > 0 {
		reqs, err := s.svc.RequestForecasts(c.Request().Context(), cl, in.Plan, res.Last.String(), "actuals-"+res.ImportID,
			fmt.Sprintf("actuals through %v imported (%s)", res.Last, res.ImportID))
		if err != nil {
			return err
		}
		out.Forecasts = forecastRequests(reqs)
		for _, r := range reqs {
			res.Position = later(res.Position, r.Result.Position)
		}
	}
	out.Position = res.Position.String()
	c.Response().Header().Set(HeaderPosition, out.Position)
	return c.JSON(http.StatusOK, out)
}

type restateIn struct {
	Cell   string `json:"cell"`
	Metric string `json:"metric"`
	Period string `json:"period"`
	Amount amount `json:"amount"`
	Reason string `json:"reason"`
}

func (s *Server) restateActual(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in restateIn) (planning.Result, error) {
		return s.svc.RestateActual(c.Request().Context(), cl, planning.RestateActual{Plan: c.Param("plan"), Cell: in.Cell, Metric: in.Metric,
			Period: in.Period, Amount: string(in.Amount), Reason: in.Reason})
	}, nil)(c)
}

// CloseOutput answers a period close or reopen.
type CloseOutput struct {
	Period   string          `json:"period"`
	Ledger   CommandResult   `json:"ledger"`
	Plans    []CommandResult `json:"plans"`
	Position string          `json:"position"`
}

// closeIn is the body of a period close: allow_missing closes although
// cells have no actual, for the reason given.
type closeIn struct {
	AllowMissing bool   `json:"allow_missing"`
	Reason       string `json:"reason"`
}

func (s *Server) closePeriod(c echo.Context) error {
	return periodCommand(s, c, func(ctx context.Context, cl planning.Call, in closeIn) (planning.CloseResult, error) {
		return s.svc.ClosePeriod(ctx, cl, planning.ClosePeriod{Period: c.Param("period"), AllowMissing: in.AllowMissing, Reason: in.Reason})
	})
}

func (s *Server) reopenPeriod(c echo.Context) error {
	return periodCommand(s, c, func(ctx context.Context, cl planning.Call, in reasonIn) (planning.CloseResult, error) {
		return s.svc.ReopenPeriod(ctx, cl, planning.ReopenPeriod{Period: c.Param("period"), Reason: in.Reason})
	})
}

// periodCommand decodes a close or reopen's body, runs it and answers
// what it moved.
func periodCommand[In any](s *Server, c echo.Context, run func(context.Context, planning.Call, In) (planning.CloseResult, error)) error {
	var in In
	if err := decodeJSON(c, s.cfg.BodyLimit, &in); err != nil {
		return err
	}
	cl, err := call(c)
	if err != nil {
		return err
	}
	res, err := run(c.Request().Context(), cl, in)
	if err != nil {
		return err
	}
	out := CloseOutput{Period: res.Period.String(), Ledger: commandResult(res.Ledger), Plans: []CommandResult{}, Position: res.Position.String()}
	for _, p := range res.Plans {
		out.Plans = append(out.Plans, commandResult(p))
	}
	c.Response().Header().Set("ETag", etag(res.Ledger.Version))
	c.Response().Header().Set(HeaderPosition, out.Position)
	return c.JSON(http.StatusOK, out)
}

// --- commits and forecasts ---

type commitIn struct {
	ID         string `json:"id"`
	Node       string `json:"node"`
	Metric     string `json:"metric"`
	Span       string `json:"span"`
	Amount     amount `json:"amount"`
	Confidence string `json:"confidence"`
	Comment    string `json:"comment"`
}

func (s *Server) submitCommit(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in commitIn) (planning.Result, error) {
		return s.svc.SubmitCommit(c.Request().Context(), cl, c.Param("plan"), planning.SubmitCommit{ID: in.ID, Node: in.Node, Metric: in.Metric,
			Span: in.Span, Amount: string(in.Amount), Confidence: in.Confidence, Comment: in.Comment})
	}, nil)(c)
}

func (s *Server) withdrawCommit(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in reasonIn) (planning.Result, error) {
		return s.svc.WithdrawCommit(c.Request().Context(), cl, c.Param("plan"), c.Param("id"), in.Reason)
	}, nil)(c)
}

type seriesIn struct {
	Node  string    `json:"node"`
	First string    `json:"first"`
	Mean  []float64 `json:"mean"`
	Lo80  []float64 `json:"lo80"`
	Hi80  []float64 `json:"hi80"`
	Lo95  []float64 `json:"lo95"`
	Hi95  []float64 `json:"hi95"`
	Model string    `json:"model"`
	// Detail is the forecaster's description of this series (any JSON
	// value): it travels with the series, so the run's model stays small.
	Detail json.RawMessage `json:"detail"`
}

type forecastIn struct {
	RunID        string          `json:"run_id"`
	Metric       string          `json:"metric"`
	DataPosition string          `json:"data_position"`
	Seed         uint64          `json:"seed"`
	Model        json.RawMessage `json:"model"`
	Series       []seriesIn      `json:"series"`
}

func (s *Server) publishForecast(c echo.Context) error {
	var in forecastIn
	if err := decodeJSON(c, s.cfg.UploadLimit, &in); err != nil {
		return err
	}
	cl, err := call(c)
	if err != nil {
		return err
	}
	if pos, err := eventstore.ParsePosition(in.DataPosition); err == nil {
		// A forecast says which data it was made from: no data the log
		// does not hold yet.
		live, err := s.view.Live(c.Request().Context())
		if err != nil {
			return err
		}
		if live.Position.Before(pos) {
			why := fmt.Sprintf("beyond the log's head (%s): a forecast is made from data the log holds", live.Position)
			return &requestError{status: http.StatusUnprocessableEntity, slug: "validation", title: "The request is not valid",
				detail: fmt.Sprintf("data_position %s is %s", in.DataPosition, why), errors: []FieldError{{Field: "data_position", Value: in.DataPosition, Reason: why}}}
		}
	}
	series := make([]planning.Series, len(in.Series))
	for i, sr := range in.Series {
		series[i] = planning.Series{Node: sr.Node, First: sr.First, Mean: sr.Mean, Lo80: sr.Lo80, Hi80: sr.Hi80, Lo95: sr.Lo95, Hi95: sr.Hi95, Model: sr.Model, Detail: sr.Detail}
	}
	r, err := s.svc.PublishForecast(c.Request().Context(), cl, c.Param("plan"), planning.PublishForecast{RunID: in.RunID, Metric: in.Metric,
		DataPosition: in.DataPosition, Seed: in.Seed, Model: in.Model, Series: series})
	if err != nil {
		return err
	}
	return respond(c, r, "")
}

// --- tokens ---

type issueTokenIn struct {
	Name   string   `json:"name"`
	Role   string   `json:"role"`
	Scopes []string `json:"scopes"`
}

// TokenOutput is a token as the API shows it; Secret only once, when
// issued.
type TokenOutput struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Role     string   `json:"role"`
	Scopes   []string `json:"scopes"`
	IssuedBy string   `json:"issued_by"`
	Revoked  bool     `json:"revoked"`
	Secret   string   `json:"token,omitempty"`
	Version  uint64   `json:"version,omitempty"`
	Position string   `json:"position,omitempty"`
}

func tokenOutput(t access.Token) TokenOutput {
	out := TokenOutput{ID: t.ID, Name: t.Name, Role: string(t.Role), Scopes: []string{}, IssuedBy: t.IssuedBy, Revoked: t.Revoked}
	for _, s := range t.Scopes {
		out.Scopes = append(out.Scopes, s.String())
	}
	return out
}

func (s *Server) issueToken(c echo.Context) error {
	var in issueTokenIn
	if err := decodeJSON(c, s.cfg.BodyLimit, &in); err != nil {
		return err
	}
	cl, err := call(c)
	if err != nil {
		return err
	}
	tok, err := s.svc.IssueToken(c.Request().Context(), cl, planning.IssueToken{Name: in.Name, Role: access.Role(in.Role), Scopes: in.Scopes})
	if err != nil {
		return err
	}
	if err := s.tokens.catchUp(c.Request().Context()); err != nil {
		s.log.Warn("tokens: catch up after issue", "error", err)
	}
	out := tokenOutput(tok.Token)
	out.Secret, out.Version, out.Position = tok.Secret, tok.Result.Version, tok.Result.Position.String()
	h := c.Response().Header()
	h.Set("ETag", etag(tok.Result.Version))
	h.Set(HeaderPosition, tok.Result.Position.String())
	h.Set(echo.HeaderLocation, "/api/v1/tokens/"+url.PathEscape(tok.Token.ID))
	return c.JSON(http.StatusCreated, out)
}

func (s *Server) revokeToken(c echo.Context) error {
	return command(s, func(c echo.Context, cl planning.Call, in reasonIn) (planning.Result, error) {
		r, err := s.svc.RevokeToken(c.Request().Context(), cl, c.Param("id"), in.Reason)
		if err == nil {
			if err := s.tokens.catchUp(c.Request().Context()); err != nil {
				s.log.Warn("tokens: catch up after revoke", "error", err)
			}
		}
		return r, err
	}, nil)(c)
}

func (s *Server) listTokens(c echo.Context) error {
	pg, err := pageParams(c)
	if err != nil {
		return err
	}
	all, v, err := s.svc.Tokens(c.Request().Context(), principalOf(c))
	if err != nil {
		return err
	}
	index := map[string]int{}
	for i, t := range all {
		index[t.ID] = i
	}
	items, next, err := paginate(all, pg, func(t access.Token) string { return fmt.Sprintf("%010d", index[t.ID]) })
	if err != nil {
		return err
	}
	out := Page[TokenOutput]{Items: make([]TokenOutput, len(items)), NextCursor: next}
	for i, t := range items {
		out.Items[i] = tokenOutput(t)
	}
	c.Response().Header().Set("ETag", etag(v))
	return c.JSON(http.StatusOK, out)
}
