package api

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/concord-planning/concord/domain/access"
	"github.com/concord-planning/concord/domain/eventstore"
	"github.com/concord-planning/concord/domain/planning"
	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"
)

// JWTConfig says which bearer JWTs the server accepts. A token must carry
// exp, as a number (exp, nbf and iat are NumericDates: a string is
// refused), name the issuer and audience configured (when set), be signed
// with HS256 by HMACSecret or with RS256/ES256 by one of PublicKeys
// (chosen by the token's kid header when the map has it, else each in
// turn), live at most MaxLifetime (when set), and carry the claims "role"
// (viewer, sales, planner or admin) and, for sales, "scopes" (node texts,
// resolved against the dimensions exactly as an API token's are: a
// dimension's root is the grand total and is refused). The actor is
// "jwt:" + sub, sub checked as any principal's name (access.CheckName).
type JWTConfig struct {
	Issuer     string
	Audience   string
	HMACSecret []byte                      // HS256; at least 32 bytes
	PublicKeys map[string]crypto.PublicKey // RS256 (*rsa.PublicKey) or ES256 (*ecdsa.PublicKey), by key id
	Leeway     time.Duration               // clock skew allowed on exp and nbf
	// MaxLifetime, when set, refuses a token whose exp is further than it
	// from its iat, or from now.
	MaxLifetime time.Duration
}

func (j JWTConfig) enabled() bool { return len(j.HMACSecret) > 0 || len(j.PublicKeys) > 0 }

// claims are the JWT claims the server reads.
type claims struct {
	jwt.RegisteredClaims
	Role   string   `json:"role"`
	Scopes []string `json:"scopes,omitempty"`
}

// tokens is the server's view of the access stream: every API token,
// caught up from the store when a lookup misses or the view is older than
// the refresh interval, so that tokens issued or revoked through any
// replica take effect here within that interval.
type tokens struct {
	store    eventstore.Store
	registry *eventstore.Registry
	refresh  time.Duration
	now      func() time.Time

	mu      sync.Mutex
	set     *access.Tokens
	version uint64
	at      time.Time // when last caught up
}

// catchUp applies the access stream's events after the version held.
func (t *tokens) catchUp(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		batch, err := t.store.ReadStream(ctx, access.Stream(), t.version+1, 512)
		if err != nil {
			return err
		}
		for _, rec := range batch {
			v, err := t.registry.Decode(rec)
			if err != nil {
				return err
			}
			if e, ok := v.(access.Event); ok {
				t.set.Apply(e)
			}
			t.version = rec.Version
		}
		if len(batch) < 512 {
			t.at = t.now()
			return nil
		}
	}
}

func (t *tokens) lookup(ctx context.Context, secret string) (access.Token, bool, error) {
	hash := access.Hash(secret)
	t.mu.Lock()
	tok, ok := t.set.Lookup(hash)
	stale := t.now().Sub(t.at) >= t.refresh
	t.mu.Unlock()
	if ok && !stale {
		return tok, true, nil
	}
	if err := t.catchUp(ctx); err != nil {
		return access.Token{}, false, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	tok, ok = t.set.Lookup(hash)
	return tok, ok, nil
}

// HeaderPosition carries the global log position of a command's last
// event, for clients that want to read their own writes.
const HeaderPosition = "X-Concord-Position"

const principalKey = "concord.principal"

// principalOf returns the request's authenticated principal (zero when
// none).
func principalOf(c echo.Context) planning.Principal {
	p, _ := c.Get(principalKey).(planning.Principal)
	return p
}

func unauthenticated(detail, wwwAuth string) *requestError {
	e := &requestError{status: 401, slug: "unauthenticated", title: "Authentication required", detail: detail}
	e.header = map[string][]string{echo.HeaderWWWAuthenticate: {wwwAuth}}
	return e
}

// authenticate establishes the principal from "Authorization: Bearer",
// an API token (prefix planning.TokenPrefix) or a JWT; every route it
// guards refuses anonymous requests with 401. A refusal is logged (warn:
// request id, client, why; never the credential) and counted per client
// in concord_http_auth_failures_total.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p, err := s.principal(c)
		if err != nil {
			var re *requestError
			if errors.As(err, &re) && re.status == http.StatusUnauthorized {
				s.authFailures.add(c.RealIP())
				s.log.LogAttrs(c.Request().Context(), slog.LevelWarn, "authentication failed", slog.String("request_id", requestID(c)),
					slog.String("client", c.RealIP()), slog.String("route", c.Path()), slog.String("reason", re.detail))
			}
			return err
		}
		c.Set(principalKey, p)
		return next(c)
	}
}

// principal returns the principal the request's credentials establish.
func (s *Server) principal(c echo.Context) (planning.Principal, error) {
	h := c.Request().Header.Get(echo.HeaderAuthorization)
	scheme, cred, ok := strings.Cut(h, " ")
	if h == "" {
		return planning.Principal{}, unauthenticated("send Authorization: Bearer <token>", `Bearer realm="concord"`)
	}
	cred = strings.TrimSpace(cred)
	if !ok || !strings.EqualFold(scheme, "Bearer") || cred == "" {
		return planning.Principal{}, unauthenticated("the Authorization header must be: Bearer <token>", `Bearer realm="concord", error="invalid_request"`)
	}
	var (
		p   planning.Principal
		err error
	)
	if strings.HasPrefix(cred, planning.TokenPrefix) {
		p, err = s.tokenPrincipal(c.Request().Context(), cred)
	} else {
		p, err = s.jwtPrincipal(c.Request().Context(), cred)
	}
	if err != nil {
		var re *requestError
		if errors.As(err, &re) {
			return planning.Principal{}, re
		}
		return planning.Principal{}, fmt.Errorf("api: authenticate: %w", err)
	}
	return p, nil
}

