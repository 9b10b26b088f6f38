package loadgen

import (
	"errors"

	"github.com/spf13/pflag"
)

// GrowOptions are the options of ledgerctl bench grow: the run
// (GrowConfig), its files and note (Info), the examples directory and
// the Markdown note's file.
type GrowOptions struct {
	GrowConfig
	Info         ReportInfo
	Examples, MD string
	// ProfileName, with PprofURL, names the CPU profiles of
	// GrowConfig.Profile: ProfileName-<records appended>.pprof.
	ProfileName string
}

// Flags registers the options as flags of ledgerctl bench grow.
func (o *GrowOptions) Flags(f *pflag.FlagSet) {
	f.StringVar(&o.Examples, "examples", "", "`directory` of the example requests (default ../shared/examples beside the module root)")
	f.IntVar(&o.PID, "pid", 0, "the server's process `id` on this machine (its RSS is sampled)")
	f.StringVar(&o.DataDir, "data", "", "the server's data `directory` (its disk use is sampled)")
	f.StringVar(&o.PprofURL, "pprof", "", "the server's pprof `URL` (ledgerd --pprof): each sample also forces a collection and reads the live Go heap")
	f.StringVar(&o.ProfileName, "profile", "", "with --pprof: take a CPU profile of the server over the stretch ending nearest a tenth of -n and over the last one,\nwritten to `NAME`-<records appended>.pprof (for go tool pprof)")
	f.IntVarP(&o.N, "entries", "n", 10_000_000, "records to append")
	f.IntVar(&o.Every, "every", 500_000, "records between samples")
	f.IntVar(&o.Batch, "batch", 250, "records per POST /v1/decisions:batch")
	f.IntVar(&o.Clients, "clients", 8, "concurrent clients")
	f.IntVar(&o.Proofs, "proofs", 1000, "inclusion proofs fetched per sample, one at a time, for their latency (about a third of a\nmillisecond each on loopback: fewer make a sample's p50 that of a moment, swayed by whatever ran in it)")
	f.DurationVar(&o.Settle, "settle", 0, "if not 0, fetch each sample's proofs again once the server's CPU use has fallen below a tenth of a core,\nwaiting at most this `long` (the pause also lets compactions finish before the next stretch of appends)")
	f.StringVar(&o.Info.CSV, "csv", "", "CSV `file` to write the samples to")
	f.StringVar(&o.Info.SVG, "svg", "", "SVG `file` to draw the samples in")
	f.StringVar(&o.Info.Title, "title", "", "the chart's title")
	f.StringVar(&o.MD, "md", "", "Markdown `file` to write a note on the run to: the command, the chart, how the last sample compares with the one at a tenth of its size, every sample")
	f.StringVar(&o.Info.Note, "note", "", "a paragraph for the --md note (say, that the machine was shared)")
	f.StringVar(&o.Info.Revision, "revision", "", "the source revision to name in the --md note (default: the one stamped in this binary, if any)")
	f.StringVar(&o.Info.Command, "command", "", "the command to name in the --md note as the one that made the figures (default: this command line, token hidden)")
}

// Check says what is missing or out of range for a run with the
// producer token, in the flags' words.
func (o *GrowOptions) Check(token string) error {
	switch {
	case token == "":
		return errors.New("bench grow needs a producer --token (or LEDGER_TOKEN)")
	case o.PID <= 0 || o.DataDir == "" || o.Info.CSV == "" || o.Info.SVG == "":
		return errors.New("bench grow needs --pid, --data, --csv and --svg")
	case o.N < 1 || o.Every < 1 || o.Batch < 1 || o.Clients < 1 || o.Proofs < 1:
		return errors.New("want -n, --every, --batch, --clients and --proofs >= 1")
	case o.Settle < 0:
		return errors.New("want --settle >= 0")
	case o.ProfileName != "" && o.PprofURL == "":
		return errors.New("--profile needs the server's --pprof URL")
	}
	return nil
}
