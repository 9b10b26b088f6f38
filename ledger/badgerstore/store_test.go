package badgerstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/fjaledger/fja/ledger"
)

// TestReadsSeeEveryCommit: the read snapshot is replaced before Commit and
// Update return, so a read after either sees it; state round-trips.
func TestReadsSeeEveryCommit(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := s.Load(); err != nil || st.Size != 0 {
		t.Fatalf("new store: %+v, %v", st, err)
	}
	h := bytes.Repeat([]byte{7}, 32)
	for i := uint64(0); i < 50; i++ {
		b := &ledger.Batch{
			Start: i, Entries: [][]byte{{byte(i)}}, DedupKeys: [][]byte{{'h', byte(i)}},
			Tiles: map[ledger.TileID][]byte{{Level: 0, Index: 0}: bytes.Repeat(h, int(i)+1)},
			State: ledger.State{Size: i + 1, Range: [][]byte{h, h}, LastTime: int64(i), Checkpoint: []byte("cp")},
			Extra: []ledger.KV{{Key: []byte{'x', byte(i)}, Value: []byte{byte(i)}}},
		}
		if err := s.Commit(b); err != nil {
			t.Fatal(err)
		}
		es, err := s.Entries(i, 1)
		if err != nil || es[0][0] != byte(i) {
			t.Fatalf("entry %d right after its commit: %v, %v", i, es, err)
		}
		if idx, ok, err := s.Lookup([]byte{'h', byte(i)}); err != nil || !ok || idx != i {
			t.Fatalf("dedup key %d: %d %v %v", i, idx, ok, err)
		}
		if tl, err := s.Tile(ledger.TileID{}); err != nil || len(tl) != 32*(int(i)+1) {
			t.Fatalf("tile after commit %d: %d bytes, %v", i, len(tl), err)
		}
		if v, err := s.Get([]byte{'x', byte(i)}); err != nil || v[0] != byte(i) {
			t.Fatalf("index key %d: %v %v", i, v, err)
		}
	}
	if err := s.Update(nil, [][]byte{{'x', 3}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get([]byte{'x', 3}); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("deleted index key: %v, want ErrNotFound", err)
	}
	es, err := s.Entries(10, 40)
	if err != nil || len(es) != 40 || es[39][0] != 49 {
		t.Fatalf("Entries(10, 40): %d entries, %v", len(es), err)
	}
	if _, err := s.Entries(45, 10); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("Entries past the end: %v, want ErrNotFound", err)
	}
	n := 0
	if err := s.Scan(context.Background(), []byte{'x'}, nil, func(k, v []byte) bool { n++; return true }); err != nil || n != 49 {
		t.Fatalf("Scan: %d keys, %v", n, err)
	}
	n = 0
	if err := s.Scan(context.Background(), []byte{'x'}, []byte{'x', 40}, func(k, v []byte) bool { n++; return k[1] < 45 }); err != nil || n != 6 {
		t.Fatalf("Scan from x40 until x45: %d keys, %v", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get([]byte{'x', 1}); err == nil {
		t.Fatal("read after Close succeeded")
	}
	s, err = Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.Load()
	if err != nil || st.Size != 50 || st.LastTime != 49 || len(st.Range) != 2 || string(st.Checkpoint) != "cp" {
		t.Fatalf("state after reopen: %+v, %v", st, err)
	}
}

// TestScanDoesNotBlockCommits: a Scan whose callback is stuck holds no lock
// that Commit, Update or another read needs; the stuck scan keeps its own
// snapshot, and a cancelled context ends a scan with the context's error.
func TestScanDoesNotBlockCommits(t *testing.T) {
	s, err := Open(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := bytes.Repeat([]byte{7}, 32)
	commit := func(i uint64) error {
		return s.Commit(&ledger.Batch{
			Start: i, Entries: [][]byte{{byte(i)}}, DedupKeys: [][]byte{{'h', byte(i)}},
			Tiles: map[ledger.TileID][]byte{{Level: 0, Index: 0}: bytes.Repeat(h, int(i)+1)},
			State: ledger.State{Size: i + 1, Range: [][]byte{h}, Checkpoint: []byte("cp")},
			Extra: []ledger.KV{{Key: []byte{'k', byte(i)}, Value: []byte{byte(i)}}},
		})
	}
	for i := uint64(0); i < 3; i++ {
		if err := commit(i); err != nil {
			t.Fatal(err)
		}
	}
	inside, release := make(chan struct{}), make(chan struct{})
	seen := make(chan int, 1)
	go func() {
		n := 0
		err := s.Scan(context.Background(), []byte{'k'}, nil, func(k, v []byte) bool {
			if n == 0 {
				close(inside)
				<-release
			}
			n++
			return true
		})
		if err != nil {
			t.Errorf("scan: %v", err)
		}
		seen <- n
	}()
	<-inside
	// The scan is parked inside its callback. Writes and reads go on.
	for i := uint64(3); i < 6; i++ {
		if err := commit(i); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Update([]ledger.KV{{Key: []byte{'k', 99}, Value: []byte{1}}}, nil); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get([]byte{'k', 5}); err != nil || v[0] != 5 {
		t.Fatalf("read during a stuck scan: %v, %v", v, err)
	}
	close(release)
	if n := <-seen; n != 3 {
		t.Fatalf("the stuck scan saw %d keys, want the 3 of its own snapshot", n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := 0; i < 2*scanCheckEvery; i++ {
		if err := s.Update([]ledger.KV{{Key: []byte{'m', byte(i >> 8), byte(i)}, Value: []byte{1}}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	err = s.Scan(ctx, []byte{'m'}, nil, func(k, v []byte) bool { n++; return true })
	if !errors.Is(err, context.Canceled) || n >= 2*scanCheckEvery {
		t.Fatalf("scan with a cancelled context: %d keys, %v; want context.Canceled before the end", n, err)
	}
}

// TestOpenExisting: an offline tool never creates a store, and a store
// another process holds is refused with advice.
func TestOpenExisting(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenExisting(dir); err == nil || !strings.Contains(err.Error(), "no ledger store") {
		t.Fatalf("empty directory: %v", err)
	}
	s, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenExisting(dir); err == nil || !strings.Contains(err.Error(), "is ledgerd running?") {
		t.Fatalf("a locked store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = OpenExisting(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// TestMemoryBounded: Badger runs with the options that bound its memory
// (two memtables, tables of one size at every level) and without a block
// cache, and writes that fill many memtables go through, every key
// readable after (from the flushed tables, read from their maps), when
// each flush must finish before the next memtable is free.
func TestMemoryBounded(t *testing.T) {
	s, err := Open(Config{Dir: t.TempDir(), MemTableSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if o := s.db.Opts(); o.NumMemtables != 2 || o.TableSizeMultiplier != 1 || o.BlockCacheSize != 0 {
		t.Fatalf("Badger runs with %d memtables, tables multiplied by %d per level and a block cache of %d bytes, want 2, 1 and none",
			o.NumMemtables, o.TableSizeMultiplier, o.BlockCacheSize)
	}
	// About 25 MiB of keys and values (under the value threshold, so in
	// the memtables): some 25 memtables of 1 MiB, flushed one at a time.
	value := bytes.Repeat([]byte{'x'}, 200)
	const perUpdate, updates = 256, 480
	for u := range updates {
		kvs := make([]ledger.KV, perUpdate)
		for i := range kvs {
			kvs[i] = ledger.KV{Key: fmt.Appendf(nil, "t/%04d/%04d", u, i), Value: value}
		}
		if err := s.Update(kvs, nil); err != nil {
			t.Fatalf("update %d of %d: %v", u, updates, err)
		}
	}
	for _, u := range []int{0, updates / 2, updates - 1} {
		for _, i := range []int{0, perUpdate - 1} {
			k := fmt.Sprintf("t/%04d/%04d", u, i)
			if v, err := s.Get([]byte(k)); err != nil || !bytes.Equal(v, value) {
				t.Fatalf("Get(%s) = %d bytes, %v; want the %d bytes written", k, len(v), err, len(value))
			}
		}
	}
}

// TestBadgerLog: Badger's info messages (here, the tables it loads at Open)
// reach the logger at debug level, without their trailing newline, and
// only when it takes debug messages; none at info level.
func TestBadgerLog(t *testing.T) {
	for _, c := range []struct {
		level slog.Level
		want  bool
	}{{slog.LevelDebug, true}, {slog.LevelInfo, false}} {
		var buf bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: c.level}))
		s, err := Open(Config{Dir: t.TempDir(), Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		got := strings.Contains(out, "level=DEBUG") && strings.Contains(out, "component=badger") && strings.Contains(out, "tables opened")
		if got != c.want {
			t.Fatalf("logger at %v: Badger's info messages logged = %v, want %v; the log:\n%s", c.level, got, c.want, out)
		}
		if strings.Contains(out, `\n"`) {
			t.Fatalf("a Badger message kept its trailing newline:\n%s", out)
		}
	}
}
