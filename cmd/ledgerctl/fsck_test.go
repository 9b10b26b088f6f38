package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
)

// fsckTestStore writes a stopped log of n entries and returns its
// directory and verifier key.
func fsckTestStore(t *testing.T, n int) (dir, vkey string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(nil, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	st, err := badgerstore.Open(badgerstore.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(ledger.Config{Origin: testOrigin, Signers: []note.Signer{s}, Storage: st})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := l.Append(context.Background(), fmt.Appendf(nil, "entry %d", i)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, vkey
}

// fsckTamper flips the first byte of entry i in the log files of the
// closed store in dir, as damage to the disk would.
func fsckTamper(t *testing.T, dir string, i uint64) {
	t.Helper()
	offs, err := os.ReadFile(filepath.Join(dir, badgerstore.LogDir, "offsets"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, badgerstore.LogDir, "entries"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	at := int64(binary.BigEndian.Uint64(offs[8*(i-1):]))
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, at); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 1
	if _, err := f.WriteAt(b, at); err != nil {
		t.Fatal(err)
	}
}

func TestFsck(t *testing.T) {
	dir, vkey := fsckTestStore(t, 600)

	status, out, _ := ctl(t, "", "fsck", "--data", dir, "--origin", testOrigin, "--key", vkey)
	if status != 0 {
		t.Fatalf("good store: status %d, stdout %q", status, out)
	}
	if !strings.Contains(out, "size 600\n") || !strings.HasSuffix(out, "ok\n") {
		t.Errorf("good store: stdout %q, want size 600 and ok", out)
	}

	// --progress draws on stderr only.
	status, stdout, errOut := ctl(t, "", "fsck", "--data", dir, "--progress")
	if status != 0 {
		t.Fatalf("--progress: status %d, stderr %q", status, errOut)
	}
	if !strings.Contains(errOut, "600/600") || strings.Contains(stdout, "fsck") {
		t.Errorf("--progress: stderr %q, stdout %q", errOut, stdout)
	}

	status, out, _ = ctl(t, "", "--json", "fsck", "--data", dir)
	var rep ledger.FsckReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || status != 0 || rep.Size != 600 || len(rep.Problems) != 0 || len(rep.Root) != 32 {
		t.Errorf("--json: status %d, %+v, %v; stdout %q", status, rep, err, out)
	}

	// A wrong origin is a problem.
	status, out, _ = ctl(t, "", "fsck", "--data", dir, "--origin", "other.example/x")
	if status != 1 || !strings.Contains(out, "index 600: checkpoint: origin is") {
		t.Errorf("wrong origin: status %d stdout %q", status, out)
	}

	// A changed entry is named by its index.
	fsckTamper(t, dir, 417)
	status, out, _ = ctl(t, "", "fsck", "--data", dir, "--origin", testOrigin, "--key", vkey)
	if status != 1 {
		t.Errorf("tampered store: status %d, want 1", status)
	}
	if !strings.Contains(out, "index 417: entry: entry 417: leaf hash ") || !strings.Contains(out, "does not match tile 0/1 at offset 161") {
		t.Errorf("tampered store: stdout %q does not name entry 417", out)
	}
	if strings.Contains(out, "\nok\n") {
		t.Errorf("tampered store: stdout %q says ok", out)
	}

	status, out, _ = ctl(t, "", "--json", "fsck", "--data", dir)
	rep = ledger.FsckReport{}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || status != 1 || len(rep.Problems) == 0 || rep.Problems[0].Index != 417 || rep.Problems[0].Kind != "entry" {
		t.Errorf("--json tampered: status %d, %+v, %v", status, rep, err)
	}
}

func TestFsckErrors(t *testing.T) {
	dir, _ := fsckTestStore(t, 3)

	// A running ledgerd holds Badger's directory lock.
	st, err := badgerstore.Open(badgerstore.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if status, _, errOut := ctl(t, "", "fsck", "--data", dir); status != 1 || !strings.Contains(errOut, "is ledgerd running?") {
		t.Errorf("locked store: status %d, stderr %q", status, errOut)
	}
	st.Close()

	// A directory with no store is not created.
	empty := filepath.Join(t.TempDir(), "none")
	if status, out, _ := ctl(t, "", "fsck", "--data", empty); status != 1 || out != "" {
		t.Errorf("missing store: status %d stdout %q", status, out)
	}

	for _, args := range [][]string{
		{"fsck"},
		{"fsck", "--data", dir, "extra"},
		{"fsck", "--data", dir, "--key", "not-a-key"},
	} {
		if status, out, _ := ctl(t, "", args...); status != 2 || out != "" {
			t.Errorf("ledgerctl %q: status %d stdout %q, want 2 and nothing", args, status, out)
		}
	}
}
