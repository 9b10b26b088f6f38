package audit_test

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/audit/vault"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
)

// TestIndexFormat: a log with entries whose index carries no format mark
// (laid out by an earlier version) is refused at Open, naming the remedy;
// after Reindex it opens, and its queries answer.
func TestIndexFormat(t *testing.T) {
	dir := t.TempDir()
	skey, _, err := note.GenerateKey(rand.Reader, "format.example.org/log")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	open := func() (*badgerstore.Store, *ledger.Log, *vault.Vault, *audit.Book, error) {
		st, err := badgerstore.Open(badgerstore.Config{Dir: filepath.Join(dir, "badger")})
		if err != nil {
			t.Fatal(err)
		}
		v, err := vault.Open(filepath.Join(dir, "vault"))
		if err != nil {
			t.Fatal(err)
		}
		l, err := ledger.Open(ledger.Config{Origin: "format.example.org/log", Signers: []note.Signer{s}, Storage: st, Presync: v.Sync})
		if err != nil {
			t.Fatal(err)
		}
		b, err := audit.Open(audit.Config{Log: l, Index: st, Vault: v, Secret: make([]byte, 32)})
		return st, l, v, b, err
	}
	closeAll := func(l *ledger.Log, v *vault.Vault, b *audit.Book) {
		if b != nil {
			b.Close()
		}
		l.Close()
		v.Close()
	}
	st, l, v, b, err := open()
	if err != nil {
		t.Fatalf("Open of a new log: %v", err)
	}
	c, err := os.ReadFile("../schemas/examples/constitution.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.PublishConstitution(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	// as an earlier version left it: no mark
	if err := st.Update(nil, [][]byte{[]byte("meta/index-format")}); err != nil {
		t.Fatal(err)
	}
	closeAll(l, v, b)

	st, l, v, b, err = open()
	if !errors.Is(err, audit.ErrIndexFormat) {
		t.Fatalf("Open of a log of 1 entry without the format mark: %v, want ErrIndexFormat", err)
	}
	src := struct {
		*ledger.Log
		ledger.IndexStore
	}{l, st}
	if err := audit.Reindex(context.Background(), src, l.Head().Size, st, nil); err != nil {
		t.Fatal(err)
	}
	closeAll(l, v, b)
	_, l, v, b, err = open()
	if err != nil {
		t.Fatalf("Open after Reindex: %v", err)
	}
	defer closeAll(l, v, b)
	res, err := b.Query(context.Background(), audit.Filter{}, "constitution", 0, 10)
	if err != nil || len(res.Indices) != 1 {
		t.Fatalf("query of the constitutions after Reindex: %+v, %v", res, err)
	}
}
