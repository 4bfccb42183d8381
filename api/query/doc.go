// Package query serves the answers of the read side (package
// projections/view) over HTTP: the routes (Routes, Register), the parsing
// of the parameters that are HTTP's own (format, limit, the preview's
// body), content negotiation (JSON, or CSV by ?format=csv or Accept) and
// the mapping of each table to CSV (writeCSV, SafeCell). WriteCSV writes
// the same bytes without HTTP (for `concord export`). Every answer is
// computed by the view; Handlers keeps no state of its own.
//
// Package api serves Routes behind its authentication and role gate and
// maps the view's errors (view.ParamError → 400, view.ErrNotFound → 404,
// view.ErrBusy → 503).
package query
