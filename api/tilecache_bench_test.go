package api_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/fjaledger/fja/api"
	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/ledger"
)

// BenchmarkTileRead reads one full hash tile and one full entry bundle
// (256 entries of 1 KiB) over real HTTP, with the tile cache and without
// it (every read rebuilt from Badger, as before the cache):
//
//	go test -run '^$' -bench TileRead -benchmem ./api/
func BenchmarkTileRead(b *testing.B) {
	for _, cache := range []struct {
		name  string
		bytes int64
	}{{"cache=off", -1}, {"cache=on", 0}} {
		s := apitest.New(b, apitest.ReadOnly(), apitest.WithAPI(func(c *api.Config) {
			c.TileCacheBytes = cache.bytes
			c.ReadRatePerAddr = 1e9 // the benchmark is one client
		}))
		appendEntries(b, s.Log, 256, 1<<10)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
		for _, path := range []string{"/tile/0/000", "/tile/entries/000"} {
			b.Run(cache.name+path, func(b *testing.B) {
				b.ReportAllocs()
				var n int64
				for b.Loop() {
					resp, err := client.Get(s.URL + path)
					if err != nil {
						b.Fatal(err)
					}
					m, _ := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Fatalf("GET %s: %d", path, resp.StatusCode)
					}
					n = m
				}
				b.SetBytes(n)
			})
		}
	}
}

// appendEntries appends n distinct entries of size bytes, concurrently,
// retrying pushbacks.
func appendEntries(b *testing.B, l *ledger.Log, n, size int) {
	b.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := fmt.Sprintf("entry %06d ", i) + strings.Repeat("x", size-13)
			for {
				_, err := l.Append(b.Context(), []byte(e))
				if errors.Is(err, ledger.ErrPushback) {
					continue
				}
				if err != nil {
					errs <- err
				}
				return
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}
