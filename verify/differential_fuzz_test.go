package verify

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/fjaledger/fja/verify/reftree"
)

// Differential fuzzing of Inclusion and Consistency against
// golang.org/x/mod/sumdb/tlog (CheckRecord, CheckTree): for every
// statement and proof the fuzzer builds, both MUST agree on accept/reject.
//
// The trees are cheap and lazy. Leaf i of a tree is the RFC 6962 leaf hash
// of the entry seed||(i mod 2^p) (8-byte big-endian each), for a seed and a
// period 2^p (p = 0..diffMaxPeriodBits) chosen by the fuzzer. A perfect
// subtree's hash then depends only on its level and its index modulo the
// period, so any node of any tree of up to diffMaxSize leaves costs at most
// 2^(p+1) hashes (memoized), and tlog.ProveRecord, ProveTree and TreeHash
// build honest proofs and roots from it through a tlog.HashReader. The
// fuzzer then mutates the statement and the proof: flips bits, truncates,
// extends, drops, duplicates, swaps, reverses, changes hash lengths, the
// index, the sizes (up to uint64 max), the leaf and the roots, or swaps in
// an honest proof of another statement.
//
// tlog's conventions, and how they map:
//   - CheckRecord(p, t, th, n, h): record n with hash h is in the tree of
//     size t with hash th. Our Inclusion(index=n, size=t, leafHash=h, p,
//     root=th). Both reject index >= size, so size 0 too.
//   - CheckTree(p, t, th, n, h): the tree of size n with hash h is a prefix
//     of the tree of size t with hash th. Our Consistency(size1=n, size2=t,
//     p, root1=h, root2=th). Both reject size1 > size2. For size1 == size2
//     both accept exactly an empty proof with equal roots.
//   - Deliberate difference, size1 == 0: tlog rejects every CheckTree with
//     n == 0 ("invalid inputs"); we accept the empty tree as a prefix of
//     every tree, but only with an empty proof and root1 = SHA-256("") (and
//     root2 = SHA-256("") too when size2 == 0). The targets check exactly
//     that rule instead of comparing with tlog.
//   - tlog.Hash is [32]byte, so a hash of another length cannot be given to
//     tlog: we MUST reject it (ErrMalformed or ErrBadProof).
//   - tlog takes int64 sizes, and its maxpow2 loops forever once a (sub)tree
//     has more than 2^62 leaves (1<<63 overflows to a negative int64, 1<<64
//     to 0, both "< n"): CheckRecord and CheckTree never return for a size
//     above 2^62 (found by this target). So tlog is the oracle only for
//     sizes and indices <= 2^62 (tlogMaxSize); above it we only require no
//     panic and a well-classified error. Genuine accepting statements exist
//     there, e.g. leaf 2^62 of a tree of 2^62+1 with a one-hash proof, and
//     verify checks them (see the "huge-one-hash" seed and
//     TestHugeTreeStatements).

const (
	// tlogMaxSize is the largest size tlog.CheckRecord and CheckTree
	// terminate on (see above).
	tlogMaxSize = 1 << 62

	diffMaxSize       = 1 << 20
	diffMaxPeriodBits = 10
	diffMaxOps        = 16
)

// lazyTree is the periodic tree described above.
type lazyTree struct {
	seed uint64
	p    int
	memo map[[2]uint64]tlog.Hash
}

func newLazyTree(seed, period uint64) *lazyTree {
	return &lazyTree{seed: seed, p: int(period % (diffMaxPeriodBits + 1)), memo: make(map[[2]uint64]tlog.Hash)}
}

// entry is the entry of leaf i.
func (lt *lazyTree) entry(i uint64) []byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], lt.seed)
	binary.BigEndian.PutUint64(b[8:], i&(1<<lt.p-1))
	return b[:]
}

// node is the hash of the perfect subtree of height l with index k, i.e.
// of leaves [k*2^l, (k+1)*2^l).
func (lt *lazyTree) node(l int, k uint64) tlog.Hash {
	key := [2]uint64{uint64(l), 0}
	if l < lt.p {
		key[1] = k & (1<<(lt.p-l) - 1)
	}
	if h, ok := lt.memo[key]; ok {
		return h
	}
	var h tlog.Hash
	if l == 0 {
		h = tlog.RecordHash(lt.entry(k))
	} else {
		h = tlog.NodeHash(lt.node(l-1, 2*k), lt.node(l-1, 2*k+1))
	}
	lt.memo[key] = h
	return h
}

