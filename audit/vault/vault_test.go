package vault

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpenDestroy(t *testing.T) {
	dir := t.TempDir()
	v, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("a private prompt, never in the tree")
	blob, err := v.Seal("decision/d1", secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(blob, secret) {
		t.Fatal("sealed blob holds the plaintext")
	}
	got, err := v.Open("decision/d1", blob)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := v.Open("decision/d2", blob); err == nil {
		t.Fatal("a blob opened under another record's reference")
	}
	if _, err := v.Seal("decision/d1", secret); err == nil {
		t.Fatal("Seal replaced an existing key")
	}
	key, _ := v.Key("decision/d1")
	if err := v.Destroy("decision/d1"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Open("decision/d1", blob); !errors.Is(err, ErrDestroyed) {
		t.Fatalf("Open after Destroy: %v, want ErrDestroyed", err)
	}
	if err := v.Destroy("decision/d1"); !errors.Is(err, ErrDestroyed) {
		t.Fatalf("second Destroy: %v, want ErrDestroyed", err)
	}
	// nothing in the directory holds the key any more
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			b, _ := os.ReadFile(p)
			if bytes.Contains(b, key) {
				t.Errorf("%s still holds the destroyed key", p)
			}
		}
		return nil
	})
}
