// Package storagetest is the conformance suite every ledger backend MUST
// pass, and a fault-injecting wrapper (Faulty) for testing the layers above
// a backend against failed, unsynced, full and slow commits.
//
// A backend proves itself with one call from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T, dir string) storagetest.Store {
//			s, err := mystore.Open(mystore.Config{Dir: dir})
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// The suite checks the contracts written on ledger.Storage and
// ledger.IndexStore: a new store loads the zero State; a Commit is visible
// to every read that starts after it returns, and all of a batch or none of
// it is visible to a reader running beside the commits; Entries, Tile,
// Lookup, Get and Scan answer ErrNotFound (or not found) exactly for what
// is not stored; Scan visits its prefix in key order from start, on one
// snapshot, stops when fn returns false or its context is done; a Scan
// whose callback is stuck blocks no Commit, Update or other read; the log's
// keys and the index keys are separate namespaces; a store reopened after
// Close sees everything committed.
//
// Blocking is detected with a watchdog (a generous limit after which the
// suite reports a deadlock), never by timing an operation.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fjaledger/fja/ledger"
)

// Store is a complete ledger backend: what the log needs and the index
// namespace the layers above use.
type Store interface {
	ledger.Storage
	ledger.IndexStore
}

// OpenFunc opens (or creates) the store kept in dir. The suite closes what
// it opens; it reopens a directory only after closing the store using it.
type OpenFunc func(t *testing.T, dir string) Store

// Watchdog is how long the suite waits for an operation that MUST NOT
// block before it reports a deadlock. It is a liveness limit, not a speed
// requirement: any healthy backend answers in a tiny fraction of it.
var Watchdog = 20 * time.Second

// Run runs the conformance suite against the backend that open opens.
func Run(t *testing.T, open OpenFunc) {
	t.Run("NewStore", func(t *testing.T) { testNewStore(t, open) })
	t.Run("CommitThenRead", func(t *testing.T) { testCommitThenRead(t, open) })
	t.Run("EntriesRanges", func(t *testing.T) { testEntriesRanges(t, open) })
	t.Run("AtomicCommits", func(t *testing.T) { testAtomicCommits(t, open) })
	t.Run("Namespaces", func(t *testing.T) { testNamespaces(t, open) })
	t.Run("DedupValues", func(t *testing.T) { testDedupValues(t, open) })
	t.Run("Update", func(t *testing.T) { testUpdate(t, open) })
	t.Run("ScanOrder", func(t *testing.T) { testScanOrder(t, open) })
	t.Run("ScanContext", func(t *testing.T) { testScanContext(t, open) })
	t.Run("StuckScan", func(t *testing.T) { testStuckScan(t, open) })
	t.Run("Reopen", func(t *testing.T) { testReopen(t, open) })
}

// opened is a store under test that is closed once, at the latest when
// the test ends.
type opened struct {
	Store
	once sync.Once
	err  error
}

func openStore(t *testing.T, open OpenFunc, dir string) *opened {
	t.Helper()
	s := &opened{Store: open(t, dir)}
	t.Cleanup(func() { s.close() })
	return s
}

func (s *opened) close() error {
	s.once.Do(func() { s.err = s.Store.Close() })
	return s.err
}

// within runs fn and fails the test if it has not returned within
// Watchdog: fn blocked on something it MUST NOT wait for. fn reports its
// own failures with t.Errorf.
func within(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(Watchdog):
		t.Fatalf("%s has not returned after %v: it is blocked", what, Watchdog)
	}
}

// Entry i of the suite's logs, its dedup key and the index key written
// with it. Entry sizes vary so that a backend's small and large value paths
// are both exercised.
func entryData(i uint64) []byte {
	e := fmt.Appendf(nil, "entry %d ", i)
	if i%7 == 3 {
		e = append(e, bytes.Repeat([]byte{byte(i)}, 3000)...)
	}
	return e
}

func dedupKey(i uint64) []byte { return fmt.Appendf(nil, "dedup/%08d", i) }
func extraKey(i uint64) []byte { return fmt.Appendf(nil, "x/%08d", i) }
func extraValue(i uint64) []byte {
	return fmt.Appendf(nil, "value of %d", i)
}

