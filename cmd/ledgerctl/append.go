package main

import (
	"fmt"
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/fjaledger/fja/api/client"
	rpt "github.com/fjaledger/fja/api/client/report"
	"github.com/fjaledger/fja/verify/record"
)

// maxBatch is the most records one POST /v1/decisions:batch takes (DESIGN.md §6).
const maxBatch = 1000

func newAppendCmd() *cobra.Command {
	var (
		kind, receipts string
		batch, conc    int
		progress       bool
		vo             verifyOptions
	)
	cmd := &cobra.Command{
		Use:   "append [FILE|-] [--kind decision|constitution] [--receipts DIR] [--batch N] [--key VKEY]",
		Short: "Append decisions (or constitutions) and collect their receipts",
		Long: `append reads one JSON request, JSON lines (one request per line) or a JSON
array of requests from FILE, or from standard input if FILE is - or absent,
and POSTs each to /v1/decisions (or /v1/constitutions with --kind
constitution) with the --token (LEDGER_TOKEN) as bearer token.

With --batch N > 1 decisions go in groups of up to N (at most 1000) to
/v1/decisions:batch, one group at a time; otherwise -c single requests are in
flight. 429 and 503 answers are retried (5 tries) honouring Retry-After.

With --receipts DIR each receipt is written, exactly as the server returned it,
to DIR/<decision_id>.receipt.json (<constitution_id>@<version> for
constitutions). A duplicate's receipt never replaces an existing file, which
may hold the contest token only the first receipt carries. With --key every
receipt is verified offline before it is written; one that fails is an error.

One line per record: "index N  ID  created|duplicate", or with --json one
object {"record","id","index","status","error"} per line. Exit status 1 if any
record failed.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErrorf("append takes at most one input file, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if kind != "decision" && kind != "constitution" {
				return usageErrorf("--kind must be decision or constitution, not %q", kind)
			}
			if batch < 0 || batch > maxBatch {
				return usageErrorf("--batch must be between 1 and %d", maxBatch)
			}
			if batch > 1 && kind != "decision" {
				return usageErrorf("--batch works for decisions only")
			}
			if conc < 1 {
				return usageErrorf("-c must be at least 1")
			}
			c, origin, err := vo.client(cmd, len(vo.keys) > 0)
			if err != nil {
				return err
			}
			name := "-"
			if len(args) == 1 {
				name = args[0]
			}
			var data []byte
			if name == "-" {
				data, err = io.ReadAll(cmd.InOrStdin())
			} else {
				data, err = os.ReadFile(name)
			}
			if err != nil {
				return err
			}
			raws, err := client.SplitRequests(data)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			a := &rpt.Append{Client: c, Kind: record.Kind(kind), Batch: batch, Conc: conc, Dir: receipts,
				WriteFile: writeFile, Out: cmd.OutOrStdout(), JSON: globals(cmd).JSON}
			var bar *progressbar.ProgressBar
			if errw := cmd.ErrOrStderr(); len(raws) > 1 && (progress || rpt.IsTerminal(errw)) {
				bar = rpt.NewBar(errw, int64(len(raws)), "append", "records")
				a.BeforeLine, a.Done = func() { _ = bar.Clear() }, func() { _ = bar.Add(1) }
			}
			failed, err := a.Run(cmd.Context(), raws)
			if bar != nil {
				_ = bar.Finish()
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr(), rpt.VerifiedLine(c, origin, len(raws)-failed))
			if failed > 0 {
				return fmt.Errorf("%d of %d records failed", failed, len(raws))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&kind, "kind", "decision", "what the input holds: decision or constitution")
	f.StringVar(&receipts, "receipts", "", "write each receipt to `DIR`/<id>.receipt.json")
	f.IntVar(&batch, "batch", 0, "send decisions in groups of up to `N` (<= 1000) to /v1/decisions:batch")
	f.IntVarP(&conc, "concurrency", "c", 8, "single requests in flight")
	f.BoolVar(&progress, "progress", false, "draw a progress bar on stderr even if it is not a terminal")
	vo.registerOptional(cmd, "verify every receipt offline")
	return cmd
}
