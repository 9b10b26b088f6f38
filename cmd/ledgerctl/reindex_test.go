package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/ledger/badgerstore"
)

// TestFsckIndexesAndReindex: fsck finds a query index key that disagrees
// with the records, names its record, and reindex repairs it.
func TestFsckIndexesAndReindex(t *testing.T) {
	s := apitest.New(t)
	if code, b := s.Do("POST", "/v1/constitutions", auth.Producer, apitest.Example(t, "constitution.json")); code != 201 {
		t.Fatalf("%d %s", code, b)
	}
	for _, name := range []string{"decision-refused.json", "decision-answered.json"} {
		if code, b := s.Do("POST", "/v1/decisions", auth.Producer, apitest.Example(t, name)); code != 201 {
			t.Fatalf("%s: %d %s", name, code, b)
		}
	}
	s.Close()
	dir := filepath.Join(s.Dir, "badger")
	if code, out, errOut := ctl(t, "", "fsck", "--data", dir); code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("fsck of a sound store: %d\n%s%s", code, out, errOut)
	}
	// Drop the summary list block of decision 1 (each decision was its own commit).
	st, err := badgerstore.Open(badgerstore.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var drop [][]byte
	st.Scan(context.Background(), []byte("s/"), nil, func(k, _ []byte) bool { drop = append(drop, append([]byte(nil), k...)); return false })
	if len(drop) != 1 {
		t.Fatalf("no summary list block found")
	}
	if err := st.Update(nil, drop); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, out, _ := ctl(t, "", "fsck", "--data", dir)
	if code != 1 || !strings.Contains(out, "index 1: index: index list item missing") {
		t.Fatalf("fsck with a summary missing: exit %d\n%s", code, out)
	}
	if code, out, errOut := ctl(t, "", "reindex", "--data", dir); code != 0 || !strings.Contains(out, "reindexed 3 records") {
		t.Fatalf("reindex: %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := ctl(t, "", "fsck", "--data", dir); code != 0 {
		t.Fatalf("fsck after reindex: %d\n%s%s", code, out, errOut)
	}
	if code, _, _ := ctl(t, "", "reindex"); code != 2 {
		t.Fatalf("reindex without --data: exit %d, want 2", code)
	}
}
