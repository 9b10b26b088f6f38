package main

import (
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fjaledger/fja/api/client"
	rpt "github.com/fjaledger/fja/api/client/report"
	"github.com/fjaledger/fja/api/params"
)

// queryFilter holds the filter flags of query, stats and audit-query
// (DESIGN.md §6); each sets the query parameter of the same name.
type queryFilter struct{ client.Filter }

func (q *queryFilter) register(cmd *cobra.Command) {
	q.registerFilters(cmd)
	f := cmd.Flags()
	f.StringVar(&q.From, "from", "", "records logged at or after `TIME` (RFC 3339)")
	f.StringVar(&q.To, "to", "", "records logged before `TIME` (RFC 3339, exclusive)")
}

// registerFilters registers the filters besides the window (--from, --to).
func (q *queryFilter) registerFilters(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&q.Kind, "kind", "", "record `kind`: decision, constitution, contest, resolution, access (reads of private content), challenge, challenge_response or amendment")
	f.StringVar(&q.Operator, "operator", "", "decisions of this system `operator`")
	f.StringVar(&q.Model, "model", "", "decisions of this `model`")
	f.StringVar(&q.Action, "action", "", "decisions with this outcome `action`: answered, refused, modified, escalated")
	f.StringVar(&q.Category, "category", "", "decisions with this outcome `category`")
	f.StringVar(&q.Rule, "rule", "", "decisions citing this `rule_id`")
	f.StringVar(&q.Flag, "flag", "", "decisions raising this provenance flag `code`")
	f.StringVar(&q.Jurisdiction, "jurisdiction", "", "decisions whose subject is in this `jurisdiction` (ISO 3166)")
	f.StringVar(&q.ContestStatus, "contest-status", "", "decisions whose latest contest is `open|resolved|overdue|none`")
}

// flagError is the usage error of a parameter params refused, naming the
// flag that sets it (--contest-status for contest_status).
func flagError(err error) error {
	var pe *params.Error
	if !errors.As(err, &pe) {
		return err
	}
	return usageErrorf("--%s: %s", strings.ReplaceAll(pe.Param, "_", "-"), pe.Message)
}

func newQueryCmd() *cobra.Command {
	var (
		qf     queryFilter
		limit  int
		all    bool
		cursor string
		vo     verifyOptions
	)
	cmd := &cobra.Command{
		Use:   "query [--kind K] [--operator O] [--model M] [--action A] [--category C] [--rule R] [--flag F] [--jurisdiction J] [--contest-status S] [--from T] [--to T] [--limit N] [--all] [--key VKEY]",
		Short: "Query log records with filters (regulator), with proofs",
		Long: `query asks GET /v1/query (regulator --token) for the records matching every
filter given, in index order, and prints one line per record: index,
logged_at, kind, id (decision_id; for a contest the contested decision, for a
resolution the contest), outcome action, category, jurisdiction and rules.
--from and --to bound logged_at (RFC 3339, --to exclusive). --json prints
{"records":[{"index","entry":<the decoded record envelope>,"leaf_hash",
"inclusion_proof"}],"checkpoint","scanned","next_cursor"}.

One page of at most --limit records (server default 100, at most 1000) is
fetched; --all follows next_cursor to the end, or resume with --cursor.

With --key every page's checkpoint is verified with the log's key, every
record's leaf hash and inclusion proof against it, and a later page's
checkpoint against the earlier (same root, or a verified consistency proof).
To check that nothing was left out, use 'ledgerctl audit-query'.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			page := url.Values{}
			if cmd.Flags().Changed("limit") {
				page.Set("limit", strconv.Itoa(limit))
			}
			if cursor != "" {
				page.Set("cursor", cursor)
			}
			params, err := qf.QueryParams(page)
			if err != nil {
				return flagError(err)
			}
			c, _, err := vo.client(cmd, len(vo.keys) > 0)
			if err != nil {
				return err
			}
			run, err := c.QueryAll(cmd.Context(), params, all, false)
			if err != nil {
				return err
			}
			return rpt.WriteQuery(cmd.OutOrStdout(), run, globals(cmd).JSON, c.Verifies())
		},
	}
	qf.register(cmd)
	f := cmd.Flags()
	f.IntVar(&limit, "limit", params.DefaultLimit, "at most `N` records per page (1..1000)")
	f.BoolVar(&all, "all", false, "fetch every page (follow next_cursor)")
	f.StringVar(&cursor, "cursor", "", "resume from this next_cursor `value`")
	vo.registerOptional(cmd, "verify checkpoints and proofs")
	return cmd
}

func newStatsCmd() *cobra.Command {
	var (
		qf      queryFilter
		groupBy string
		vo      verifyOptions
	)
	cmd := &cobra.Command{
		Use:   "stats [filters] [--group-by rule,jurisdiction] [--key VKEY]",
		Short: "Count decisions, contests, overturns and overdue contests, grouped (GET /v1/stats)",
		Long: `stats asks GET /v1/stats (regulator --token, unless the server makes stats
public) for the decisions matching the filters (the flags of 'ledgerctl
query'), grouped by --group-by (comma-separated: outcome, category, rule,
flag, jurisdiction, model, operator; grouped by rule, each group also names
the constitution version). It prints one line per group: the key, the count
of decisions, and their contests, overturned and overdue contests. --json
prints the server's answer unchanged.

With --key the answer's checkpoint is verified with the log's key. To
recount the figures from the public tiles, use 'ledgerctl audit-query --stats'.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fields, err := client.ParseGroupBy(qf.Kind, groupBy)
			if err != nil {
				return flagError(err)
			}
			params, err := qf.StatsParams(fields)
			if err != nil {
				return flagError(err)
			}
			g := globals(cmd)
			c, _, err := vo.client(cmd, len(vo.keys) > 0)
			if err != nil {
				return err
			}
			ans, body, err := c.Stats(cmd.Context(), params)
			if err != nil {
				return err
			}
			cp, err := c.CheckStats(ans)
			if err != nil {
				return err
			}
			if g.JSON {
				return writeLine(cmd.OutOrStdout(), body)
			}
			return rpt.WriteStats(cmd.OutOrStdout(), fields, ans, qf.Kind == "access", cp != nil)
		},
	}
	qf.register(cmd)
	cmd.Flags().StringVar(&groupBy, "group-by", "", "group by these comma-separated `fields` (each once, at most 3): outcome, category, rule, flag, jurisdiction, model, operator; with --kind access: actor, route, purpose")
	vo.registerOptional(cmd, "verify the checkpoint")
	return cmd
}
