package audit_test

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/audit/vault"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
)

func newBook(b testing.TB) *audit.Book {
	b.Helper()
	skey, _, err := note.GenerateKey(rand.Reader, "bench.example.org/log")
	if err != nil {
		b.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	dir := b.TempDir()
	st, err := badgerstore.Open(badgerstore.Config{Dir: filepath.Join(dir, "badger")})
	if err != nil {
		b.Fatal(err)
	}
	v, err := vault.Open(filepath.Join(dir, "vault"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { v.Close() }) // after the log's (cleanups run last-in first-out)
	l, err := ledger.Open(ledger.Config{Origin: "bench.example.org/log", Signers: []note.Signer{s}, Storage: st, Presync: v.Sync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	book, err := audit.Open(audit.Config{Log: l, Index: st, Vault: v, Secret: make([]byte, 32)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { book.Close() }) // before the log's cleanup
	c, err := os.ReadFile("../schemas/examples/constitution.json")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := book.PublishConstitution(context.Background(), c); err != nil {
		b.Fatal(err)
	}
	return book
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
