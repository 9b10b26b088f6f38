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

// TestVlogSyncFailureStops: once Badger reports (by logging, which is all
// it does) that a sync of its value log failed, the commit that wrote it
// fails and so does every later Commit and Update, while reads go on;
// other errors Badger logs stop nothing.
func TestVlogSyncFailureStops(t *testing.T) {
	s, err := Open(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Commit(oneEntry(0)); err != nil {
		t.Fatal(err)
	}
	s.blog.Errorf("Error while flushing memtable to disk: %v\n", errors.New("not this one"))
	if err := s.Commit(oneEntry(1)); err != nil {
		t.Fatalf("after another logged error: %v, want the commit to go through", err)
	}
	// As valueLog.write does, from inside the next commit's write (its
	// sync comes before the transaction's Commit returns).
	s.blog.Errorf(vlogSyncFailed, errors.New("input/output error"))
	err = s.Commit(oneEntry(2))
	if !errors.Is(err, ErrSyncLost) || !strings.Contains(err.Error(), "input/output error") {
		t.Fatalf("commit after a failed value log sync: %v, want ErrSyncLost naming the sync's error", err)
	}
	if st, err := s.Load(); err != nil || st.Size != 2 {
		t.Fatalf("state read after the failed commit: size %d, %v; want the last one acknowledged, 2", st.Size, err)
	}
	if err := s.Commit(oneEntry(2)); !errors.Is(err, ErrSyncLost) {
		t.Fatalf("a later commit: %v, want ErrSyncLost", err)
	}
	if err := s.Update([]ledger.KV{{Key: []byte("k"), Value: []byte("v")}}, nil); !errors.Is(err, ErrSyncLost) {
		t.Fatalf("an update: %v, want ErrSyncLost", err)
	}
	if v, err := s.Get([]byte("big1")); err != nil || len(v) != 1000 {
		t.Fatalf("a read: %d bytes, %v; want reads to go on", len(v), err)
	}
}

// TestVlogSyncFormat holds vlogSyncFailed to the Badger this module
// builds with: if its value log logs a failed sync some other way, the
// store would no longer see it.
func TestVlogSyncFormat(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/dgraph-io/badger/v4").Output()
	if err != nil {
		t.Fatalf("go list the Badger module: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "value.go"))
	if err != nil {
		t.Fatal(err)
	}
	call := "vlog.opt.Errorf(" + strconv.Quote(vlogSyncFailed) + ", err)"
	if n := bytes.Count(src, []byte(call)); n != 1 {
		t.Fatalf("Badger's value.go holds %s %d times, want once (in valueLog.write's deferred sync)", call, n)
	}
	if !bytes.Contains(src, []byte("if err := curlf.Sync(); err != nil {\n\t\t\t\t"+call)) {
		t.Fatalf("Badger's value.go no longer logs the error of curlf.Sync() with %s", call)
	}
}