// tileData is a tile of n 32-byte hashes, each derived from the tile and
// its position, so that a tile rewritten longer keeps its prefix.
func tileData(id ledger.TileID, n int) []byte {
	b := make([]byte, 0, 32*n)
	for i := range n {
		h := bytes.Repeat([]byte{id.Level, byte(id.Index), byte(i), byte(i >> 8)}, 8)
		b = append(b, h...)
	}
	return b
}

// batch builds the batch that appends n entries at start to a log of the
// suite's shape: every entry has a dedup key and one index key, the tiles
// the new entries change at every level carry one hash per node of the
// tree of size start+n (as the log writes them: a tile's width follows from
// the size), and the state is that of size start+n.
func batch(start uint64, n int) *ledger.Batch {
	b := &ledger.Batch{Start: start, Tiles: map[ledger.TileID][]byte{}}
	for i := start; i < start+uint64(n); i++ {
		b.Entries = append(b.Entries, entryData(i))
		b.DedupKeys = append(b.DedupKeys, dedupKey(i))
		b.Extra = append(b.Extra, ledger.KV{Key: extraKey(i), Value: extraValue(i)})
	}
	end := start + uint64(n)
	for l := uint8(0); end>>(8*l) > 0; l++ {
		lo, hi := start>>(8*l), end>>(8*l) // the level's new nodes
		for ti := lo / 256; ti*256 < hi; ti++ {
			id := ledger.TileID{Level: l, Index: ti}
			b.Tiles[id] = tileData(id, int(min(hi-256*ti, 256)))
		}
	}
	b.State = state(end)
	return b
}

// state is the suite's State for a log of size size: a range of one hash
// per set bit, a log time and a checkpoint that name the size.
func state(size uint64) ledger.State {
	st := ledger.State{Size: size, LastTime: int64(size)*1e9 + 1_700_000_000e9,
		Checkpoint: fmt.Appendf(nil, "origin\n%d\nroot\n\n— sig %d\n", size, size)}
	for b := 0; b < 64; b++ {
		if size&(1<<b) != 0 {
			st.Range = append(st.Range, bytes.Repeat([]byte{byte(b)}, 32))
		}
	}
	return st
}

func mustCommit(t *testing.T, s Store, b *ledger.Batch) {
	t.Helper()
	if err := s.Commit(b); err != nil {
		t.Fatalf("Commit of %d entries at %d: %v", len(b.Entries), b.Start, err)
	}
}

// checkState compares a loaded State with the one committed.
func checkState(t *testing.T, got, want ledger.State) {
	t.Helper()
	if got.Size != want.Size || got.LastTime != want.LastTime || !bytes.Equal(got.Checkpoint, want.Checkpoint) ||
		!slices.EqualFunc(got.Range, want.Range, bytes.Equal) {
		t.Fatalf("Load: got size %d, time %d, %d range hashes, checkpoint %q; want size %d, time %d, %d range hashes, checkpoint %q",
			got.Size, got.LastTime, len(got.Range), got.Checkpoint, want.Size, want.LastTime, len(want.Range), want.Checkpoint)
	}
}

