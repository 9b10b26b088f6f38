package reftree

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
)

func TestRootMatchesMerkleVectors(t *testing.T) {
	leaves := testonly.LeafInputs()
	roots := testonly.RootHashes()
	for n := range roots {
		if got, want := Root(leaves[:n]), roots[n]; !bytes.Equal(got, want) {
			t.Errorf("Root(%d leaves) = %x, want %x", n, got, want)
		}
	}
	if got, want := Root(nil), testonly.EmptyRootHash(); !bytes.Equal(got, want) {
		t.Errorf("Root(nil) = %x, want %x", got, want)
	}
}

func TestNodeHashesMatchMerkleVectors(t *testing.T) {
	leaves := testonly.LeafInputs()
	for level, row := range testonly.NodeHashes() {
		w := 1 << level
		for i, want := range row {
			if got := Root(leaves[i*w : (i+1)*w]); !bytes.Equal(got, want) {
				t.Errorf("level %d node %d = %x, want %x", level, i, got, want)
			}
		}
	}
}

func entries(n int) [][]byte {
	e := make([][]byte, n)
	for i := range e {
		e[i] = fmt.Appendf(nil, "entry %d", i)
	}
	return e
}

// TestAgainstMerkleTestonly checks the naive proofs against merkle's own
// in-memory tree, an independent implementation.
func TestAgainstMerkleTestonly(t *testing.T) {
	const max = 70
	leaves := entries(max)
	tree := testonly.New(rfc6962.DefaultHasher)
	tree.AppendData(leaves...)
	for n := 1; n <= max; n++ {
		if got, want := Root(leaves[:n]), tree.HashAt(uint64(n)); !bytes.Equal(got, want) {
			t.Fatalf("Root(%d) = %x, want %x", n, got, want)
		}
		for i := 0; i < n; i++ {
			want, err := tree.InclusionProof(uint64(i), uint64(n))
			if err != nil {
				t.Fatal(err)
			}
			if got := InclusionProof(i, leaves[:n]); !equalProofs(got, want) {
				t.Fatalf("InclusionProof(%d, %d) = %x, want %x", i, n, got, want)
			}
		}
		for m := 1; m <= n; m++ {
			want, err := tree.ConsistencyProof(uint64(m), uint64(n))
			if err != nil {
				t.Fatal(err)
			}
			if got := ConsistencyProof(m, leaves[:n]); !equalProofs(got, want) {
				t.Fatalf("ConsistencyProof(%d, %d) = %x, want %x", m, n, got, want)
			}
		}
	}
}

func TestOutOfRange(t *testing.T) {
	leaves := entries(5)
	for _, i := range []int{-1, 5, 6} {
		if p := InclusionProof(i, leaves); p != nil {
			t.Errorf("InclusionProof(%d, 5 leaves) = %x, want nil", i, p)
		}
	}
	for _, m := range []int{-1, 6} {
		if p := ConsistencyProof(m, leaves); p != nil {
			t.Errorf("ConsistencyProof(%d, 5 leaves) = %x, want nil", m, p)
		}
	}
	if p := ConsistencyProof(0, leaves); p == nil || len(p) != 0 {
		t.Errorf("ConsistencyProof(0, 5 leaves) = %x, want empty", p)
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
