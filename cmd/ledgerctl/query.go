package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/api/params"
	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/recount"
)

// queryFilter holds the filter flags of query, stats and audit-query
// (DESIGN.md §6); each maps to the query parameter of the same name.
type queryFilter struct {
	kind, operator, model, action, category, rule, flag, jurisdiction, contestStatus string
	from, to                                                                         string
}

func (q *queryFilter) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&q.kind, "kind", "", "record `kind`: decision, constitution, contest, resolution or access (reads of private content)")
	f.StringVar(&q.operator, "operator", "", "decisions of this system `operator`")
	f.StringVar(&q.model, "model", "", "decisions of this `model`")
	f.StringVar(&q.action, "action", "", "decisions with this outcome `action`: answered, refused, modified, escalated")
	f.StringVar(&q.category, "category", "", "decisions with this outcome `category`")
	f.StringVar(&q.rule, "rule", "", "decisions citing this `rule_id`")
	f.StringVar(&q.flag, "flag", "", "decisions raising this provenance flag `code`")
	f.StringVar(&q.jurisdiction, "jurisdiction", "", "decisions whose subject is in this `jurisdiction` (ISO 3166)")
	f.StringVar(&q.contestStatus, "contest-status", "", "decisions whose latest contest is `open|resolved|overdue|none`")
	f.StringVar(&q.from, "from", "", "records logged at or after `TIME` (RFC 3339)")
	f.StringVar(&q.to, "to", "", "records logged before `TIME` (RFC 3339, exclusive)")
}

// values are the filter flags given, as query parameters (unchecked).
func (q *queryFilter) values() url.Values {
	v := url.Values{}
	for _, p := range []struct{ name, val string }{
		{"kind", q.kind}, {"operator", q.operator}, {"model", q.model}, {"action", q.action}, {"category", q.category},
		{"rule", q.rule}, {"flag", q.flag}, {"jurisdiction", q.jurisdiction}, {"contest_status", q.contestStatus},
		{"from", q.from}, {"to", q.to},
	} {
		if p.val != "" {
			v.Set(p.name, p.val)
		}
	}
	return v
}

// params checks the flags as GET /v1/query checks its parameters (package
// params, the server's own definition) and returns them as query
// parameters: a typo is refused before any request is sent.
func (q *queryFilter) params() (url.Values, error) {
	v := q.values()
	if _, err := paramsQuery(v); err != nil {
		return nil, err
	}
	return v, nil
}

