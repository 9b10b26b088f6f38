package auth

import (
	"os"
	"path/filepath"
	"testing"
)

// TestEnsureDev: one token per role, each authenticated by the tokens file
// with its role, kept across calls, files mode 0600; a directory made when
// development mode had only a producer token keeps it and gains the rest.
func TestEnsureDev(t *testing.T) {
	dir := t.TempDir()
	// an older data directory: only the producer's plain token
	if err := os.WriteFile(filepath.Join(dir, "dev-token"), []byte("old-producer-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	toks, path, err := EnsureDev(dir)
	if err != nil {
		t.Fatal(err)
	}
	if toks[Producer] != "old-producer-token" {
		t.Errorf("the existing producer token was replaced by %q", toks[Producer])
	}
	ts, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if ts.Len() != len(Roles()) {
		t.Fatalf("%d tokens in %s, want one per role (%d)", ts.Len(), path, len(Roles()))
	}
	for _, r := range Roles() {
		e, ok := ts.Authenticate(toks[r])
		if !ok || e.Role != r || e.Name != DevName(r) {
			t.Errorf("the development %s token authenticates as %+v, %v", r, e, ok)
		}
		fi, err := os.Stat(filepath.Join(dir, DevTokenFile(r)))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want mode 0600", DevTokenFile(r), err, fi.Mode())
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v, mode %v; want mode 0600", path, err, fi.Mode())
	}
	again, _, err := EnsureDev(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Roles() {
		if again[r] != toks[r] {
			t.Errorf("the development %s token changed across starts", r)
		}
	}
}
