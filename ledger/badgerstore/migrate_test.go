package badgerstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/fjaledger/fja/ledger"
)

// TestMigrateLegacyStore: a store written before the log files (entries
// and tiles as Badger keys) opens with both moved into the files, reads
// the same, drops the old keys, and takes the log further. Leftover files
// of a move that crashed before its end are rewritten.
func TestMigrateLegacyStore(t *testing.T) {
	const size = 70000 // three levels, more than one chunk
	dir := t.TempDir()
	entry := func(i uint64) []byte {
		return fmt.Appendf(nil, "entry %d %s", i, bytes.Repeat([]byte{'x'}, int(i%1500)))
	}
	node := func(l uint8, p uint64) []byte { h := sha256.Sum256(fmt.Appendf(nil, "%d/%d", l, p)); return h[:] }
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	wb := db.NewWriteBatch()
	for i := uint64(0); i < size; i++ {
		if err := wb.Set(entryKey(i), entry(i)); err != nil {
			t.Fatal(err)
		}
		if err := wb.Set(dedupKey(fmt.Appendf(nil, "k%d", i)), binary.BigEndian.AppendUint64(nil, i)); err != nil {
			t.Fatal(err)
		}
	}
	want := map[ledger.TileID][]byte{}
	for l := uint8(0); size>>(8*l) > 0; l++ {
		nodes := uint64(size) >> (8 * l)
		for n := uint64(0); n*256 < nodes; n++ {
			var tl []byte
			for p := n * 256; p < min(nodes, (n+1)*256); p++ {
				tl = append(tl, node(l, p)...)
			}
			id := ledger.TileID{Level: l, Index: n}
			want[id] = tl
			if err := wb.Set(tileKey(id), tl); err != nil {
				t.Fatal(err)
			}
		}
	}
	st := ledger.State{Size: size, Checkpoint: []byte("checkpoint")}
	if err := wb.Set(stateKey, encodeState(st)); err != nil {
		t.Fatal(err)
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// A move that crashed half way left files behind.
	if err := os.MkdirAll(filepath.Join(dir, LogDir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, LogDir, "entries"), []byte("half a move"), 0o600); err != nil {
		t.Fatal(err)
	}

	for round := range 2 { // moved, then opened as it is
		s, err := Open(Config{Dir: dir})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		es, err := s.Entries(0, size)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range es {
			if !bytes.Equal(e, entry(uint64(i))) {
				t.Fatalf("round %d: entry %d differs after the move", round, i)
			}
		}
		for id, tl := range want {
			if got, err := s.Tile(id); err != nil || !bytes.Equal(got, tl) {
				t.Fatalf("round %d: tile %d/%d: %d bytes, %v; want %d", round, id.Level, id.Index, len(got), err, len(tl))
			}
		}
		if idx, ok, err := s.Lookup([]byte("k69999")); err != nil || !ok || idx != 69999 {
			t.Fatalf("round %d: dedup key after the move: %d %v %v", round, idx, ok, err)
		}
		err = s.db.View(func(txn *badger.Txn) error {
			for _, p := range []byte{'e', 't'} {
				it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{p}})
				it.Rewind()
				found := it.Valid()
				it.Close()
				if found {
					return fmt.Errorf("a %q key is left in Badger after the move", p)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if round == 0 {
			// A crash after the layout was recorded, before the old keys
			// were dropped: the next open drops them.
			if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(entryKey(5), []byte("stale")) }); err != nil {
				t.Fatal(err)
			}
		}
		if round == 1 {
			// The moved log goes on.
			next := ledger.State{Size: size + 1, Checkpoint: []byte("next")}
			if err := s.Commit(&ledger.Batch{Start: size, Entries: [][]byte{[]byte("next")}, DedupKeys: [][]byte{nil},
				Tiles: map[ledger.TileID][]byte{{Level: 0, Index: size / 256}: append(bytes.Clone(want[ledger.TileID{Index: size / 256}]), node(0, size)...)},
				State: next}); err != nil {
				t.Fatal(err)
			}
			if es, err := s.Entries(size, 1); err != nil || string(es[0]) != "next" {
				t.Fatalf("entry after the move: %v", err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
