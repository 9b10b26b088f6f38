package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/monitor"
	"github.com/fjaledger/fja/verify/record"
	"github.com/fjaledger/fja/verify/shard"
	"github.com/fjaledger/fja/verify/tile"
)

// A log's temporal shards (DESIGN.md §4) are listed by GET /v1/log; each
// serves C2SP tlog-tiles at /shards/<n>/ (checkpoint, tile/...), the
// active one also at the root.

// shardPrefix is shard n's tlog-tiles prefix on the server.
func shardPrefix(n int) string { return "/shards/" + strconv.Itoa(n) }

// shardTiles fetches shard n's tiles and entry bundles.
func (c *Client) shardTiles(n int) tile.Fetcher {
	f := tile.HTTPFetcher(c.base+shardPrefix(n), c.hc)
	return func(ctx context.Context, path string) ([]byte, error) {
		b, err := f(ctx, path)
		return b, unwrapRedirect(err)
	}
}

// ShardCheckpoint returns shard n's latest signed checkpoint, verbatim
// (unverified).
func (c *Client) ShardCheckpoint(ctx context.Context, n int) ([]byte, error) {
	_, b, err := c.Do(ctx, http.MethodGet, shardPrefix(n)+"/checkpoint", nil, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s/checkpoint: %w", shardPrefix(n), err)
	}
	return b, nil
}

// ShardSource is shard n as the source a verify/monitor.Monitor reads:
// its checkpoint and tiles at /shards/<n>/, a tiles-only log to the
// monitor (TilesMonitorSource: consistency proofs computed from its
// tiles, authenticated against its checkpoint opened with origin and key;
// the proof routes serve the active shard only). Nothing it returns is
// trusted by the monitor.
func (c *Client) ShardSource(n int, origin, key string) monitor.Client {
	sub := *c
	sub.base = c.base + shardPrefix(n)
	return sub.TilesMonitorSource(origin, key)
}

// NewShardMonitor is Client.ShardMonitor for the log at url with a client
// made as NewMonitor makes its own (every request bounded by timeout, no
// retries, no redirects, nothing verified by the client).
func NewShardMonitor(url string, m *monitor.Monitor, timeout time.Duration, stateDir string) (monitor.Rounder, error) {
	hc := NewHTTPClient(Timeouts{Request: timeout, Connect: min(timeout, DefaultConnectTimeout), Header: min(timeout, DefaultHeaderTimeout)})
	c, err := New(Config{URL: url, InsecureSkipVerify: true, HTTPClient: hc, MaxTries: 1})
	if err != nil {
		return nil, err
	}
	return c.ShardMonitor(m, stateDir), nil
}

func hashes(p []tlog.Hash) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = p[i][:]
	}
	return out
}

// entryIn reads the entry at idx of shard n's tree of cp, authenticated
// against it, with its inclusion proof.
func (c *Client) entryIn(ctx context.Context, n int, cp *verify.Checkpoint, idx uint64) ([]byte, [][]byte, error) {
	if idx >= cp.Size {
		return nil, nil, fmt.Errorf("index %d is beyond shard %d's tree of size %d", idx, n, cp.Size)
	}
	r := tile.NewReader(ctx, c.shardTiles(n))
	hr := r.HashReader(cp.Size, cp.Hash)
	es, err := r.AuthenticatedBundle(hr, idx/tile.Width, cp.Size)
	if err != nil {
		return nil, nil, err
	}
	p, err := tlog.ProveRecord(int64(cp.Size), int64(idx), hr)
	if err != nil {
		return nil, nil, err
	}
	return es[idx%tile.Width], hashes(p), nil
}

// VerifyChain fetches the shards given (from GET /v1/log's shards,
// consecutive, oldest first) and verifies their chain (package
// verify/shard) from the first one's key, pinnedKey: each listed key must
// be endorsed by the one before. It returns the verified links; an error wrapping
// shard.ErrBrokenChain is misbehavior, any other a failed fetch.
func (c *Client) VerifyChain(ctx context.Context, pinnedKey string, shards []record.ShardInfo) ([]shard.Link, error) {
	if len(shards) == 0 || shards[0].VKey != pinnedKey {
		return nil, fmt.Errorf("%w: the first shard given is not the one of the pinned key %s", shard.ErrBrokenChain, pinnedKey)
	}
	in := make([]shard.Shard, len(shards))
	for i, si := range shards {
		if si.N != shards[0].N+i {
			return nil, fmt.Errorf("%w: shard %d is listed as number %d", shard.ErrBrokenChain, shards[0].N+i, si.N)
		}
		b, err := c.ShardCheckpoint(ctx, si.N)
		if err != nil {
			return nil, err
		}
		in[i] = shard.Shard{Origin: si.Origin, VKey: si.VKey, Checkpoint: b}
		if i == 0 {
			continue
		}
		cp, err := verify.OpenCheckpoint(b, si.Origin, si.VKey)
		if err != nil {
			return nil, fmt.Errorf("%w: shard %d's checkpoint: %w", shard.ErrBrokenChain, si.N, err)
		}
		if in[i].Entry0, in[i].Entry0Proof, err = c.entryIn(ctx, si.N, cp, 0); err != nil {
			return nil, fmt.Errorf("shard %d entry 0: %w", si.N, err)
		}
	}
	return shard.Chain(in)
}

