package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"
)

const testOrigin = "ledger.example.com/test"

// checkKey checks that the key file at path is private and that vkey
// verifies a note signed with it.
func checkKey(t *testing.T, path, vkey string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("key file mode = %v, want 0600", mode)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(strings.TrimSuffix(string(b), "\n"))
	if err != nil {
		t.Fatalf("key file is not a note private key: %v", err)
	}
	msg, err := note.Sign(&note.Note{Text: testOrigin + "\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"}, s)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatalf("printed vkey %q: %v", vkey, err)
	}
	if _, err := note.Open(msg, note.VerifierList(v)); err != nil {
		t.Errorf("printed vkey does not verify a note signed with the key file: %v", err)
	}
}

func TestKeygen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.key")
	status, out, _ := ctl(t, "", "keygen", "--origin", testOrigin, "--out", path)
	if status != 0 {
		t.Fatalf("status %d, want 0", status)
	}
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Fatalf("stdout = %q, want one line", out)
	}
	vkey := strings.TrimSuffix(out, "\n")
	if !strings.HasPrefix(vkey, testOrigin+"+") {
		t.Errorf("vkey %q does not start with %q", vkey, testOrigin+"+")
	}
	checkKey(t, path, vkey)

	// An existing key is never overwritten without --force.
	before, _ := os.ReadFile(path)
	if status, out, _ := ctl(t, "", "keygen", "--origin", testOrigin, "--out", path); status != 1 || out != "" {
		t.Errorf("overwrite: status %d stdout %q, want 1 and nothing", status, out)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("key file changed without --force")
	}

	status, out, _ = ctl(t, "", "keygen", "--origin", testOrigin, "--out", path, "--force")
	if status != 0 {
		t.Fatalf("--force: status %d, want 0", status)
	}
	vkey2 := strings.TrimSpace(out)
	if vkey2 == vkey {
		t.Error("--force did not make a new key")
	}
	checkKey(t, path, vkey2)
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("directory has %d entries after --force, want 1 (no temp files left)", len(ents))
	}
}

func TestKeygenJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.key")
	status, out, _ := ctl(t, "", "--json", "keygen", "--origin", testOrigin, "--out", path)
	if status != 0 {
		t.Fatalf("status %d, want 0", status)
	}
	var got struct {
		VKey    string `json:"vkey"`
		KeyFile string `json:"key_file"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("stdout %q: %v", out, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Errorf("stdout %q has more than one JSON value", out)
	}
	if got.KeyFile != path {
		t.Errorf("key_file = %q, want %q", got.KeyFile, path)
	}
	checkKey(t, path, got.VKey)
}

func TestKeygenUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"keygen"},
		{"keygen", "--origin", testOrigin},
		{"keygen", "--out", filepath.Join(dir, "k")},
		{"keygen", "--origin", "has space", "--out", filepath.Join(dir, "k")},
		{"keygen", "--origin", testOrigin, "--out", filepath.Join(dir, "k"), "extra"},
		{"keygen", "--no-such-flag"},
		{"no-such-command"},
	} {
		if status, out, _ := ctl(t, "", args...); status != 2 || out != "" {
			t.Errorf("ledgerctl %q: status %d stdout %q, want 2 and nothing", args, status, out)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("usage errors wrote %d files", len(ents))
	}
}

func TestGlobals(t *testing.T) {
	parse := func(args ...string) globalOptions {
		t.Helper()
		var g globalOptions
		root := newRootCmd()
		root.AddCommand(&cobra.Command{Use: "probe", RunE: func(cmd *cobra.Command, _ []string) error {
			g = globals(cmd)
			return nil
		}})
		root.SetArgs(append([]string{"probe"}, args...))
		if err := root.Execute(); err != nil {
			t.Fatal(err)
		}
		return g
	}
	t.Setenv("LEDGER_URL", "")
	t.Setenv("LEDGER_TOKEN", "")
	if g := parse(); g != (globalOptions{URL: defaultURL}) {
		t.Errorf("no flags, no env: %+v", g)
	}
	t.Setenv("LEDGER_URL", "https://env.example")
	t.Setenv("LEDGER_TOKEN", "envtok")
	if g := parse("--json"); g != (globalOptions{URL: "https://env.example", Token: "envtok", JSON: true}) {
		t.Errorf("env: %+v", g)
	}
	if g := parse("--url", "https://flag.example", "--token", "flagtok"); g != (globalOptions{URL: "https://flag.example", Token: "flagtok"}) {
		t.Errorf("flags over env: %+v", g)
	}
}