func (lt *lazyTree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		l, k := tlog.SplitStoredHashIndex(x)
		out[i] = lt.node(l, uint64(k))
	}
	return out, nil
}

func (lt *lazyTree) root(n uint64) []byte {
	if n == 0 {
		return bytes.Clone(emptyRoot)
	}
	h, err := tlog.TreeHash(int64(n), lt)
	if err != nil {
		panic(err)
	}
	return h[:]
}

func (lt *lazyTree) inclusion(i, n uint64) [][]byte {
	p, err := tlog.ProveRecord(int64(n), int64(i), lt)
	if err != nil {
		panic(err)
	}
	return fromTlog(p)
}

func (lt *lazyTree) consistency(m, n uint64) [][]byte {
	if m == 0 {
		return [][]byte{}
	}
	p, err := tlog.ProveTree(int64(n), int64(m), lt)
	if err != nil {
		panic(err)
	}
	return fromTlog(p)
}

func fromTlog(p []tlog.Hash) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = bytes.Clone(p[i][:])
	}
	return out
}

// opReader hands out the bytes of the fuzzer's mutation program, then
// zeros.
type opReader []byte

func (r *opReader) byte() byte {
	if len(*r) == 0 {
		return 0
	}
	b := (*r)[0]
	*r = (*r)[1:]
	return b
}

func (r *opReader) uint64() uint64 {
	var b [8]byte
	for i := range b {
		b[i] = r.byte()
	}
	return binary.BigEndian.Uint64(b[:])
}

// newNumber derives a new index or size from the old one v and the other
// one w: off by one, a bit flipped, equal, past, halved, doubled, zero, a
// power of two, huge, or arbitrary.
func newNumber(r *opReader, v, w uint64) uint64 {
	switch r.byte() % 12 {
	case 0:
		return v + 1
	case 1:
		return v - 1
	case 2:
		return v ^ 1<<(r.byte()%64)
	case 3:
		return w
	case 4:
		return w + uint64(r.byte())
	case 5:
		return v / 2
	case 6:
		return v * 2
	case 7:
		return 0
	case 8:
		return 1 << (r.byte() % 64)
	case 9:
		return math.MaxUint64 - uint64(r.byte()%4)
	case 10:
		return math.MaxInt64 + 1 - uint64(r.byte()%4)
	default:
		return r.uint64()
	}
}

// mutateProof applies one proof mutation (op 0..9) and reports whether it
// knew op.
func mutateProof(r *opReader, lt *lazyTree, p [][]byte, op byte) ([][]byte, bool) {
	pick := func() int { return int(r.byte()) % len(p) }
	switch op {
	case 0: // flip one bit of one hash
		if len(p) > 0 {
			j := pick()
			if len(p[j]) > 0 {
				b := r.byte()
				p[j][int(b)%len(p[j])] ^= 1 << (r.byte() % 8)
			}
		}
	case 1: // drop the last hash
		if len(p) > 0 {
			p = p[:len(p)-1]
		}
	case 2: // drop the first hash
		if len(p) > 0 {
			p = p[1:]
		}
	case 3: // append a hash from the tree, or zeros
		h := lt.node(int(r.byte()%21), uint64(r.byte()))
		if r.byte()%4 == 0 {
			h = tlog.Hash{}
		}
		p = append(p, h[:])
	case 4: // swap two hashes
		if len(p) > 0 {
			j, k := pick(), pick()
			p[j], p[k] = p[k], p[j]
		}
	case 5: // duplicate a hash in place
		if len(p) > 0 {
			j := pick()
			p = append(p[:j+1], append([][]byte{bytes.Clone(p[j])}, p[j+1:]...)...)
		}
	case 6: // remove a hash from the middle
		if len(p) > 0 {
			j := pick()
			p = append(p[:j], p[j+1:]...)
		}
	case 7: // reverse
		for j, k := 0, len(p)-1; j < k; j, k = j+1, k-1 {
			p[j], p[k] = p[k], p[j]
		}
	case 8: // a hash of the wrong length
		if len(p) > 0 {
			j := pick()
			if b := r.byte(); b%2 == 0 && len(p[j]) > 0 {
				p[j] = p[j][:int(b/2)%len(p[j])]
			} else {
				p[j] = append(p[j], b)
			}
		}
	case 9: // replace a hash with another tree node
		if len(p) > 0 {
			h := lt.node(int(r.byte()%21), uint64(r.byte()))
			p[pick()] = h[:]
		}
	default:
		return p, false
	}
	return p, true
}

