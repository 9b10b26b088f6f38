package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fjaledger/fja/api/loadgen"
)

// httpBenchOptions are the flags of `ledgerctl bench --http`.
type httpBenchOptions struct {
	examples, kinds       string
	single, singleClients int
	batched, batchClients int
	batch, warmup, pid    int
	otlp                  int
	pprofURL, profile     string
	profileTime           time.Duration
	peer, raw             string
}

func (o *httpBenchOptions) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.examples, "examples", "", "`directory` of the example requests (default ../shared/examples beside the module root)")
	f.StringVar(&o.kinds, "kinds", "refused,answered,private", "with --http: the example decision `kinds` to send, each measured alone")
	f.IntVar(&o.single, "single", 20000, "with --http: records per kind sent one per POST /v1/decisions (0 skips)")
	f.IntVar(&o.singleClients, "single-clients", 64, "with --http: concurrent clients of the single phase")
	f.IntVar(&o.batched, "batched", 100000, "with --http: records per kind sent in batches to POST /v1/decisions:batch (0 skips)")
	f.IntVar(&o.batchClients, "batch-clients", 8, "with --http: concurrent clients of the batched phase")
	f.IntVar(&o.batch, "batch", 250, "with --http: records per batch")
	f.IntVar(&o.otlp, "otlp", 0, "with --http: apply_guardrail spans (made from the refused example) sent last to POST /otlp/v1/traces, --batch a request from --batch-clients clients (0 skips)")
	f.IntVar(&o.warmup, "warmup", 2000, "with --http: records sent first (batched, kinds mixed) and not reported")
	f.IntVar(&o.pid, "pid", 0, "with --http: the server's process `id` on this machine, to report its CPU time per record")
	f.StringVar(&o.pprofURL, "pprof", "", "with --http: the server's pprof `URL` (ledgerd --pprof): take a CPU profile as each kind's batched phase starts")
	f.StringVar(&o.profile, "profile", "bench-cpu.pprof", "with --pprof: the CPU profiles go to `NAME`-<kind>.pprof (NAME without .pprof)")
	f.DurationVar(&o.profileTime, "profile-time", 10*time.Second, "with --pprof: length of the CPU profile")
	f.StringVar(&o.raw, "raw", "", "with --http: JSON `file` printed by the embedded bench (the raw log), shown beside the HTTP figures")
}

// benchHTTP runs the HTTP benchmark of every example kind against the
// server at --url and prints one Markdown table (or JSON with --json).
func benchHTTP(cmd *cobra.Command, g globalOptions, o httpBenchOptions) error {
	if g.Token == "" {
		return usageErrorf("bench --http needs a producer --token (or LEDGER_TOKEN)")
	}
	if o.single < 0 || o.batched < 0 || o.otlp < 0 || o.single+o.batched+o.otlp == 0 || o.singleClients < 1 || o.batchClients < 1 || o.batch < 2 || o.warmup < 0 {
		return usageErrorf("want --single, --batched, --otlp >= 0 (not all 0), clients >= 1, --batch >= 2, --warmup >= 0")
	}
	ex, err := loadgen.Load(loadgen.ExamplesDir(o.examples))
	if err != nil {
		return err
	}
	kinds, err := ex.Select(o.kinds)
	if err != nil {
		return usageErrorf("--kinds: %v", err)
	}
	peer, raw, err := loadgen.ReadReferences(o.peer, o.raw)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	s := loadgen.NewSender(g.URL, g.Token, max(o.singleClients, o.batchClients))
	s.PID = o.pid
	cfg := loadgen.BenchConfig{
		Sender: s, Examples: ex, Kinds: kinds,
		Single: o.single, SingleClients: o.singleClients,
		Batched: o.batched, BatchClients: o.batchClients, Batch: o.batch, OTLP: o.otlp,
		Warmup: o.warmup, Progress: cmd.ErrOrStderr(),
	}
	profiles := &loadgen.ProfileSaver{URL: o.pprofURL, Name: o.profile, Time: o.profileTime, Write: writeFile}
	if o.pprofURL != "" {
		cfg.Profile = profiles.Profile(ctx)
	}
	results, err := loadgen.Bench(ctx, cfg)
	if err != nil {
		return err
	}
	if len(profiles.Saved) > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "server CPU profiles (the first %s of each kind's batched phase): %s\n", o.profileTime, strings.Join(profiles.Saved, " "))
	}
	if g.JSON {
		err = json.NewEncoder(cmd.OutOrStdout()).Encode(results)
	} else {
		err = loadgen.WriteTable(cmd.OutOrStdout(), peer, raw, results)
	}
	if err != nil {
		return err
	}
	return loadgen.Failed(results)
}

// growOptions are the flags of `ledgerctl bench grow`.
type growOptions struct {
	examples, data, csv, svg, title string
	md, command, note, revision     string
	pid, n, every, batch, clients   int
	proofs                          int
}