// checkStats checks v as GET /v1/stats checks its parameters.
func checkStats(v url.Values) error {
	if _, err := params.ParseStats(v); err != nil {
		return flagError(err)
	}
	return nil
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

// times is --from and --to, parsed (checked by params).
func (q *queryFilter) times() (from, to time.Time) {
	from, _ = time.Parse(time.RFC3339Nano, q.from)
	to, _ = time.Parse(time.RFC3339Nano, q.to)
	return from, to
}

// recount is the filter for verify/recount.
func (q *queryFilter) recount() recount.Filter {
	from, to := q.times()
	return recount.Filter{Kind: q.kind, Operator: q.operator, Model: q.model, Action: q.action, Category: q.category,
		Rule: q.rule, Flag: q.flag, Jurisdiction: q.jurisdiction, ContestStatus: q.contestStatus, From: from, To: to}
}

// queryRecord is one record of a GET /v1/query answer.
type queryRecord struct {
	Index          uint64   `json:"index"`
	Entry          []byte   `json:"entry"`
	LeafHash       []byte   `json:"leaf_hash"`
	InclusionProof [][]byte `json:"inclusion_proof"`
}

// queryPage is one GET /v1/query answer.
type queryPage struct {
	Records    []queryRecord `json:"records"`
	Checkpoint string        `json:"checkpoint"`
	Scanned    recount.Range `json:"scanned"`
	NextCursor string        `json:"next_cursor"`
}

// answerChecker verifies, page by page, the checkpoints and proofs of an
// answer: every checkpoint opens with the log key, never goes backwards
// (same root at the same size, a verified consistency proof to a larger
// one), and every record's leaf hash and inclusion proof hold against its
// page's checkpoint.
type answerChecker struct {
	g           globalOptions
	origin, key string
	others      []string
	last        *verify.Checkpoint
}

func (a *answerChecker) checkpoint(ctx context.Context, text string) (*verify.Checkpoint, error) {
	cp, err := verify.OpenCheckpoint([]byte(text), a.origin, a.key, a.others...)
	if err != nil {
		return nil, fmt.Errorf("the answer's checkpoint does NOT verify: %w", err)
	}
	if p := a.last; p != nil {
		switch {
		case cp.Size < p.Size:
			return nil, fmt.Errorf("the checkpoint went backwards between pages: size %d after %d", cp.Size, p.Size)
		case cp.Size == p.Size && !bytes.Equal(cp.Hash, p.Hash):
			return nil, fmt.Errorf("two checkpoints of size %d with different roots %s and %s: the log forked", cp.Size, b64(p.Hash), b64(cp.Hash))
		case cp.Size > p.Size && p.Size > 0:
			proof, err := fetchConsistency(ctx, a.g, p.Size, cp.Size)
			if err != nil {
				return nil, err
			}
			if err := verify.Consistency(p.Size, cp.Size, proof, p.Hash, cp.Hash); err != nil {
				return nil, fmt.Errorf("the checkpoints of sizes %d and %d are NOT consistent: %w", p.Size, cp.Size, err)
			}
		}
	}
	a.last = cp
	return cp, nil
}

func checkRecord(r queryRecord, cp *verify.Checkpoint) error {
	if lh := verify.LeafHash(r.Entry); !bytes.Equal(lh, r.LeafHash) {
		return fmt.Errorf("record %d: leaf hash %s is not the hash of the entry (%s)", r.Index, b64(r.LeafHash), b64(lh))
	}
	if err := verify.Inclusion(r.Index, cp.Size, r.LeafHash, r.InclusionProof, cp.Hash); err != nil {
		return fmt.Errorf("record %d: inclusion proof does NOT verify: %w", r.Index, err)
	}
	return nil
}

// queryRun is the outcome of fetching a query's pages.
type queryRun struct {
	pages []*queryPage
	cps   []*verify.Checkpoint // per page, with a checker
	// proofErrs are the records that failed (with a checker and lenient).
	proofErrs []recount.Problem
}

// fetchQuery asks GET /v1/query, following next_cursor when all. With a
// checker every page is verified; a failure is an error unless lenient, in
// which case record failures are collected in proofErrs.
func fetchQuery(ctx context.Context, c *client.Client, params url.Values, all bool, chk *answerChecker, lenient bool) (*queryRun, error) {
	run := &queryRun{}
	params = cloneValues(params)
	seen := map[string]bool{}
	for {
		path := "/v1/query?" + params.Encode()
		_, body, err := c.Do(ctx, http.MethodGet, path, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", path, err)
		}
		var p queryPage
		if err := json.Unmarshal(body, &p); err != nil {
			return nil, fmt.Errorf("GET %s: not a query answer: %w", path, err)
		}
		if len(run.pages) > 0 {
			first := run.pages[0].Scanned
			if p.Scanned.From != first.From || p.Scanned.To < run.pages[len(run.pages)-1].Scanned.To {
				return nil, fmt.Errorf("page %d scanned [%d, %d), page 1 [%d, %d): the window's range moved between pages", len(run.pages)+1, p.Scanned.From, p.Scanned.To, first.From, first.To)
			}
		}
		if chk != nil {
			cp, err := chk.checkpoint(ctx, p.Checkpoint)
			if err != nil {
				return nil, err
			}
			if p.Scanned.To > cp.Size || p.Scanned.From > p.Scanned.To {
				return nil, fmt.Errorf("scanned range [%d, %d) is not within the checkpoint's tree of size %d", p.Scanned.From, p.Scanned.To, cp.Size)
			}
			for _, r := range p.Records {
				if err := checkRecord(r, cp); err != nil {
					if !lenient {
						return nil, err
					}
					idx := r.Index
					run.proofErrs = append(run.proofErrs, recount.Problem{Kind: "proof", Index: &idx, Message: err.Error()})
				}
			}
			run.cps = append(run.cps, cp)
		}
		run.pages = append(run.pages, &p)
		if !all || p.NextCursor == "" {
			return run, nil
		}
		if seen[p.NextCursor] {
			return nil, fmt.Errorf("the server sent the cursor %q twice: paging would not end", p.NextCursor)
		}
		seen[p.NextCursor] = true
		params.Set("cursor", p.NextCursor)
	}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
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
			params, err := qf.params()
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("limit") {
				params.Set("limit", strconv.Itoa(limit))
			}
			if cursor != "" {
				params.Set("cursor", cursor)
			}
			if _, err := paramsQuery(params); err != nil {
				return err
			}
			g := globals(cmd)
			var chk *answerChecker
			if len(vo.keys) > 0 {
				chk = &answerChecker{g: g}
				if chk.origin, chk.key, chk.others, err = vo.resolve(); err != nil {
					return err
				}
			}
			run, err := fetchQuery(cmd.Context(), g.client(), params, all, chk, false)
			if err != nil {
				return err
			}
			return printQuery(cmd.OutOrStdout(), run, g.JSON, chk != nil)
		},
	}
	qf.register(cmd)
	f := cmd.Flags()
	f.IntVar(&limit, "limit", params.DefaultLimit, "at most `N` records per page (1..1000)")
	f.BoolVar(&all, "all", false, "fetch every page (follow next_cursor)")
	f.StringVar(&cursor, "cursor", "", "resume from this next_cursor `value`")
	vo.register(cmd)
	f.Lookup("key").Usage = "verify checkpoints and proofs with the log verifier `key` (vkey text, or a file holding it); repeatable" // optional here
	return cmd
}

