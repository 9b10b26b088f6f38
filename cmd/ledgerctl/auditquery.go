package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/fjaledger/fja/api/client"
	rpt "github.com/fjaledger/fja/api/client/report"
	"github.com/fjaledger/fja/api/params"
)

// auditBarMin is the smallest range that gets a progress bar on a terminal.
const auditBarMin = 4096

func newAuditQueryCmd() *cobra.Command {
	var (
		qf       queryFilter
		stats    bool
		rules    client.RulesFilter
		byRules  bool
		groupBy  string
		limit    int
		progress bool
		slack    time.Duration
		vo       verifyOptions
	)
	cmd := &cobra.Command{
		Use:   "audit-query [filters] [--stats [--group-by FIELDS] | --rules] --key VKEY",
		Short: "Check a query or stats answer for completeness and correctness against the public tiles",
		Long: `audit-query asks the server the query (every page of GET /v1/query) or, with
--stats, the statistics (GET /v1/stats, grouped by --group-by) for the
filters given (the flags of 'ledgerctl query'), then recounts the answer
itself from the log's public tiles, trusting nothing but the log's key:

  - the answer's checkpoints open with --key (required), later pages'
    checkpoints are consistent with earlier ones, and every record's
    inclusion proof holds;
  - the entry bundles and hash tiles of the scanned range are fetched from
    /tile/... and authenticated against the checkpoint: every entry must hash
    to the authenticated leaf hash;
  - the scanned range [from, to) is exactly the window: every entry in it was
    logged in [--from, --to), entry from-1 before --from and entry to at or
    after --to;
  - every entry of the range is matched against the filters: each matching
    record must be in the answer, and each answered record must match and be
    the logged entry (missing and extra indices are named);
  - with --stats the groups are recounted (contests and resolutions up to the
    checkpoint's size) and compared field by field. Whether a contest is
    overdue depends on the clock: figures may differ only where a contest's
    due_by lies within --slack of now.
  - with --rules (GET /v1/rules; filters also --locale, --constitution
    id@version, --min-n) every rule's counts and calibration figures, the
    sensitivity groups and the version changes are recounted from every
    entry of the tree and must be equal, bit for bit.

On a log of temporal shards (query and stats), --key may be the first shard's:
the chain of shards is verified from it, and each frozen shard's part of the
answer is recounted from its own /shards/<n>/ tiles and reported as "shard N:".

It prints "complete and correct" and exits 0, or every discrepancy and exits
1. --json prints the report as one JSON object. A progress bar is drawn on
standard error for large ranges on a terminal, or with --progress.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if byRules {
				return auditRules(cmd, client.RulesFilter{Filter: qf.Filter, Locale: rules.Locale, Constitution: rules.Constitution, MinN: rules.MinN}, vo)
			}
			params, err := qf.QueryParams(nil)
			if err != nil {
				return flagError(err)
			}
			fields, err := client.ParseGroupBy(qf.Kind, groupBy)
			if err != nil {
				return flagError(err)
			}
			if len(fields) > 0 && !stats {
				return usageErrorf("--group-by needs --stats")
			}
			if stats {
				if _, err := qf.StatsParams(fields); err != nil {
					return flagError(err)
				}
			}
			if limit < 1 || limit > 1000 {
				return usageErrorf("--limit must be between 1 and 1000")
			}
			if slack < 0 {
				return usageErrorf("--slack must not be negative")
			}
			c, _, err := vo.client(cmd, true)
			if err != nil {
				return err
			}
			bar := newProgress(cmd, progress, auditBarMin, "audit-query")
			cfg := client.AuditConfig{Slack: slack, PageSize: limit, Progress: bar.Set}
			var a *client.Audit
			if stats {
				a, err = c.AuditStats(cmd.Context(), qf.Recount(), fields, params, cfg)
			} else {
				a, err = c.AuditQuery(cmd.Context(), qf.Recount(), params, cfg)
			}
			bar.Finish()
			if err != nil {
				return err
			}
			what := map[bool]string{false: "query", true: "stats"}[stats]
			return writeAudit(cmd, what, a)
		},
	}
	qf.register(cmd)
	f := cmd.Flags()
	f.BoolVar(&stats, "stats", false, "audit GET /v1/stats instead of GET /v1/query")
	f.BoolVar(&byRules, "rules", false, "audit GET /v1/rules (calibration figures) instead of GET /v1/query")
	f.StringVar(&rules.Locale, "locale", "", "with --rules: decisions whose subject has this `locale` (BCP 47)")
	f.StringVar(&rules.Constitution, "constitution", "", "with --rules: decisions citing this constitution `id@version`")
	f.IntVar(&rules.MinN, "min-n", 0, "with --rules: fewest decisions a jurisdiction or locale needs to enter a sensitivity ratio (default the server's, 20)")
	f.StringVar(&groupBy, "group-by", "", "with --stats: group by these comma-separated `fields`: outcome, category, rule, flag, jurisdiction, model, operator")
	f.IntVar(&limit, "limit", 1000, "records per query page (1..1000)")
	f.BoolVar(&progress, "progress", false, "draw a progress bar on stderr even if it is not a terminal")
	f.DurationVar(&slack, "slack", time.Minute, "clock difference tolerated for overdue contests")
	vo.register(cmd)
	return cmd
}

// auditRules recounts GET /v1/rules for f (checked first as the server
// checks it) and writes the report.
func auditRules(cmd *cobra.Command, f client.RulesFilter, vo verifyOptions) error {
	if _, err := params.ParseRules(f.Values()); err != nil {
		return flagError(err)
	}
	c, _, err := vo.client(cmd, true)
	if err != nil {
		return err
	}
	a, err := c.AuditRules(cmd.Context(), f, client.AuditConfig{})
	if err != nil {
		return err
	}
	return writeAudit(cmd, "rules", a)
}

// writeAudit writes the report of a; discrepancies exit with status 1.
func writeAudit(cmd *cobra.Command, what string, a *client.Audit) error {
	if err := rpt.WriteAudit(cmd.OutOrStdout(), globals(cmd).JSON, what, a); err != nil {
		return err
	}
	return a.Err() // exit status 1 after the report is printed
}