// checkLog checks that s holds exactly the suite's log of size size: its
// state, every entry with its dedup and index key, every tile, and nothing
// at size.
func checkLog(t *testing.T, s Store, size uint64) {
	t.Helper()
	st, err := s.Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	checkState(t, st, state(size))
	if size > 0 {
		es, err := s.Entries(0, int(size))
		if err != nil {
			t.Fatalf("Entries(0, %d): %v", size, err)
		}
		for i, e := range es {
			if !bytes.Equal(e, entryData(uint64(i))) {
				t.Fatalf("entry %d: got %q, want %q", i, e, entryData(uint64(i)))
			}
		}
	}
	for i := uint64(0); i < size; i++ {
		idx, ok, err := s.Lookup(dedupKey(i))
		if err != nil || !ok || idx != i {
			t.Fatalf("Lookup(%q): got %d, %v, %v; want %d, true, nil", dedupKey(i), idx, ok, err, i)
		}
		v, err := s.Get(extraKey(i))
		if err != nil || !bytes.Equal(v, extraValue(i)) {
			t.Fatalf("Get(%q): got %q, %v; want %q", extraKey(i), v, err, extraValue(i))
		}
	}
	for l := uint8(0); size>>(8*l) > 0; l++ {
		nodes := size >> (8 * l)
		for ti := uint64(0); ti*256 < nodes; ti++ {
			id := ledger.TileID{Level: l, Index: ti}
			want := tileData(id, int(min(nodes-256*ti, 256)))
			got, err := s.Tile(id)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("Tile(%d/%d): got %d bytes, %v; want %d bytes", l, ti, len(got), err, len(want))
			}
		}
	}
	if _, err := s.Entries(size, 1); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("Entries(%d, 1) at the end of the log: %v, want ErrNotFound", size, err)
	}
	if _, ok, err := s.Lookup(dedupKey(size)); ok || err != nil {
		t.Fatalf("Lookup of the next, uncommitted key: found %v, %v; want not found, nil", ok, err)
	}
}

func testNewStore(t *testing.T, open OpenFunc) {
	s := openStore(t, open, t.TempDir())
	st, err := s.Load()
	if err != nil {
		t.Fatalf("Load of a new store: %v", err)
	}
	if st.Size != 0 || st.LastTime != 0 || len(st.Range) != 0 || len(st.Checkpoint) != 0 {
		t.Fatalf("Load of a new store: got %+v, want the zero State", st)
	}
	if _, err := s.Tile(ledger.TileID{}); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("Tile(0/0) of a new store: %v, want ErrNotFound", err)
	}
	if _, err := s.Entries(0, 1); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("Entries(0, 1) of a new store: %v, want ErrNotFound", err)
	}
	if _, err := s.Entries(0, 5); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("Entries(0, 5) of a new store: %v, want ErrNotFound", err)
	}
	if _, ok, err := s.Lookup([]byte("h123")); ok || err != nil {
		t.Fatalf("Lookup in a new store: found %v, %v; want not found, nil", ok, err)
	}
	if _, err := s.Get([]byte("k")); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("Get in a new store: %v, want ErrNotFound", err)
	}
	n := 0
	if err := s.Scan(context.Background(), nil, nil, func(k, v []byte) bool { n++; return true }); err != nil || n != 0 {
		t.Fatalf("Scan of a new store: %d keys, %v; want 0, nil", n, err)
	}
	// The log's first commit: a checkpoint of the empty tree, no entries.
	mustCommit(t, s, &ledger.Batch{Tiles: map[ledger.TileID][]byte{}, State: state(0)})
	checkLog(t, s, 0)
}

// testCommitThenRead: each read that starts after Commit returns sees the
// batch, in batches of every shape the log makes (one entry, a tile's
// worth, across tile boundaries, a tile rewritten longer).
func testCommitThenRead(t *testing.T, open OpenFunc) {
	s := openStore(t, open, t.TempDir())
	size := uint64(0)
	for _, n := range []int{1, 2, 253, 1, 256, 300, 1, 7} {
		mustCommit(t, s, batch(size, n))
		size += uint64(n)
		checkLog(t, s, size)
	}
	// A key set more than once in a batch's Extra holds the last value.
	b := batch(size, 2)
	b.Extra = append(b.Extra, ledger.KV{Key: []byte("repeated"), Value: []byte("first")},
		ledger.KV{Key: []byte("repeated"), Value: []byte("second")}, ledger.KV{Key: []byte("repeated"), Value: []byte("last")})
	mustCommit(t, s, b)
	size += 2
	if v, err := s.Get([]byte("repeated")); err != nil || string(v) != "last" {
		t.Fatalf("a key set three times in one batch: %q, %v; want the last value", v, err)
	}
	// A state-only batch (the log re-signing its head) changes only the state.
	st := state(size)
	st.Checkpoint = append(st.Checkpoint, "— another sig\n"...)
	mustCommit(t, s, &ledger.Batch{Start: size, Tiles: map[ledger.TileID][]byte{}, State: st})
	got, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	checkState(t, got, st)
	// Returned slices belong to the caller.
	es, err := s.Entries(0, 2)
	if err != nil {
		t.Fatal(err)
	}
	es[0][0] ^= 0xff
	tl, err := s.Tile(ledger.TileID{})
	if err != nil {
		t.Fatal(err)
	}
	tl[0] ^= 0xff
	v, err := s.Get(extraKey(0))
	if err != nil {
		t.Fatal(err)
	}
	v[0] ^= 0xff
	got, err = s.Load()
	if err != nil {
		t.Fatal(err)
	}
	got.Range[0][0] ^= 0xff
	got.Checkpoint[0] ^= 0xff
	if got, err = s.Load(); err != nil {
		t.Fatal(err)
	}
	checkState(t, got, st)
	mustCommit(t, s, &ledger.Batch{Start: size, Tiles: map[ledger.TileID][]byte{}, State: state(size)})
	checkLog(t, s, size) // entries, tiles and index keys as committed
}

