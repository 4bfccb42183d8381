// Package dashboard serves Concord's shared dashboard: plain ES modules,
// CSS and hand-drawn SVG charts embedded in the binary (embed.FS), with no
// build step, no external network and no CDN.
//
// The dashboard is a client of the query endpoints described in
// CONTRACT.md beside this file; it signs in with a bearer token kept in the
// browser tab's sessionStorage. Handler serves the assets; it needs no
// authentication itself, since the assets hold no data. The API server
// (package api) mounts it at / and /{asset}; the browser test drives it
// against that real server.
package dashboard
