// Package witnesstest tests the ledger's witness cosigning against the
// transparency-dev witness (github.com/transparency-dev/witness), a C2SP
// tlog-witness implementation this project did not write. It is a separate
// module so that the witness's newer formats/merkle versions never enter the
// main module's go.mod.
package witnesstest
