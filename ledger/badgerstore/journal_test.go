package badgerstore

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/fjaledger/fja/ledger"
)

// oneEntry is the batch of entry i (a value over the value threshold among
// its index keys, so that its commit writes the value log).
func oneEntry(i uint64) *ledger.Batch {
	h := bytes.Repeat([]byte{7}, 32)
	return &ledger.Batch{
		Start: i, Entries: [][]byte{{byte(i)}}, DedupKeys: [][]byte{{'h', byte(i)}},
		Tiles: map[ledger.TileID][]byte{{Level: 0, Index: 0}: bytes.Repeat(h, int(i)+1)},
		State: ledger.State{Size: i + 1, Range: [][]byte{h}, LastTime: int64(i), Checkpoint: []byte("cp")},
		Extra: []ledger.KV{{Key: []byte("big" + strconv.Itoa(int(i))), Value: bytes.Repeat([]byte{1}, 1000)}},
	}
}

// copyTree copies the files under src to dst, as a power loss would leave
// them if everything had been durable at that moment. (cp keeps Badger's
// preallocated files sparse.)
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-r", "--sparse=always", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
}

func openT(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func commitRange(t *testing.T, s *Store, from, to uint64) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := s.Commit(oneEntry(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// checkHolds fails unless s holds exactly entries [0, n) as oneEntry makes
// them: state, entries, the tile, dedup keys and index keys.
func checkHolds(t *testing.T, s *Store, n uint64) {
	t.Helper()
	st, err := s.Load()
	if err != nil || st.Size != n || st.LastTime != int64(n-1) {
		t.Fatalf("state: %+v, %v; want size %d", st, err, n)
	}
	es, err := s.Entries(0, int(n))
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range es {
		if !bytes.Equal(e, oneEntry(uint64(i)).Entries[0]) {
			t.Fatalf("entry %d is %x", i, e)
		}
	}
	if tl, err := s.Tile(ledger.TileID{}); err != nil || !bytes.Equal(tl, oneEntry(n - 1).Tiles[ledger.TileID{}]) {
		t.Fatalf("tile 0/0: %d bytes, %v; want %d", len(tl), err, 32*n)
	}
	for i := range n {
		if idx, ok, err := s.Lookup([]byte{'h', byte(i)}); err != nil || !ok || idx != i {
			t.Fatalf("dedup key of entry %d: %d, %v, %v", i, idx, ok, err)
		}
		if v, err := s.Get([]byte("big" + strconv.Itoa(int(i)))); err != nil || len(v) != 1000 {
			t.Fatalf("index key of entry %d: %d bytes, %v", i, len(v), err)
		}
	}
	if _, ok, _ := s.Lookup([]byte{'h', byte(n)}); ok {
		t.Fatalf("dedup key of entry %d, past the size", n)
	}
}

// A power loss keeps what was durable: the log files and Badger as of the
// last checkpoint, and the journal. Open replays the journal's commits
// into both, so every acknowledged batch is there, and the store goes on.
func TestJournalReplay(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	commitRange(t, s, 0, 3)
	if err := s.Close(); err != nil { // a checkpoint
		t.Fatal(err)
	}
	durable := filepath.Join(t.TempDir(), "store")
	copyTree(t, dir, durable)

	s = openT(t, dir)
	commitRange(t, s, 3, 6)
	jpath := filepath.Join(LogDir, JournalFile)
	j, err := os.ReadFile(filepath.Join(dir, jpath))
	if err != nil || len(j) == 0 {
		t.Fatalf("the journal after three commits: %d bytes, %v", len(j), err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, jpath)); err != nil || fi.Size() != 0 {
		t.Fatalf("the journal after Close: %v, %v; want it empty (a checkpoint)", fi, err)
	}

	// The power loss: nothing of commits 3..5 but the journal.
	if err := os.WriteFile(filepath.Join(durable, jpath), j, 0o600); err != nil {
		t.Fatal(err)
	}
	torn := filepath.Join(t.TempDir(), "torn")
	copyTree(t, durable, torn)
	r := openT(t, durable)
	checkHolds(t, r, 6)
	if fi, err := os.Stat(filepath.Join(durable, jpath)); err != nil || fi.Size() != 0 {
		t.Fatalf("the journal after the replay: %v, %v; want it empty", fi, err)
	}
	commitRange(t, r, 6, 7)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r = openT(t, durable)
	checkHolds(t, r, 7)
	r.Close()

	// A journal whose last record was being written: that commit was
	// never acknowledged, and the store goes on without it.
	if err := os.WriteFile(filepath.Join(torn, jpath), j[:len(j)-1], 0o600); err != nil {
		t.Fatal(err)
	}
	r = openT(t, torn)
	checkHolds(t, r, 5)
	commitRange(t, r, 5, 6)
	checkHolds(t, r, 6)
	r.Close()
}

// A replay never undoes an Update: an Update checkpoints first, so the
// journal no longer holds the batch that set the key it deletes.
func TestJournalUpdateNotUndone(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	defer s.Close()
	commitRange(t, s, 0, 3)
	if err := s.Update(nil, [][]byte{[]byte("big1")}); err != nil {
		t.Fatal(err)
	}
	commitRange(t, s, 3, 4) // in the journal again
	crashed := filepath.Join(t.TempDir(), "store")
	copyTree(t, dir, crashed) // as a kill -9 leaves it: everything written
	r := openT(t, crashed)
	defer r.Close()
	if st, err := r.Load(); err != nil || st.Size != 4 {
		t.Fatalf("state: %+v, %v", st, err)
	}
	if v, err := r.Get([]byte("big1")); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("the key the Update deleted: %d bytes, %v; want it gone", len(v), err)
	}
	if _, err := r.Get([]byte("big3")); err != nil {
		t.Fatalf("the key of the commit after the Update: %v", err)
	}
}

// A batch that does not fit one Badger transaction is refused before it
// reaches the journal: nothing is written, the store goes on, and no
// replay ever meets it.
func TestJournalRefusedBatch(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Config{Dir: dir, MemTableSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	commitRange(t, s, 0, 1)
	before, _ := os.ReadFile(filepath.Join(dir, LogDir, JournalFile))
	b := oneEntry(1)
	for i := range 1000 { // 200 KB of small values, over 15% of the memtable
		b.Extra = append(b.Extra, ledger.KV{Key: []byte("many" + strconv.Itoa(i)), Value: bytes.Repeat([]byte{1}, 200)})
	}
	if err := s.Commit(b); !errors.Is(err, badger.ErrTxnTooBig) {
		t.Fatalf("a batch over Badger's transaction: %v, want ErrTxnTooBig", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, LogDir, JournalFile)); !bytes.Equal(after, before) {
		t.Fatalf("the journal changed: %d bytes, was %d", len(after), len(before))
	}
	commitRange(t, s, 1, 2)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir)
	defer s.Close()
	checkHolds(t, s, 2)
}

// A store without its layout record (moved again at Open, which empties
// the log directory) but with a journal to replay is refused.
func TestJournalBeforeLayout(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	commitRange(t, s, 0, 2)
	if err := s.DB().Update(func(txn *badger.Txn) error { return txn.Delete(layoutKey) }); err != nil {
		t.Fatal(err)
	}
	crashed := filepath.Join(t.TempDir(), "store")
	copyTree(t, dir, crashed)
	s.Close()
	if _, err := Open(Config{Dir: crashed}); err == nil || !strings.Contains(err.Error(), "journal") {
		t.Fatalf("open: %v, want a refusal naming the journal", err)
	}
}

// A journal that does not continue the store (here, one of another store
// ahead of it) is refused, naming the journal and what to do.
func TestJournalOfAnotherStore(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	commitRange(t, s, 0, 3)
	if err := s.Update(nil, nil); err != nil { // a checkpoint: the journal empty
		t.Fatal(err)
	}
	commitRange(t, s, 3, 5)
	j, err := os.ReadFile(filepath.Join(dir, LogDir, JournalFile))
	if err != nil || len(j) == 0 {
		t.Fatalf("journal: %d bytes, %v", len(j), err)
	}
	s.Close()
	other := t.TempDir()
	openT(t, other).Close() // a new store, of size 0
	if err := os.WriteFile(filepath.Join(other, LogDir, JournalFile), j, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Open(Config{Dir: other})
	if err == nil || !strings.Contains(err.Error(), "holds 0 entries, but the journal continues a store of 3") || !strings.Contains(err.Error(), "moved aside") {
		t.Fatalf("open: %v, want a refusal naming the journal", err)
	}
}

// Writes after Close fail; they do not panic.
func TestWriteAfterClose(t *testing.T) {
	s := openT(t, t.TempDir())
	commitRange(t, s, 0, 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(oneEntry(1)); !errors.Is(err, errClosed) {
		t.Fatalf("commit after Close: %v, want errClosed", err)
	}
	if err := s.Update(nil, nil); !errors.Is(err, errClosed) {
		t.Fatalf("update after Close: %v, want errClosed", err)
	}
}

// A write that fails once its batch is in the journal stops the store:
// every later Commit and Update fails with ErrWriteFailed, naming the
// first error, while reads go on at the last acknowledged state.
func TestFailedWriteStops(t *testing.T) {
	s := openT(t, t.TempDir())
	commitRange(t, s, 0, 2)
	s.journal.Close() // the journal fails under the next Append
	first := s.Commit(oneEntry(2))
	if first == nil || errors.Is(first, ErrWriteFailed) || !strings.Contains(first.Error(), "journal: append") {
		t.Fatalf("the commit whose journal write fails: %v, want its own error", first)
	}
	cause := first.Error()[strings.Index(first.Error(), "journal: append"):]
	err := s.Commit(oneEntry(2))
	if !errors.Is(err, ErrWriteFailed) || !strings.Contains(err.Error(), cause) {
		t.Fatalf("a later commit: %v, want ErrWriteFailed naming the first error", err)
	}
	if err := s.Update([]ledger.KV{{Key: []byte("k"), Value: []byte("v")}}, nil); !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("an update: %v, want ErrWriteFailed", err)
	}
	checkHolds(t, s, 2)
	s.Close() // reports the closed file; must not checkpoint a failed store
}