func testEntriesRanges(t *testing.T, open OpenFunc) {
	s := openStore(t, open, t.TempDir())
	mustCommit(t, s, batch(0, 40))
	mustCommit(t, s, batch(40, 10))
	for _, c := range []struct {
		start uint64
		n     int
	}{{0, 1}, {0, 50}, {39, 2}, {49, 1}, {10, 35}} {
		es, err := s.Entries(c.start, c.n)
		if err != nil || len(es) != c.n {
			t.Fatalf("Entries(%d, %d): %d entries, %v; want %d", c.start, c.n, len(es), err, c.n)
		}
		for i, e := range es {
			if want := entryData(c.start + uint64(i)); !bytes.Equal(e, want) {
				t.Fatalf("Entries(%d, %d)[%d]: got %q, want %q", c.start, c.n, i, e, want)
			}
		}
	}
	for _, c := range []struct {
		start uint64
		n     int
	}{{50, 1}, {45, 6}, {0, 51}, {49, 2}, {1000, 3}, {1<<64 - 1, 1}} {
		if es, err := s.Entries(c.start, c.n); !errors.Is(err, ledger.ErrNotFound) {
			t.Fatalf("Entries(%d, %d) beyond the 50 stored: %d entries, %v; want ErrNotFound", c.start, c.n, len(es), err)
		}
	}
	for _, id := range []ledger.TileID{{Level: 0, Index: 1}, {Level: 1, Index: 0}, {Level: 7, Index: 1 << 40}} {
		if _, err := s.Tile(id); !errors.Is(err, ledger.ErrNotFound) {
			t.Fatalf("Tile(%d/%d), never written: %v, want ErrNotFound", id.Level, id.Index, err)
		}
	}
	// Tiles of different levels are told apart: at 768 entries level 1
	// holds three nodes.
	mustCommit(t, s, batch(50, 768-50))
	id1 := ledger.TileID{Level: 1, Index: 0}
	if got, err := s.Tile(id1); err != nil || !bytes.Equal(got, tileData(id1, 3)) {
		t.Fatalf("Tile(1/0): %d bytes, %v; want %d", len(got), err, 3*32)
	}
	checkLog(t, s, 768)
}

