package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteFile: a written file has mode 0600 (whatever the mode of the
// file it replaces) and exactly the bytes written; a failed
// write leaves the previous file untouched and no temporary file.
func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "receipt.json")
	if err := os.WriteFile(name, []byte("earlier\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(name, []byte(`{"contest_token":"secret"}`+"\n")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	if b, _ := os.ReadFile(name); string(b) != `{"contest_token":"secret"}`+"\n" {
		t.Fatalf("content %q", b)
	}

	boom := errors.New("boom")
	err = writeFileWith(name, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("failed write returned %v, want boom", err)
	}
	if b, _ := os.ReadFile(name); !strings.Contains(string(b), "secret") {
		t.Fatalf("a failed write changed the file: %q", b)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Fatalf("directory holds %v, want only receipt.json", ents)
	}
	if err := writeFile(filepath.Join(dir, "missing", "x.json"), nil); err == nil {
		t.Fatal("a write into a missing directory succeeded")
	}
}