// mangle returns a copy of h with a byte appended, truncated, or one bit
// flipped.
func mangle(h []byte, b byte) []byte {
	c := bytes.Clone(h)
	switch {
	case b%3 == 0 || len(c) == 0:
		return append(c, b)
	case b%3 == 1:
		return c[:int(b)%len(c)]
	default:
		c[int(b)%len(c)] ^= 1
		return c
	}
}

func hashesOK(hs ...[]byte) bool {
	for _, h := range hs {
		if len(h) != HashSize {
			return false
		}
	}
	return true
}

func classified(err error) bool {
	return errors.Is(err, ErrBadProof) || errors.Is(err, ErrMalformed) || errors.As(err, new(*RootMismatchError))
}

func describeProof(p [][]byte) string {
	var b bytes.Buffer
	for i, h := range p {
		fmt.Fprintf(&b, "\n  [%d] %x", i, h)
	}
	return b.String()
}

// checkInclusionAgainstTlog is the oracle of FuzzDifferentialInclusion.
func checkInclusionAgainstTlog(t *testing.T, index, size uint64, leaf []byte, p [][]byte, root []byte) {
	t.Helper()
	ours := Inclusion(index, size, leaf, p, root)
	if ours != nil && !classified(ours) {
		t.Fatalf("Inclusion error %v wraps no sentinel", ours)
	}
	if !hashesOK(leaf, root) || !hashesOK(p...) {
		if ours == nil {
			t.Fatalf("Inclusion accepted a hash that is not %d bytes", HashSize)
		}
		return
	}
	if size > tlogMaxSize || index > tlogMaxSize {
		return // outside the sizes tlog terminates on
	}
	theirs := tlog.CheckRecord(toTlog(p), int64(size), tlog.Hash(root), int64(index), tlog.Hash(leaf))
	if (ours == nil) != (theirs == nil) {
		t.Fatalf("disagree on Inclusion(index=%d, size=%d, leaf=%x, root=%x, proof of %d):\n verify: %v\n tlog.CheckRecord: %v%s",
			index, size, leaf, root, len(p), ours, theirs, describeProof(p))
	}
}

// checkConsistencyAgainstTlog is the oracle of FuzzDifferentialConsistency.
func checkConsistencyAgainstTlog(t *testing.T, size1, size2 uint64, p [][]byte, root1, root2 []byte) {
	t.Helper()
	ours := Consistency(size1, size2, p, root1, root2)
	if ours != nil && !classified(ours) {
		t.Fatalf("Consistency error %v wraps no sentinel", ours)
	}
	if !hashesOK(root1, root2) || !hashesOK(p...) {
		if ours == nil {
			t.Fatalf("Consistency accepted a hash that is not %d bytes", HashSize)
		}
		return
	}
	if size1 == 0 {
		// Deliberate difference from tlog (which rejects n == 0): the empty
		// tree is a prefix of every tree, with an empty proof.
		want := len(p) == 0 && bytes.Equal(root1, emptyRoot) && (size2 > 0 || bytes.Equal(root2, emptyRoot))
		if (ours == nil) != want {
			t.Fatalf("Consistency(0, %d, proof of %d, root1=%x, root2=%x) = %v, want accept=%v", size2, len(p), root1, root2, ours, want)
		}
		return
	}
	if size1 > tlogMaxSize || size2 > tlogMaxSize {
		return // outside the sizes tlog terminates on
	}
	theirs := tlog.CheckTree(toTlog(p), int64(size2), tlog.Hash(root2), int64(size1), tlog.Hash(root1))
	if (ours == nil) != (theirs == nil) {
		t.Fatalf("disagree on Consistency(size1=%d, size2=%d, root1=%x, root2=%x, proof of %d):\n verify: %v\n tlog.CheckTree: %v%s",
			size1, size2, root1, root2, len(p), ours, theirs, describeProof(p))
	}
}