// testAtomicCommits: readers running beside a stream of commits never see
// part of a batch. A reader that sees a batch's last index key must then
// see its entries, dedup keys, tiles and state; a reader that loads a
// state must then see every entry it covers.
func testAtomicCommits(t *testing.T, open OpenFunc) {
	s := openStore(t, open, t.TempDir())
	const batches, per = 60, 5
	done := make(chan struct{})
	var wg sync.WaitGroup
	for r := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rounds := 0; ; rounds++ {
				select {
				case <-done:
					if rounds > 0 {
						return
					}
				default:
				}
				if err := checkVisible(s, r); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	within(t, "a stream of commits beside readers", func() {
		for b := uint64(0); b < batches; b++ {
			if err := s.Commit(batch(b*per, per)); err != nil {
				t.Errorf("Commit %d: %v", b, err)
				break
			}
		}
		close(done)
		wg.Wait()
	})
	checkLog(t, s, batches*per)
}

// checkVisible is one reader's round of testAtomicCommits.
func checkVisible(s Store, r int) error {
	if r%2 == 0 {
		// State first: what it covers must be there.
		st, err := s.Load()
		if err != nil {
			return fmt.Errorf("storage Load: %w", err)
		}
		if st.Size == 0 {
			return nil
		}
		last := st.Size - 1
		if es, err := s.Entries(last, 1); err != nil || !bytes.Equal(es[0], entryData(last)) {
			return fmt.Errorf("state of size %d loaded, then entry %d: %v", st.Size, last, err)
		}
		if _, err := s.Get(extraKey(last)); err != nil {
			return fmt.Errorf("state of size %d loaded, then index key of entry %d: %v", st.Size, last, err)
		}
		if idx, ok, err := s.Lookup(dedupKey(last)); err != nil || !ok || idx != last {
			return fmt.Errorf("state of size %d loaded, then dedup key of entry %d: %d, %v, %v", st.Size, last, idx, ok, err)
		}
		return nil
	}
	// An index key first: the rest of its batch, and a state covering it.
	var last uint64
	found := false
	err := s.Scan(context.Background(), []byte("x/"), nil, func(k, v []byte) bool {
		var i uint64
		if _, err := fmt.Sscanf(string(k), "x/%08d", &i); err == nil {
			last, found = i, true
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("index Scan: %w", err)
	}
	if !found {
		return nil
	}
	first := last - last%5 // the batch's first entry
	es, err := s.Entries(first, int(last-first+1))
	if err != nil {
		return fmt.Errorf("index key of entry %d seen, then entries [%d, %d]: %w", last, first, last, err)
	}
	for i, e := range es {
		if !bytes.Equal(e, entryData(first+uint64(i))) {
			return fmt.Errorf("entry %d: got %q", first+uint64(i), e)
		}
	}
	tl, err := s.Tile(ledger.TileID{Index: last / 256})
	if err != nil || len(tl) < 32*int(last%256+1) {
		return fmt.Errorf("index key of entry %d seen, then its tile: %d hashes, %v", last, len(tl)/32, err)
	}
	st, err := s.Load()
	if err != nil || st.Size <= last {
		return fmt.Errorf("index key of entry %d seen, then a state of size %d, %v", last, st.Size, err)
	}
	return nil
}

// testDedupValues: a value committed with a dedup key (Batch.DedupValues)
// is read back by DedupValue, after a reopen too, beside the index Lookup
// returns; a key committed without one has an empty value; a batch with
// DedupValues not parallel to its entries is refused, changing nothing.
func testDedupValues(t *testing.T, open OpenFunc) {
	dir := t.TempDir()
	s := openStore(t, open, dir)
	b := batch(0, 3)
	b.DedupValues = [][]byte{[]byte("digest of 0"), nil, bytes.Repeat([]byte{2}, ledger.MaxDedupValue)}
	mustCommit(t, s, b)
	bad := batch(3, 2)
	bad.DedupValues = [][]byte{[]byte("one of two")}
	if err := s.Commit(bad); err == nil {
		t.Fatal("a batch of 2 entries with 1 dedup value was committed")
	}
	check := func(when string) {
		for i, want := range b.DedupValues {
			v, ok, err := s.DedupValue(dedupKey(uint64(i)))
			if err != nil || !ok || !bytes.Equal(v, want) {
				t.Fatalf("%s: DedupValue(%q) = %q, %v, %v; want %q", when, dedupKey(uint64(i)), v, ok, err, want)
			}
			if idx, ok, err := s.Lookup(dedupKey(uint64(i))); err != nil || !ok || idx != uint64(i) {
				t.Fatalf("%s: Lookup(%q) = %d, %v, %v; want %d", when, dedupKey(uint64(i)), idx, ok, err, i)
			}
		}
		if v, ok, err := s.DedupValue(dedupKey(3)); ok || err != nil || v != nil {
			t.Fatalf("%s: DedupValue of a key never committed: %q, %v, %v; want not found", when, v, ok, err)
		}
		checkLog(t, s, 3)
	}
	check("committed")
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, open, dir)
	check("reopened")
}

// testNamespaces: dedup keys, index keys and the log's own records never
// answer for one another.
func testNamespaces(t *testing.T, open OpenFunc) {
	s := openStore(t, open, t.TempDir())
	b := batch(0, 3)
	b.DedupKeys[0] = []byte("shared")
	b.Extra = append(b.Extra, ledger.KV{Key: []byte("only-index"), Value: []byte("v")})
	mustCommit(t, s, b)
	if _, err := s.Get([]byte("shared")); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("Get of a key committed only as a dedup key: %v, want ErrNotFound", err)
	}
	if _, ok, err := s.Lookup([]byte("only-index")); ok || err != nil {
		t.Fatalf("Lookup of a key committed only as an index key: found %v, %v; want not found", ok, err)
	}
	if err := s.Update([]ledger.KV{{Key: []byte("shared"), Value: []byte("index")}}, nil); err != nil {
		t.Fatal(err)
	}
	if idx, ok, err := s.Lookup([]byte("shared")); !ok || err != nil || idx != 0 {
		t.Fatalf("Lookup after an index key of the same name was set: %d, %v, %v; want 0, true", idx, ok, err)
	}
	// Scan over everything sees index keys only.
	var keys []string
	if err := s.Scan(context.Background(), nil, nil, func(k, v []byte) bool { keys = append(keys, string(k)); return true }); err != nil {
		t.Fatal(err)
	}
	want := []string{"only-index", "shared", "x/00000000", "x/00000001", "x/00000002"}
	if !slices.Equal(keys, want) {
		t.Fatalf("Scan of every index key: got %q, want %q", keys, want)
	}
}

func testUpdate(t *testing.T, open OpenFunc) {
	s := openStore(t, open, t.TempDir())
	kv := func(k, v string) ledger.KV { return ledger.KV{Key: []byte(k), Value: []byte(v)} }
	if err := s.Update([]ledger.KV{kv("a", "1"), kv("b", "2"), {Key: []byte("empty")}}, nil); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if v, err := s.Get([]byte("empty")); err != nil || len(v) != 0 {
		t.Fatalf("Get of a key set with an empty value: %q, %v; want empty, nil", v, err)
	}
	if err := s.Update([]ledger.KV{kv("a", "one"), kv("c", "3")}, [][]byte{[]byte("b"), []byte("never-set")}); err != nil {
		t.Fatalf("Update that overwrites and deletes: %v", err)
	}
	for k, want := range map[string]string{"a": "one", "c": "3"} {
		if v, err := s.Get([]byte(k)); err != nil || string(v) != want {
			t.Fatalf("Get(%q): %q, %v; want %q", k, v, err, want)
		}
	}
	if _, err := s.Get([]byte("b")); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("Get of a deleted key: %v, want ErrNotFound", err)
	}
	// Index keys from a batch are updated and deleted the same way.
	mustCommit(t, s, batch(0, 2))
	if err := s.Update([]ledger.KV{kv(string(extraKey(0)), "changed")}, [][]byte{extraKey(1)}); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get(extraKey(0)); err != nil || string(v) != "changed" {
		t.Fatalf("Get of a batch's index key after Update: %q, %v", v, err)
	}
	var keys []string
	if err := s.Scan(context.Background(), nil, nil, func(k, v []byte) bool { keys = append(keys, string(k)+"="+string(v)); return true }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a=one", "c=3", "empty=", "x/00000000=changed"}; !slices.Equal(keys, want) {
		t.Fatalf("Scan after Updates: got %q, want %q", keys, want)
	}
	// Deleting every key leaves nothing to scan.
	if err := s.Update(nil, [][]byte{[]byte("a"), []byte("c"), []byte("empty"), extraKey(0)}); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := s.Scan(context.Background(), nil, nil, func(k, v []byte) bool { n++; return true }); err != nil || n != 0 {
		t.Fatalf("Scan after deleting every key: %d keys, %v", n, err)
	}
	if err := s.Update(nil, nil); err != nil {
		t.Fatalf("empty Update: %v", err)
	}
}

