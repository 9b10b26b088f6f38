package audit_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
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

// BenchmarkAppendDecision measures the record layer end to end without
// HTTP: schema validation, semantic checks, canonical encoding, digest and
// a durable, signed, proven append, with 256 appends in flight.
func BenchmarkAppendDecision(b *testing.B) {
	book := newBook(b)
	tmpl, err := os.ReadFile("../schemas/examples/decision-refused.json")
	if err != nil {
		b.Fatal(err)
	}
	reqs := make([][]byte, b.N)
	for i := range reqs {
		id := make([]byte, 8)
		rand.Read(id)
		reqs[i] = bytes.Replace(tmpl, []byte("dec-2026-11-27-000001"), []byte("dec-"+hex.EncodeToString(id)), 1)
	}
	sem := make(chan struct{}, 256)
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func(r []byte) {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := book.AppendDecision(context.Background(), r); err != nil {
				b.Error(err)
			}
		}(reqs[i])
	}
	wg.Wait()
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
