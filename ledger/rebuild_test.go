package ledger_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
)

// countingStore counts the commits of a rebuild (its BatchLimits are the
// store's).
type countingStore struct {
	*badgerstore.Store
	commits int
}

func (c *countingStore) Commit(b *ledger.Batch) error {
	c.commits++
	return c.Store.Commit(b)
}

// rebuild writes the first n entries of src into a fresh store with small
// Badger transactions, and returns it and the number of commits.
func rebuild(t *testing.T, src ledger.Storage, n int, cp []byte) (*badgerstore.Store, int, error) {
	t.Helper()
	st, err := badgerstore.Open(badgerstore.Config{Dir: t.TempDir(), MemTableSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{Store: st}
	rb, err := ledger.NewRebuilder(cs)
	if err != nil {
		t.Fatal(err)
	}
	es, err := src.Entries(0, n)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range es {
		re := ledger.RebuildEntry{Entry: e, LoggedAt: int64(1000 + i)}
		if i%2 == 0 {
			re.Dedup, re.Key = ledger.DedupStamped, []byte(strings.Repeat("k", 200)+string(e))
			re.Extra = []ledger.KV{{Key: append([]byte("x/"), e...), Value: bytes.Repeat([]byte{7}, 300)}}
		}
		if err := rb.Add(re); err != nil {
			st.Close()
			return nil, 0, err
		}
	}
	if err := rb.Finish(cp, testOrigin); err != nil {
		st.Close()
		return nil, 0, err
	}
	return st, cs.commits, nil
}

func TestRebuildContinuesTheTree(t *testing.T) {
	s, v := newKey(t)
	dir := t.TempDir()
	l := openLog(t, dir, s, nil)
	fillLog(t, l, 0, 5000)
	head := l.Head()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	src := openStore(t, dir)

	st, commits, err := rebuild(t, src, 5000, head.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	if commits < 3 {
		t.Errorf("%d commits, want several within the small store's batch limits", commits)
	}
	wantClean(t, runFsck(t, st, ledger.FsckOptions{Origin: testOrigin}), 5000)
	for _, k := range []uint64{1, 255, 256, 257, 4097, 5000} {
		a, errA := ledger.RootAt(src, k)
		b, errB := ledger.RootAt(st, k)
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("root at %d: source %x %v, rebuilt %x %v", k, a, errA, b, errB)
		}
	}
	if _, err := ledger.RootAt(st, 5001); !errors.Is(err, ledger.ErrInvalidRange) {
		t.Errorf("root beyond the tree: %v", err)
	}
	for _, i := range []uint64{0, 2, 4998} { // the stamped keys and extras were written
		e, _ := st.Entries(i, 1)
		if idx, ok, err := st.Lookup(append([]byte("k"+strings.Repeat("k", 200)), e[0]...)); !ok || idx != i || err != nil {
			t.Errorf("dedup key of entry %d: %d %v %v", i, idx, ok, err)
		}
		if _, err := st.Get(append([]byte("x/"), e[0]...)); err != nil {
			t.Errorf("extra key of entry %d: %v", i, err)
		}
	}

	// Opened with the same key (and Badger's default transaction sizes,
	// which the log needs), the rebuilt log appends and stays consistent
	// with the source's checkpoint.
	rdir := st.DB().Opts().Dir
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := openLog(t, rdir, s, nil)
	defer l2.Close()
	if !bytes.Equal(l2.Head().Checkpoint, head.Checkpoint) {
		t.Fatalf("rebuilt head %q, want the source's %q", l2.Head().Checkpoint, head.Checkpoint)
	}
	fillLog(t, l2, 5000, 5300)
	next := openTree(t, v, l2.Head().Checkpoint)
	p, err := l2.ConsistencyProof(head.Size, uint64(next.N))
	if err != nil {
		t.Fatal(err)
	}
	var tp tlog.TreeProof
	for _, h := range p {
		tp = append(tp, tlog.Hash(h))
	}
	if err := tlog.CheckTree(tp, next.N, next.Hash, int64(head.Size), tlog.Hash(head.Root)); err != nil {
		t.Fatalf("not consistent: %v", err)
	}
}

func TestRebuildRefuses(t *testing.T) {
	s, _ := newKey(t)
	dir := t.TempDir()
	l := openLog(t, dir, s, nil)
	fillLog(t, l, 0, 300)
	head := l.Head()
	l.Close()
	src := openStore(t, dir)

	// A checkpoint for another tree: one entry short.
	if _, _, err := rebuild(t, src, 299, head.Checkpoint); err == nil || !strings.Contains(err.Error(), "size 300, 299 entries") {
		t.Errorf("short rebuild: %v", err)
	}
	// The right size, the wrong entries.
	st, err := badgerstore.Open(badgerstore.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rb, err := ledger.NewRebuilder(st)
	if err != nil {
		t.Fatal(err)
	}
	es, _ := src.Entries(0, 300)
	es[17] = []byte("not the log's entry")
	for _, e := range es {
		if err := rb.Add(ledger.RebuildEntry{Entry: e}); err != nil {
			t.Fatal(err)
		}
	}
	if err := rb.Finish(head.Checkpoint, testOrigin); err == nil || !strings.Contains(err.Error(), "the entries are not the log's") {
		t.Errorf("wrong entries: %v", err)
	}
	if err := rb.Finish(head.Checkpoint, "other.example/log"); err == nil || !strings.Contains(err.Error(), "origin") {
		t.Errorf("wrong origin: %v", err)
	}
	// Log time going backwards, a repeated dedup key.
	rb2, err := ledger.NewRebuilder(openStore(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if err := rb2.Add(ledger.RebuildEntry{Entry: []byte("a"), LoggedAt: 10, Dedup: ledger.DedupStamped, Key: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	if err := rb2.Add(ledger.RebuildEntry{Entry: []byte("b"), LoggedAt: 9}); err == nil || !strings.Contains(err.Error(), "backwards") {
		t.Errorf("time going backwards: %v", err)
	}
	if err := rb2.Add(ledger.RebuildEntry{Entry: []byte("c"), LoggedAt: 11, Dedup: ledger.DedupStamped, Key: []byte("a")}); err == nil || !strings.Contains(err.Error(), "dedup key") {
		t.Errorf("repeated dedup key: %v", err)
	}
	// A store that holds a log.
	if _, err := ledger.NewRebuilder(src); !errors.Is(err, ledger.ErrNotEmpty) {
		t.Errorf("rebuild into a log: %v, want ErrNotEmpty", err)
	}
}
