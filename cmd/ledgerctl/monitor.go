package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/api/client/monitormetrics"
	"github.com/fjaledger/fja/verify/monitor"
)

// progressMin is the number of new entries from which a round draws a
// progress bar (on a terminal, or always with --progress).
var progressMin uint64 = 1024

type monitorOptions struct {
	vo       verifyOptions
	state    string
	gossip   []string
	once     bool
	interval time.Duration
	metrics  string
	evidence string
	progress bool
	timeout  time.Duration
	tiles    bool
}

func newMonitorCmd() *cobra.Command {
	var o monitorOptions
	cmd := &cobra.Command{
		Use:   "monitor --state DIR --key VKEY [--url URL] [--gossip FILE|URL]... [--once] [--interval 30s] [--metrics ADDR] [--evidence FILE] [--progress] [--timeout 2m] [--tiles-only]",
		Short: "Follow the log: catch forks, tiles that lie and broken ledger rules",
		Long: `monitor follows the log at --url from the state saved in --state DIR
(DIR/state.json: the last checkpoint it trusted and how far it has read entries,
replaced atomically after each step; created on the first run, which reads the
whole log). Each round it:

  - fetches /checkpoint and opens it with --key; it must not be smaller than the
    trusted one, and must be consistent with it (GET /v1/proofs/consistency);
  - re-derives the root from the tiles (a tile that does not match the signed
    root is caught);
  - compares it with every checkpoint gossiped to it (--gossip, repeatable): a
    file, or an http(s) URL, holding signed checkpoints exactly as /checkpoint
    serves them, separated by blank lines. Those that open with --key must be
    consistent with the log's (same size: same root); others are skipped with a
    warning;
  - reads every new entry from the entry bundles, authenticated against the
    checkpoint, and checks the ledger's rules: logged_at never goes backwards; a
    decision cites a constitution version published earlier and rule ids that
    exist in it, and a refusal cites a rule whose effect is refuse; a contest
    references an earlier, contestable decision by index, leaf hash and
    decision_id; a resolution is human_reviewed and resolves an open contest.
    Contests past due without a resolution are warnings.

A log with temporal shards (GET /v1/log lists them) is followed shard by shard
from the shard of --key on, through each shard's /shards/<n>/ tiles: first the
chain of shards is verified (each later key endorsed by the one before, each
frozen shard at the final checkpoint its successor cites; a CHAIN alarm
otherwise), then each shard is checked as above (shard n's state in
DIR/shards/<n>), contests of decisions in earlier shards against those shards.

On a fork, a rollback, a lying tile or a rule violation it writes the evidence
(the conflicting signed checkpoints; or the entry, its inclusion proof and the
checkpoint) to --evidence (default DIR/evidence-<UTC time>.txt) and exits 1. The
state is not advanced past what failed, so the next run finds it again.

--once runs one round (for cron): exit 0 only if everything checked holds.
Otherwise it runs a round every --interval until interrupted (exit 0 on
SIGINT/SIGTERM); a round that cannot complete (network) is retried at the next
interval. --metrics ADDR serves Prometheus metrics at http://ADDR/metrics.

A consistency proof the log answers (200 OK) between two checkpoints it signed
that does not verify, or is not a proof at all, is a fork (with the proof in the
evidence), or a PROOF alarm when the tiles show the two trees consistent. A
request that fails (connection, timeout, HTTP error status) is no evidence: the
round fails and is retried. Every request is bounded by --timeout (connecting by
at most 10s, waiting for the response header by at most 30s), and redirects are
never followed: a redirect is an error naming its Location.

--tiles-only follows a plain tlog-tiles log (e.g. the bucket of ledgerd --publish):
consistency proofs are computed from its tiles, authenticated against its checkpoint.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runMonitor(cmd, &o) },
	}
	f := cmd.Flags()
	o.vo.register(cmd)
	f.Lookup("key").Usage = "the log's verifier `key` (vkey text, or a file holding it; required; only the first --key is used)"
	f.StringVar(&o.state, "state", "", "state `DIR` (required)")
	f.StringArrayVar(&o.gossip, "gossip", nil, "`FILE or URL` of gossiped signed checkpoints (repeatable)")
	f.BoolVar(&o.once, "once", false, "run one round and exit")
	f.DurationVar(&o.interval, "interval", 30*time.Second, "time between rounds")
	f.StringVar(&o.metrics, "metrics", "", "serve Prometheus metrics at `ADDR` (host:port), path /metrics")
	f.StringVar(&o.evidence, "evidence", "", "write evidence to `FILE` (default DIR/evidence-<time>.txt)")
	f.BoolVar(&o.progress, "progress", false, "draw a progress bar on stderr even if it is not a terminal")
	f.BoolVar(&o.tiles, "tiles-only", false, "--url is a tiles-only log (no /v1 API): compute consistency proofs from its tiles")
	f.DurationVar(&o.timeout, "timeout", client.DefaultRequestTimeout, "bound on each HTTP request to the log and to gossip URLs, body included")
	return cmd
}

func runMonitor(cmd *cobra.Command, o *monitorOptions) error {
	if o.state == "" {
		return usageErrorf("--state DIR is required")
	}
	if !o.once && o.interval <= 0 {
		return usageErrorf("--interval must be positive")
	}
	if o.timeout <= 0 {
		return usageErrorf("--timeout must be positive, got %s", o.timeout)
	}
	k, err := o.vo.resolve()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.state, 0o700); err != nil {
		return err
	}
	st, err := monitor.LoadState(o.state, k.Origin, k.Key)
	if err != nil {
		return err
	}
	g := globals(cmd)
	m, err := client.NewMonitor(g.URL, k.Origin, k.Key, o.timeout, o.gossip, o.tiles)
	if err != nil {
		return usageErrorf("%v", err)
	}
	m.Save = func(s *monitor.State) error { return monitor.SaveState(o.state, s) }

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var mm *monitormetrics.Metrics
	if o.metrics != "" {
		mm = monitormetrics.New()
		addr, closeMetrics, err := mm.Serve(o.metrics)
		if err != nil {
			return fmt.Errorf("--metrics: %w", err)
		}
		defer closeMetrics()
		fmt.Fprintf(cmd.ErrOrStderr(), "monitor: metrics at http://%s/metrics\n", addr)
	}

	errw, out := cmd.ErrOrStderr(), cmd.OutOrStdout()
	bar := newProgress(cmd, o.progress, progressMin, "monitor")
	m.Progress = func(done, total uint64) {
		if total >= progressMin { // with --progress too: a short catch-up draws none
			bar.Set(done, total)
		}
	}
	r, err := client.NewShardMonitor(g.URL, m, o.timeout, o.state)
	if err != nil {
		return usageErrorf("%v", err)
	}
	res, err := monitor.Follow(ctx, r, st, o.once, o.interval, func(res *monitor.Result, err error) {
		bar.Finish()
		mm.Observe(res, err)
		if res != nil {
			_ = res.Write(out, g.JSON, st.Origin, err)
		}
		if err != nil && !o.once && ctx.Err() == nil {
			fmt.Fprintf(errw, "monitor: round failed (retrying in %s): %v\n", o.interval, err)
		}
	})
	if res != nil {
		path, werr := res.SaveEvidence(o.evidence, o.state, g.URL, time.Now())
		if werr != nil {
			return fmt.Errorf("%d alarm(s), and writing the evidence failed: %w", len(res.Alarms), werr)
		}
		return fmt.Errorf("%s; evidence in %s", res.Summary(), path)
	}
	return err
}