// ShardMonitor follows every shard of a log: a monitor.Rounder whose
// round verifies the chain of shards from the pinned key (Monitor.Key,
// the first shard's), then runs a round of Monitor on each shard
// through its /shards/<n>/ tiles, contests of decisions in earlier shards
// checked against them. A log that lists one shard, or none, or whose
// GET /v1/log fails (a published bucket has none), is followed as before,
// by Monitor alone at the root. The first shard's state is the one Round
// is given; shard n's is kept in stateDir/shards/<n>. Monitor.Client,
// when nil, is c's MonitorSource.
func (c *Client) ShardMonitor(m *monitor.Monitor, stateDir string) monitor.Rounder {
	return &shardMonitor{c: c, m: m, dir: stateDir}
}

type shardMonitor struct {
	c   *Client
	m   *monitor.Monitor
	dir string
}

func (f *shardMonitor) Round(ctx context.Context, st *monitor.State) (*monitor.Result, error) {
	info, err := f.c.Log(ctx)
	if err != nil || len(info.Shards) <= 1 {
		// One shard, or a tlog-tiles copy without GET /v1/log (a
		// published bucket): the log at the root, as Monitor reads it.
		if f.m.Client == nil {
			m := *f.m
			m.Client = f.c.MonitorSource()
			return m.Round(ctx, st)
		}
		return f.m.Round(ctx, st)
	}
	// Follow from the shard of the pinned key on: a monitor pinned to a
	// later shard's key trusts nothing before it.
	k := slices.IndexFunc(info.Shards, func(s record.ShardInfo) bool { return s.Origin == f.m.Origin && s.VKey == f.m.Key })
	if k < 0 {
		return nil, fmt.Errorf("monitor: the log lists no shard %s with the pinned key %s", f.m.Origin, f.m.Key)
	}
	listed := info.Shards[k:]
	links, err := f.c.VerifyChain(ctx, f.m.Key, listed)
	if errors.Is(err, shard.ErrBrokenChain) {
		return &monitor.Result{Alarms: []monitor.Alarm{{Kind: monitor.KindChain, Message: err.Error()}}, Warnings: []string{}}, nil
	}
	if err != nil {
		return nil, err
	}
	total := &monitor.Result{Alarms: []monitor.Alarm{}, Warnings: []string{}}
	var states []*monitor.State // of the shards done, for their constitutions and contests
	var saves []func(*monitor.State) error
	for i, l := range links {
		n := listed[i].N
		m := *f.m
		m.Origin, m.Key, m.Client = l.Origin, l.VKey, f.c.ShardSource(n, l.Origin, l.VKey)
		m.Earlier = f.earlier(ctx, listed[:i], links[:i])
		sst := st
		if i > 0 {
			m.Gossip = nil // gossiped checkpoints are the active shard's
			dir := filepath.Join(f.dir, "shards", strconv.Itoa(n))
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, err
			}
			m.Save = func(s *monitor.State) error { return monitor.SaveState(dir, s) }
			if sst, err = monitor.LoadState(dir, l.Origin, l.VKey); err != nil {
				return nil, err
			}
		}
		if i < len(links)-1 {
			m.Gossip = nil
		}
		m.EarlierConstitutions = earlierConstitutions(states)
		m.EarlierContest = earlierContest(links[:i], states)
		res, err := m.Round(ctx, sst)
		states, saves = append(states, sst), append(saves, m.Save)
		if res != nil {
			for _, a := range res.Alarms {
				a.Message = fmt.Sprintf("shard %d (%s): %s", n, l.Origin, a.Message)
				total.Alarms = append(total.Alarms, a)
			}
			for _, w := range res.Warnings {
				total.Warnings = append(total.Warnings, fmt.Sprintf("shard %d: %s", n, w))
			}
			total.OverdueContests += res.OverdueContests
			total.Gossip += res.Gossip
			total.PreviousSize, total.Checkpoint, total.Size, total.From, total.To = res.PreviousSize, res.Checkpoint, res.Size, res.From, res.To
		}
		if err != nil {
			return total, fmt.Errorf("shard %d (%s): %w", n, l.Origin, err)
		}
	}
	// A later shard's resolution of an earlier shard's contest marked it
	// resolved in the earlier shard's state: kept.
	for i, save := range saves[:len(saves)-1] {
		if save != nil {
			if err := save(states[i]); err != nil {
				return total, fmt.Errorf("shard %d: saving the state: %w", listed[i].N, err)
			}
		}
	}
	return total, nil
}

// earlierContest finds a contest in the state of the earlier shard with
// origin (Monitor.EarlierContest).
func earlierContest(links []shard.Link, states []*monitor.State) func(string, string) (*monitor.ContestState, bool) {
	return func(origin, id string) (*monitor.ContestState, bool) {
		for i, l := range links {
			if l.Origin == origin {
				c, ok := states[i].Contests[id]
				return c, ok
			}
		}
		return nil, false
	}
}

// earlierConstitutions finds a constitution version in the states of
// earlier shards, newest first (Monitor.EarlierConstitutions).
func earlierConstitutions(states []*monitor.State) func(string) ([]string, bool) {
	return func(ref string) ([]string, bool) {
		for i := len(states) - 1; i >= 0; i-- {
			if rules, ok := states[i].Constitutions[ref]; ok {
				return rules, true
			}
		}
		return nil, false
	}
}

// earlier reads authenticated entries of the shards of links (frozen, at
// their final checkpoints) by origin, for Monitor.Earlier.
func (f *shardMonitor) earlier(ctx context.Context, listed []record.ShardInfo, links []shard.Link) func(string, uint64) ([]byte, error) {
	return func(origin string, idx uint64) ([]byte, error) {
		for i, l := range links {
			if l.Origin == origin {
				e, _, err := f.c.entryIn(ctx, listed[i].N, l.Checkpoint, idx)
				return e, err
			}
		}
		return nil, fmt.Errorf("no earlier shard has origin %q", origin)
	}
}
