package vault

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestConcurrentSealSharesOneKey(t *testing.T) {
	v, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	blobs := make([][]byte, 16)
	errs := make(chan error, len(blobs))
	done := make(chan struct{})
	for i := range blobs {
		go func(i int) {
			b, err := v.Seal("decision/same", []byte("x"))
			blobs[i] = b
			errs <- err
			done <- struct{}{}
		}(i)
	}
	for range blobs {
		<-done
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i, b := range blobs {
		if _, err := v.Open("decision/same", b); err != nil {
			t.Fatalf("blob %d does not open with the one key: %v", i, err)
		}
	}
}

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
	key, _ := v.Key("decision/d1")
	blob2, err := v.Seal("decision/d1", secret)
	if err != nil {
		t.Fatal(err)
	}
	if k2, _ := v.Key("decision/d1"); !bytes.Equal(k2, key) {
		t.Fatal("sealing again replaced the record's key")
	}
	if got, err := v.Open("decision/d1", blob2); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("second seal does not open: %v", err)
	}
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
