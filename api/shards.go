package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
)

// Shard is a frozen temporal shard (package ledger/shard) served beside
// the active one: its tiles and final checkpoint at /shards/<N>/, its
// records through the record routes.
type Shard struct {
	// N numbers the shard (1 is the oldest).
	N int
	// Origin and VKey are its checkpoint origin and Ed25519 verifier key.
	Origin, VKey string
	// Log is the shard, opened frozen (ledger.Config.Frozen).
	Log *ledger.Log
	// Book reads its records (nil: tiles and checkpoint only).
	Book *audit.Book
	// Close, when set, releases the shard; the server never calls it (its
	// owner does, after Shutdown).
	Close func() error
}

// activeShard is the number of the active shard, Config.Log.
func (s *Server) activeShard() int { return len(s.cfg.Frozen) + 1 }

// shardOf resolves the :n path parameter to a shard's log; the active
// shard's is Config.Log.
func (s *Server) shardOf(c echo.Context) (*ledger.Log, int, error) {
	n, err := strconv.Atoi(c.Param("n"))
	if err != nil || n < 1 || strconv.Itoa(n) != c.Param("n") {
		e := badRequest(fmt.Sprintf("shard number %q: want a decimal number from 1", c.Param("n")))
		e.Field = "n"
		return nil, 0, e
	}
	switch {
	case n <= len(s.cfg.Frozen):
		return s.cfg.Frozen[n-1].Log, n, nil
	case n == s.activeShard():
		return s.cfg.Log, n, nil
	}
	return nil, 0, notFound(fmt.Sprintf("shard %d: this log has shards 1..%d", n, s.activeShard()))
}

// shardCheckpoint serves GET /shards/{n}/checkpoint: the active shard's
// is GET /checkpoint's; a frozen shard's is its final checkpoint, which
// never changes.
func (s *Server) shardCheckpoint(c echo.Context) error {
	l, n, err := s.shardOf(c)
	if err != nil {
		return err
	}
	if n == s.activeShard() {
		return s.checkpoint(c)
	}
	c.Response().Header().Set(echo.HeaderCacheControl, cacheImmutable)
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", l.Head().Checkpoint)
}

// shardTile serves GET /shards/{n}/tile/...: the tlog-tiles of shard n.
func (s *Server) shardTile(c echo.Context) error {
	l, n, err := s.shardOf(c)
	if err != nil {
		return err
	}
	return s.serveTile(c, l, n)
}

// shardInfos lists every shard for GET /v1/log, oldest first.
func (s *Server) shardInfos() []record.ShardInfo {
	out := append(make([]record.ShardInfo, 0, s.activeShard()), s.frozen...)
	return append(out, shardInfo(s.activeShard(), s.cfg.Origin, s.cfg.VerifierKeys[0], record.ShardActive, s.cfg.Log))
}

// shardInfo describes one shard: its index range and the log times of
// its first and last entries (read from their envelopes; left out if an
// entry cannot be read).
func shardInfo(n int, origin, vkey, state string, l *ledger.Log) record.ShardInfo {
	h := l.Head()
	si := record.ShardInfo{N: n, Origin: origin, VKey: vkey, URL: fmt.Sprintf("/shards/%d/", n), State: state,
		TreeSize: h.Size, Checkpoint: string(h.Checkpoint)}
	if h.Size == 0 {
		return si
	}
	first, last := uint64(0), h.Size-1
	si.FirstIndex, si.LastIndex = &first, &last
	si.FirstLoggedAt, si.LastLoggedAt = loggedAt(l, first), loggedAt(l, last)
	return si
}

// loggedAt is the logged_at of the entry at idx ("" if unreadable).
func loggedAt(l *ledger.Log, idx uint64) string {
	es, err := l.Entries(idx, 1)
	if err != nil {
		return ""
	}
	env, err := audit.ParseEnvelope(es[0])
	if err != nil {
		return ""
	}
	return env.LoggedAt
}

// located is a record found in one of the shards.
type located struct {
	n      int
	origin string
	log    *ledger.Log
	book   *audit.Book
	rec    *audit.Record
}

// active reports whether the record is in the active shard.
func (loc *located) active(s *Server) bool { return loc.n == s.activeShard() }

// findRecord looks the record of kind with id up in the active shard,
// then in the frozen ones, newest first (record ids are unique per shard;
// the newest holding the id wins).
func (s *Server) findRecord(kind audit.Kind, id string) (*located, error) {
	rec, err := s.cfg.Book.Get(kind, id)
	if err == nil {
		return &located{n: s.activeShard(), origin: s.cfg.Origin, log: s.cfg.Log, book: s.cfg.Book, rec: rec}, nil
	}
	for i := len(s.cfg.Frozen) - 1; i >= 0 && errors.Is(err, audit.ErrNotFound); i-- {
		f := s.cfg.Frozen[i]
		if f.Book == nil {
			continue
		}
		var r *audit.Record
		if r, err = f.Book.Get(kind, id); err == nil {
			return &located{n: f.N, origin: f.Origin, log: f.Log, book: f.Book, rec: r}, nil
		}
	}
	return nil, err
}

// receiptIn is the receipt of a located record: the active shard's as
// receiptAt makes it; a frozen shard's against its final checkpoint,
// verifiable with that shard's key (GET /v1/log lists it).
func (s *Server) receiptIn(ctx context.Context, loc *located) (*verify.Receipt, error) {
	if loc.active(s) {
		return s.receiptAt(ctx, loc.rec.Index)
	}
	head := loc.log.Head()
	proof, err := loc.log.InclusionProof(loc.rec.Index, head.Size)
	if err != nil {
		return nil, err
	}
	return NewReceipt(loc.origin, &ledger.Ack{Index: loc.rec.Index, Entry: loc.rec.Entry, LeafHash: ledger.LeafHash(loc.rec.Entry),
		Checkpoint: head.Checkpoint, Size: head.Size, Root: head.Root, Proof: proof}), nil
}

// mergeGroups adds up the groups of several shards' stats by key, in key
// order (the JSON of the key, whose fields encoding/json sorts).
func mergeGroups(shards [][]record.Group) []record.Group {
	byKey := map[string]*record.Group{}
	var ids []string
	for _, gs := range shards {
		for _, g := range gs {
			k, _ := json.Marshal(g.Key)
			m := byKey[string(k)]
			if m == nil {
				m = &record.Group{Key: g.Key}
				byKey[string(k)] = m
				ids = append(ids, string(k))
			}
			m.Count += g.Count
			m.Contests += g.Contests
			m.Overturned += g.Overturned
			m.Overdue += g.Overdue
			m.Records += g.Records
		}
	}
	sort.Strings(ids)
	out := make([]record.Group, 0, len(ids))
	for _, id := range ids {
		out = append(out, *byKey[id])
	}
	return out
}
