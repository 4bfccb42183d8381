package api

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"

	"github.com/concord-planning/concord/api/dashboard"
	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/dimension"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/concord-planning/concord/projections/view"
	"github.com/labstack/echo/v4"
)

// Me is who the request's credentials say the caller is: GET /api/v1/me.
type Me struct {
	// Subject is the actor recorded in the events the caller causes
	// ("token:NAME" for an API token, "jwt:SUB" for a JWT); a
	// reallocation's "by" is compared with it.
	Subject string `json:"subject"`
	// Role is the caller's role; Roles lists it alone (the dashboard's
	// contract allows for several).
	Role  string   `json:"role"`
	Roles []string `json:"roles"`
	// Scopes are the nodes a sales principal acts on (and everything
	// below them); Owns repeats them for the dashboard. Both are empty for
	// other roles, which are not limited by scope.
	Scopes []string `json:"scopes"`
	Owns   []string `json:"owns"`
}

func (s *Server) me(c echo.Context) error {
	p := principalOf(c)
	out := Me{Subject: p.Actor, Role: string(p.Role), Roles: []string{string(p.Role)}, Scopes: []string{}, Owns: []string{}}
	for _, n := range p.Scopes {
		out.Scopes = append(out.Scopes, n.String())
	}
	out.Owns = append(out.Owns, out.Scopes...)
	return c.JSON(http.StatusOK, out)
}

// scopedPreview guards the reallocation preview: the body is read as the
// proposal would be (application/json, Config.BodyLimit, strictly), and a
// sales principal may preview moves only between nodes its scopes cover,
// as it may propose only those. The query side then answers from the
// same body.
func (s *Server) scopedPreview(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in view.PreviewRequest
		if err := decodeJSON(c, s.cfg.BodyLimit, &in); err != nil {
			return err
		}
		body, err := jsonBytes(in)
		if err != nil {
			return err
		}
		if p := principalOf(c); p.Role == access.RoleSales {
			if err := s.checkPreviewScope(c, p, in); err != nil {
				return err
			}
		}
		c.Request().Body = io.NopCloser(bytes.NewReader(body))
		c.Request().ContentLength = int64(len(body))
		return next(c)
	}
}

func jsonBytes(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := encodeJSON(&buf, v); err != nil {
		return nil, fmt.Errorf("api: re-encoding a preview: %w", err)
	}
	return buf.Bytes(), nil
}

// checkPreviewScope returns a *planning.ForbiddenError naming the moved
// nodes outside p's scopes. Nodes that do not parse are left to the query
// side, which reports them as bad parameters.
func (s *Server) checkPreviewScope(c echo.Context, p planning.Principal, in view.PreviewRequest) error {
	ctx := c.Request().Context()
	pl, _, err := s.svc.Plan(ctx, p, c.Param("plan"))
	if err != nil {
		return err
	}
	var dims []*dimension.Dimension
	for _, id := range pl.Dimensions() {
		d, _, err := s.svc.Dimension(ctx, p, id)
		if err != nil {
			return err
		}
		dims = append(dims, d)
	}
	var outside []string
	for _, m := range in.Moves {
		n, err := dimension.ParseNode(m.Node)
		if err != nil {
			continue
		}
		if n, err = n.Resolve(dims...); err != nil {
			continue
		}
		covered := false
		for _, sc := range p.Scopes {
			if sc.Contains(n, dims...) {
				covered = true
				break
			}
		}
		if !covered {
			outside = append(outside, fmt.Sprintf("%q", n))
		}
	}
	if len(outside) == 0 {
		return nil
	}
	return &planning.ForbiddenError{Actor: p.Actor, Role: p.Role, Action: "preview reallocations",
		Reason: fmt.Sprintf("node %s is outside the token's scopes %v", strings.Join(outside, ", "), p.Scopes)}
}

// dashboard serves the dashboard's index at / and its assets at /{asset},
// without credentials (they hold no data: every data call carries the
// bearer token), with the Content-Security-Policy dashboard.Handler sets.
// Any other single-segment path is a 404 problem.
func (s *Server) dashboard(c echo.Context) error {
	if name := c.Param("asset"); name != "" {
		st, err := fs.Stat(dashboard.Assets(), name)
		if err != nil || st.IsDir() || name == "index.html" {
			return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("no such page or asset: /%s", name))
		}
	}
	dashboard.Handler().ServeHTTP(c.Response(), c.Request())
	return nil
}
