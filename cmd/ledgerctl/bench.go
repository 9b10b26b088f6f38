package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
	"github.com/fjaledger/fja/ledger/signer"
)

// benchResult is what `ledgerctl bench` prints, one JSON object.
type benchResult struct {
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

func newBenchCmd() *cobra.Command {
	var (
		n, c, size int
		batch      int
		http       bool
		dir, peer  string
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure durable append throughput (embedded log, or a server over HTTP); prints JSON",
		Long: `bench appends n distinct random entries of the given size to an embedded log
on Badger, with c appends in flight. An append counts when it is acknowledged:
committed with fsync, covered by a signed checkpoint, with its inclusion proof.
It prints one JSON object with acked_per_sec.

With --http it instead drives the server at --url with a producer --token:
it publishes a benchmark constitution, then appends n generated decisions
with c concurrent clients, one per POST /v1/decisions, or with --batch B in
batches of B via POST /v1/decisions:batch. Each counts once its receipt is back.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if n < 1 || c < 1 || size < 1 || size > ledger.MaxEntrySize {
				return usageErrorf("want -n >= 1, -c >= 1, 1 <= --size <= %d", ledger.MaxEntrySize)
			}
			var res *benchResult
			var err error
			if http {
				res, err = benchHTTP(cmd.Context(), globals(cmd), n, c, batch)
			} else {
				res, err = benchEmbedded(cmd.Context(), dir, n, c, size)
			}
			if err != nil {
				return err
			}
			if peer != "" {
				b, err := os.ReadFile(peer)
				if err != nil {
					return err
				}
				var p struct {
					Published float64 `json:"published_per_sec"`
				}
				if err := json.Unmarshal(b, &p); err != nil || p.Published <= 0 {
					return fmt.Errorf("--compare %s: want the peer's JSON with published_per_sec > 0 (%v)", peer, err)
				}
				res.PeerPerSec, res.Ratio = p.Published, res.AckedPerSec/p.Published
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
		},
	}
	cmd.Flags().IntVarP(&n, "entries", "n", 200000, "entries to append")
	cmd.Flags().IntVarP(&c, "concurrency", "c", 1024, "appends in flight")
	cmd.Flags().IntVar(&size, "size", 1200, "entry size in bytes")
	cmd.Flags().StringVar(&peer, "compare", "", "JSON `file` printed by the peer benchmark (../shared/peers/tessera-posix): adds its rate and the ratio")
	cmd.Flags().BoolVar(&http, "http", false, "benchmark the server at --url over HTTP instead of an embedded log")
	cmd.Flags().IntVar(&batch, "batch", 1, "with --http: records per POST /v1/decisions:batch (1 = single POST /v1/decisions)")
	cmd.Flags().StringVar(&dir, "dir", "", "Badger directory (default: a fresh temporary one, removed after)")
	return cmd
}

func benchEmbedded(ctx context.Context, dir string, n, c, size int) (*benchResult, error) {
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
	return &benchResult{
		Mode: "embedded", Entries: n, EntryBytes: size, InFlight: c, Pushbacks: pushbacks.Load(),
		Seconds: elapsed.Seconds(), AckedPerSec: float64(n) / elapsed.Seconds(), TreeSize: l.Head().Size,
	}, nil
}
