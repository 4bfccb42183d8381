// Package api is Concord's HTTP API, on Echo v4: one server with the write
// side (one route per planning.Service command), the query side (package
// api/query: the answers of the one read side, package projections/view,
// as of any point of the log, over HTTP and as CSV) and the dashboard
// (package api/dashboard), and the conventions every route follows.
//
// Routes (Server.Routes lists those under /api/v1 with their roles; the
// OpenAPI document lists them all and tests keep the two equal):
//
//   - GET / and GET /{asset}: the dashboard, without credentials (its
//     files hold no data; its data calls carry the bearer token), with the
//     Content-Security-Policy dashboard.Handler sets. /healthz, /readyz,
//     /metrics, /openapi.json: see below.
//   - GET /api/v1/me: who the credentials say the caller is (Me).
//   - The write side: POST /dimensions, /dimensions/{d}/members[/{m}/rename
//     |move|retire], POST /plans, /plans/{p}/targets/set|revise|clear|batch,
//     /plans/{p}/reallocations, /plans/{p}/reallocations/{id}/approve|reject,
//     /plans/{p}/tags, /approvals, /actuals, /actuals/restate, /commits,
//     /commits/{id}/withdraw, /forecasts, /periods/{period}/close, /tokens,
//     /tokens/{id}/revoke; and GET /dimensions/{d}, /plans/{p},
//     /plans/{p}/targets, /tokens: the aggregates as they stand, with their
//     stream version as ETag (for If-Match).
//   - The query side, every role, with as_of: GET /plans (the list),
//     /plans/{p}/summary (dimensions, tags, years, closed periods as known
//     then; GET /plans/{p} is the write side's), /variance, /rolling,
//     /history, /diff, /forecasts (vintages), /accuracy, /reallocations;
//     POST /plans/{p}/reallocations/preview (sales for the nodes its scopes
//     cover, planner, admin; records nothing, so Idempotency-Key plays no
//     part). Tables also come as text/csv (?format=csv or Accept).
//     Deps.Query may carry the view (*view.Service) the answers come
//     from; by default New makes one over Deps.Store.
//
// Conventions:
//
//   - Every /api/v1 route needs "Authorization: Bearer <credential>": an
//     API token (issued by an admin, stored hashed in the event store; see
//     domain/access) or a JWT (HS256 with a shared secret, or RS256/ES256
//     with configured public keys; exp required, nbf, iss and aud checked).
//     The principal's role gates each route (viewer reads; sales commits
//     and proposes reallocations, for the nodes its scopes cover; planner
//     does the rest of planning; admin everything, and tokens). The actor
//     recorded in events is the principal's: a body carrying "actor" or
//     "by" is refused like any unknown field.
//   - Bodies are JSON (application/json, else 415), decoded strictly:
//     unknown fields, wrong types, NaN or infinite numbers, negative
//     counts, invalid UTF-8 and control characters in any string are 400,
//     naming the field. Batches (targets, actuals) also take text/csv with
//     a header row; bad rows are reported by line. Bodies beyond
//     Config.BodyLimit (UploadLimit for batches) are 413, as are batches
//     beyond Config.MaxBatchRows, refused as they are read (row limit+1).
//   - Tables served as CSV neutralise text a spreadsheet would evaluate
//     (query.SafeCell).
//   - Errors are RFC 9457 application/problem+json from one error handler
//     (handlers just return err): 400 malformed, 401 no or bad
//     credentials, 403 role or scope, 404 unknown plan, dimension,
//     reallocation, commit or token, 409 conflict with the current state,
//     412 If-Match not met, 413 too large, 415 media type, 422 rule
//     broken (with errors[]: row, field, value, reason), 429 rate limited.
//     A query's bad parameter (view.ParamError) is 400 "bad-parameter"
//     with errors[0] naming the parameter and the value; what a query
//     cannot find (view.ErrNotFound) is 404; an answer still being
//     computed when the query's deadline ends (view.ErrBusy) is 503 with
//     Retry-After.
//   - A command answers with its stream's version as ETag and the global
//     log position of its last event in X-Concord-Position (and the body),
//     so a client can read its own writes from the read side. If-Match
//     ("7" or *) makes it conditional on the version the client saw.
//   - POST honours Idempotency-Key: the first answer (2xx or 4xx, not 5xx,
//     401, 403 or 429) is kept per principal and key; a retry with the
//     same body gets it again with Idempotent-Replayed: true and records
//     nothing; the same key with another body is 422; a retry while the
//     first runs is 409. The store is a port (Idempotency): in memory
//     (bounded, TTL) here, SQLite in api/sqlite.
//   - Lists are paged with opaque cursors (?cursor=, ?limit= 1..1000).
//   - Every request gets an id of the server's choosing (X-Request-Id of
//     the answer), which becomes the events' correlation id; a client's
//     own X-Request-Id is kept (X-Client-Request-Id, the access log) only
//     when short and printable, never as a correlation id. One access-log
//     line per request (id, principal, route, status, duration; never a
//     credential); failed authentications are logged and counted per
//     client (concord_http_auth_failures_total). Rate limiting is per client IP, the
//     peer's address unless Config.TrustedProxies names the proxies whose
//     X-Forwarded-For is believed. CORS is closed unless
//     Config.AllowedOrigins lists origins.
//   - /healthz, /readyz (from an injected func), /metrics (Prometheus) and
//     /openapi.json (the document in openapi.yaml, kept true by tests) need
//     no credentials and carry no plan data.
//
// A Server is safe for concurrent use.
package api
