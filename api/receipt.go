package api

import (
	"crypto/sha256"

	"github.com/transparency-dev/formats/proof"

	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/verify"
)

// NewReceipt makes the receipt (DESIGN.md §5) of an acknowledged append:
// the entry, its leaf hash, the checkpoint that covers it and the inclusion
// proof against that checkpoint, also as C2SP tlog-proof text. It verifies
// offline with verify.Receipt.Verify and the log's verifier key.
func NewReceipt(origin string, ack *ledger.Ack) *verify.Receipt {
	hashes := make([][sha256.Size]byte, len(ack.Proof))
	for i, h := range ack.Proof {
		copy(hashes[i][:], h)
	}
	tp := proof.TLogProof{Index: ack.Index, Hashes: hashes, Checkpoint: ack.Checkpoint}
	return &verify.Receipt{
		Origin:         origin,
		Index:          ack.Index,
		LeafHash:       ack.LeafHash,
		Entry:          ack.Entry,
		Checkpoint:     string(ack.Checkpoint),
		InclusionProof: nonNil(ack.Proof),
		TLogProof:      string(tp.Marshal()),
	}
}
