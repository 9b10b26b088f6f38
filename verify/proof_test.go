package verify

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/fjaledger/fja/verify/reftree"
)

// exhaustiveMax is the largest tree size checked at every index and every
// m; -short checks up to shortMax.
const exhaustiveMax, shortMax = 300, 64

func toTlog(p [][]byte) []tlog.Hash {
	out := make([]tlog.Hash, len(p))
	for i, h := range p {
		copy(out[i][:], h)
	}
	return out
}

func cloneProof(p [][]byte) [][]byte {
	c := make([][]byte, len(p))
	for i := range p {
		c[i] = bytes.Clone(p[i])
	}
	return c
}

// shortEntries are one SHA-256 block once prefixed, to keep the naive
// reference tree's cost down.
func shortEntries(n int) [][]byte {
	e := make([][]byte, n)
	for i := range e {
		e[i] = fmt.Appendf(nil, "leaf %d", i)
	}
	return e
}

// roots[n] = MTH(leaves[:n]), computed once with the reference tree.
func referenceRoots(leaves [][]byte) [][]byte {
	roots := make([][]byte, len(leaves)+1)
	for n := range roots {
		roots[n] = reftree.Root(leaves[:n])
	}
	return roots
}

// corruptions returns proofs that MUST all be rejected for the same
// statement as p: each hash with one bit flipped, a hash dropped, a hash
// added.
func corruptions(p [][]byte) [][][]byte {
	var out [][][]byte
	for i := range p {
		c := cloneProof(p)
		c[i][i%32] ^= 1 << (i % 8)
		out = append(out, c)
	}
	if len(p) > 0 {
		out = append(out, cloneProof(p[:len(p)-1]), cloneProof(p[1:]))
	}
	out = append(out, append(cloneProof(p), make([]byte, 32)))
	return out
}

// corruptSubset says which sizes get the (slower) corruption checks.
func corruptSubset(n int) bool { return n <= 70 || n%37 == 0 || n == exhaustiveMax }

func TestInclusionExhaustive(t *testing.T) {
	leaves := shortEntries(exhaustiveMax)
	roots := referenceRoots(leaves)
	forSizes(t, func(t *testing.T, n int) {
		root := roots[n]
		for i := 0; i < n; i++ {
			lh := LeafHash(leaves[i])
			p := reftree.InclusionProof(i, leaves[:n])
			if err := Inclusion(uint64(i), uint64(n), lh, p, root); err != nil {
				t.Fatalf("Inclusion(%d, %d) = %v", i, n, err)
			}
			if err := tlog.CheckRecord(toTlog(p), int64(n), tlog.Hash(root), int64(i), tlog.Hash(lh)); err != nil {
				t.Fatalf("tlog.CheckRecord(%d, %d) = %v", i, n, err)
			}
			if !corruptSubset(n) {
				continue
			}
			for _, c := range corruptions(p) {
				if Inclusion(uint64(i), uint64(n), lh, c, root) == nil {
					t.Fatalf("Inclusion(%d, %d) accepted corrupted proof %x", i, n, c)
				}
				if tlog.CheckRecord(toTlog(c), int64(n), tlog.Hash(root), int64(i), tlog.Hash(lh)) == nil {
					t.Fatalf("tlog.CheckRecord(%d, %d) accepted corrupted proof %x", i, n, c)
				}
			}
			// Wrong index or size, with the true root for that size: the
			// proof MUST fail unless the reference tree gives the very same
			// proof for that statement. (With the root of size n, a proof
			// can verify for another size: only the signed checkpoint binds
			// a root to its size.)
			for _, wrong := range []struct{ i, n int }{{i + 1, n}, {i - 1, n}, {i, n + 1}, {i, n - 1}} {
				if wrong.i < 0 || wrong.n < 1 || wrong.i >= wrong.n || wrong.n > exhaustiveMax || (wrong.i == i && wrong.n == n) {
					continue
				}
				valid := wrong.i == i && equalProofs(reftree.InclusionProof(wrong.i, leaves[:wrong.n]), p)
				wroot := roots[wrong.n]
				if err := Inclusion(uint64(wrong.i), uint64(wrong.n), lh, p, wroot); (err == nil) != valid {
					t.Fatalf("proof for (%d, %d) checked as (%d, %d): err = %v, want valid=%v", i, n, wrong.i, wrong.n, err, valid)
				}
				if err := tlog.CheckRecord(toTlog(p), int64(wrong.n), tlog.Hash(wroot), int64(wrong.i), tlog.Hash(lh)); (err == nil) != valid {
					t.Fatalf("tlog: proof for (%d, %d) checked as (%d, %d): err = %v, want valid=%v", i, n, wrong.i, wrong.n, err, valid)
				}
			}
			if n > 1 {
				other := LeafHash(leaves[(i+1)%n])
				if Inclusion(uint64(i), uint64(n), other, p, root) == nil {
					t.Fatalf("Inclusion(%d, %d) accepted the wrong leaf", i, n)
				}
			}
		}
	})
}

