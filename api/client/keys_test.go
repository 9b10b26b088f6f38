package client_test

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/api/client"
)

// TestReadKeys: keys are read as text or from files, the first is the
// log's, the origin defaults to its name, and none is an error.
func TestReadKeys(t *testing.T) {
	_, logKey, err := note.GenerateKey(rand.Reader, "log.example/prod")
	if err != nil {
		t.Fatal(err)
	}
	_, witness, err := note.GenerateKey(rand.Reader, "witness.example")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "witness.vkey")
	if err := os.WriteFile(file, []byte(witness+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := client.ReadKeys([]string{logKey, file}, "")
	if err != nil {
		t.Fatal(err)
	}
	if k.Origin != "log.example/prod" || k.Key != logKey || !slices.Equal(k.Others, []string{witness}) {
		t.Fatalf("ReadKeys: %+v", k)
	}
	if k, err := client.ReadKeys([]string{logKey}, "other"); err != nil || k.Origin != "other" {
		t.Fatalf("ReadKeys with an origin: %+v, %v", k, err)
	}
	if _, err := client.ReadKeys(nil, ""); err == nil {
		t.Fatal("ReadKeys of no key: no error")
	}
	if _, err := client.ReadKeys([]string{filepath.Join(t.TempDir(), "missing")}, ""); err == nil {
		t.Fatal("ReadKeys of a missing file: no error")
	}
	if _, err := k.OpenCheckpoint([]byte("log.example/prod\n1\nAAAA\n\n")); err == nil {
		t.Fatal("OpenCheckpoint of an unsigned note: no error")
	}
}
