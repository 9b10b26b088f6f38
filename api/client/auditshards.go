package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
	"github.com/fjaledger/fja/verify/recount"
	"github.com/fjaledger/fja/verify/shard"
	"github.com/fjaledger/fja/verify/tile"
)

// ShardAudit is the recount of one frozen shard's part of an answer
// (record.ShardAnswer) from that shard's own tiles.
type ShardAudit struct {
	N int `json:"n"`
	Audit
}

// shardChain returns, for a log that GET /v1/log lists with more than one
// shard, a client of its active shard and the verified chain of shards
// from the pinned key's shard on (Client.VerifyChain), by shard number;
// for a log of one shard, c and nil. The active shard's client verifies
// with the key and origin the chain established for it.
func (c *Client) shardChain(ctx context.Context) (*Client, map[int]shard.Link, error) {
	info, err := c.Log(ctx)
	if err != nil {
		return nil, nil, err
	}
	if len(info.Shards) <= 1 {
		return c, nil, nil
	}
	k := slices.IndexFunc(info.Shards, func(s record.ShardInfo) bool { return s.Origin == c.origin && s.VKey == c.cfg.VerifierKey })
	if k < 0 {
		return nil, nil, fmt.Errorf("%w: the log lists no shard %s with the pinned key %s", shard.ErrBrokenChain, c.origin, c.cfg.VerifierKey)
	}
	listed := info.Shards[k:]
	links, err := c.VerifyChain(ctx, c.cfg.VerifierKey, listed)
	if err != nil {
		return nil, nil, err
	}
	byN := make(map[int]shard.Link, len(links))
	for i, l := range links {
		byN[listed[i].N] = l
	}
	last := links[len(links)-1]
	active := *c
	active.origin, active.cfg.VerifierKey, active.cfg.OtherKeys = last.Origin, last.VKey, nil
	return &active, byN, nil
}

// auditShards recounts each frozen shard's part of an answer with
// count, from the shard's tiles at /shards/<n>/: the part's checkpoint
// must open with the shard's key from the verified chain and be its
// final checkpoint, and the part's range must lie within it. A part of a
// shard before the pinned key's shard is not audited (nothing before it is
// trusted): a note says so.
func (c *Client) auditShards(ctx context.Context, links map[int]shard.Link, parts []record.ShardAnswer, cfg AuditConfig,
	count func(*recount.Auditor, record.ShardAnswer) (*recount.Report, int, error)) ([]ShardAudit, []string, error) {
	first := -1
	for n := range links {
		if first < 0 || n < first {
			first = n
		}
	}
	var out []ShardAudit
	var notes []string
	for _, sa := range parts {
		l, ok := links[sa.N]
		switch {
		case !ok && sa.N < first:
			notes = append(notes, fmt.Sprintf("shard %d (%s) precedes the pinned key's shard: its part of the answer is not audited", sa.N, sa.Origin))
			continue
		case !ok || l.Final == nil || l.Origin != sa.Origin:
			return nil, nil, fmt.Errorf("%w: the answer's shard %d (%s) is not a frozen shard of the verified chain", shard.ErrBrokenChain, sa.N, sa.Origin)
		}
		cp, err := verify.OpenCheckpoint([]byte(sa.Checkpoint), l.Origin, l.VKey)
		if err != nil {
			return nil, nil, fmt.Errorf("shard %d: the answer's checkpoint does NOT verify with the shard's key: %w", sa.N, err)
		}
		if cp.Size != l.Final.Size || !bytes.Equal(cp.Hash, l.Final.Hash) {
			return nil, nil, fmt.Errorf("shard %d: the answer's checkpoint (size %d) is not the shard's final checkpoint (size %d)", sa.N, cp.Size, l.Final.Size)
		}
		if sa.Scanned.To > cp.Size || sa.Scanned.From > sa.Scanned.To {
			return nil, nil, fmt.Errorf("shard %d: scanned range [%d, %d) is not within its tree of size %d", sa.N, sa.Scanned.From, sa.Scanned.To, cp.Size)
		}
		a := &recount.Auditor{Reader: tile.NewReader(ctx, c.shardTiles(sa.N)), Checkpoint: cp, Now: time.Now(), Slack: cfg.Slack}
		rep, answered, err := count(a, sa)
		if err != nil {
			return nil, nil, fmt.Errorf("shard %d: recounting entries [%d, %d) from its tiles: %w", sa.N, sa.Scanned.From, sa.Scanned.To, err)
		}
		out = append(out, ShardAudit{N: sa.N, Audit: Audit{Checkpoint: cp, Report: rep, Answered: answered}})
	}
	return out, notes, nil
}

// activeGroups is the active shard's part of a stats answer across
// shards: its Groups (which count every shard) less each frozen shard's
// own groups; groups left at zero are dropped. A frozen part that claims
// more than the total leaves a negative figure, which the recount names.
func activeGroups(total []record.Group, parts []record.ShardAnswer) []record.Group {
	key := func(g record.Group) string { k, _ := json.Marshal(g.Key); return string(k) }
	byKey := make(map[string]*record.Group, len(total))
	out := make([]*record.Group, 0, len(total))
	for _, g := range total {
		g := g
		byKey[key(g)] = &g
		out = append(out, &g)
	}
	for _, sa := range parts {
		for _, g := range sa.Groups {
			m := byKey[key(g)]
			if m == nil {
				m = &record.Group{Key: g.Key}
				byKey[key(g)] = m
				out = append(out, m)
			}
			m.Count -= g.Count
			m.Contests -= g.Contests
			m.Overturned -= g.Overturned
			m.Overdue -= g.Overdue
			m.Records -= g.Records
		}
	}
	var res []record.Group
	for _, g := range out {
		if g.Count != 0 || g.Contests != 0 || g.Overturned != 0 || g.Overdue != 0 || g.Records != 0 {
			res = append(res, *g)
		}
	}
	return res
}
