package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
)

// TestBackupAndRestore: the journey of an operator who lost a ledger's
// disk: a backup of the private part, the public log restored from a copy,
// the private part restored into it, fsck clean; and the usage errors.
func TestBackupAndRestore(t *testing.T) {
	s := apitest.New(t)
	s.MustPost("/v1/constitutions", auth.Producer, apitest.Example(t, "constitution.json"))
	s.MustPost("/v1/decisions", auth.Producer, apitest.Example(t, "decision-modified-private.json"))
	s.Close()
	archive := filepath.Join(t.TempDir(), "private.tgz")
	if code, out, errOut := ctl(t, "", "backup", "--data", s.Dir, "--out", archive); code != 0 || !strings.Contains(out, "at size 2, taken") {
		t.Fatalf("backup: %d %s%s", code, out, errOut)
	}
	src := apitest.New(t, apitest.WithDir(s.Dir)) // the copy the restore reads
	vkeyFile := filepath.Join(t.TempDir(), "log.vkey")
	os.WriteFile(vkeyFile, []byte(src.VKey+"\n"), 0o600)
	dir := filepath.Join(t.TempDir(), "restored")
	code, out, errOut := ctl(t, "", "restore", "--from", src.URL, "--vkey", vkeyFile, "--data", dir, "--private", archive)
	if code != 0 || !strings.Contains(out, "restored 2 entries of "+src.Origin) || !strings.Contains(out, "restored the private part") ||
		!strings.Contains(errOut, "restore: 2/2 entries") || !strings.Contains(errOut, "fsck: 2/2 entries") {
		t.Fatalf("restore: %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := ctl(t, "", "fsck", "--data", filepath.Join(dir, "badger"), "--key", src.VKey); code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("fsck of the restored store: %d %s%s", code, out, errOut)
	}
	if code, _, errOut := ctl(t, "", "restore", "--from", src.URL, "--vkey", src.VKey, "--data", dir); code != 1 || !strings.Contains(errOut, "not empty") {
		t.Errorf("restore into a used dir: %d %s", code, errOut)
	}
	for _, args := range [][]string{
		{"restore", "--from", src.URL, "--data", dir},
		{"restore", "--vkey", src.VKey, "--data", dir},
		{"restore", "--from", src.URL, "--vkey", src.VKey},
		{"restore", "--data", dir},
		{"backup", "--data", dir},
		{"backup", "--out", archive, "extra"},
	} {
		if code, _, errOut := ctl(t, "", args...); code != 2 {
			t.Errorf("%q: %d %s, want the usage error status 2", args, code, errOut)
		}
	}
}