func testScanOrder(t *testing.T, open OpenFunc) {
	s := openStore(t, open, t.TempDir())
	all := []string{"\x00", "a", "a/", "a/1", "a/10", "a/2", "a/2\xff", "a0", "b/1", "b/2", "\xff", "\xff\xff"}
	var set []ledger.KV
	for _, k := range slices.Backward(all) {
		set = append(set, ledger.KV{Key: []byte(k), Value: []byte("v:" + k)})
	}
	if err := s.Update(set, nil); err != nil {
		t.Fatal(err)
	}
	scan := func(prefix, start string, limit int) []string {
		t.Helper()
		var p, st []byte
		if prefix != "" {
			p = []byte(prefix)
		}
		if start != "" {
			st = []byte(start)
		}
		var got []string
		err := s.Scan(context.Background(), p, st, func(k, v []byte) bool {
			if string(v) != "v:"+string(k) {
				t.Errorf("Scan(%q, %q): key %q has value %q", prefix, start, k, v)
			}
			got = append(got, string(k))
			return len(got) < limit
		})
		if err != nil {
			t.Fatalf("Scan(%q, %q): %v", prefix, start, err)
		}
		return got
	}
	for _, c := range []struct {
		prefix, start string
		limit         int
		want          []string
	}{
		{"", "", 100, all},
		{"a/", "", 100, []string{"a/", "a/1", "a/10", "a/2", "a/2\xff"}},
		{"a/", "a/10", 100, []string{"a/10", "a/2", "a/2\xff"}},
		{"a/", "a/100", 100, []string{"a/2", "a/2\xff"}},
		{"a/", "a", 100, []string{"a/", "a/1", "a/10", "a/2", "a/2\xff"}}, // start before the prefix
		{"a/", "b", 100, nil},                       // start after the prefix
		{"a/", "", 2, []string{"a/", "a/1"}},        // fn stops the scan
		{"", "a0", 3, []string{"a0", "b/1", "b/2"}}, // start without prefix
		{"b", "", 100, []string{"b/1", "b/2"}},
		{"\xff", "", 100, []string{"\xff", "\xff\xff"}},
		{"c", "", 100, nil},
		{"a/2\xff", "", 100, []string{"a/2\xff"}},
	} {
		if got := scan(c.prefix, c.start, c.limit); !slices.Equal(got, c.want) {
			t.Errorf("Scan(prefix %q, start %q, stop after %d): got %q, want %q", c.prefix, c.start, c.limit, got, c.want)
		}
	}
}

