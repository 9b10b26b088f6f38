package loadgen

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
	"github.com/fjaledger/fja/ledger/signer"
)

// RawResult is what RunRaw measured; `ledgerctl bench` prints it as one
// JSON object (ReadRaw reads it back).
type RawResult struct {
	Mode        string  `json:"mode"`
	Entries     int     `json:"entries"`
	EntryBytes  int     `json:"entry_bytes"`
	InFlight    int     `json:"in_flight"`
	Pushbacks   int64   `json:"pushbacks"`
	Seconds     float64 `json:"seconds"`
	AckedPerSec float64 `json:"acked_per_sec"`
	TreeSize    uint64  `json:"tree_size,omitempty"` // embedded mode only
	// With --compare: the peer's published rate from the same run, and ours over it.
	PeerPerSec float64 `json:"peer_published_per_sec,omitempty"`
	Ratio      float64 `json:"ratio,omitempty"`
}

// RunRaw measures the log alone, in this process: n distinct random
// entries of size bytes appended to a log on Badger in dir (a fresh
// temporary directory, removed after, when empty), c in flight. An append
// counts once acknowledged: committed with fsync, covered by a signed
// checkpoint, with its inclusion proof. Pushbacks are retried after 1 ms.
func RunRaw(ctx context.Context, dir string, n, c, size int) (*RawResult, error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "ledger-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	const origin = "bench.fja-ledger.localhost/log"
	skey, _, err := signer.GenerateKey(rand.Reader, origin)
	if err != nil {
		return nil, err
	}
	s, err := signer.FromNoteKey(skey)
	if err != nil {
		return nil, err
	}
	st, err := badgerstore.Open(badgerstore.Config{Dir: dir})
	if err != nil {
		return nil, err
	}
	l, err := ledger.Open(ledger.Config{Origin: origin, Signers: []note.Signer{s}, Storage: st})
	if err != nil {
		st.Close()
		return nil, err
	}
	defer l.Close()

	entries := make([][]byte, n)
	for i := range entries {
		entries[i] = make([]byte, size)
		rand.Read(entries[i])
	}
	var (
		wg        sync.WaitGroup
		sem       = make(chan struct{}, c)
		pushbacks atomic.Int64
		firstErr  atomic.Pointer[error]
	)
	start := time.Now()
	for _, e := range entries {
		sem <- struct{}{}
		wg.Add(1)
		go func(e []byte) {
			defer wg.Done()
			defer func() { <-sem }()
			for {
				_, err := l.Append(ctx, e)
				if errors.Is(err, ledger.ErrPushback) {
					pushbacks.Add(1)
					time.Sleep(time.Millisecond)
					continue
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, &err)
				}
				return
			}
		}(e)
	}
	wg.Wait()
	elapsed := time.Since(start)
	if e := firstErr.Load(); e != nil {
		return nil, fmt.Errorf("append failed: %w", *e)
	}
	return &RawResult{
		Mode: "embedded", Entries: n, EntryBytes: size, InFlight: c, Pushbacks: pushbacks.Load(),
		Seconds: elapsed.Seconds(), AckedPerSec: float64(n) / elapsed.Seconds(), TreeSize: l.Head().Size,
	}, nil
}
