package ledger

import (
	"fmt"
	"testing"
)

// TestRepeatedList checks both ways repeatedList looks (pairwise up to 32
// list items, a map beyond): a list given two items is named, whatever
// sits between them, and keys that are not lists never count.
func TestRepeatedList(t *testing.T) {
	for _, n := range []int{2, 3, 32, 33, 600} {
		kvs := make([]KV, 0, 2*n)
		for i := range n {
			kvs = append(kvs, KV{Key: fmt.Appendf(nil, "L/%d", i), List: true})
			// a plain key of the same name as a list is not a list item
			kvs = append(kvs, KV{Key: fmt.Appendf(nil, "L/%d", i), Value: []byte("v")})
		}
		if got := repeatedList(kvs, n); got != nil {
			t.Errorf("%d distinct lists: repeatedList names %q, want nil", n, got)
		}
		// the last list named again, far from its first item
		twice := append(kvs, KV{Key: fmt.Appendf(nil, "L/%d", 0), List: true})
		if got := repeatedList(twice, n+1); string(got) != "L/0" {
			t.Errorf("%d lists, L/0 twice: repeatedList names %q, want L/0", n+1, got)
		}
	}
	if got := repeatedList([]KV{{Key: []byte("a"), List: true}}, 1); got != nil {
		t.Errorf("one list: repeatedList names %q, want nil", got)
	}
}