func testScanContext(t *testing.T, open OpenFunc) {
	s := openStore(t, open, t.TempDir())
	const n = 3000
	var set []ledger.KV
	for i := range n {
		set = append(set, ledger.KV{Key: fmt.Appendf(nil, "k/%05d", i), Value: []byte{1}})
	}
	if err := s.Update(set, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	seen := 0
	err := s.Scan(ctx, []byte("k/"), nil, func(k, v []byte) bool {
		if seen++; seen == 10 {
			cancel()
		}
		return true
	})
	if !errors.Is(err, context.Canceled) || seen >= n {
		t.Fatalf("Scan cancelled at the 10th of %d keys: visited %d, %v; want context.Canceled before the end", n, seen, err)
	}
	seen = 0
	err = s.Scan(ctx, []byte("k/"), nil, func(k, v []byte) bool { seen++; return true })
	if !errors.Is(err, context.Canceled) || seen >= n {
		t.Fatalf("Scan with a context cancelled before it: visited %d of %d, %v; want context.Canceled before the end", seen, n, err)
	}
	dctx, dcancel := context.WithDeadline(context.Background(), time.Unix(1, 0))
	defer dcancel()
	if err := s.Scan(dctx, []byte("k/"), nil, func(k, v []byte) bool { return true }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Scan past its deadline: %v, want context.DeadlineExceeded", err)
	}
	// A scan that ends on its own before the context is done is not an error.
	if err := s.Scan(context.Background(), []byte("k/0000"), nil, func(k, v []byte) bool { return true }); err != nil {
		t.Fatalf("Scan of 10 keys: %v", err)
	}
}

// testStuckScan: a Scan parked in its callback holds nothing that commits,
// updates or other reads wait for, and keeps its own snapshot.
func testStuckScan(t *testing.T, open OpenFunc) {
	s := openStore(t, open, t.TempDir())
	mustCommit(t, s, batch(0, 3))
	inside, release := make(chan struct{}), make(chan struct{})
	type result struct {
		keys []string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		var r result
		r.err = s.Scan(context.Background(), []byte("x/"), nil, func(k, v []byte) bool {
			if len(r.keys) == 0 {
				close(inside)
				<-release
			}
			r.keys = append(r.keys, string(k))
			return true
		})
		res <- r
	}()
	<-inside
	within(t, "commits, updates and reads beside a Scan stuck in its callback", func() {
		for b := uint64(3); b < 12; b += 3 {
			if err := s.Commit(batch(b, 3)); err != nil {
				t.Errorf("Commit at %d: %v", b, err)
				return
			}
		}
		if err := s.Update([]ledger.KV{{Key: []byte("x/99999999"), Value: []byte("u")}}, [][]byte{extraKey(2)}); err != nil {
			t.Errorf("Update: %v", err)
		}
		if st, err := s.Load(); err != nil || st.Size != 12 {
			t.Errorf("Load: size %d, %v; want 12", st.Size, err)
		}
		if es, err := s.Entries(0, 12); err != nil || len(es) != 12 {
			t.Errorf("Entries(0, 12): %d, %v", len(es), err)
		}
		if _, err := s.Tile(ledger.TileID{}); err != nil {
			t.Errorf("Tile: %v", err)
		}
		if _, ok, err := s.Lookup(dedupKey(11)); !ok || err != nil {
			t.Errorf("Lookup: %v, %v", ok, err)
		}
		if v, err := s.Get([]byte("x/99999999")); err != nil || string(v) != "u" {
			t.Errorf("Get: %q, %v", v, err)
		}
		n := 0
		if err := s.Scan(context.Background(), []byte("x/"), nil, func(k, v []byte) bool { n++; return true }); err != nil || n != 12 {
			t.Errorf("a second Scan beside the stuck one: %d keys, %v; want 12", n, err)
		}
	})
	close(release)
	r := <-res
	if r.err != nil {
		t.Fatalf("the stuck Scan: %v", r.err)
	}
	// Its snapshot is that of its start: the three keys of the first batch,
	// none of the later writes (x/00000002 deleted, x/00000003... added).
	if want := []string{"x/00000000", "x/00000001", "x/00000002"}; !slices.Equal(r.keys, want) {
		t.Fatalf("the stuck Scan saw %q, want the keys of its own snapshot %q", r.keys, want)
	}
}

func testReopen(t *testing.T, open OpenFunc) {
	dir := t.TempDir()
	s := openStore(t, open, dir)
	mustCommit(t, s, &ledger.Batch{Tiles: map[ledger.TileID][]byte{}, State: state(0)})
	size := uint64(0)
	for _, n := range []int{5, 300, 1} {
		mustCommit(t, s, batch(size, n))
		size += uint64(n)
	}
	if err := s.Update([]ledger.KV{{Key: []byte("updated"), Value: []byte("yes")}}, [][]byte{[]byte("gone")}); err != nil {
		t.Fatal(err)
	}
	if err := s.close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := s.Get([]byte("updated")); err == nil {
		t.Fatalf("Get after Close succeeded, want an error")
	}
	s = openStore(t, open, dir)
	checkLog(t, s, size)
	if v, err := s.Get([]byte("updated")); err != nil || string(v) != "yes" {
		t.Fatalf("Get of an updated key after reopening: %q, %v", v, err)
	}
	// The reopened store takes the log further.
	mustCommit(t, s, batch(size, 10))
	checkLog(t, s, size+10)
	if err := s.close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = openStore(t, open, dir)
	checkLog(t, s, size+10)
}
