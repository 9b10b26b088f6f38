package badgerstore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/fb"
)

func TestParseSmaps(t *testing.T) {
	const smaps = `00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/ledgerd
Size:                328 kB
Rss:                 300 kB
7f1000000000-7f1000200000 r--s 00000000 fd:00 1001       /data/badger/000012.sst
Size:               2048 kB
KernelPageSize:        4 kB
Rss:                1024 kB
Pss:                1024 kB
VmFlags: rd sh mr mw me ms sd
7f1000200000-7f1080200000 rw-s 00000000 fd:00 1002       /data/badger/000001.vlog
Size:            2097152 kB
Rss:               51200 kB
7f1080200000-7f1084200000 rw-s 00000000 fd:00 1003       /data/badger/00005.mem
Rss:               65536 kB
7f1084200000-7f1084300000 rw-p 00000000 00:00 0
Rss:                1024 kB
7f1084300000-7f1084400000 r--s 00000000 fd:00 1004       /data/badger/sub/000003.sst
Rss:                 100 kB
7f1084400000-7f1084500000 r--s 00000000 fd:00 1005       /data/badger/000013.sst (deleted)
Rss:                   8 kB
7f1084500000-7f1084600000 r--s 00000000 fd:00 7f10845       /data/bad ger/000014.sst
Rss:                   4 kB
`
	ms, err := parseSmaps(strings.NewReader(smaps), func(p string) bool { return trimmable("/data/badger", p) })
	if err != nil {
		t.Fatal(err)
	}
	want := []mapping{
		{start: 0x7f1000000000, end: 0x7f1000200000, path: "/data/badger/000012.sst", rss: 1024 << 10},
		{start: 0x7f1000200000, end: 0x7f1080200000, path: "/data/badger/000001.vlog", rss: 51200 << 10},
	}
	if !slices.Equal(ms, want) {
		t.Fatalf("parseSmaps:\n got %+v\nwant %+v", ms, want)
	}
	// A path with a space in it.
	ms, err = parseSmaps(strings.NewReader(smaps), func(p string) bool { return trimmable("/data/bad ger", p) })
	if err != nil || len(ms) != 1 || ms[0].path != "/data/bad ger/000014.sst" || ms[0].rss != 4<<10 {
		t.Fatalf("parseSmaps of /data/bad ger: %+v, %v", ms, err)
	}
	if _, err := parseSmaps(strings.NewReader("7f1000000000-7f1000200000 r--s 00000000 fd:00 1001 /d/1.sst\nRss: many kB\n"),
		func(string) bool { return true }); err == nil || !strings.Contains(err.Error(), "Rss line") {
		t.Fatalf("a bad Rss line: %v, want an error naming it", err)
	}
}

func TestPlan(t *testing.T) {
	const mib = 1 << 20
	m := func(start uintptr, size int64, path string, rss int64) mapping {
		return mapping{start: start, end: start + uintptr(size), path: path, rss: rss}
	}
	ms := []mapping{
		m(0x10000000, 4*mib, "/d/000009.sst", 4*mib),
		m(0x20000000, 4*mib, "/d/000002.sst", 4*mib),
		m(0x30000000, 64*mib, "/d/000002.vlog", 8*mib),
		m(0x40000000, 64*mib, "/d/000001.vlog", 16*mib),
		m(0x50000000, 4*mib, "/d/000005.sst", 0),
	}
	index := func(p string) (int64, error) {
		if p == "/d/000009.sst" {
			return 0, fmt.Errorf("unreadable footer")
		}
		return 3*mib + 100, nil // the index starts 100 bytes into the 4th MiB
	}
	if r, res, freed := plan(ms, 32*mib, index); r != nil || res != 32*mib || freed != 0 {
		t.Fatalf("within the budget: ranges %v, resident %d, freed %d; want none, 32 MiB, 0", r, res, freed)
	}
	// Past it: value logs first, oldest first, then tables, oldest first,
	// each up to the page of its index, until half the budget is left.
	r, res, freed := plan(ms, 20*mib, index)
	want := [][2]uintptr{{0x40000000, 0x40000000 + 64*mib}, {0x30000000, 0x30000000 + 64*mib}}
	if !slices.Equal(r, want) || res != 32*mib || freed != 24*mib {
		t.Fatalf("budget 20 MiB: ranges %x, resident %d, freed %d; want %x, 32 MiB, 24 MiB", r, res, freed, want)
	}

	r, _, freed = plan(ms, 2*mib, index)
	want = [][2]uintptr{
		{0x40000000, 0x40000000 + 64*mib},
		{0x30000000, 0x30000000 + 64*mib},
		{0x20000000, 0x20000000 + 3*mib}, // not the tail from the index on
	}
	if !slices.Equal(r, want) || freed != 27*mib {
		t.Fatalf("budget 2 MiB: ranges %x, freed %d; want %x (the unreadable and the empty table left alone), 27 MiB", r, freed, want)
	}
}

// fillStore writes n keys of store st, each with a value of size bytes,
// in transactions of 100.
func fillStore(t *testing.T, db *badger.DB, n, size int) {
	t.Helper()
	for i := 0; i < n; i += 100 {
		err := db.Update(func(txn *badger.Txn) error {
			for j := i; j < min(n, i+100); j++ {
				if err := txn.Set(fmt.Appendf(nil, "k%08d", j), bytes.Repeat([]byte{byte(j)}, size)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestTableIndexStart(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(Config{Dir: dir, MemTableSize: 1 << 20, MappedBudget: -1})
	if err != nil {
		t.Fatal(err)
	}
	fillStore(t, st.db, 20000, 40)
	if err := st.Close(); err != nil { // flushes the memtables into tables
		t.Fatal(err)
	}
	st, err = Open(Config{Dir: dir, MemTableSize: 1 << 20, MappedBudget: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tables := st.db.Tables()
	if len(tables) < 2 {
		t.Fatalf("%d tables, want several", len(tables))
	}
	for _, ti := range tables {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%06d.sst", ti.ID)))
		if err != nil {
			t.Fatal(err)
		}
		start, err := tableIndexStart(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("table %d: %v", ti.ID, err)
		}
		// The index Badger reads there: its length in the footer, and its
		// key count as Badger reports it.
		end := start + int64(ti.IndexSz)
		if end+4 > int64(len(b)) || binary.BigEndian.Uint32(b[end:]) != uint32(ti.IndexSz) {
			t.Fatalf("table %d of %d bytes: index at %d, of %d bytes by Badger, not followed by its length", ti.ID, len(b), start, ti.IndexSz)
		}
		if n := fb.GetRootAsTableIndex(b[start:end], 0).KeyCount(); n != ti.KeyCount {
			t.Fatalf("table %d: the index at %d counts %d keys, Badger %d", ti.ID, start, n, ti.KeyCount)
		}
	}
	if _, err := tableIndexStart(bytes.NewReader([]byte{0, 0, 0, 9, 0, 0, 0, 1}), 8); err == nil {
		t.Fatal("a footer whose checksum is longer than the file: no error")
	}
}
