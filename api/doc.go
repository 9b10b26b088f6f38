// Package api is the ledger's HTTP server, on echo v4.
//
// Contracts:
//   - The C2SP read surface (/checkpoint, /tile/...) is byte-compatible with
//     tlog-checkpoint and tlog-tiles, so existing tlog clients read it
//     unchanged. Full tiles and full entry bundles are immutable and served
//     with a one-year immutable Cache-Control; partial tiles and the
//     checkpoint with a short max-age.
//   - Every error is JSON {"error":{"code","message","field"}} with a 4xx
//     status for anything the client sent wrong, from one vocabulary of
//     codes (Error); every 400 names its field or parameter, every 413
//     states the limit; input never causes a 500 or a panic (a recover
//     middleware turns a bug into a 500 JSON error).
//   - GET /v1/query and GET /v1/stats check every parameter with package
//     params before any index is read: an unknown parameter or value is a
//     400 naming it, never a silently wider or emptier answer.
//   - JSON shapes are those of DESIGN.md §5 and §6; they are an interface.
package api
