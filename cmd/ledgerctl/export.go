package main

import (
	"bufio"
	"fmt"
	"io"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	rpt "github.com/fjaledger/fja/api/client/report"
)

// expPageSize is the page size asked of GET /v1/query (its maximum).
const expPageSize = 1000

func newExportCmd() *cobra.Command {
	var (
		format, from, to, out string
		progress              bool
		qf                    queryFilter
		vo                    verifyOptions
	)
	cmd := &cobra.Command{
		Use:   "export --format jsonl --from T --to T [filters] [--out FILE|-] [--key VKEY]",
		Short: "Export the records of a time window, with proofs, as JSON lines",
		Long: `export pages through GET /v1/query (regulator --token; pages of 1000,
following next_cursor) for the records logged in [--from, --to) (RFC 3339, on
logged_at, --to exclusive) that match the filters, and writes one JSON object
per line, for loading into an analytics engine:

  {"index":I,"logged_at":"...","kind":"decision","record":{<the logged envelope:
   body, kind, logged_at, v>},"leaf_hash":"b64","inclusion_proof":["b64",...],
   "checkpoint":"<the signed checkpoint the proof is against>"}

Filters (combined with AND): --kind, --operator, --model, --action,
--category, --rule, --flag, --jurisdiction, --contest-status
(open|resolved|overdue|none).

With --key every page's checkpoint is verified with the log's verifier key,
every record's leaf hash and inclusion proof against it, and a checkpoint that
changes between pages is checked to be consistent with the one before; nothing
of a page is written before its proofs verify. In every case the records must
lie in the index range the server says it scanned, in increasing index order,
with logged_at in the window.

--out - (the default) writes to standard output; a FILE is written whole or
not at all. A progress bar over the scanned index range is drawn on stderr on
a terminal, or with --progress. Only --format jsonl exists.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "jsonl" {
				return usageErrorf("--format %q is not supported: only jsonl", format)
			}
			fromT, toT, err := rptWindow(from, to)
			if err != nil {
				return err
			}
			c, _, err := vo.client(cmd, false) // the exporter verifies with the keys
			if err != nil {
				return err
			}
			e := &rpt.Exporter{Client: c, From: fromT, To: toT}
			qf.From, qf.To = rpt.Time(fromT), rpt.Time(toT)
			if e.Params, err = qf.QueryParams(url.Values{"limit": {strconv.Itoa(expPageSize)}}); err != nil {
				return flagError(err)
			}
			if e.Keys, err = vo.reportKeys(); err != nil {
				return err
			}
			bar := newProgress(cmd, progress, 0, "export")
			e.Progress = bar.Set
			var res *rpt.ExportResult
			if out == "-" {
				w := bufio.NewWriterSize(cmd.OutOrStdout(), 1<<16)
				res, err = e.Run(cmd.Context(), w)
				if ferr := w.Flush(); err == nil {
					err = ferr
				}
			} else {
				err = writeFileWith(out, func(w io.Writer) (err error) {
					res, err = e.Run(cmd.Context(), w)
					return err
				})
			}
			bar.Finish()
			if err != nil {
				return err
			}
			msg := res.Summary(e.Keys != nil)
			if out == "-" {
				fmt.Fprintln(cmd.ErrOrStderr(), msg)
				return nil
			}
			return printResult(cmd, map[string]any{"out": out, "records": res.Records, "scanned": res.Scanned, "size": res.Size, "verified": e.Keys != nil},
				msg+" to "+out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "jsonl", "output format: jsonl (the only one)")
	f.StringVar(&from, "from", "", "start of the window, RFC 3339, on logged_at (required)")
	f.StringVar(&to, "to", "", "end of the window, RFC 3339, exclusive (required)")
	f.StringVar(&out, "out", "-", "write to `FILE` (- for standard output)")
	f.BoolVar(&progress, "progress", false, "draw a progress bar on stderr even if it is not a terminal")
	qf.registerFilters(cmd)
	f.Lookup("kind").Usage = "only records of this `kind`: decision, constitution, contest, resolution, access, challenge, challenge_response or amendment (default: every kind; name the file after what it holds)"
	vo.registerOptional(cmd, "verify every checkpoint and proof")
	return cmd
}
