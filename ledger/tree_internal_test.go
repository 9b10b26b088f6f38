package ledger

import (
	"bytes"
	"testing"

	"github.com/transparency-dev/merkle/compact"
)

// The reader's own node hashing is RFC 6962's, and its hashes stay put
// while more are made.
func TestHashChildrenIsRFC6962(t *testing.T) {
	r := newNodeReader(nil)
	var got, want [][]byte
	for i := range 300 {
		left := bytes.Repeat([]byte{byte(i)}, 32)
		right := bytes.Repeat([]byte{byte(i * 7)}, 32)
		got = append(got, r.hashChildren(left, right))
		want = append(want, hasher.HashChildren(left, right))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) || cap(got[i]) != 32 {
			t.Fatalf("node %d: got %x (cap %d), want %x (cap 32)", i, got[i], cap(got[i]), want[i])
		}
	}
}

// upperNodes keeps at most max nodes: past it, it starts over.
func TestUpperNodesBounded(t *testing.T) {
	u := newUpperNodes(3)
	h := bytes.Repeat([]byte{1}, 32)
	for i := range 3 {
		u.put(compact.NewNodeID(9, uint64(i)), h)
	}
	if got, ok := u.get(compact.NewNodeID(9, 2)); !ok || !bytes.Equal(got[:], h) {
		t.Fatalf("get of a kept node: %x, %v", got, ok)
	}
	u.put(compact.NewNodeID(9, 3), h)
	if _, ok := u.get(compact.NewNodeID(9, 0)); ok || len(u.m) != 1 {
		t.Fatalf("past max: want the map started over with 1 node, got %d", len(u.m))
	}
}

// TestHashChildren checks the sequencer's and the proofs' node hashing
// (one allocation, or an arena) against RFC 6962's, for hashes and for
// the other lengths left to the hasher.
func TestHashChildren(t *testing.T) {
	r := newNodeReader(nil)
	for _, c := range []struct{ l, r []byte }{
		{bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)},
		{hasher.HashLeaf([]byte("a")), hasher.HashLeaf([]byte("b"))},
		{[]byte("short"), bytes.Repeat([]byte{3}, 32)},
		{bytes.Repeat([]byte{4}, 32), bytes.Repeat([]byte{5}, 40)},
		{nil, nil},
	} {
		want := hasher.HashChildren(c.l, c.r)
		if got := hashChildren(c.l, c.r); !bytes.Equal(got, want) {
			t.Errorf("hashChildren(%x, %x) = %x, want %x", c.l, c.r, got, want)
		}
		if got := r.hashChildren(c.l, c.r); !bytes.Equal(got, want) {
			t.Errorf("nodeReader.hashChildren(%x, %x) = %x, want %x", c.l, c.r, got, want)
		}
	}
	// What they are for: the hash is all hashChildren allocates, and the
	// reader allocates an arena block per 64 hashes.
	a, b := bytes.Repeat([]byte{6}, 32), bytes.Repeat([]byte{7}, 32)
	if n := testing.AllocsPerRun(640, func() { hashChildren(a, b) }); n != 1 {
		t.Errorf("hashChildren allocates %v times a node, want 1", n)
	}
	if n := testing.AllocsPerRun(640, func() { r.hashChildren(a, b) }); n > 1.0/32 {
		t.Errorf("nodeReader.hashChildren allocates %v times a node, want one arena block per 64 nodes", n)
	}
}
