// Package verify holds everything a third party runs to check the ledger
// with nothing but the log's verifier key: opening signed checkpoints,
// verifying RFC 6962 inclusion and consistency proofs, and verifying
// receipts offline.
//
// Contracts:
//   - Every function here is pure: it takes values, does no I/O, and
//     returns a precise error saying what was expected and what was found.
//   - Nothing here panics on any input, however malformed.
//   - This package MUST NOT import the ledger, audit or api packages,
//     Badger or echo; an auditor can vendor it with only merkle, formats and
//     x/mod as dependencies. A test enforces this with `go list -deps`.
package verify
