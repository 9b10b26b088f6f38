package logfiles

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fjaledger/fja/ledger"
)

func entry(i uint64) []byte { return bytes.Repeat(fmt.Appendf(nil, "e%d;", i), int(i%5)+1) }

func node(level uint8, pos uint64) []byte {
	h := sha256.Sum256(fmt.Appendf(nil, "%d/%d", level, pos))
	return h[:]
}

// tiles is every tile the entries [start, end) change, as the log writes
// them: each level's tiles hold a node per position, width from end.
func tiles(start, end uint64) map[ledger.TileID][]byte {
	out := map[ledger.TileID][]byte{}
	for l := uint8(0); end>>(8*l) > 0; l++ {
		lo, hi := start>>(8*l), end>>(8*l)
		for n := lo / 256; n*256 < hi; n++ {
			var t []byte
			for p := n * 256; p < min(hi, (n+1)*256); p++ {
				t = append(t, node(l, p)...)
			}
			out[ledger.TileID{Level: l, Index: n}] = t
		}
	}
	return out
}

func write(t *testing.T, f *Files, start, end uint64) {
	t.Helper()
	var es [][]byte
	for i := start; i < end; i++ {
		es = append(es, entry(i))
	}
	if err := f.Write(start, es, tiles(start, end)); err != nil {
		t.Fatalf("Write [%d, %d): %v", start, end, err)
	}
}

// check reads back the whole log of size size.
func check(t *testing.T, f *Files, size uint64) {
	t.Helper()
	if f.Size() != size {
		t.Fatalf("size %d, want %d", f.Size(), size)
	}
	if size > 0 {
		es, err := f.Entries(0, int(size))
		if err != nil {
			t.Fatalf("Entries(0, %d): %v", size, err)
		}
		for i, e := range es {
			if !bytes.Equal(e, entry(uint64(i))) {
				t.Fatalf("entry %d: %q, want %q", i, e, entry(uint64(i)))
			}
		}
		for _, i := range []uint64{0, size / 2, size - 1} {
			if es, err := f.Entries(i, 1); err != nil || !bytes.Equal(es[0], entry(i)) {
				t.Fatalf("Entries(%d, 1): %v", i, err)
			}
		}
	}
	if _, err := f.Entries(size, 1); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("Entries(%d, 1) past the log: %v, want ErrNotFound", size, err)
	}
	for id, want := range tiles(0, size) {
		if got, err := f.Tile(id); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("Tile(%d/%d): %d bytes, %v; want %d", id.Level, id.Index, len(got), err, len(want))
		}
	}
	for _, id := range []ledger.TileID{{Level: 0, Index: size / 256 * 2}, {Level: 2, Index: 0}, {Level: 7, Index: 1 << 50}, {Level: 9}} {
		if _, ok := tiles(0, size)[id]; ok {
			continue
		}
		if _, err := f.Tile(id); !errors.Is(err, ledger.ErrNotFound) {
			t.Fatalf("Tile(%d/%d) past the tree of size %d: %v, want ErrNotFound", id.Level, id.Index, size, err)
		}
	}
}

func TestWriteThenPublish(t *testing.T) {
	dir := t.TempDir()
	f, err := Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	size := uint64(0)
	for _, n := range []uint64{1, 254, 1, 300, 66000 - 556} {
		write(t, f, size, size+n)
		check(t, f, size) // unpublished: not seen
		f.Publish()
		size += n
		check(t, f, size)
	}
	if err := f.Write(size-1, [][]byte{entry(0)}, nil); err == nil || !strings.Contains(err.Error(), "want the committed size 66000") {
		t.Fatalf("Write at a stale start: %v", err)
	}

	// A failed commit: Abandon, and the same batch is written again.
	write(t, f, size, size+10)
	f.Abandon()
	write(t, f, size, size+10)
	f.Publish()
	size += 10
	check(t, f, size)

	// A batch written but never committed (a crash before the state):
	// its bytes are cut at Open.
	write(t, f, size, size+700)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	f, err = Open(dir, size)
	if err != nil {
		t.Fatal(err)
	}
	check(t, f, size)
	write(t, f, size, size+3)
	f.Publish()
	check(t, f, size+3)
	f.Close()
}

