package ledger_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
)

// fillLog appends entries [from, to) concurrently, so they are batched.
func fillLog(t testing.TB, l *ledger.Log, from, to int) {
	t.Helper()
	ctx := context.Background()
	const wave = 4096
	for lo := from; lo < to; lo += wave {
		hi := min(lo+wave, to)
		var wg sync.WaitGroup
		errs := make(chan error, hi-lo)
		for i := lo; i < hi; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := appendRetry(ctx, l, entry(i)); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
}

// buildStore makes a closed log of n entries and returns its directory and
// the verifier key of its signer.
func buildStore(t testing.TB, n int) (dir, vkey string, root []byte) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(nil, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	l := openLog(t, dir, s, nil)
	fillLog(t, l, 0, n)
	head := l.Head()
	if head.Size != uint64(n) {
		t.Fatalf("size %d, want %d", head.Size, n)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, vkey, head.Root
}

func openStore(t testing.TB, dir string) *badgerstore.Store {
	t.Helper()
	st, err := badgerstore.Open(badgerstore.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func runFsck(t testing.TB, st ledger.Storage, opts ledger.FsckOptions) *ledger.FsckReport {
	t.Helper()
	rep, err := ledger.Fsck(context.Background(), st, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func wantClean(t testing.TB, rep *ledger.FsckReport, size uint64) {
	t.Helper()
	if rep.Size != size || !rep.OK() {
		t.Fatalf("fsck of size %d: size %d, problems %v (omitted %d), want none", size, rep.Size, rep.Problems, rep.Omitted)
	}
}

// wantProblem checks that rep has a problem of kind at index whose detail
// contains every one of details.
func wantProblem(t testing.TB, rep *ledger.FsckReport, index uint64, kind string, details ...string) {
	t.Helper()
	for _, p := range rep.Problems {
		if p.Index != index || p.Kind != kind {
			continue
		}
		ok := true
		for _, d := range details {
			ok = ok && strings.Contains(p.Detail, d)
		}
		if ok {
			return
		}
	}
	t.Fatalf("no %s problem at index %d with %q; got:\n%s", kind, index, details, problems(rep))
}

func problems(rep *ledger.FsckReport) string {
	var b strings.Builder
	for _, p := range rep.Problems {
		fmt.Fprintln(&b, p)
	}
	return b.String()
}

// logFile is the path of one of the log files of the store in dir.
func logFile(dir, name string) string { return filepath.Join(dir, badgerstore.LogDir, name) }

func hashes(level int) string { return fmt.Sprintf("hashes.%d", level) }

// tamperFile replaces the file name of the store in dir with change(its
// content) behind the store's back, as damage to the disk would, runs
// check, and puts the old content back. The store reads the files with
// pread, so the open store sees the change at once.
func tamperFile(t *testing.T, dir, name string, change func([]byte) []byte, check func()) {
	t.Helper()
	p := logFile(dir, name)
	old, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	put := func(b []byte) {
		t.Helper()
		// Truncate then write in place: the store holds the file open.
		if err := os.Truncate(p, 0); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	put(change(bytes.Clone(old)))
	defer put(old)
	check()
}

// entryAt is the byte offset of entry i in the entries file of the store
// in dir, read from its offsets file.
func entryAt(t *testing.T, dir string, i uint64) int {
	t.Helper()
	if i == 0 {
		return 0
	}
	offs, err := os.ReadFile(logFile(dir, "offsets"))
	if err != nil {
		t.Fatal(err)
	}
	return int(binary.BigEndian.Uint64(offs[8*(i-1):]))
}

// hashAt is the byte offset of a hash of tile level/index in its level's
// file.
func hashAt(index uint64, at int) int { return 32 * (256*int(index) + at) }

func cut(n int) func([]byte) []byte { return func(b []byte) []byte { return b[:n] } }

// tamperKey sets the Badger key k of st to change(old value) behind the
// store's back, runs check, and restores the old value.
func tamperKey(t *testing.T, st *badgerstore.Store, k []byte, change func([]byte) []byte, check func()) {
	t.Helper()
	set := func(v []byte) {
		t.Helper()
		if err := st.DB().Update(func(txn *badger.Txn) error { return txn.Set(k, v) }); err != nil {
			t.Fatal(err)
		}
		st.Refresh()
	}
	var old []byte
	if err := st.DB().View(func(txn *badger.Txn) error {
		it, err := txn.Get(k)
		if err != nil {
			return err
		}
		old, err = it.ValueCopy(nil)
		return err
	}); err != nil {
		t.Fatalf("get %q: %v", k, err)
	}
	set(change(bytes.Clone(old)))
	defer set(old)
	check()
}

func flip(at int) func([]byte) []byte {
	return func(b []byte) []byte { b[at] ^= 0x40; return b }
}

func TestFsckClean(t *testing.T) {
	for _, n := range []int{0, 1, 255, 256, 257, 2000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			dir, vkey, root := buildStore(t, n)
			st := openStore(t, dir)
			var calls, last uint64
			rep := runFsck(t, st, ledger.FsckOptions{Origin: testOrigin, VerifierKeys: []string{vkey},
				Progress: func(done, total uint64) {
					calls++
					last = done
					if total != uint64(n) || done > total {
						t.Errorf("progress %d/%d, want total %d", done, total, n)
					}
				}})
			wantClean(t, rep, uint64(n))
			if calls == 0 || last != uint64(n) {
				t.Errorf("progress: %d calls, last done %d, want > 0 calls ending at %d", calls, last, n)
			}
			if !bytes.Equal(rep.Root, root) {
				t.Errorf("root %x, log head root %x", rep.Root, root)
			}
		})
	}
}

func TestFsckTamper(t *testing.T) {
	const n = 2000
	dir, vkey, _ := buildStore(t, n)
	st := openStore(t, dir)
	ctx := context.Background()
	opts := ledger.FsckOptions{Origin: testOrigin, VerifierKeys: []string{vkey}}
	wantClean(t, runFsck(t, st, opts), n)

	for _, idx := range []uint64{0, 255, 256, 1000, n - 1} {
		t.Run(fmt.Sprintf("entry %d", idx), func(t *testing.T) {
			tamperFile(t, dir, "entries", flip(entryAt(t, dir, idx)+3), func() {
				rep := runFsck(t, st, opts)
				wantProblem(t, rep, idx, ledger.ProblemEntry,
					fmt.Sprintf("entry %d: leaf hash ", idx),
					fmt.Sprintf("does not match tile 0/%d at offset %d", idx/256, idx%256))
				wantProblem(t, rep, n, ledger.ProblemCheckpoint, "root is")
				for _, p := range rep.Problems {
					if p.Kind == ledger.ProblemEntry && p.Index != idx {
						t.Errorf("unexpected %v", p)
					}
				}
			})
			wantClean(t, runFsck(t, st, opts), n)
		})
	}

	t.Run("entries cut short", func(t *testing.T) {
		tamperFile(t, dir, "entries", cut(entryAt(t, dir, 700)+5), func() {
			rep := runFsck(t, st, opts)
			wantProblem(t, rep, 700, ledger.ProblemEntry, "entry 700: missing")
			if rep.Omitted == 0 && len(rep.Problems) < n-700 {
				t.Errorf("%d problems, %d omitted; want every entry from 700 on missing", len(rep.Problems), rep.Omitted)
			}
			for _, p := range rep.Problems {
				if p.Index < 700 {
					t.Errorf("unexpected %v: the entries before 700 are whole", p)
				}
			}
		})
	})

	t.Run("offsets damaged", func(t *testing.T) {
		// The end offset of entry 300 points far past the file.
		tamperFile(t, dir, "offsets", flip(8*300+1), func() {
			rep := runFsck(t, st, opts)
			wantProblem(t, rep, 300, ledger.ProblemEntry, "entry 300: missing")
			wantProblem(t, rep, 301, ledger.ProblemEntry, "entry 301: missing")
			for _, p := range rep.Problems {
				if p.Kind == ledger.ProblemEntry && p.Index != 300 && p.Index != 301 {
					t.Errorf("unexpected %v", p)
				}
			}
		})
	})

	type tileCase struct {
		name   string
		level  int
		change func([]byte) []byte
		kind   string
		at     uint64
		detail string
	}
	for _, c := range []tileCase{
		{"level 0 hash", 0, flip(hashAt(3, 5) + 7), ledger.ProblemEntry, 3*256 + 5, "entry 773: leaf hash"},
		{"level 0 edge hash", 0, flip(hashAt(7, 207) + 31), ledger.ProblemEntry, n - 1, "does not match tile 0/7 at offset 207"},
		{"level 1 hash", 1, flip(hashAt(0, 4) + 1), ledger.ProblemTile, 4 * 256, "tile 1/0 at offset 4"},
		{"level 0 truncated", 0, cut(hashAt(2, 100)), ledger.ProblemTile, 2*256 + 100, "holds 100 hashes, want 256"},
		{"level 0 odd length", 0, cut(hashAt(1, 256) - 1), ledger.ProblemTile, 256 + 255, "8191 bytes"},
		{"edge truncated", 0, cut(hashAt(7, 200)), ledger.ProblemTile, 7*256 + 200, "want 208 hashes"},
		{"level 0 missing", 0, cut(hashAt(5, 0)), ledger.ProblemTile, 5 * 256, "tile 0/5: missing"},
		{"level 1 missing", 1, cut(0), ledger.ProblemTile, 0, "tile 1/0: missing"},
	} {
		t.Run("tile "+c.name, func(t *testing.T) {
			tamperFile(t, dir, hashes(c.level), c.change, func() {
				rep := runFsck(t, st, opts)
				wantProblem(t, rep, c.at, c.kind, c.detail)
			})
			wantClean(t, runFsck(t, st, opts), n)
		})
	}

	t.Run("dedup", func(t *testing.T) {
		k := append([]byte{'d', 'h'}, rfc6962.DefaultHasher.HashLeaf(entry(5))...)
		// entry 5 is somewhere; find its index through the store.
		idx, ok, err := st.Lookup(k[1:])
		if err != nil || !ok {
			t.Fatalf("lookup: %v %v", ok, err)
		}
		other := (idx + 1) % n
		tamperKey(t, st, k, func([]byte) []byte { return binary.BigEndian.AppendUint64(nil, other) }, func() {
			wantProblem(t, runFsck(t, st, opts), idx, ledger.ProblemDedup, fmt.Sprintf("recorded for entry %d, which holds different bytes", other))
		})
		tamperKey(t, st, k, func([]byte) []byte { return binary.BigEndian.AppendUint64(nil, n+5) }, func() {
			wantProblem(t, runFsck(t, st, opts), idx, ledger.ProblemDedup, "beyond the tree size")
		})
	})
	t.Run("checkpoint", func(t *testing.T) {
		rep := runFsck(t, st, ledger.FsckOptions{Origin: testOrigin, VerifierKeys: []string{verifierKey(t)}})
		wantProblem(t, rep, n, ledger.ProblemCheckpoint, "does not verify")
		rep = runFsck(t, st, ledger.FsckOptions{Origin: "other.example/log"})
		wantProblem(t, rep, n, ledger.ProblemCheckpoint, `origin is "test.example.org/log", want "other.example/log"`)
		if _, err := ledger.Fsck(ctx, st, ledger.FsckOptions{VerifierKeys: []string{"garbage"}}); err == nil {
			t.Error("bad verifier key: no error")
		}
	})

	t.Run("state range", func(t *testing.T) {
		// The state record: size(8) | lastTime(8) | nRange(1) | hashes | checkpoint.
		tamperKey(t, st, []byte{'s'}, flip(17+32+2), func() {
			// size 2000 = 1024+512+256+128+64+16: hash 1 covers [1024, 1536).
			wantProblem(t, runFsck(t, st, opts), 1024, ledger.ProblemState, "leaves [1024, 1536)")
		})
		tamperKey(t, st, []byte{'s'}, func(b []byte) []byte { binary.BigEndian.PutUint64(b, n-1); return b }, func() {
			rep := runFsck(t, st, opts)
			wantProblem(t, rep, n-1, ledger.ProblemCheckpoint, "size is 2000, but the stored tree size is 1999")
			wantProblem(t, rep, n-1, ledger.ProblemEntry, "stored, but the tree size is 1999")
		})
	})

	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := ledger.Fsck(ctx, st, opts); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled: err %v", err)
		}
	})
	wantClean(t, runFsck(t, st, opts), n)

	// Bytes past the tree (a batch written to the files whose commit never
	// happened) are cut when the store opens; the log is whole and goes on.
	t.Run("bytes past the tree", func(t *testing.T) {
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		var sizes []int64
		for _, name := range []string{"entries", "offsets", hashes(0), hashes(1), hashes(2)} {
			f, err := os.OpenFile(logFile(dir, name), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			fi, _ := f.Stat()
			sizes = append(sizes, fi.Size())
			if _, err := f.Write(bytes.Repeat([]byte{0xee}, 40)); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
		st2 := openStore(t, dir)
		for i, name := range []string{"entries", "offsets", hashes(0), hashes(1), hashes(2)} {
			if fi, err := os.Stat(logFile(dir, name)); err != nil || fi.Size() != sizes[i] {
				t.Errorf("%s after reopening: %v, %v; want the %d bytes the tree holds", name, fi.Size(), err, sizes[i])
			}
		}
		wantClean(t, runFsck(t, st2, opts), n)
	})
}

func verifierKey(t testing.TB) string {
	_, vkey, err := note.GenerateKey(nil, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	return vkey
}

// TestFsckStampedDuplicate: an entry logged with AppendStamped has no
// leaf-hash dedup record, so a later Append of the same bytes is logged
// again and its record names the later index. That is not a problem.
func TestFsckStampedDuplicate(t *testing.T) {
	s, _ := newKey(t)
	dir := t.TempDir()
	l := openLog(t, dir, s, nil)
	ctx := context.Background()
	fillLog(t, l, 0, 10)
	a1, err := l.AppendStamped(ctx, []byte("k1"), func(uint64, time.Time) ([]byte, []ledger.KV, error) { return entry(100), nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	a2, err := l.Append(ctx, entry(100))
	if err != nil {
		t.Fatal(err)
	}
	if a2.Duplicate || a2.Index == a1.Index {
		t.Fatalf("plain append after stamped: index %d dup %v", a2.Index, a2.Duplicate)
	}
	if _, err := l.AppendStamped(ctx, []byte("k2"), func(uint64, time.Time) ([]byte, []ledger.KV, error) { return entry(3), nil, nil }); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	st := openStore(t, dir)
	wantClean(t, runFsck(t, st, ledger.FsckOptions{Origin: testOrigin}), 13)
}

// TestFsckThreeLevels covers a tree with a level-2 tile node: 256*256+3
// entries.
func TestFsckThreeLevels(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a log of 65539 entries")
	}
	const n = 256*256 + 3
	t0 := time.Now()
	dir, vkey, _ := buildStore(t, n)
	t1 := time.Now()
	st := openStore(t, dir)
	opts := ledger.FsckOptions{Origin: testOrigin, VerifierKeys: []string{vkey}}
	wantClean(t, runFsck(t, st, opts), n)
	t.Logf("build %v, fsck %v", t1.Sub(t0), time.Since(t1))
	// Two entries at once: both are named.
	tamperFile(t, dir, "entries", func(b []byte) []byte {
		b[entryAt(t, dir, n-1)] ^= 0x40
		b[entryAt(t, dir, 40000)] ^= 0x40
		return b
	}, func() {
		rep := runFsck(t, st, opts)
		wantProblem(t, rep, n-1, ledger.ProblemEntry, "does not match tile 0/256 at offset 2")
		wantProblem(t, rep, 40000, ledger.ProblemEntry, "does not match tile 0/156 at offset 64")
		wantProblem(t, rep, 156*256, ledger.ProblemTile, "tile 1/0 at offset 156")
		wantProblem(t, rep, 0, ledger.ProblemTile, "tile 2/0 at offset 0")
	})
	tamperFile(t, dir, hashes(2), flip(1), func() {
		wantProblem(t, runFsck(t, st, opts), 0, ledger.ProblemTile, "tile 2/0 at offset 0")
	})
	wantClean(t, runFsck(t, st, opts), n)
}

func TestFsckReportWrite(t *testing.T) {
	var b bytes.Buffer
	ok := &ledger.FsckReport{Size: 2, Root: []byte{1, 2}}
	if err := ok.Write(&b, false); err != nil || b.String() != "size 2\nroot AQI=\nok\n" {
		t.Fatalf("%q %v", b.String(), err)
	}
	b.Reset()
	bad := &ledger.FsckReport{Size: 2, Root: []byte{1, 2}, Problems: []ledger.Problem{{Index: 1, Kind: "leaf", Detail: "want x, got y"}}, Omitted: 3}
	if err := bad.Write(&b, false); err != nil || b.String() != "index 1: leaf: want x, got y\n... and 3 more problems\nsize 2\nroot AQI=\n" {
		t.Fatalf("%q %v", b.String(), err)
	}
	b.Reset()
	if err := bad.Write(&b, true); err != nil || !strings.HasPrefix(b.String(), `{"size":2,"root":"AQI=","problems":[{"index":1`) {
		t.Fatalf("%q %v", b.String(), err)
	}
	if err := ok.Err(); err != nil {
		t.Fatalf("Err of a clean report: %v", err)
	}
	if err := bad.Err(); err == nil || err.Error() != "4 problems found in the log of size 2" {
		t.Fatalf("Err: %v", err)
	}
	one := &ledger.FsckReport{Size: 5, Problems: bad.Problems}
	if err := one.Err(); err == nil || err.Error() != "1 problem found in the log of size 5" {
		t.Fatalf("Err of one problem: %v", err)
	}
}
