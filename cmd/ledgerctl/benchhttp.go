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

// httpBenchOptions are the flags of `ledgerctl bench --http`: the run's
// counts (loadgen.BenchConfig) and where its inputs and profiles are.
type httpBenchOptions struct {
	loadgen.BenchConfig
	examples, kinds   string
	pid               int
	operatorToken     string
	pprofURL, profile string
	profileTime       time.Duration
	peer, raw         string
}

func (o *httpBenchOptions) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.examples, "examples", "", "`directory` of the example requests (default ../shared/examples beside the module root)")
	f.StringVar(&o.kinds, "kinds", "refused,answered,private", "with --http: the example decision `kinds` to send, each measured alone")
	f.IntVar(&o.Single, "single", 20000, "with --http: records per kind sent one per POST /v1/decisions (0 skips)")
	f.IntVar(&o.SingleClients, "single-clients", 64, "with --http: concurrent clients of the single phase")
	f.IntVar(&o.Batched, "batched", 100000, "with --http: records per kind sent in batches to POST /v1/decisions:batch (0 skips)")
	f.IntVar(&o.BatchClients, "batch-clients", 8, "with --http: concurrent clients of the batched phase")
	f.IntVar(&o.Batch, "batch", 250, "with --http: records per batch")
	f.IntVar(&o.OTLP, "otlp", 0, "with --http: apply_guardrail spans (made from the refused example) sent last to POST /otlp/v1/traces, --batch a request from --batch-clients clients (0 skips)")
	f.IntVar(&o.Rounds, "rounds", 1, "with --http: send each kind's single and batched records in this many parts, the kinds in a rotated order each round (no kind always\nmeets the log at the same size or follows the same kind); each kind is reported once, its parts added up. The batched\nparts are loads of their own; the single parts are slices of one load from clients that never pause, the kind changing\nfrom one to the next, each round's order drawn (from a fixed seed) rather than rotated")
	f.IntVar(&o.SingleRounds, "single-rounds", 0, "with --http: rounds of the single phase (0: --rounds); its parts have no start or end of their own, so they can be short enough\nfor the kinds to share the server's pauses (a checkpoint of its store, a Badger memtable flush)")
	f.IntVar(&o.Warmup, "warmup", 2000, fmt.Sprintf("with --http: records sent first, kinds mixed, and not reported: this many in batches, then as many\none per request from --single-clients clients if --single is set (a fresh server's first seconds are start-up);\nwith --pid, sent again, up to %d times in all, until the server takes fewer than %.1f page faults a record (its heap\nhas stopped growing)", loadgen.MaxWarmups, loadgen.SettledFaults))
	f.IntVar(&o.pid, "pid", 0, "with --http: the server's process `id` on this machine, to report its CPU time per record and to warm it up\nuntil its heap has stopped growing (--warmup)")
	f.StringVar(&o.operatorToken, "operator-token", "", "with --http: an operator `token` of --url, to report each phase's commits (records a commit, ms a commit) from its GET /metrics")
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
	if o.Single < 0 || o.Batched < 0 || o.OTLP < 0 || o.Single+o.Batched+o.OTLP == 0 || o.SingleClients < 1 || o.BatchClients < 1 || o.Batch < 2 || o.Warmup < 0 || o.Rounds < 1 || o.SingleRounds < 0 {
		return usageErrorf("want --single, --batched, --otlp >= 0 (not all 0), clients >= 1, --batch >= 2, --warmup >= 0, --rounds >= 1, --single-rounds >= 0")
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
	ctx, cfg := cmd.Context(), o.BenchConfig
	cfg.Sender = loadgen.NewSender(g.URL, g.Token, max(o.SingleClients, o.BatchClients))
	cfg.Sender.PID, cfg.Sender.MetricsToken = o.pid, o.operatorToken
	if o.pid > 0 && o.Warmup > 0 {
		if _, err := loadgen.ProcessMinorFaults(o.pid); err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "warm-up: the server's page faults cannot be read (%v): sent once\n", err)
		} else {
			cfg.Faults = func() (int64, error) { return loadgen.ProcessMinorFaults(o.pid) }
		}
	}
	cfg.Examples, cfg.Kinds, cfg.Progress = ex, kinds, cmd.ErrOrStderr()
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

func newBenchGrowCmd() *cobra.Command {
	var o loadgen.GrowOptions
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
			if err := o.Check(g.Token); err != nil {
				return usageErrorf("%v", err)
			}
			ex, err := loadgen.Load(loadgen.ExamplesDir(o.Examples))
			if err != nil {
				return err
			}
			files := loadgen.NewGrowFiles(o.GrowConfig, o.Info, o.MD, os.Args, writeFileWith)
			out, cfg := cmd.ErrOrStderr(), o.GrowConfig
			cfg.Sender, cfg.Examples = loadgen.NewSender(g.URL, g.Token, o.Clients), ex
			if o.ProfileName != "" {
				cfg.Profile = func(appended int, b []byte) error {
					return writeFile(fmt.Sprintf("%s-%d.pprof", strings.TrimSuffix(o.ProfileName, ".pprof"), appended), b)
				}
			}
			cfg.OnSample = func(ss []loadgen.Sample) error {
				loadgen.WriteSample(out, ss[len(ss)-1])
				return files.Update(ss)
			}
			loadgen.WriteSampleHeader(out)
			samples, err := loadgen.Grow(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d samples: %s and %s\n", len(samples), o.Info.CSV, o.Info.SVG)
			return nil
		},
	}
	o.Flags(cmd.Flags())
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