func newBenchGrowCmd() *cobra.Command {
	var o growOptions
	cmd := &cobra.Command{
		Use:   "grow",
		Short: "Grow a served log over HTTP, sampling the server's memory, append rate, proof latency and disk use",
		Long: `grow publishes the example constitution, then appends -n example decisions
(refused, answered and private mixed, fresh ids, generated on the fly) to the
server at --url in batches, and after every --every records samples:
the server's RSS (VmRSS of --pid), the append rate over the stretch, the
latency of --proofs inclusion proofs for random indices, and the bytes on disk
per entry (du of --data over the tree size). It writes --csv and an SVG chart
(--svg) after every sample, so a long run's figures survive it.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			g := globals(cmd)
			if g.Token == "" {
				return usageErrorf("bench grow needs a producer --token (or LEDGER_TOKEN)")
			}
			if o.pid <= 0 || o.data == "" || o.csv == "" || o.svg == "" {
				return usageErrorf("bench grow needs --pid, --data, --csv and --svg")
			}
			if o.n < 1 || o.every < 1 || o.batch < 1 || o.clients < 1 || o.proofs < 1 {
				return usageErrorf("want -n, --every, --batch, --clients and --proofs >= 1")
			}
			ex, err := loadgen.Load(loadgen.ExamplesDir(o.examples))
			if err != nil {
				return err
			}
			title := o.title
			if title == "" {
				title = fmt.Sprintf("ledgerd as its log grows by %s decisions (3 example kinds mixed, HTTP batches of %d, %d clients)", loadgen.GroupDigits(o.n), o.batch, o.clients)
			}
			info := loadgen.ReportInfo{Title: title, Command: o.command, Note: o.note, Revision: o.revision, CSV: o.csv, SVG: o.svg}
			info.Complete(os.Args, o.md)
			files := &loadgen.GrowFiles{CSV: o.csv, SVG: o.svg, MD: o.md, Title: title, Info: info, Write: writeFileWith}
			out := cmd.ErrOrStderr()
			loadgen.WriteSampleHeader(out)
			samples, err := loadgen.Grow(cmd.Context(), loadgen.GrowConfig{
				Sender:   loadgen.NewSender(g.URL, g.Token, o.clients),
				Examples: ex, N: o.n, Every: o.every, Batch: o.batch, Clients: o.clients, Proofs: o.proofs,
				PID: o.pid, DataDir: o.data,
				OnSample: func(ss []loadgen.Sample) error {
					loadgen.WriteSample(out, ss[len(ss)-1])
					return files.Update(ss)
				},
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d samples: %s and %s\n", len(samples), o.csv, o.svg)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.examples, "examples", "", "`directory` of the example requests (default ../shared/examples beside the module root)")
	f.IntVar(&o.pid, "pid", 0, "the server's process `id` on this machine (its RSS is sampled)")
	f.StringVar(&o.data, "data", "", "the server's data `directory` (its disk use is sampled)")
	f.IntVarP(&o.n, "entries", "n", 10_000_000, "records to append")
	f.IntVar(&o.every, "every", 500_000, "records between samples")
	f.IntVar(&o.batch, "batch", 250, "records per POST /v1/decisions:batch")
	f.IntVar(&o.clients, "clients", 8, "concurrent clients")
	f.IntVar(&o.proofs, "proofs", 200, "inclusion proofs fetched per sample, for their latency")
	f.StringVar(&o.csv, "csv", "", "CSV `file` to write the samples to")
	f.StringVar(&o.svg, "svg", "", "SVG `file` to draw the samples in")
	f.StringVar(&o.title, "title", "", "the chart's title")
	f.StringVar(&o.md, "md", "", "Markdown `file` to write a note on the run to: the command, the chart, how the last sample compares with the one at a tenth of its size, every sample")
	f.StringVar(&o.note, "note", "", "a paragraph for the --md note (say, that the machine was shared)")
	f.StringVar(&o.revision, "revision", "", "the source revision to name in the --md note (default: the one stamped in this binary, if any)")
	f.StringVar(&o.command, "command", "", "the command to name in the --md note as the one that made the figures (default: this command line, token hidden)")
	return cmd
}

// newBenchPublishCmd is `ledgerctl bench publish` (make bench-publish);
// the benchmark is loadgen.PublishOptions.
func newBenchPublishCmd() *cobra.Command {
	var o loadgen.PublishOptions
	cmd := &cobra.Command{
		Use:   "publish",
		Short: "Measure ledgerd --publish under load: publish lag, uploads, catch-up, append cost, bucket bytes per entry",
		Long: `publish sends -n example decisions in batches to --off-url (no --publish), then
the same to --url (ledgerd --publish), sampling its /metrics and the bucket
every --every, waits for the bucket's checkpoint to cover the log, and prints
a Markdown report. make bench-publish starts the servers and the bucket.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			g := globals(cmd)
			if err := o.Check(g.Token); err != nil {
				return usageErrorf("bench publish: %v", err)
			}
			return o.Run(cmd.Context(), cmd.OutOrStdout(), g.URL, g.Token)
		},
	}
	o.Flags(cmd.Flags())
	return cmd
}
