package ledger_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fjaledger/fja/ledger"
)

// TestListBlockRoundTrip: what a ListBuilder makes, ListItems reads back,
// item for item; malformed blocks are refused with ErrListBlock.
func TestListBlockRoundTrip(t *testing.T) {
	var b ledger.ListBuilder
	type item struct {
		idx uint64
		val string
	}
	want := map[string][]item{
		"a": {{0, ""}, {1, "x"}, {300, "long value"}, {1 << 40, ""}},
		"b": {{7, "seven"}},
	}
	for _, name := range []string{"a", "b"} {
		for _, it := range want[name] {
			if err := b.Add([]byte(name), it.idx, []byte(it.val)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := b.Add([]byte("a"), 5, nil); err == nil {
		t.Fatal("Add of index 5 after 2^40 succeeded, want a refusal")
	}
	blocks := b.Blocks()
	if len(blocks) != 2 || b.Len() != 0 {
		t.Fatalf("%d blocks (%d lists left), want 2 (0)", len(blocks), b.Len())
	}
	for _, kv := range blocks {
		name := kv.Key[:len(kv.Key)-8]
		items := want[string(name)]
		if !ledger.IsListBlockOf(name, kv.Key) || binary.BigEndian.Uint64(kv.Key[len(name):]) != items[len(items)-1].idx {
			t.Fatalf("block key %x: not the block of %q ending at %d", kv.Key, name, items[len(items)-1].idx)
		}
		var got []item
		if err := ledger.ListItems(kv.Key, kv.Value, func(idx uint64, v []byte) bool {
			got = append(got, item{idx, string(v)})
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(items) {
			t.Errorf("list %q: read %v, want %v", name, got, items)
		}
	}
	key := ledger.ListBlockKey([]byte("a"), 3)
	for _, c := range []struct {
		name       string
		key, block []byte
	}{
		{"empty", key, nil},
		{"short key", []byte("abc"), []byte{3, 0}},
		{"truncated length", key, []byte{3}},
		{"value past the end", key, []byte{3, 5, 'x'}},
		{"last index not the key's", key, []byte{2, 0}},
		{"item beyond the key's", key, []byte{4, 0}},
		{"indices not increasing", key, []byte{3, 0, 0, 0}},
		{"bad varint", key, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	} {
		err := ledger.ListItems(c.key, c.block, func(uint64, []byte) bool { return true })
		if !errors.Is(err, ledger.ErrListBlock) {
			t.Errorf("%s: %v, want ErrListBlock", c.name, err)
		}
	}
}

// TestStampedListItems: concurrent stamped entries give list items; each
// list is stored as at most one block per commit, the blocks do not
// overlap, and they hold exactly one item per entry with its value. An
// entry giving one list two items is refused and logs nothing.
func TestStampedListItems(t *testing.T) {
	var st ledger.IndexStore
	l := newTestLog(t, func(c *ledger.Config) { st, c.MaxBatch, c.MaxPending = c.Storage.(ledger.IndexStore), 16, 1024 })
	ctx := context.Background()
	const n = 300
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			key := fmt.Sprintf("rec-%d", i)
			_, err := l.AppendStamped(ctx, []byte(key), func(idx uint64, _ time.Time) ([]byte, []ledger.KV, error) {
				kvs := []ledger.KV{{Key: []byte("L/all"), Value: []byte(key), List: true}, {Key: []byte("plain/" + key), Value: []byte("v")}}
				if idx%2 == 0 {
					kvs = append(kvs, ledger.KV{Key: []byte("L/even"), List: true})
				}
				return []byte(key), kvs, nil
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	batches := l.Stats().Batches
	for _, name := range []string{"L/all", "L/even"} {
		var blocks int
		prev := int64(-1)
		err := st.Scan(ctx, []byte(name), nil, func(k, v []byte) bool {
			if !ledger.IsListBlockOf([]byte(name), k) {
				t.Errorf("key %q under list %q is not one of its blocks", k, name)
				return true
			}
			blocks++
			if err := ledger.ListItems(k, v, func(idx uint64, val []byte) bool {
				if int64(idx) <= prev {
					t.Errorf("list %q: item %d after %d", name, idx, prev)
				}
				for j := prev + 1; j < int64(idx); j++ {
					if name == "L/all" || j%2 == 0 {
						t.Errorf("list %q: item %d missing", name, j)
					}
				}
				prev = int64(idx)
				es, err := l.Entries(idx, 1)
				if err != nil {
					t.Fatal(err)
				}
				if name == "L/all" && !bytes.Equal(val, es[0]) {
					t.Errorf("list %q: item %d has value %q, its entry is %q", name, idx, val, es[0])
				}
				return true
			}); err != nil {
				t.Fatal(err)
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		if last := int64(n - 1 - (n-1)%map[string]int{"L/all": 1, "L/even": 2}[name]); prev != last {
			t.Errorf("list %q ends at %d, want %d", name, prev, last)
		}
		if blocks == 0 || uint64(blocks) > batches {
			t.Errorf("list %q has %d blocks for %d commits", name, blocks, batches)
		}
		t.Logf("list %q: %d blocks for %d entries in %d commits", name, blocks, n, batches)
	}

	size := l.Head().Size
	_, err := l.AppendStamped(ctx, []byte("twice"), func(uint64, time.Time) ([]byte, []ledger.KV, error) {
		return []byte("twice"), []ledger.KV{{Key: []byte("L/all"), List: true}, {Key: []byte("L/all"), List: true}}, nil
	})
	if err == nil || l.Head().Size != size {
		t.Fatalf("an entry with two items of one list: %v, size %d -> %d; want a refusal, nothing logged", err, size, l.Head().Size)
	}
}