func FuzzDifferentialInclusion(f *testing.F) {
	for _, s := range diffInclusionSeeds() {
		f.Add(s.seed, s.period, s.a, s.b, s.ops)
	}
	f.Fuzz(diffInclusion)
}

func diffInclusion(t *testing.T, seed, period, sizeRaw, indexRaw uint64, ops []byte) {
	{
		lt := newLazyTree(seed, period)
		size := sizeRaw%diffMaxSize + 1
		index := indexRaw % size
		leaf := lt.node(0, index)
		leafHash, root, p := leaf[:], lt.root(size), lt.inclusion(index, size)
		// The unmutated statement is true: both MUST accept it.
		if err := Inclusion(index, size, leafHash, p, root); err != nil {
			t.Fatalf("honest proof of %d in %d rejected: %v", index, size, err)
		}
		r := opReader(ops)
		for n := 0; len(r) > 0 && n < diffMaxOps; n++ {
			op := r.byte() % 16
			var ok bool
			if p, ok = mutateProof(&r, lt, p, op); ok {
				continue
			}
			switch op {
			case 10:
				index = newNumber(&r, index, size)
			case 11:
				size = newNumber(&r, size, index)
			case 12: // another leaf
				h := lt.node(0, uint64(r.byte()))
				leafHash = h[:]
			case 13: // the root of another size
				root = lt.root(r.uint64()%diffMaxSize + 1)
			case 14: // an honest proof of another statement
				n2 := r.uint64()%diffMaxSize + 1
				p = lt.inclusion(r.uint64()%n2, n2)
			case 15: // mangle the leaf or root
				h := &leafHash
				if r.byte()%2 == 1 {
					h = &root
				}
				*h = mangle(*h, r.byte())
			}
		}
		checkInclusionAgainstTlog(t, index, size, leafHash, p, root)
	}
}

func FuzzDifferentialConsistency(f *testing.F) {
	for _, s := range diffConsistencySeeds() {
		f.Add(s.seed, s.period, s.a, s.b, s.ops)
	}
	f.Fuzz(diffConsistency)
}

func diffConsistency(t *testing.T, seed, period, size2Raw, size1Raw uint64, ops []byte) {
	{
		lt := newLazyTree(seed, period)
		size2 := size2Raw%diffMaxSize + 1
		size1 := size1Raw % (size2 + 1)
		root1, root2, p := lt.root(size1), lt.root(size2), lt.consistency(size1, size2)
		if err := Consistency(size1, size2, p, root1, root2); err != nil {
			t.Fatalf("honest proof from %d to %d rejected: %v", size1, size2, err)
		}
		r := opReader(ops)
		for n := 0; len(r) > 0 && n < diffMaxOps; n++ {
			op := r.byte() % 16
			var ok bool
			if p, ok = mutateProof(&r, lt, p, op); ok {
				continue
			}
			switch op {
			case 10:
				size1 = newNumber(&r, size1, size2)
			case 11:
				size2 = newNumber(&r, size2, size1)
			case 12: // swap the statement around: sizes going backwards
				size1, size2, root1, root2 = size2, size1, root2, root1
			case 13: // the root of another size, for either side
				h := lt.root(r.uint64() % (diffMaxSize + 1))
				if r.byte()%2 == 0 {
					root1 = h
				} else {
					root2 = h
				}
			case 14: // an honest proof of another statement
				n2 := r.uint64()%diffMaxSize + 1
				p = lt.consistency(r.uint64()%(n2+1), n2)
			case 15: // mangle a root
				h := &root1
				if r.byte()%2 == 1 {
					h = &root2
				}
				*h = mangle(*h, r.byte())
			}
		}
		checkConsistencyAgainstTlog(t, size1, size2, p, root1, root2)
	}
}

type diffSeed struct {
	name         string
	seed, period uint64
	a, b         uint64 // size and index, or size2 and size1 (raw)
	ops          []byte
}