func TestConsistencyExhaustive(t *testing.T) {
	leaves := shortEntries(exhaustiveMax)
	roots := referenceRoots(leaves)
	forSizes(t, func(t *testing.T, n int) {
		for m := 0; m <= n; m++ {
			p := reftree.ConsistencyProof(m, leaves[:n])
			if err := Consistency(uint64(m), uint64(n), p, roots[m], roots[n]); err != nil {
				t.Fatalf("Consistency(%d, %d) = %v", m, n, err)
			}
			if m == 0 {
				continue // tlog.CheckTree requires a non-empty old tree.
			}
			if err := tlog.CheckTree(toTlog(p), int64(n), tlog.Hash(roots[n]), int64(m), tlog.Hash(roots[m])); err != nil {
				t.Fatalf("tlog.CheckTree(%d, %d) = %v", m, n, err)
			}
			if !corruptSubset(n) {
				continue
			}
			for _, c := range corruptions(p) {
				if Consistency(uint64(m), uint64(n), c, roots[m], roots[n]) == nil {
					t.Fatalf("Consistency(%d, %d) accepted corrupted proof %x", m, n, c)
				}
				if tlog.CheckTree(toTlog(c), int64(n), tlog.Hash(roots[n]), int64(m), tlog.Hash(roots[m])) == nil {
					t.Fatalf("tlog.CheckTree(%d, %d) accepted corrupted proof %x", m, n, c)
				}
			}
			for _, wrong := range []struct{ m, n int }{{m + 1, n}, {m - 1, n}, {m, n + 1}, {m, n - 1}} {
				if wrong.m < 1 || wrong.m > wrong.n || wrong.n > exhaustiveMax || (wrong.m == m && wrong.n == n) {
					continue
				}
				valid := equalProofs(reftree.ConsistencyProof(wrong.m, leaves[:wrong.n]), p)
				r1, r2 := roots[wrong.m], roots[wrong.n]
				if err := Consistency(uint64(wrong.m), uint64(wrong.n), p, r1, r2); (err == nil) != valid {
					t.Fatalf("proof for (%d, %d) checked as (%d, %d): err = %v, want valid=%v", m, n, wrong.m, wrong.n, err, valid)
				}
				if err := tlog.CheckTree(toTlog(p), int64(wrong.n), tlog.Hash(r2), int64(wrong.m), tlog.Hash(r1)); (err == nil) != valid {
					t.Fatalf("tlog: proof for (%d, %d) checked as (%d, %d): err = %v, want valid=%v", m, n, wrong.m, wrong.n, err, valid)
				}
			}
			if m < n && Consistency(uint64(m), uint64(n), p, roots[m], roots[n-1]) == nil {
				t.Fatalf("Consistency(%d, %d) accepted the wrong second root", m, n)
			}
		}
	})
}

