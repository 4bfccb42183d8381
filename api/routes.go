package api

import (
	"context"
	"net/http"

	"github.com/concord-planning/concord/domain/access"
	"github.com/labstack/echo/v4"
)

// route is one entry of the API: who may call it, and how its body is
// read.
type route struct {
	method, path string
	roles        []access.Role // besides admin, who may call it
	upload       bool          // takes a batch: UploadLimit, JSON or CSV
	secret       bool          // answers with a secret: never stored for Idempotency-Key retries
	read         bool          // records nothing (a query, even by POST): no Idempotency-Key handling
	handler      echo.HandlerFunc
}

var (
	everyone = access.Roles
	planners = []access.Role{access.RolePlanner}
	sales    = []access.Role{access.RoleSales, access.RolePlanner}
	admins   = []access.Role{access.RoleAdmin}
)

// routeTable lists every route under /api/v1: who the caller is, the
// write side (one route per planning.Service command, and GET of the
// aggregates as they stand, with their stream version as ETag, for
// If-Match), then the query side (the answers of the read side,
// projections/view, as of any log position, served by api/query).
func (s *Server) routeTable() []route {
	return append([]route{
		{method: http.MethodGet, path: "/me", roles: everyone, read: true, handler: s.me},
		{method: http.MethodGet, path: "/audit/verify", roles: everyone, read: true, handler: s.auditVerify},
		{method: http.MethodPost, path: "/dimensions", roles: planners, handler: s.defineDimension},
		{method: http.MethodPost, path: "/dimensions/import", roles: planners, upload: true, handler: s.importDimensions},
		{method: http.MethodGet, path: "/dimensions/:dimension", roles: everyone, handler: s.getDimension},
		{method: http.MethodPost, path: "/dimensions/:dimension/members", roles: planners, handler: s.addMember},
		{method: http.MethodPost, path: "/dimensions/:dimension/members/:member/rename", roles: planners, handler: s.renameMember},
		{method: http.MethodPost, path: "/dimensions/:dimension/members/:member/move", roles: planners, handler: s.moveMember},
		{method: http.MethodPost, path: "/dimensions/:dimension/members/:member/retire", roles: planners, handler: s.retireMember},
		{method: http.MethodPost, path: "/dimensions/:dimension/members/:member/remove", roles: planners, handler: s.removeMember},

		{method: http.MethodPost, path: "/plans", roles: planners, handler: s.openPlan},
		{method: http.MethodGet, path: "/plans/:plan", roles: everyone, handler: s.getPlan},
		{method: http.MethodPost, path: "/plans/:plan/rename", roles: planners, handler: s.renamePlan},
		{method: http.MethodPost, path: "/plans/:plan/derived-metrics", roles: planners, handler: s.deriveMetric},
		{method: http.MethodPost, path: "/plans/:plan/estimate-policy", roles: planners, handler: s.setEstimatePolicy},
		{method: http.MethodPost, path: "/plans/:plan/model-pins", roles: planners, handler: s.pinModel},
		{method: http.MethodPost, path: "/plans/:plan/discard", roles: planners, handler: s.discardPlan},
		{method: http.MethodGet, path: "/plans/:plan/targets", roles: everyone, handler: s.listTargets},
		{method: http.MethodPost, path: "/plans/:plan/targets/set", roles: planners, handler: s.changeTarget("set")},
		{method: http.MethodPost, path: "/plans/:plan/targets/revise", roles: planners, handler: s.changeTarget("revise")},
		{method: http.MethodPost, path: "/plans/:plan/targets/clear", roles: planners, handler: s.changeTarget("clear")},
		{method: http.MethodPost, path: "/plans/:plan/targets/batch", roles: planners, upload: true, handler: s.changeTargets},
		{method: http.MethodPost, path: "/plans/:plan/reallocations", roles: sales, handler: s.proposeReallocation},
		{method: http.MethodPost, path: "/plans/:plan/reallocations/:id/approve", roles: planners, handler: s.approveReallocation},
		{method: http.MethodPost, path: "/plans/:plan/reallocations/:id/reject", roles: sales, handler: s.rejectReallocation},
		{method: http.MethodPost, path: "/plans/:plan/tags", roles: planners, handler: s.tagVersion},
		{method: http.MethodPost, path: "/plans/:plan/approvals", roles: planners, handler: s.approveVersion},
		{method: http.MethodPost, path: "/plans/:plan/actuals", roles: planners, upload: true, handler: s.recordActuals},
		{method: http.MethodPost, path: "/plans/:plan/actuals/restate", roles: planners, handler: s.restateActual},
		{method: http.MethodPost, path: "/plans/:plan/commits", roles: sales, handler: s.submitCommit},
		{method: http.MethodPost, path: "/plans/:plan/commits/:id/withdraw", roles: sales, handler: s.withdrawCommit},
		{method: http.MethodPost, path: "/plans/:plan/forecasts", roles: planners, upload: true, handler: s.publishForecast},
		{method: http.MethodPost, path: "/plans/:plan/reforecast", roles: planners, handler: s.reforecast},
		{method: http.MethodPost, path: "/periods/:period/close", roles: planners, handler: s.closePeriod},
		{method: http.MethodPost, path: "/periods/:period/reopen", roles: planners, handler: s.reopenPeriod},
		{method: http.MethodGet, path: "/plans/:plan/alerts", roles: everyone, handler: s.listAlerts},
		{method: http.MethodPost, path: "/plans/:plan/alerts/:id/acknowledge", roles: everyone, handler: s.acknowledgeAlert},
		{method: http.MethodGet, path: "/plans/:plan/alert-rules", roles: planners, handler: s.listAlertRules},
		{method: http.MethodPost, path: "/plans/:plan/alert-rules", roles: planners, handler: s.defineAlertRule},
		{method: http.MethodPost, path: "/plans/:plan/alert-rules/:id/remove", roles: planners, handler: s.removeAlertRule},
		{method: http.MethodGet, path: "/plans/:plan/dead-letters", roles: admins, handler: s.listDeadLetters},
		{method: http.MethodPost, path: "/plans/:plan/dead-letters/:id/clear", roles: admins, handler: s.clearDeadLetter},

		{method: http.MethodGet, path: "/tokens", roles: admins, handler: s.listTokens},
		{method: http.MethodPost, path: "/tokens", roles: admins, secret: true, handler: s.issueToken},
		{method: http.MethodPost, path: "/tokens/:id/revoke", roles: admins, handler: s.revokeToken},
	}, append(s.scenarioRoutes(), s.queryRoutes()...)...)
}

