package api

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/ledger"
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
	out := make([]record.ShardInfo, 0, s.activeShard())
	for _, f := range s.cfg.Frozen {
		out = append(out, shardInfo(f.N, f.Origin, f.VKey, record.ShardFrozen, f.Log))
	}
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
