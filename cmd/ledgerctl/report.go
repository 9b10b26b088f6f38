package main

import (
	"bytes"
	"time"

	"github.com/spf13/cobra"

	rpt "github.com/fjaledger/fja/api/client/report"
)

func newReportCmd() *cobra.Command {
	var (
		from, to, out string
		vo            verifyOptions
	)
	cmd := &cobra.Command{
		Use:   "report --from T --to T [--out report.html] [--key VKEY]",
		Short: "Write a self-contained HTML transparency report for a time window",
		Long: `report asks GET /v1/stats (regulator --token) for the decisions logged in
[--from, --to) (RFC 3339, on logged_at, --to exclusive) and writes a
self-contained HTML transparency report: refusal rates by category and by
jurisdiction, provenance-flag rates, contest and overturn rates per rule, and
overdue contests, each as an inline SVG chart with a table of the same numbers.

Every figure names the signed checkpoint (origin, tree size, root hash) and
the index range [from, to) it was computed from, and the ledgerctl
audit-query command that recounts it from the public tiles. All stats calls
must cover the same index range (they are asked again, up to 3 times, if the
log grew inside a window that is still open); if the checkpoint moved between
calls the report says so and names each section's checkpoint.

With --key every checkpoint is verified with the log's verifier key, and two
different checkpoints are checked to be consistent (GET /v1/proofs/consistency).
--out - writes the HTML to standard output.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fromT, toT, err := rptWindow(from, to)
			if err != nil {
				return err
			}
			keys, err := vo.reportKeys()
			if err != nil {
				return err
			}
			c, _, err := vo.client(cmd, false) // the report verifies with the keys
			if err != nil {
				return err
			}
			data, err := rpt.New(c, keys, fromT, toT).Build(cmd.Context())
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := rpt.Render(&buf, data); err != nil {
				return err
			}
			if out == "-" {
				_, err := cmd.OutOrStdout().Write(buf.Bytes())
				return err
			}
			if err := writeFile(out, buf.Bytes()); err != nil {
				return err
			}
			v, line := data.Summary(out)
			return printResult(cmd, v, line)
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "start of the window, RFC 3339, on logged_at (required)")
	f.StringVar(&to, "to", "", "end of the window, RFC 3339, exclusive (required)")
	f.StringVar(&out, "out", "report.html", "write the report to `FILE` (- for standard output)")
	vo.registerOptional(cmd, "verify every checkpoint")
	return cmd
}

// rptWindow parses --from and --to (both required): a usage error if not.
func rptWindow(from, to string) (time.Time, time.Time, error) {
	ft, tt, err := rpt.ParseWindow(from, to)
	if err != nil {
		return ft, tt, usageError{err}
	}
	return ft, tt, nil
}