// queryRoutes adapts the query side's routes: every GET is open to every
// role; the reallocation preview to those who may propose reallocations,
// sales only for the nodes its scopes cover.
func (s *Server) queryRoutes() []route {
	var out []route
	for _, q := range s.query.Routes() {
		r := route{method: q.Method, path: q.Path, roles: everyone, read: true, handler: s.withQueryTimeout(q.Handler)}
		if q.Propose {
			r.roles = sales
			r.handler = s.scopedPreview(q.Handler)
		}
		out = append(out, r)
	}
	return out
}

// RouteInfo describes one route under /api/v1: its method, its path in
// Echo's notation (/api/v1/plans/:plan) and the roles it admits besides
// admin.
type RouteInfo struct {
	Method string
	Path   string
	Roles  []access.Role
}

// Routes lists every route under /api/v1.
func (s *Server) Routes() []RouteInfo {
	out := make([]RouteInfo, len(s.routes))
	for i, r := range s.routes {
		out[i] = RouteInfo{Method: r.method, Path: "/api/v1" + r.path, Roles: r.roles}
	}
	return out
}

// withQueryTimeout bounds how long h waits for its answer: past
// Config.QueryTimeout its context ends, and the query side answers
// view.ErrBusy (503 with Retry-After) while it goes on computing.
func (s *Server) withQueryTimeout(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.QueryTimeout)
		defer cancel()
		c.SetRequest(c.Request().WithContext(ctx))
		return h(c)
	}
}
