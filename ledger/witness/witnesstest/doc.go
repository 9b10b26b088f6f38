// Package witnesstest holds the independent witness the ledger's witness
// cosigning is tested against: cmd/testwitness runs the transparency-dev
// witness (github.com/transparency-dev/witness), a C2SP tlog-witness
// implementation this project did not write, as its own process on
// loopback.
//
// It is a separate module so that the witness's newer formats/merkle
// versions never enter the main module's go.mod, and it imports nothing of
// the main module: the interop tests live in the main module
// (ledger/witness/interop_test.go), build cmd/testwitness from here with
// `go build`, and drive it over HTTP, so the ledger they exercise is the
// ledger as it ships, built with the main module's pinned dependencies.
package witnesstest