func diffInclusionSeeds() []diffSeed {
	return []diffSeed{
		{"honest-small", 1, 3, 6, 3, nil},
		{"honest-2^20", 2, 10, diffMaxSize - 1, 12345, nil},
		{"flip-bit", 3, 4, 40, 17, []byte{0, 1, 5, 3}},
		{"truncate", 4, 2, 1000, 999, []byte{1}},
		{"extend", 5, 5, 300, 0, []byte{3, 2, 7, 1}},
		{"swap", 6, 6, 77, 33, []byte{4, 0, 1}},
		{"index-eq-size", 7, 1, 9, 4, []byte{10, 3}},
		{"index-plus-one", 8, 0, 9, 4, []byte{10, 0}},
		{"size-huge", 9, 7, 9, 4, []byte{11, 9, 0}},
		{"size-2^63", 10, 7, 9, 4, []byte{11, 10, 0}},
		{"size-zero", 11, 3, 9, 0, []byte{11, 7}},
		{"short-hash", 12, 3, 9, 4, []byte{8, 1, 62}},
		{"long-root", 13, 3, 9, 4, []byte{15, 1, 0}},
		{"other-proof", 14, 8, 5000, 4000, []byte{14, 0, 0, 0, 0, 0, 0, 19, 136, 0, 0, 0, 0, 0, 0, 15, 160}},
		// leaf 1 of a tree of 2 re-read as leaf 2^62 of a tree of 2^62+1:
		// a true statement about a huge tree, with a one-hash proof
		// (tlog.CheckRecord never returns on it).
		{"huge-one-hash", 15, 0, 1, 1, []byte{11, 11, 0x40, 0, 0, 0, 0, 0, 0, 1, 10, 11, 0x40, 0, 0, 0, 0, 0, 0, 0}},
		// the same at 2^61, where tlog still answers.
		{"big-one-hash", 16, 0, 1, 1, []byte{11, 11, 0x20, 0, 0, 0, 0, 0, 0, 1, 10, 11, 0x20, 0, 0, 0, 0, 0, 0, 0}},
	}
}

func diffConsistencySeeds() []diffSeed {
	return []diffSeed{
		{"honest-small", 1, 3, 6, 3, nil},
		{"honest-2^20", 2, 10, diffMaxSize - 1, 654321, nil},
		{"power-of-two", 3, 4, 39, 16, nil},
		{"equal-sizes", 4, 5, 9, 10, nil},
		{"equal-sizes-extended", 4, 5, 9, 10, []byte{3, 0, 0}},
		{"from-zero", 5, 2, 9, 0, nil},
		{"from-zero-extended", 5, 2, 9, 0, []byte{3, 1, 1}},
		{"flip-bit", 6, 6, 1000, 513, []byte{0, 0, 3, 7}},
		{"truncate", 7, 1, 1000, 513, []byte{1}},
		{"drop-first", 8, 3, 1000, 513, []byte{2}},
		{"backwards", 9, 3, 1000, 513, []byte{12}},
		{"size1-huge", 10, 3, 1000, 513, []byte{10, 9, 0}},
		{"size2-huge", 11, 3, 1000, 513, []byte{11, 9, 0}},
		{"size1-2^63", 12, 3, 1000, 513, []byte{10, 10, 0, 11, 10, 0}},
		{"short-hash", 13, 3, 1000, 513, []byte{8, 0, 40}},
		{"other-proof", 14, 8, 5000, 4000, []byte{14, 0, 0, 0, 0, 0, 0, 19, 136, 0, 0, 0, 0, 0, 0, 15, 160}},
		{"size1-zero-size2-zero", 15, 0, 0, 0, []byte{11, 7}},
	}
}

// TestLazyTree checks the fuzz targets' lazy tree against the reference
// tree over the same entries.
func TestLazyTree(t *testing.T) {
	for _, period := range []uint64{0, 1, 3, 10} {
		lt := newLazyTree(42, period)
		var entries [][]byte
		for n := uint64(1); n <= 70; n++ {
			entries = append(entries, lt.entry(n-1))
			if got, want := lt.root(n), reftree.Root(entries); !bytes.Equal(got, want) {
				t.Fatalf("period %d: root(%d) = %x, want %x", period, n, got, want)
			}
			for i := uint64(0); i < n; i += 7 {
				if err := Inclusion(i, n, LeafHash(entries[i]), lt.inclusion(i, n), lt.root(n)); err != nil {
					t.Fatalf("period %d: inclusion %d in %d: %v", period, i, n, err)
				}
			}
			for m := uint64(0); m <= n; m += 5 {
				if err := Consistency(m, n, lt.consistency(m, n), lt.root(m), lt.root(n)); err != nil {
					t.Fatalf("period %d: consistency %d to %d: %v", period, m, n, err)
				}
			}
		}
	}
}

