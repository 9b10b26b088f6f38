package audit_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
)

// benchAppend appends b.N copies of the example request file (fresh
// decision ids) with 256 appends in flight: the record layer end to end
// without HTTP (validation, checks, canonical encoding, digest, sealing
// of private content, and a durable, signed, proven append). It reports
// the mean entries per log batch (commit): per-batch costs (a commit,
// the vault's fsync) are shared by that many records.
func benchAppend(b *testing.B, example, id string) {
	tbk := newTestBook(b)
	book := tbk.book
	tmpl, err := os.ReadFile("../schemas/examples/" + example)
	if err != nil {
		b.Fatal(err)
	}
	reqs := make([][]byte, b.N)
	for i := range reqs {
		n := make([]byte, 8)
		rand.Read(n)
		reqs[i] = bytes.Replace(tmpl, []byte(id), []byte("dec-"+hex.EncodeToString(n)), 1)
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
	b.StopTimer()
	if st := tbk.log.Stats(); st.Batches > 0 {
		b.ReportMetric(float64(st.Appended)/float64(st.Batches), "entries/batch")
	}
}

// BenchmarkAppendDecisionPublic: the example answered decision (no private
// section). Compare with BenchmarkAppendDecisionPrivate: the private
// section should cost little more than its encryption.
func BenchmarkAppendDecisionPublic(b *testing.B) {
	benchAppend(b, "decision-answered.json", "dec-2026-11-27-000002")
}

// BenchmarkAppendDecisionPrivate: the example modified decision, whose
// request and response are private content sealed in the vault.
func BenchmarkAppendDecisionPrivate(b *testing.B) {
	benchAppend(b, "decision-modified-private.json", "dec-2026-11-27-000003")
}
