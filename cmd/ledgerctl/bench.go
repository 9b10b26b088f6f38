package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fjaledger/fja/api/loadgen"
	"github.com/fjaledger/fja/ledger"
)

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
--batch-clients clients; then --otlp apply_guardrail spans (the refused
example as OpenTelemetry GenAI telemetry) to POST /otlp/v1/traces, --batch a
request. A record counts once its receipt is back (a span, once its
request answers without rejecting it and the tree has grown by it). The load
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
			res, err := loadgen.RunRaw(cmd.Context(), dir, n, c, size)
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
	cmd.AddCommand(newBenchGrowCmd(), newBenchPublishCmd())
	return cmd
}