// forSizes runs f for every tree size 1..exhaustiveMax, in parallel
// chunks: the naive reference tree is slow by design.
func forSizes(t *testing.T, f func(t *testing.T, n int)) {
	const chunk = 20
	top := exhaustiveMax
	if testing.Short() {
		top = shortMax
	}
	for lo := 1; lo <= top; lo += chunk {
		hi := min(lo+chunk-1, top)
		t.Run(fmt.Sprintf("sizes_%d-%d", lo, hi), func(t *testing.T) {
			t.Parallel()
			for n := lo; n <= hi; n++ {
				f(t, n)
			}
		})
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

func TestInclusionErrors(t *testing.T) {
	leaves := testEntries(9)
	root := reftree.Root(leaves)
	lh := LeafHash(leaves[4])
	good := reftree.InclusionProof(4, leaves)
	h := make([]byte, 32)
	for _, tc := range []struct {
		name        string
		index, size uint64
		leaf        []byte
		proof       [][]byte
		root        []byte
		is          error
		msg         string
	}{
		{"short proof", 4, 9, lh, good[:3], root, ErrBadProof, "proof has 3 hashes, want 4 for index 4 in tree of 9"},
		{"index beyond size", 9, 9, lh, good, root, ErrBadProof, "index 9 is not in tree of size 9"},
		{"empty tree", 0, 0, lh, nil, root, ErrBadProof, "index 0 is not in tree of size 0"},
		{"max index", math.MaxUint64, math.MaxUint64, lh, good, root, ErrBadProof, "index 18446744073709551615 is not in tree"},
		{"short leaf", 4, 9, lh[:31], good, root, ErrMalformed, "leaf hash is 31 bytes, want 32"},
		{"long root", 4, 9, lh, good, append(bytes.Clone(root), 0), ErrMalformed, "root hash is 33 bytes, want 32"},
		{"short hash", 4, 9, lh, [][]byte{good[0], good[1], h[:5], good[3]}, root, ErrBadProof, "inclusion proof hash 2 is 5 bytes, want 32"},
		{"huge tree", 0, math.MaxUint64, lh, good, root, ErrBadProof, "proof has 4 hashes, want 64 for index 0 in tree of 18446744073709551615"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Inclusion(tc.index, tc.size, tc.leaf, tc.proof, tc.root)
			if !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			if !bytes.Contains([]byte(err.Error()), []byte(tc.msg)) {
				t.Errorf("err = %q, want it to contain %q", err, tc.msg)
			}
		})
	}
	var rm *RootMismatchError
	err := Inclusion(4, 9, lh, good, h)
	if !errors.As(err, &rm) || !bytes.Equal(rm.Want, h) || !bytes.Equal(rm.Got, root) {
		t.Errorf("wrong root: err = %v, want *RootMismatchError{Want: zero, Got: root}", err)
	}
}

func TestConsistencyErrors(t *testing.T) {
	leaves := testEntries(9)
	r4, r9 := reftree.Root(leaves[:4]), reftree.Root(leaves)
	good := reftree.ConsistencyProof(4, leaves)
	for _, tc := range []struct {
		name         string
		size1, size2 uint64
		proof        [][]byte
		root1, root2 []byte
		is           error
		msg          string
	}{
		{"sizes reversed", 9, 4, good, r9, r4, ErrBadProof, "first size 9 is greater than second size 4"},
		{"extra hash", 4, 9, append(cloneProof(good), r4), r4, r9, ErrBadProof, "proof has 3 hashes, want 2 from size 4 to 9"},
		{"same size non-empty", 9, 9, good, r9, r9, ErrBadProof, "proof has 2 hashes, want 0 from size 9 to 9"},
		{"zero size non-empty", 0, 9, good, emptyRoot, r9, ErrBadProof, "want 0 from size 0 to 9"},
		{"nil root", 4, 9, good, nil, r9, ErrMalformed, "first root hash is 0 bytes, want 32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Consistency(tc.size1, tc.size2, tc.proof, tc.root1, tc.root2)
			if !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			if !bytes.Contains([]byte(err.Error()), []byte(tc.msg)) {
				t.Errorf("err = %q, want it to contain %q", err, tc.msg)
			}
		})
	}
	var rm *RootMismatchError
	if err := Consistency(9, 9, nil, r9, r4); !errors.As(err, &rm) {
		t.Errorf("same size, different roots: err = %v, want *RootMismatchError", err)
	}
	if err := Consistency(0, 9, nil, r4, r9); !errors.As(err, &rm) {
		t.Errorf("size 0 with non-empty root: err = %v, want *RootMismatchError", err)
	}
	if err := Consistency(0, 9, nil, emptyRoot, r9); err != nil {
		t.Errorf("size 0 with empty root: err = %v", err)
	}
}

func TestProofSizes(t *testing.T) {
	if got := InclusionProofSize(5, 5); got != -1 {
		t.Errorf("InclusionProofSize(5, 5) = %d, want -1", got)
	}
	if got := ConsistencyProofSize(6, 5); got != -1 {
		t.Errorf("ConsistencyProofSize(6, 5) = %d, want -1", got)
	}
	if got := InclusionProofSize(0, math.MaxUint64); got != 64 {
		t.Errorf("InclusionProofSize(0, max) = %d, want 64", got)
	}
	if got := ConsistencyProofSize(math.MaxUint64-1, math.MaxUint64); got < 1 || got > 65 {
		t.Errorf("ConsistencyProofSize(max-1, max) = %d, want 1..65", got)
	}
}
