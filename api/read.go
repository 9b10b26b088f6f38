package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/verify/record"
	"github.com/fjaledger/fja/verify/tile"
)

const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheShort     = "public, max-age=5"
)

// maxTileLevel is the highest level a log with 64-bit indices can have.
const maxTileLevel = 7

// healthz answers 200 {"status":"ok"} while the log takes appends, and
// 503 {"status":"stopped","reason":...} once a commit failed and it
// stopped (until a restart).
func (s *Server) healthz(c echo.Context) error {
	size := s.cfg.Log.Head().Size
	if err := s.cfg.Log.Stopped(); err != nil {
		return c.JSON(http.StatusServiceUnavailable, map[string]any{"status": "stopped", "reason": err.Error(), "tree_size": size})
	}
	return c.JSON(http.StatusOK, map[string]any{"status": "ok", "tree_size": size})
}

// checkpoint (GET /checkpoint) is in witness.go: it serves the cosigned
// checkpoint when there is one.

func (s *Server) tile(c echo.Context) error {
	return s.serveTile(c, s.cfg.Log, s.activeShard())
}

// serveTile serves the tile or entry bundle the path names from shard n,
// whose log is l.
func (s *Server) serveTile(c echo.Context, l *ledger.Log, n int) error {
	t, err := tile.ParsePath("tile/" + c.Param("*"))
	if err != nil {
		return badRequest(err.Error())
	}
	if !t.Entries && t.Level > maxTileLevel {
		return notFound(fmt.Sprintf("tile level %d: this log has levels 0..%d", t.Level, maxTileLevel))
	}
	// A full tile or bundle never changes once the log has it: it is
	// served from the cache, and clients may cache it forever. A partial
	// one grows with the log.
	full := t.Width == tile.Width
	key := tileKey{shard: n, entries: t.Entries, level: t.Level, index: t.Index}
	data, ok := []byte(nil), false
	if full {
		data, ok = s.tiles.get(key)
	}
	if !ok {
		if t.Entries {
			data, err = l.EntryBundle(t.Index, t.Width)
		} else {
			data, err = l.Tile(t.Level, t.Index, t.Width)
		}
		if err != nil {
			return err
		}
		if full {
			s.tiles.put(key, data)
		}
	}
	cache := cacheShort
	if full {
		cache = cacheImmutable
	}
	c.Response().Header().Set(echo.HeaderCacheControl, cache)
	return c.Blob(http.StatusOK, echo.MIMEOctetStream, data)
}

// LogInfo is the body of GET /v1/log.
type LogInfo = record.LogInfo

// Limits are the log's published limits.
type Limits = record.Limits

func (s *Server) logInfo(c echo.Context) error {
	h := s.cfg.Log.Head()
	return c.JSON(http.StatusOK, LogInfo{
		Origin:        s.cfg.Origin,
		VerifierKey:   s.cfg.VerifierKeys[0],
		VerifierKeys:  s.cfg.VerifierKeys,
		TreeSize:      h.Size,
		Checkpoint:    string(h.Checkpoint),
		WitnessPolicy: s.cfg.WitnessPolicy,
		Limits: Limits{MaxEntryBytes: ledger.MaxEntrySize, TileHeight: ledger.TileHeight,
			MaxBodyBytes: s.cfg.MaxBodyBytes, MaxBatchRecords: MaxBatchRecords,
			MaxJSONDepth: audit.MaxJSONDepth, MaxJSONObjectKeys: audit.MaxJSONObjectKeys, MaxJSONArrayItems: audit.MaxJSONArrayItems,
			MaxJSONNumberLen: audit.MaxJSONNumberLen, MaxJSONStringBytes: audit.MaxJSONStringBytes},
		Shards: s.shardInfos(),
	})
}

// Entry is the body of GET /v1/entries/{index}.
type Entry = record.Entry

func (s *Server) entry(c echo.Context) error {
	idx, err := parseUint("index", c.Param("index"))
	if err != nil {
		return err
	}
	head := s.cfg.Log.Head()
	if idx >= head.Size {
		return notFound(fmt.Sprintf("entry %d: the log has %d entries", idx, head.Size))
	}
	es, err := s.cfg.Log.Entries(idx, 1)
	if err != nil {
		return err
	}
	if r, ok, err := s.cosignedReceipt(c.Request().Context(), idx, es[0], s.closed()); err != nil {
		return err
	} else if ok {
		return c.JSON(http.StatusOK, Entry{Index: idx, Entry: r.Entry, LeafHash: r.LeafHash,
			Checkpoint: r.Checkpoint, InclusionProof: r.InclusionProof})
	}
	proof, err := s.cfg.Log.InclusionProof(idx, head.Size)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, Entry{Index: idx, Entry: es[0], LeafHash: ledger.LeafHash(es[0]),
		Checkpoint: string(head.Checkpoint), InclusionProof: nonNil(proof)})
}

// InclusionProof is the body of GET /v1/proofs/inclusion.
type InclusionProof = record.InclusionProof

func (s *Server) inclusionProof(c echo.Context) error {
	idx, err := parseUint("index", c.QueryParam("index"))
	if err != nil {
		return err
	}
	size, err := parseUint("size", c.QueryParam("size"))
	if err != nil {
		return err
	}
	// The leaf hash comes from the hash tile the proof starts in, not from
	// the entry: a proof costs no read of the entries file, which a large
	// log's page cache no longer holds whole (issue 10's note).
	leaf, proof, err := s.cfg.Log.InclusionProofWithLeaf(idx, size)
	if err != nil {
		return rangeError(err, "index", "size", size > s.cfg.Log.Head().Size)
	}
	return c.JSON(http.StatusOK, InclusionProof{Index: idx, Size: size, LeafHash: leaf, Hashes: nonNil(proof)})
}

// ConsistencyProof is the body of GET /v1/proofs/consistency.
type ConsistencyProof = record.ConsistencyProof

func (s *Server) consistencyProof(c echo.Context) error {
	from, err := parseUint("from", c.QueryParam("from"))
	if err != nil {
		return err
	}
	to, err := parseUint("to", c.QueryParam("to"))
	if err != nil {
		return err
	}
	proof, err := s.cfg.Log.ConsistencyProof(from, to)
	if err != nil {
		return rangeError(err, "from", "to", to > s.cfg.Log.Head().Size)
	}
	return c.JSON(http.StatusOK, ConsistencyProof{From: from, To: to, Hashes: nonNil(proof)})
}

// parseUint parses a canonical decimal uint64 (no sign, no leading zeros).
func parseUint(name, v string) (uint64, error) {
	if v == "" {
		return 0, fieldError(name, fmt.Sprintf("%s is missing, want a decimal integer", name))
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || (len(v) > 1 && v[0] == '0') {
		return 0, fieldError(name, fmt.Sprintf("%s is %q, want a decimal integer 0..%d without sign or leading zeros", name, truncate(v, 40), uint64(1<<64-1)))
	}
	return n, nil
}

// rangeError names the parameter of an invalid range: upper when it is
// past the tree (pastTree), else lower, which is then out of order with
// it.
func rangeError(err error, lower, upper string, pastTree bool) error {
	if !errors.Is(err, ledger.ErrInvalidRange) {
		return err
	}
	e := fromLedger(err)
	e.Field = lower
	if pastTree {
		e.Field = upper
	}
	return e
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// nonNil makes an empty proof encode as [] rather than null.
func nonNil(p [][]byte) [][]byte {
	if p == nil {
		return [][]byte{}
	}
	return p
}
