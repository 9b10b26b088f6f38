package audit_test

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/audit/vault"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
)

func newBook(b testing.TB) *audit.Book {
	b.Helper()
	return newTestBook(b).book
}

// newTestBook is newBook with its log and store.
func newTestBook(b testing.TB) *testBook {
	b.Helper()
	skey, _, err := note.GenerateKey(rand.Reader, "bench.example.org/log")
	if err != nil {
		b.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	tbk, err := openBook(b, b.TempDir(), s)
	if err != nil {
		b.Fatal(err)
	}
	c, err := os.ReadFile("../schemas/examples/constitution.json")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := tbk.book.PublishConstitution(context.Background(), c); err != nil {
		b.Fatal(err)
	}
	return tbk
}

// testBook is a book over a real store, vault and log in one directory.
type testBook struct {
	st    *badgerstore.Store
	log   *ledger.Log
	book  *audit.Book // nil when audit.Open failed
	close func()      // closes book, log and vault (once; also when tb ends)
}

// openBook opens (or reopens) the store, vault, log and book in dir, the
// log signed by s. An error from audit.Open is returned beside the rest,
// which close still closes.
func openBook(tb testing.TB, dir string, s note.Signer) (*testBook, error) {
	tb.Helper()
	st, err := badgerstore.Open(badgerstore.Config{Dir: filepath.Join(dir, "badger")})
	if err != nil {
		tb.Fatal(err)
	}
	v, err := vault.Open(filepath.Join(dir, "vault"))
	if err != nil {
		tb.Fatal(err)
	}
	l, err := ledger.Open(ledger.Config{Origin: s.Name(), Signers: []note.Signer{s}, Storage: st, Presync: v.Sync})
	if err != nil {
		tb.Fatal(err)
	}
	tbk := &testBook{st: st, log: l}
	tbk.book, err = audit.Open(audit.Config{Log: l, Index: st, Vault: v, Secret: make([]byte, 32)})
	var once sync.Once
	tbk.close = func() {
		once.Do(func() {
			if tbk.book != nil {
				tbk.book.Close()
			}
			l.Close() // the log before the vault
			v.Close()
		})
	}
	tb.Cleanup(tbk.close)
	return tbk, err
}

// BenchmarkAppendDecision is the record layer end to end for the example
// refused decision (benchAppend); BenchmarkAppendDecisionPublic and
// BenchmarkAppendDecisionPrivate cover the two other example kinds.
func BenchmarkAppendDecision(b *testing.B) {
	benchAppend(b, "decision-refused.json", "dec-2026-11-27-000001")
}

// BenchmarkValidateDecision is the schema validation of one request alone.
func BenchmarkValidateDecision(b *testing.B) {
	raw, err := os.ReadFile("../schemas/examples/decision-refused.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := audit.Validate("append-decision.v1", raw); err != nil {
			b.Fatal(err)
		}
	}
}