func TestShortFilesRefuseWrites(t *testing.T) {
	for _, name := range []string{entriesFile, offsetsFile, hashesFile + "0", hashesFile + "1"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			f, err := Open(dir, 0)
			if err != nil {
				t.Fatal(err)
			}
			write(t, f, 0, 600)
			f.Publish()
			f.Close()
			p := filepath.Join(dir, name)
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(p, fi.Size()-1); err != nil {
				t.Fatal(err)
			}
			f, err = Open(dir, 600)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := f.Damaged(); err == nil || !strings.Contains(err.Error(), name+" holds") {
				t.Fatalf("Damaged: %v, want it to name %s", err, name)
			}
			if err := f.Write(600, [][]byte{entry(600)}, tiles(600, 601)); err == nil || !strings.Contains(err.Error(), "fsck") {
				t.Fatalf("Write on damaged files: %v, want a refusal that says to run fsck", err)
			}
			// What is left is still read: the first entry and tile are whole.
			if es, err := f.Entries(0, 1); err != nil || !bytes.Equal(es[0], entry(0)) {
				t.Fatalf("Entries(0, 1) of damaged files: %v", err)
			}
		})
	}
	// A missing level file is as short as it gets.
	dir := t.TempDir()
	f, _ := Open(dir, 0)
	write(t, f, 0, 300)
	f.Publish()
	f.Close()
	os.Remove(filepath.Join(dir, hashesFile+"1"))
	f, err := Open(dir, 300)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Damaged(); err == nil || !strings.Contains(err.Error(), "hashes.1 is missing") {
		t.Fatalf("Damaged with hashes.1 removed: %v", err)
	}
	if _, err := f.Tile(ledger.TileID{Level: 1}); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("Tile(1/0) with hashes.1 removed: %v, want ErrNotFound", err)
	}
}

func TestBadTileRefused(t *testing.T) {
	f, err := Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, tl := range map[string]map[ledger.TileID][]byte{
		"odd":   {{Level: 0}: make([]byte, 33)},
		"wide":  {{Level: 0}: make([]byte, 32*257)},
		"level": {{Level: 8}: make([]byte, 32)},
	} {
		if err := f.Write(0, [][]byte{entry(0)}, tl); err == nil {
			t.Errorf("Write with tiles %v: no error", tl)
		}
		f.Abandon()
	}
}

// FuzzCrashAndReopen drives the files through a sequence of batches read
// from the input: each byte pair is a batch size and what follows it
// (commit, a failed commit, or a crash before the commit: the files closed
// and reopened at the committed size). After every step the published log
// reads back whole, and nothing past it is seen.
func FuzzCrashAndReopen(f *testing.F) {
	f.Add([]byte{5, 0, 250, 0, 3, 1, 40, 2, 255, 0})
	f.Add([]byte{255, 2, 255, 0, 1, 1, 1, 0, 200, 2, 100, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 40 {
			ops = ops[:40]
		}
		dir := t.TempDir()
		fs, err := Open(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { fs.Close() }()
		size := uint64(0)
		for i := 0; i+1 < len(ops); i += 2 {
			n := uint64(ops[i])%300 + 1
			write(t, fs, size, size+n)
			switch ops[i+1] % 3 {
			case 0: // committed
				fs.Publish()
				size += n
			case 1: // the commit failed
				fs.Abandon()
			case 2: // a crash before the commit
				if err := fs.Close(); err != nil {
					t.Fatal(err)
				}
				if fs, err = Open(dir, size); err != nil {
					t.Fatal(err)
				}
				if err := fs.Damaged(); err != nil {
					t.Fatalf("after a crash at size %d: %v", size, err)
				}
			}
			check(t, fs, size)
		}
	})
}
