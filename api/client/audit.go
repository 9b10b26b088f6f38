package client

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/recount"
	"github.com/fjaledger/fja/verify/tile"
)

// Audit is the outcome of recounting an answer from the public tiles.
type Audit struct {
	// Checkpoint is the verified checkpoint the recount was made at.
	Checkpoint *verify.Checkpoint
	Report     *recount.Report
	// Answered is the number of records (query) or groups (stats) the
	// server answered.
	Answered int
}

// Err is nil when the recount found the answer complete and correct,
// else an error saying how many discrepancies the report names.
func (a *Audit) Err() error {
	if a.Report.OK() {
		return nil
	}
	return fmt.Errorf("the answer is NOT complete and correct: %d discrepancies", len(a.Report.Problems))
}

// AuditConfig says how to recount.
type AuditConfig struct {
	// Slack is the clock difference tolerated for overdue contests.
	Slack time.Duration
	// PageSize is the records per query page (default 1000).
	PageSize int
	// Progress, when set, is told the entries read and their total.
	Progress func(done, total uint64)
}

// AuditQuery asks every page of GET /v1/query for f (params are f's query
// parameters), then recounts the answer from the log's public tiles,
// trusting nothing but the pinned key (see recount.Auditor.Query): the
// report names every record missing or extra and every proof that fails.
// The client MUST verify.
func (c *Client) AuditQuery(ctx context.Context, f recount.Filter, params url.Values, cfg AuditConfig) (*Audit, error) {
	if !c.Verifies() {
		return nil, fmt.Errorf("client: an audit needs the pinned VerifierKey")
	}
	n := cfg.PageSize
	if n <= 0 {
		n = 1000
	}
	params.Set("limit", strconv.Itoa(n))
	run, err := c.QueryAll(ctx, params, true, true)
	if err != nil {
		return nil, err
	}
	out := &Audit{Checkpoint: run.Checkpoints[len(run.Checkpoints)-1]}
	scanned := run.Pages[len(run.Pages)-1].Scanned
	var records []recount.Record
	for _, p := range run.Pages {
		for _, r := range p.Records {
			records = append(records, recount.Record{Index: r.Index, Entry: r.Entry, LeafHash: r.LeafHash})
		}
	}
	out.Answered = len(records)
	rep, err := c.auditor(ctx, out.Checkpoint, cfg).Query(ctx, f, scanned, records)
	if err != nil {
		return nil, fmt.Errorf("recounting entries [%d, %d) from the tiles: %w", scanned.From, scanned.To, err)
	}
	rep.Problems = append(run.ProofErrs, rep.Problems...)
	out.Report = rep
	return out, nil
}

// AuditStats asks GET /v1/stats for f grouped by groupBy, then recounts
// the groups from the log's public tiles (see recount.Auditor.Stats). The
// client MUST verify.
func (c *Client) AuditStats(ctx context.Context, f recount.Filter, groupBy []string, params url.Values, cfg AuditConfig) (*Audit, error) {
	if !c.Verifies() {
		return nil, fmt.Errorf("client: an audit needs the pinned VerifierKey")
	}
	if len(groupBy) > 0 {
		params.Set("group_by", strings.Join(groupBy, ","))
	}
	ans, _, err := c.Stats(ctx, params)
	if err != nil {
		return nil, err
	}
	cp, err := c.CheckStats(ans)
	if err != nil {
		return nil, err
	}
	rep, err := c.auditor(ctx, cp, cfg).Stats(ctx, f, groupBy, ans.Scanned, ans.Groups)
	if err != nil {
		return nil, fmt.Errorf("recounting entries [%d, %d) from the tiles: %w", ans.Scanned.From, ans.Scanned.To, err)
	}
	return &Audit{Checkpoint: cp, Report: rep, Answered: len(ans.Groups)}, nil
}

func (c *Client) auditor(ctx context.Context, cp *verify.Checkpoint, cfg AuditConfig) *recount.Auditor {
	return &recount.Auditor{
		Reader:     tile.NewReader(ctx, c.Tiles()),
		Checkpoint: cp,
		Now:        time.Now(),
		Slack:      cfg.Slack,
		Progress:   cfg.Progress,
	}
}
