package ledger_test

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/fjaledger/fja/ledger"
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
			for {
				_, err := l.Append(ctx, e)
				if errors.Is(err, ledger.ErrPushback) {
					time.Sleep(time.Millisecond)
					continue
				}
				if err != nil {
					b.Error(err)
				}
				return
			}
		}(entries[i])
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "entries/s")
}
