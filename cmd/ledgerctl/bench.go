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

	"github.com/fjaledger/fja/api/loadgen"
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
		http       bool
		dir, peer  string
		ho         httpBenchOptions
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure durable append throughput (embedded log, or a server over HTTP)",
		Long: `bench appends n distinct random entries of the given size to an embedded log
on Badger, with c appends in flight. An append counts when it is acknowledged:
committed with fsync, covered by a signed checkpoint, with its inclusion proof.
It prints one JSON object with acked_per_sec.

With --http it instead drives the server at --url with a producer --token,
sending what producers send: it publishes the example constitution (with a
fresh version), then, for each example decision kind (refused, answered,
private: the one with a private section) alone, --single records with fresh
ids one per POST /v1/decisions from --single-clients clients, then --batched
records in batches of --batch via POST /v1/decisions:batch from
--batch-clients clients. A record counts once its receipt is back. The load
generator runs in this process, on the same machine: its CPU time is reported.
It prints one Markdown table with each kind's rate, latency, errors and ratio
to the peer (--compare), beside the raw log (--raw).

bench grow (see its help) grows a served log and samples the server as it grows.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if http {
				for _, f := range []string{"entries", "concurrency", "size", "dir"} {
					if cmd.Flags().Changed(f) {
						return usageErrorf("--%s is for the embedded benchmark; with --http use --single, --batched and their clients", f)
					}
				}
				ho.peer = peer
				return benchHTTP(cmd, globals(cmd), ho)
			}
			if n < 1 || c < 1 || size < 1 || size > ledger.MaxEntrySize {
				return usageErrorf("want -n >= 1, -c >= 1, 1 <= --size <= %d", ledger.MaxEntrySize)
			}
			res, err := benchEmbedded(cmd.Context(), dir, n, c, size)
			if err != nil {
				return err
			}
			if peer != "" {
				p, err := loadgen.ReadPeer(peer)
				if err != nil {
					return fmt.Errorf("--compare: %w", err)
				}
				res.PeerPerSec, res.Ratio = p.PerSec, res.AckedPerSec/p.PerSec
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
		},
	}
	cmd.Flags().IntVarP(&n, "entries", "n", 200000, "entries to append")
	cmd.Flags().IntVarP(&c, "concurrency", "c", 1024, "appends in flight")
	cmd.Flags().IntVar(&size, "size", 1200, "entry size in bytes")
	cmd.Flags().StringVar(&peer, "compare", "", "JSON `file` printed by the peer benchmark (../shared/peers/tessera-posix): adds its rate and the ratio")
	cmd.Flags().BoolVar(&http, "http", false, "benchmark the server at --url over HTTP with the example decisions instead of an embedded log")
	cmd.Flags().StringVar(&dir, "dir", "", "Badger directory (default: a fresh temporary one, removed after)")
	ho.flags(cmd)
	cmd.AddCommand(newBenchGrowCmd())
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
