package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/monitor"
	"github.com/fjaledger/fja/verify/tile"
)

// TilesMonitorSource is the client as the source a verify/monitor.Monitor
// reads a tiles-only log from: a plain C2SP tlog-tiles log that serves
// GET /checkpoint and /tile/... and nothing else, such as the bucket
// `ledgerd --publish` writes (or a CDN in front of it). Such a log cannot
// answer GET /v1/proofs/consistency, so the source computes each
// consistency proof itself (tlog.ProveTree) from the log's tiles,
// authenticated (tlog.TileHashReader) against the log's checkpoint of the
// larger size, opened with origin and key. The monitor then verifies the
// proof against both signed checkpoints exactly as it verifies a proof a
// log serves: nothing here is trusted.
//
// Contract of ConsistencyProof(from, to):
//   - to must be the size of the checkpoint the log serves (the one the
//     monitor just fetched through Checkpoint, or a newer fetch of it):
//     a tiles-only log publishes one checkpoint, and no proof to another
//     size can be authenticated. Otherwise it fails with a plain error
//     (no evidence of anything).
//   - A tile that cannot be fetched (network, HTTP status, 404) is a
//     plain error: the round fails and is retried.
//   - Tiles that were fetched but do not authenticate against the signed
//     checkpoint, or are not tiles (wrong size), are the log's own
//     statement: the error wraps a *monitor.MalformedProofError whose URL
//     lists the tiles read in the failing step and whose Body is their
//     bytes, concatenated in that order (hash tiles are 32 bytes per hash),
//     so the monitor raises an alarm with them as evidence.
//
// Checkpoints and tiles are read through the client's HTTP client with no
// bearer token; give it MaxTries 1 and an HTTPClient from NewHTTPClient,
// as for MonitorSource.
func (c *Client) TilesMonitorSource(origin, key string) monitor.Client {
	return &tilesSource{monitorSource: monitorSource{c}, origin: origin, key: key}
}

type tilesSource struct {
	monitorSource
	origin, key string

	mu     sync.Mutex
	latest *verify.Checkpoint // the last checkpoint served that opened
}

// Checkpoint fetches the log's checkpoint verbatim, and keeps it (when it
// opens with the key) to authenticate tiles against.
func (s *tilesSource) Checkpoint(ctx context.Context) ([]byte, error) {
	raw, err := s.monitorSource.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	if cp, err := verify.OpenCheckpoint(raw, s.origin, s.key); err == nil {
		s.mu.Lock()
		s.latest = cp
		s.mu.Unlock()
	}
	return raw, nil
}

// checkpointOf returns the log's signed checkpoint of size to: the last
// one served if it has that size, else the one the log serves now.
func (s *tilesSource) checkpointOf(ctx context.Context, to uint64) (*verify.Checkpoint, error) {
	s.mu.Lock()
	cp := s.latest
	s.mu.Unlock()
	if cp != nil && cp.Size == to {
		return cp, nil
	}
	if _, err := s.Checkpoint(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	cp = s.latest
	s.mu.Unlock()
	switch {
	case cp == nil:
		return nil, fmt.Errorf("%s/checkpoint does not open with the key: no tiles can be authenticated", s.c.base)
	case cp.Size != to:
		return nil, fmt.Errorf("%s is a tiles-only log serving a checkpoint of size %d: a consistency proof to size %d cannot be computed from its tiles", s.c.base, cp.Size, to)
	}
	return cp, nil
}

// ConsistencyProof computes the proof from size from to size to from the
// log's tiles (see TilesMonitorSource for the contract).
func (s *tilesSource) ConsistencyProof(ctx context.Context, from, to uint64) ([][]byte, error) {
	switch {
	case from > to:
		return nil, fmt.Errorf("no consistency proof from size %d to the smaller size %d", from, to)
	case to > tile.MaxTreeSize:
		return nil, fmt.Errorf("tree size %d is above %d, the largest whose tiles can be read", to, uint64(tile.MaxTreeSize))
	}
	cp, err := s.checkpointOf(ctx, to)
	if err != nil {
		return nil, err
	}
	if from == 0 || from == to {
		return [][]byte{}, nil // RFC 6962: the empty proof
	}
	f := s.c.Tiles()
	r := &recordingReader{Reader: tile.NewReader(ctx, func(ctx context.Context, p string) ([]byte, error) {
		b, err := f(ctx, p)
		if err != nil {
			return nil, &tileFetchError{err}
		}
		return b, nil
	})}
	hr := tlog.TileHashReader(tlog.Tree{N: int64(to), Hash: tlog.Hash(cp.Hash)}, r)
	proof, err := tlog.ProveTree(int64(to), int64(from), hr)
	if err != nil {
		var fe *tileFetchError
		if errors.As(err, &fe) {
			return nil, fmt.Errorf("computing the consistency proof from %d to %d from the tiles at %s: %w", from, to, s.c.base, err)
		}
		urls, body := r.failed(s.c.base)
		return nil, &monitor.MalformedProofError{URL: urls, From: from, To: to, Body: body,
			Err: fmt.Errorf("the tiles it serves do not authenticate against its signed checkpoint of size %d, so they prove nothing: %w", to, err)}
	}
	out := make([][]byte, len(proof))
	for i := range proof {
		out[i] = proof[i][:]
	}
	return out, nil
}

// tileFetchError marks a failure to fetch a tile: evidence of nothing.
type tileFetchError struct{ err error }

func (e *tileFetchError) Error() string { return e.err.Error() }
func (e *tileFetchError) Unwrap() error { return e.err }

// recordingReader is a tile.Reader that remembers the tiles of its last
// read (tlog.TileHashReader reads, in one call, the tiles it then
// authenticates together), for the evidence when they do not authenticate.
type recordingReader struct {
	*tile.Reader

	mu    sync.Mutex
	tiles []tlog.Tile
	data  [][]byte
	err   error
}

func (r *recordingReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	data, err := r.Reader.ReadTiles(tiles)
	r.mu.Lock()
	r.tiles, r.data, r.err = tiles, data, err
	r.mu.Unlock()
	return data, err
}

// failed returns the URLs of the tiles of the last read, space-separated,
// and their bytes concatenated (none if the read itself failed: its error
// names the tile).
func (r *recordingReader) failed(base string) (string, []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var urls []string
	var body []byte
	for i, t := range r.tiles {
		ct, err := tile.FromTlog(t)
		if err != nil {
			continue
		}
		urls = append(urls, base+"/"+ct.Path())
		if r.err == nil && i < len(r.data) {
			body = append(body, r.data[i]...)
		}
	}
	if len(urls) == 0 {
		return base + "/tile/", body
	}
	return strings.Join(urls, " "), body
}

// tilesOnlyHint adds to err, the failure of GET /v1/proofs/consistency,
// what a 404 or 403 likely means: the URL serves a tiles-only log.
func tilesOnlyHint(err error) error {
	var e *Error
	if errors.As(err, &e) && (e.Status == http.StatusNotFound || e.Status == http.StatusForbidden) {
		return fmt.Errorf("%w (if the URL is a tiles-only log, e.g. a bucket or CDN serving only /checkpoint and /tile/, follow it as one: ledgerctl monitor --tiles-only)", err)
	}
	return err
}
