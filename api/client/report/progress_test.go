package report

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// A forced Progress draws on any writer; an unforced one draws nothing on
// a writer that is not a terminal, whatever the total.
func TestProgress(t *testing.T) {
	var forced, quiet bytes.Buffer
	f, q := NewProgress(&forced, true, 1<<20, "fsck"), NewProgress(&quiet, false, 0, "fsck")
	for _, p := range []*Progress{f, q} {
		p.Set(0, 10)
		p.Set(10, 10)
		p.Finish()
		p.Finish() // a second Finish is harmless
	}
	if out := forced.String(); !strings.Contains(out, "fsck") || !strings.Contains(out, "10/10") {
		t.Fatalf("forced progress drew %q, want the description and 10/10", out)
	}
	if quiet.Len() != 0 {
		t.Fatalf("unforced progress on a buffer drew %q", quiet.String())
	}
	if IsTerminal(&quiet) {
		t.Fatal("a buffer is not a terminal")
	}
	tmp, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer tmp.Close()
	if IsTerminal(tmp) {
		t.Fatal("a regular file is not a terminal")
	}
}
