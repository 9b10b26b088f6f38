package badgerstore

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// TestTrimPagesOut: past its budget, a trim leaves at most half of it of
// the store's mapped tables and value log resident (their indexes aside),
// and every key still reads back.
func TestTrimPagesOut(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(Config{Dir: dir, MemTableSize: 1 << 20, MappedBudget: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const n = 6000
	fillStore(t, st.db, n, 1000) // values past the threshold: the value log
	if err := st.db.Flatten(1); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	tr := &mappedTrimmer{dir: abs, budget: 1 << 20, tails: map[string]int64{}}
	resident := func() (vlog, sst int64) {
		b, err := os.ReadFile("/proc/self/smaps")
		if err != nil {
			t.Fatal(err)
		}
		ms, err := parseSmaps(bytes.NewReader(b), func(p string) bool { return trimmable(abs, p) })
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if strings.HasSuffix(m.path, ".vlog") {
				vlog += m.rss
			} else {
				sst += m.rss
			}
		}
		return vlog, sst
	}
	readAll := func() {
		t.Helper()
		err := st.db.View(func(txn *badger.Txn) error {
			for i := range n {
				it, err := txn.Get(fmt.Appendf(nil, "k%08d", i))
				if err != nil {
					return err
				}
				v, err := it.ValueCopy(nil)
				if err != nil {
					return err
				}
				if len(v) != 1000 || v[0] != byte(i) {
					return fmt.Errorf("key %d: %d bytes starting %d, want 1000 of %d", i, len(v), v[0], byte(i))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	readAll() // every page of the values and of the tables read is resident
	vlog, sst := resident()
	if vlog < 4<<20 {
		t.Fatalf("%d bytes of the value log resident after writing and reading %d values of 1000 bytes, want at least 4 MiB", vlog, n)
	}
	res, paged, err := tr.trim()
	if err != nil {
		t.Fatal(err)
	}
	if res != vlog+sst || paged <= 0 {
		t.Fatalf("trim found %d bytes resident and paged out %d; want %d found (smaps) and some paged out", res, paged, vlog+sst)
	}
	vlog2, sst2 := resident()
	if vlog2 > vlog/8 || vlog2+sst2 > (vlog+sst)/4 {
		t.Fatalf("after a trim to a 1 MiB budget, value log %d bytes resident (was %d), tables %d (was %d)", vlog2, vlog, sst2, sst)
	}
	readAll()
	if _, paged, err := (&mappedTrimmer{dir: abs, budget: 1 << 40, tails: map[string]int64{}}).trim(); err != nil || paged != 0 {
		t.Fatalf("within the budget: paged out %d, %v; want nothing", paged, err)
	}
}
