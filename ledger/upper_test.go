package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/fjaledger/fja/ledger"
)

// TestProofsOverTileLevels asks leaf hashes (from the tiles), inclusion
// and consistency proofs of a log
// growing past three tile levels (70,000 entries), each twice, and checks
// them with the merkle library's verifier against roots computed apart
// from the log: the upper nodes the log keeps across requests (tree.go),
// hashed at one size, must serve every later size and repeat.
func TestProofsOverTileLevels(t *testing.T) {
	l := newTestLog(t, nil)
	ctx := context.Background()
	h := rfc6962.DefaultHasher
	rf := compact.RangeFactory{Hash: h.HashChildren}
	rng := rf.NewEmptyRange(0)
	roots := []([]byte){nil} // roots[n]: the root of the first n entries
	var leafHashes [][]byte
	r := rand.New(rand.NewPCG(7, 8))
	check := func(size uint64) {
		t.Helper()
		for range 40 {
			i := r.Uint64N(size)
			for pass := range 2 {
				lh, p, err := l.InclusionProofWithLeaf(i, size)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(lh, leafHashes[i]) {
					t.Fatalf("leaf hash of %d in %d, pass %d: %x, want %x", i, size, pass, lh, leafHashes[i])
				}
				if err := proof.VerifyInclusion(h, i, size, leafHashes[i], p, roots[size]); err != nil {
					t.Fatalf("inclusion of %d in %d, pass %d: %v", i, size, pass, err)
				}
			}
			from := 1 + r.Uint64N(size)
			for pass := range 2 {
				p, err := l.ConsistencyProof(from, size)
				if err != nil {
					t.Fatal(err)
				}
				if err := proof.VerifyConsistency(h, from, size, p, roots[from], roots[size]); err != nil {
					t.Fatalf("consistency %d -> %d, pass %d: %v", from, size, pass, err)
				}
			}
		}
	}
	const total, step = 70000, 7000
	for size := 0; size < total; size += step {
		// The entries are appended concurrently, so their order is the
		// log's: read back which entry got which index.
		var wg sync.WaitGroup
		entries := make([][]byte, step)
		errs := make(chan error, 64)
		for w := range 64 {
			wg.Go(func() {
				for k := w; k < step; k += 64 {
					a, err := appendRetry(ctx, l.Log, []byte(fmt.Sprintf("upper %d", size+k)))
					if err != nil {
						errs <- err
						return
					}
					entries[a.Index-uint64(size)] = []byte(fmt.Sprintf("upper %d", size+k))
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for _, e := range entries {
			lh := h.HashLeaf(e)
			leafHashes = append(leafHashes, lh)
			if err := rng.Append(lh, nil); err != nil {
				t.Fatal(err)
			}
			root, err := rng.GetRootHash(nil)
			if err != nil {
				t.Fatal(err)
			}
			roots = append(roots, root)
		}
		check(uint64(size + step))
	}
	if _, _, err := l.InclusionProofWithLeaf(total, total); !errors.Is(err, ledger.ErrInvalidRange) {
		t.Fatalf("a leaf past the head: want ErrInvalidRange, got %v", err)
	}
}
