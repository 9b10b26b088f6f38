package main

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
	"github.com/fjaledger/fja/ledger/shard"
	"github.com/fjaledger/fja/ledger/signer"
)

// TestRotate: ledgerctl rotate freezes the stopped ledger's shard and
// starts the next, printing the shards; a missing flag is a usage error,
// and the store of a running ledgerd (held open) cannot be rotated.
func TestRotate(t *testing.T) {
	dir := t.TempDir()
	const origin = "dev.fja-ledger.localhost/log"
	skey, vkey, err := signer.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	if err := signer.WriteKeyFile(filepath.Join(dir, "dev-signer.key"), skey); err != nil {
		t.Fatal(err)
	}
	sg, err := signer.FromNoteKey(skey)
	if err != nil {
		t.Fatal(err)
	}
	st, err := badgerstore.Open(badgerstore.Config{Dir: filepath.Join(dir, "badger")})
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(ledger.Config{Origin: origin, Signers: []note.Signer{sg}, Storage: st})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(context.Background(), []byte("an entry")); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := ctl(t, "", "rotate", "--data", dir, "--origin", "dev.fja-ledger.localhost/log/2"); code != 1 || !strings.Contains(errOut, "locked") {
		t.Fatalf("rotate while the store is open: exit %d %q, want 1 and the lock named", code, errOut)
	}
	l.Close()
	if code, _, _ := ctl(t, "", "rotate", "--data", dir); code != 2 {
		t.Fatalf("rotate without --origin: exit %d, want 2", code)
	}
	code, out, errOut := ctl(t, "", "rotate", "--data", dir, "--origin", "dev.fja-ledger.localhost/log/2")
	if code != 0 || !strings.Contains(out, "shard 1  frozen  "+origin+"  "+vkey) || !strings.Contains(out, "shard 2  active  dev.fja-ledger.localhost/log/2") {
		t.Fatalf("rotate: exit %d %q %q", code, out, errOut)
	}
	m, err := shard.Load(dir)
	if err != nil || len(m.Shards) != 2 || m.Active().Origin != "dev.fja-ledger.localhost/log/2" {
		t.Fatalf("manifest after rotate: %+v, %v", m, err)
	}
	// The new shard's store, its shard record at index 0, passes fsck.
	if code, out, errOut := ctl(t, "", "fsck", "--data", shard.PathsOf(dir, m.Active()).Badger); code != 0 {
		t.Fatalf("fsck of the new shard: exit %d %q %q", code, out, errOut)
	}
}
