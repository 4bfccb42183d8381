package api

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// HeaderClientRequestID echoes the client's own X-Request-Id, when the
// server kept it (see MaxClientRequestID).
const HeaderClientRequestID = "X-Client-Request-Id"

// MaxClientRequestID is the longest X-Request-Id of a client that the
// server keeps (in the access log and HeaderClientRequestID); a longer or
// unprintable one is ignored. It never becomes the events' correlation
// id: the server chooses that one (X-Request-Id of the answer).
const MaxClientRequestID = 64

const (
	requestIDKey       = "concord.request_id"
	clientRequestIDKey = "concord.client_request_id"
)

// requestIDs gives every request an id of the server's choosing, "req-"
// and 32 hex digits, answered as X-Request-Id and recorded as the
// correlation id of the events it causes, so that no client can make its
// events pass for another's (an import batch's, say). The client's own
// X-Request-Id is kept beside it when short and printable.
func requestIDs(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		var b [16]byte
		_, _ = rand.Read(b[:]) // never fails (crypto/rand)
		id := "req-" + hex.EncodeToString(b[:])
		c.Set(requestIDKey, id)
		h := c.Response().Header()
		h.Set(echo.HeaderXRequestID, id)
		if v := c.Request().Header.Get(echo.HeaderXRequestID); v != "" && len(v) <= MaxClientRequestID && printable(v) {
			c.Set(clientRequestIDKey, v)
			h.Set(HeaderClientRequestID, v)
		}
		return next(c)
	}
}

// requestID returns the server's id of the request.
func requestID(c echo.Context) string {
	id, _ := c.Get(requestIDKey).(string)
	return id
}

// accessLog logs one line per request, once it is answered: the server's
// request id (and the client's, when kept), the principal (never its
// credential), method, route, status, duration and client IP.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err) // answer now, so that the status logged is the one sent
		}
		route := c.Path()
		if route == "" {
			route = "(no route)"
		}
		attrs := []slog.Attr{
			slog.String("request_id", requestID(c)),
			slog.String("method", c.Request().Method),
			slog.String("route", route),
			slog.Int("status", c.Response().Status),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			slog.String("client", c.RealIP()),
		}
		if v, ok := c.Get(clientRequestIDKey).(string); ok {
			attrs = append(attrs, slog.String("client_request_id", v))
		}
		if p := principalOf(c); p.Actor != "" {
			attrs = append(attrs, slog.String("principal", p.Actor), slog.String("role", string(p.Role)))
		}
		s.log.LogAttrs(c.Request().Context(), slog.LevelInfo, "request", attrs...)
		return nil
	}
}

// maxAuthClients bounds the clients counted apart in
// concord_http_auth_failures_total; beyond it, failures count under
// client="other", so that no flood of addresses grows the metrics
// without bound.
const maxAuthClients = 1000

// authFailures counts failed authentications per client IP.
type authFailures struct {
	counter *prometheus.CounterVec
	mu      sync.Mutex
	seen    map[string]bool
}

func newAuthFailures(reg prometheus.Registerer) (*authFailures, error) {
	a := &authFailures{seen: map[string]bool{}, counter: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "concord_http_auth_failures_total",
		Help: "Requests to /api refused for missing or bad credentials (401), by client IP (at most 1000 apart, the rest as other).",
	}, []string{"client"})}
	if err := reg.Register(a.counter); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *authFailures) add(client string) {
	a.mu.Lock()
	if !a.seen[client] {
		if len(a.seen) >= maxAuthClients {
			client = "other"
		} else {
			a.seen[client] = true
		}
	}
	a.mu.Unlock()
	a.counter.WithLabelValues(client).Inc()
}