func invalidToken(detail string) *requestError {
	return unauthenticated(detail, `Bearer realm="concord", error="invalid_token"`)
}

func (s *Server) tokenPrincipal(ctx context.Context, secret string) (planning.Principal, error) {
	tok, ok, err := s.tokens.lookup(ctx, secret)
	if err != nil {
		return planning.Principal{}, err
	}
	if !ok {
		return planning.Principal{}, invalidToken("the API token is unknown or revoked")
	}
	return planning.Principal{Actor: "token:" + tok.Name, Role: tok.Role, Scopes: tok.Scopes}, nil
}

func (s *Server) jwtPrincipal(ctx context.Context, raw string) (planning.Principal, error) {
	j := s.cfg.JWT
	if !j.enabled() {
		return planning.Principal{}, invalidToken("not an API token, and this server accepts no JWTs")
	}
	opts := []jwt.ParserOption{jwt.WithExpirationRequired(), jwt.WithLeeway(j.Leeway), jwt.WithTimeFunc(s.cfg.Clock)}
	var methods []string
	if len(j.HMACSecret) > 0 {
		methods = append(methods, jwt.SigningMethodHS256.Alg())
	}
	if len(j.PublicKeys) > 0 {
		methods = append(methods, jwt.SigningMethodRS256.Alg(), jwt.SigningMethodES256.Alg())
	}
	opts = append(opts, jwt.WithValidMethods(methods))
	if j.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(j.Issuer))
	}
	if j.Audience != "" {
		opts = append(opts, jwt.WithAudience(j.Audience))
	}
	var cl claims
	_, err := jwt.ParseWithClaims(raw, &cl, func(t *jwt.Token) (any, error) {
		if t.Method.Alg() == jwt.SigningMethodHS256.Alg() {
			return j.HMACSecret, nil
		}
		if kid, _ := t.Header["kid"].(string); kid != "" {
			if k, ok := j.PublicKeys[kid]; ok {
				return k, nil
			}
			return nil, fmt.Errorf("unknown key id %q", kid)
		}
		keys := jwt.VerificationKeySet{}
		for _, id := range sortedKeys(j.PublicKeys) {
			keys.Keys = append(keys.Keys, j.PublicKeys[id])
		}
		return keys, nil
	}, opts...)
	if err != nil {
		return planning.Principal{}, invalidToken("the bearer JWT is not valid: " + err.Error())
	}
	if err := numericDates(raw); err != nil {
		return planning.Principal{}, invalidToken("the bearer JWT is not valid: " + err.Error())
	}
	if j.MaxLifetime > 0 {
		now, exp := s.cfg.Clock(), cl.ExpiresAt.Time
		if cl.IssuedAt != nil && exp.Sub(cl.IssuedAt.Time) > j.MaxLifetime {
			return planning.Principal{}, invalidToken(fmt.Sprintf("the bearer JWT lives %v from iat to exp, at most %v are accepted", exp.Sub(cl.IssuedAt.Time), j.MaxLifetime))
		}
		if exp.Sub(now) > j.MaxLifetime+j.Leeway {
			return planning.Principal{}, invalidToken(fmt.Sprintf("the bearer JWT expires in %v, at most %v are accepted", exp.Sub(now).Round(time.Second), j.MaxLifetime))
		}
	}
	if cl.Subject == "" {
		return planning.Principal{}, invalidToken("the bearer JWT has no subject (sub)")
	}
	if err := access.CheckName(cl.Subject); err != nil {
		return planning.Principal{}, invalidToken("the bearer JWT's subject (sub) is not a valid name: " + err.Error())
	}
	role := access.Role(cl.Role)
	if !role.Valid() {
		return planning.Principal{}, invalidToken(fmt.Sprintf("the bearer JWT's role %q is not viewer, sales, planner or admin", cl.Role))
	}
	scopes, err := s.svc.ResolveScopes(ctx, cl.Scopes)
	if errors.Is(err, planning.ErrValidation) {
		return planning.Principal{}, invalidToken("the bearer JWT's scopes are not nodes of the dimensions: " + err.Error())
	}
	if err != nil {
		return planning.Principal{}, err
	}
	if err := access.CheckScopes(role, scopes); err != nil {
		return planning.Principal{}, invalidToken("the bearer JWT's scopes are not valid: " + err.Error())
	}
	return planning.Principal{Actor: "jwt:" + cl.Subject, Role: role, Scopes: scopes}, nil
}

// numericDates refuses a JWT whose exp, nbf or iat is present but not a
// JSON number (the JWT library would take a numeric string).
func numericDates(raw string) error {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return errors.New("not three segments")
	}
	payload, err := jwt.NewParser().DecodeSegment(parts[1])
	if err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(payload, &fields); err != nil {
		return err
	}
	for _, name := range []string{"exp", "nbf", "iat"} {
		v, ok := fields[name]
		if !ok {
			continue
		}
		if len(v) == 0 || !strings.ContainsRune("-0123456789", rune(v[0])) {
			return fmt.Errorf("claim %s is %s, want a NumericDate (a number of seconds since 1970)", name, v)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// allow refuses (403) principals whose role is not among roles; admins
// pass everywhere. The application checks again, with scopes: this gate
// keeps the route table an honest statement of who may call what.
func allow(roles ...access.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p := principalOf(c)
			if p.Role == access.RoleAdmin || slices.Contains(roles, p.Role) {
				return next(c)
			}
			return &requestError{status: 403, slug: "forbidden", title: "Forbidden",
				detail: fmt.Sprintf("%s (%s) may not call %s %s; it needs the role %v", p.Actor, p.Role, c.Request().Method, c.Path(), roles)}
		}
	}
}
