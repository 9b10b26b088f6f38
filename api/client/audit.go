package client

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
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
	// Shards are, for an answer across temporal shards, the recounts of
	// the frozen shards' parts, oldest first; the fields above are then
	// the active shard's part.
	Shards []ShardAudit
}

// Err is nil when the recount found the answer complete and correct,
// else an error saying how many discrepancies the report names.
// Discrepancies in any shard's part count.
func (a *Audit) Err() error {
	n := len(a.Report.Problems)
	for _, s := range a.Shards {
		n += len(s.Report.Problems)
	}
	if n == 0 {
		return nil
	}
	return fmt.Errorf("the answer is NOT complete and correct: %d discrepancies", n)
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
// On a log of temporal shards the chain of shards is verified from the
// pinned key's shard (the active shard's part is then checked with the
// key the chain gives it), and each frozen shard's part of the answer is
// recounted from its own tiles (Audit.Shards). The client MUST verify.
func (c *Client) AuditQuery(ctx context.Context, f recount.Filter, params url.Values, cfg AuditConfig) (*Audit, error) {
	if !c.Verifies() {
		return nil, fmt.Errorf("client: an audit needs the pinned VerifierKey")
	}
	active, links, err := c.shardChain(ctx)
	if err != nil {
		return nil, err
	}
	n := cfg.PageSize
	if n <= 0 {
		n = 1000
	}
	params.Set("limit", strconv.Itoa(n))
	run, err := active.QueryAll(ctx, params, true, true)
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
	var notes []string
	out.Shards, notes, err = c.auditShards(ctx, links, run.Pages[0].Shards, cfg, func(a *recount.Auditor, sa record.ShardAnswer) (*recount.Report, int, error) {
		recs := make([]recount.Record, len(sa.Records))
		for i, r := range sa.Records {
			recs[i] = recount.Record{Index: r.Index, Entry: r.Entry, LeafHash: r.LeafHash}
		}
		rep, err := a.Query(ctx, f, sa.Scanned, recs)
		return rep, len(recs), err
	})
	rep.Notes = append(rep.Notes, notes...)
	return out, err
}

// AuditStats asks GET /v1/stats for f grouped by groupBy, then recounts
// the groups from the log's public tiles (see recount.Auditor.Stats). On
// a log of temporal shards, as AuditQuery: each frozen shard's groups are
// recounted from its tiles, and the active shard's part (the answer's
// groups less the frozen shards') from the active shard's. The client
// MUST verify.
func (c *Client) AuditStats(ctx context.Context, f recount.Filter, groupBy []string, params url.Values, cfg AuditConfig) (*Audit, error) {
	if !c.Verifies() {
		return nil, fmt.Errorf("client: an audit needs the pinned VerifierKey")
	}
	active, links, err := c.shardChain(ctx)
	if err != nil {
		return nil, err
	}
	if len(groupBy) > 0 {
		params.Set("group_by", strings.Join(groupBy, ","))
	}
	ans, _, err := c.Stats(ctx, params)
	if err != nil {
		return nil, err
	}
	cp, err := active.CheckStats(ans)
	if err != nil {
		return nil, err
	}
	groups := ans.Groups
	if len(ans.Shards) > 0 {
		groups = activeGroups(ans.Groups, ans.Shards)
	}
	rep, err := c.auditor(ctx, cp, cfg).Stats(ctx, f, groupBy, ans.Scanned, groups)
	if err != nil {
		return nil, fmt.Errorf("recounting entries [%d, %d) from the tiles: %w", ans.Scanned.From, ans.Scanned.To, err)
	}
	out := &Audit{Checkpoint: cp, Report: rep, Answered: len(groups)}
	var notes []string
	out.Shards, notes, err = c.auditShards(ctx, links, ans.Shards, cfg, func(a *recount.Auditor, sa record.ShardAnswer) (*recount.Report, int, error) {
		rep, err := a.Stats(ctx, f, groupBy, sa.Scanned, sa.Groups)
		return rep, len(sa.Groups), err
	})
	rep.Notes = append(rep.Notes, notes...)
	return out, err
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