// recordView is a record as query --json prints it.
type recordView struct {
	Index          uint64          `json:"index"`
	Entry          json.RawMessage `json:"entry"`
	LeafHash       []byte          `json:"leaf_hash"`
	InclusionProof [][]byte        `json:"inclusion_proof"`
	// Checkpoint is set when the record is proven against another
	// checkpoint than the answer's (an earlier page, with --all).
	Checkpoint string `json:"checkpoint,omitempty"`
}

func printQuery(w io.Writer, run *queryRun, asJSON, verified bool) error {
	last := run.pages[len(run.pages)-1]
	if asJSON {
		out := struct {
			Records    []recordView  `json:"records"`
			Checkpoint string        `json:"checkpoint"`
			Scanned    recount.Range `json:"scanned"`
			NextCursor string        `json:"next_cursor,omitempty"`
			Verified   bool          `json:"verified"`
		}{Records: []recordView{}, Checkpoint: last.Checkpoint, Scanned: last.Scanned, NextCursor: last.NextCursor, Verified: verified}
		for _, p := range run.pages {
			for _, r := range p.Records {
				v := recordView{Index: r.Index, LeafHash: r.LeafHash, InclusionProof: r.InclusionProof}
				if json.Valid(r.Entry) {
					v.Entry = r.Entry
				} else {
					v.Entry, _ = json.Marshal(string(r.Entry))
				}
				if p.Checkpoint != last.Checkpoint {
					v.Checkpoint = p.Checkpoint
				}
				out.Records = append(out.Records, v)
			}
		}
		return json.NewEncoder(w).Encode(out)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tLOGGED_AT\tKIND\tID\tACTION\tCATEGORY\tJURISDICTION\tRULES")
	n := 0
	for _, p := range run.pages {
		for _, r := range p.Records {
			s := summarize(r.Entry)
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Index, dash(s.loggedAt), dash(s.kind), dash(s.id), dash(s.action), dash(s.category), dash(s.jurisdiction), dash(strings.Join(s.rules, ",")))
			n++
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	size := ""
	if cp, err := checkpointSize(last.Checkpoint); err == nil {
		size = fmt.Sprintf(" of tree size %d", cp)
	}
	v := ""
	if verified {
		v = "; checkpoint and every proof verified"
	}
	fmt.Fprintf(w, "%d records; scanned entries [%d, %d)%s%s\n", n, last.Scanned.From, last.Scanned.To, size, v)
	if last.NextCursor != "" {
		fmt.Fprintf(w, "more: --cursor %s (or --all)\n", last.NextCursor)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// checkpointSize reads the (unverified) size line of a checkpoint.
func checkpointSize(text string) (uint64, error) {
	lines := strings.SplitN(text, "\n", 3)
	if len(lines) < 2 {
		return 0, fmt.Errorf("no size line")
	}
	return strconv.ParseUint(lines[1], 10, 64)
}

type entrySummary struct {
	kind, loggedAt, id, action, category, jurisdiction string
	rules                                              []string
}

// summarize extracts the table columns of an entry.
func summarize(entry []byte) entrySummary {
	var env struct {
		Kind     string `json:"kind"`
		LoggedAt string `json:"logged_at"`
		Body     struct {
			DecisionID     string `json:"decision_id"`
			ContestID      string `json:"contest_id"`
			ConstitutionID string `json:"constitution_id"`
			Version        string `json:"version"`
			Decision       struct {
				DecisionID string `json:"decision_id"`
			} `json:"decision"`
			Subject struct {
				Jurisdiction string `json:"jurisdiction"`
			} `json:"subject"`
			Rules []struct {
				RuleID string `json:"rule_id"`
			} `json:"rules"`
			Outcome json.RawMessage `json:"outcome"`
		} `json:"body"`
	}
	if json.Unmarshal(entry, &env) != nil {
		return entrySummary{kind: "?"}
	}
	s := entrySummary{kind: env.Kind, loggedAt: env.LoggedAt, jurisdiction: env.Body.Subject.Jurisdiction}
	for _, r := range env.Body.Rules {
		s.rules = append(s.rules, r.RuleID)
	}
	switch env.Kind {
	case "decision":
		s.id = env.Body.DecisionID
		var o struct{ Action, Category string }
		_ = json.Unmarshal(env.Body.Outcome, &o)
		s.action, s.category = o.Action, o.Category
	case "contest":
		s.id = env.Body.Decision.DecisionID
		s.action = "contest " + env.Body.ContestID
	case "resolution":
		s.id = env.Body.ContestID
		var o string
		_ = json.Unmarshal(env.Body.Outcome, &o)
		s.action = o
	case "constitution":
		s.id = env.Body.ConstitutionID + "@" + env.Body.Version
	}
	return s
}

// statsAnswer is the body of GET /v1/stats.
type statsAnswer struct {
	Groups     []recount.Group `json:"groups"`
	Checkpoint string          `json:"checkpoint"`
	Scanned    recount.Range   `json:"scanned"`
}

func fetchStats(ctx context.Context, c *client.Client, params url.Values) (*statsAnswer, []byte, error) {
	path := "/v1/stats?" + params.Encode()
	_, body, err := c.Do(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", path, err)
	}
	var a statsAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, nil, fmt.Errorf("GET %s: not a stats answer: %w", path, err)
	}
	return &a, body, nil
}

// parseGroupBy checks --group-by as GET /v1/stats checks group_by (with
// --kind access, the fields of access statistics) and returns the fields
// in order; spaces around a field are dropped.
func parseGroupBy(kind, s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var fields []string
	for _, f := range strings.Split(s, ",") {
		fields = append(fields, strings.TrimSpace(f))
	}
	v := url.Values{"group_by": {strings.Join(fields, ",")}}
	if kind != "" {
		v.Set("kind", kind)
	}
	if err := checkStats(v); err != nil {
		return nil, err
	}
	return fields, nil
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
			params := qf.values()
			fields, err := parseGroupBy(qf.kind, groupBy)
			if err != nil {
				return err
			}
			if len(fields) > 0 {
				params.Set("group_by", strings.Join(fields, ","))
			}
			if err := checkStats(params); err != nil {
				return err
			}
			g := globals(cmd)
			ans, body, err := fetchStats(cmd.Context(), g.client(), params)
			if err != nil {
				return err
			}
			verified := ""
			if len(vo.keys) > 0 {
				chk := &answerChecker{g: g}
				if chk.origin, chk.key, chk.others, err = vo.resolve(); err != nil {
					return err
				}
				cp, err := chk.checkpoint(cmd.Context(), ans.Checkpoint)
				if err != nil {
					return err
				}
				if ans.Scanned.To > cp.Size || ans.Scanned.From > ans.Scanned.To {
					return fmt.Errorf("scanned range [%d, %d) is not within the checkpoint's tree of size %d", ans.Scanned.From, ans.Scanned.To, cp.Size)
				}
				verified = "; checkpoint verified"
			}
			w := cmd.OutOrStdout()
			if g.JSON {
				return writeLine(w, body)
			}
			printGroups(w, fields, ans.Groups, qf.kind == "access")
			size := ""
			if n, err := checkpointSize(ans.Checkpoint); err == nil {
				size = fmt.Sprintf(" of tree size %d", n)
			}
			_, err = fmt.Fprintf(w, "%d groups; scanned entries [%d, %d)%s%s\n", len(ans.Groups), ans.Scanned.From, ans.Scanned.To, size, verified)
			return err
		},
	}
	qf.register(cmd)
	cmd.Flags().StringVar(&groupBy, "group-by", "", "group by these comma-separated `fields` (each once, at most 3): outcome, category, rule, flag, jurisdiction, model, operator; with --kind access: actor, route, purpose")
	vo.register(cmd)
	cmd.Flags().Lookup("key").Usage = "verify the checkpoint with the log verifier `key` (vkey text, or a file holding it); repeatable" // optional here
	return cmd
}

// printGroups prints stats groups as a table: one column per group field
// (and the constitution beside a rule, the role beside an actor), then
// the figures: of decisions, or with access those of reads of private
// content (count and records read).
func printGroups(w io.Writer, fields []string, groups []recount.Group, access bool) {
	cols := []string{}
	for _, f := range fields {
		cols = append(cols, f)
		if f == "rule" {
			cols = append(cols, "constitution")
		}
		if f == "actor" {
			cols = append(cols, "role")
		}
	}
	// keys the server sent that the fields do not name, in a stable order
	extra := map[string]bool{}
	for _, g := range groups {
		for k := range g.Key {
			known := false
			for _, c := range cols {
				known = known || c == k
			}
			if !known {
				extra[k] = true
			}
		}
	}
	var ex []string
	for k := range extra {
		ex = append(ex, k)
	}
	sort.Strings(ex)
	cols = append(cols, ex...)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range cols {
		fmt.Fprintf(tw, "%s\t", strings.ToUpper(c))
	}
	if access {
		fmt.Fprintln(tw, "READS\tRECORDS")
	} else {
		fmt.Fprintln(tw, "COUNT\tCONTESTS\tOVERTURNED\tOVERDUE")
	}
	for _, g := range groups {
		for _, c := range cols {
			v, ok := g.Key[c]
			switch {
			case !ok:
				v = "-"
			case v == "":
				v = `""`
			}
			fmt.Fprintf(tw, "%s\t", v)
		}
		if access {
			fmt.Fprintf(tw, "%d\t%d\n", g.Count, g.Records)
			continue
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\n", g.Count, g.Contests, g.Overturned, g.Overdue)
	}
	_ = tw.Flush()
}

// paramsQuery checks v as GET /v1/query checks its parameters.
func paramsQuery(v url.Values) (*params.Request, error) {
	r, err := params.ParseQuery(v)
	if err != nil {
		return nil, flagError(err)
	}
	return r, nil
}
