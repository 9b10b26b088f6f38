package ledger_test

import (
	"context"
	"crypto/rand"
	"sync"
	"testing"
	"time"
)

// BenchmarkAppend measures durable appends of 1,200-byte entries with 1,024
// appends in flight: each acknowledged append is committed with fsync and
// covered by a signed checkpoint and an inclusion proof.
func BenchmarkAppend(b *testing.B) {
	l := newTestLog(b, nil)
	entries := make([][]byte, b.N)
	for i := range entries {
		entries[i] = make([]byte, 1200)
		rand.Read(entries[i])
	}
	ctx := context.Background()
	sem := make(chan struct{}, 1024)
	var wg sync.WaitGroup
	b.SetBytes(1200)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func(e []byte) {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := appendRetry(ctx, l.Log, e); err != nil {
				b.Error(err)
			}
		}(entries[i])
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "entries/s")
}