// TestDifferentialSeeds runs the seeds' oracles in plain go test, with the
// size 0 and equal-size conventions spelled out.
func TestDifferentialConventions(t *testing.T) {
	lt := newLazyTree(7, 3)
	r5 := lt.root(5)
	// tlog and verify both accept an empty proof for size1 == size2 with
	// equal roots, and reject it with different roots or a non-empty proof.
	checkConsistencyAgainstTlog(t, 5, 5, nil, r5, r5)
	checkConsistencyAgainstTlog(t, 5, 5, nil, r5, lt.root(4))
	checkConsistencyAgainstTlog(t, 5, 5, [][]byte{r5}, r5, r5)
	if tlog.CheckTree(nil, 5, tlog.Hash(r5), 5, tlog.Hash(r5)) != nil || Consistency(5, 5, nil, r5, r5) != nil {
		t.Error("size1 == size2 with equal roots and an empty proof MUST be accepted by both")
	}
	// size1 == 0: tlog rejects, verify accepts an empty proof from the
	// empty root (the documented difference).
	if tlog.CheckTree(nil, 5, tlog.Hash(emptyRoot), 0, tlog.Hash(emptyRoot)) == nil {
		t.Error("tlog.CheckTree accepted n == 0; the documented difference is stale")
	}
	checkConsistencyAgainstTlog(t, 0, 5, nil, emptyRoot, r5)
	checkConsistencyAgainstTlog(t, 0, 0, nil, emptyRoot, emptyRoot)
	checkConsistencyAgainstTlog(t, 0, 0, nil, emptyRoot, r5)
	checkConsistencyAgainstTlog(t, 0, 5, [][]byte{r5}, emptyRoot, r5)
	// Size 0 and index >= size: both reject.
	l0 := lt.node(0, 0)
	checkInclusionAgainstTlog(t, 0, 0, l0[:], nil, emptyRoot)
	checkInclusionAgainstTlog(t, 5, 5, l0[:], lt.inclusion(4, 5), r5)
	// Sizes going backwards: both reject.
	checkConsistencyAgainstTlog(t, 5, 4, lt.consistency(4, 5), r5, lt.root(4))
}

// TestHugeTreeStatements: true statements about trees beyond tlog's reach
// (sizes > 2^62, up to uint64 max) are accepted, and perturbed ones
// rejected, without looping.
func TestHugeTreeStatements(t *testing.T) {
	lt := newLazyTree(3, 2)
	l0, l1 := lt.node(0, 0), lt.node(0, 1)
	r2 := lt.root(2)
	for _, big := range []uint64{1 << 61, 1 << 62, 1 << 63} {
		// Leaf 1 of the tree of 2, read as leaf big of the tree of big+1
		// whose first big leaves have root l0.
		if err := Inclusion(big, big+1, l1[:], [][]byte{l0[:]}, r2); err != nil {
			t.Errorf("Inclusion(%d, %d) = %v", big, big+1, err)
		}
		if err := Inclusion(big-1, big+1, l1[:], [][]byte{l0[:]}, r2); err == nil {
			t.Errorf("Inclusion(%d, %d) with a one-hash proof accepted", big-1, big+1)
		}
		// The tree of big (root l0) is a prefix of the tree of big+1.
		if err := Consistency(big, big+1, [][]byte{l1[:]}, l0[:], r2); err != nil {
			t.Errorf("Consistency(%d, %d) = %v", big, big+1, err)
		}
		if big <= tlogMaxSize/2 {
			if err := tlog.CheckRecord([]tlog.Hash{l0}, int64(big+1), tlog.Hash(r2), int64(big), l1); err != nil {
				t.Errorf("tlog.CheckRecord(%d, %d) = %v", big, big+1, err)
			}
		}
	}
	max := uint64(math.MaxUint64)
	if err := Consistency(max-1, max, [][]byte{l1[:]}, l0[:], r2); err == nil {
		t.Error("Consistency(max-1, max) with one hash accepted")
	}
}
