package ledger_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/transparency-dev/merkle/testonly"

	"github.com/fjaledger/fja/verify/reftree"
)

// TestProofsMatchReference: for every tree size up to 300, the log's root,
// inclusion proofs and consistency proofs are byte-for-byte those of a
// naive RFC 6962 implementation written straight from the RFC.
func TestProofsMatchReference(t *testing.T) {
	l := newTestLog(t, nil)
	ctx := context.Background()
	var leaves [][]byte
	for n := 1; n <= 300; n++ {
		e := entry(n - 1)
		if _, err := l.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, e)
		if got, want := l.Head().Root, reftree.Root(leaves); !bytes.Equal(got, want) {
			t.Fatalf("size %d: root %x, reference %x", n, got, want)
		}
	}
	for n := 1; n <= 300; n++ {
		step := 1
		if n > 64 {
			step = 7 // every index for small trees, a spread for larger ones
		}
		for i := 0; i < n; i += step {
			got, err := l.InclusionProof(uint64(i), uint64(n))
			if err != nil {
				t.Fatal(err)
			}
			if want := reftree.InclusionProof(i, leaves[:n]); !equalProofs(got, want) {
				t.Fatalf("inclusion %d in %d: got %x, reference %x", i, n, got, want)
			}
		}
		for m := 1; m <= n; m += step {
			got, err := l.ConsistencyProof(uint64(m), uint64(n))
			if err != nil {
				t.Fatal(err)
			}
			if want := reftree.ConsistencyProof(m, leaves[:n]); !equalProofs(got, want) {
				t.Fatalf("consistency %d -> %d: got %x, reference %x", m, n, got, want)
			}
		}
	}
}

// TestMerkleLibraryVectors appends the merkle library's own test leaves and
// finds its published root for every size.
func TestMerkleLibraryVectors(t *testing.T) {
	l := newTestLog(t, nil)
	roots := testonly.RootHashes() // roots[n] is the root of the first n leaves
	if got := l.Head().Root; !bytes.Equal(got, roots[0]) || !bytes.Equal(got, testonly.EmptyRootHash()) {
		t.Fatalf("empty tree: root %x, merkle's vector %x", got, roots[0])
	}
	for i, leaf := range testonly.LeafInputs() {
		if _, err := l.Append(context.Background(), append([]byte(nil), leaf...)); err != nil {
			t.Fatal(err)
		}
		if got := l.Head().Root; !bytes.Equal(got, roots[i+1]) {
			t.Fatalf("size %d: root %x, merkle's vector %x", i+1, got, roots[i+1])
		}
	}
	if got := l.Head().Size; got != uint64(len(roots)-1) {
		t.Fatalf("size %d after all vectors, want %d", got, len(roots)-1)
	}
}

func equalProofs(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
