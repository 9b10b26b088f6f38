package tile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/tlog"
)

// maxTileBytes bounds a response body: a full hash tile is 8,192 bytes and
// a full entry bundle at most 256 * (2 + 65535) bytes.
const maxTileBytes = Width * (2 + MaxEntrySize)

// Fetcher fetches the resource at path (e.g. "tile/0/x001/234") relative
// to the log's URL prefix.
//
// It MUST return an error wrapping fs.ErrNotExist when the resource does not
// exist (HTTP 404), so that callers can fall back from a partial tile to the
// full one. It need not authenticate anything: Reader does.
type Fetcher func(ctx context.Context, path string) ([]byte, error)

// HTTPFetcher fetches tiles with GET <baseURL>/<path>. A nil client means
// http.DefaultClient. Responses other than 200 are errors; 404 wraps
// fs.ErrNotExist. Bodies larger than a full entry bundle are rejected.
func HTTPFetcher(baseURL string, c *http.Client) Fetcher {
	if c == nil {
		c = http.DefaultClient
	}
	base := strings.TrimRight(baseURL, "/")
	return func(ctx context.Context, path string) ([]byte, error) {
		url := base + "/" + path
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusNotFound:
			return nil, fmt.Errorf("GET %s: %s: %w", url, resp.Status, fs.ErrNotExist)
		case resp.StatusCode != http.StatusOK:
			return nil, fmt.Errorf("GET %s: %s, want 200 OK", url, resp.Status)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxTileBytes+1))
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", url, err)
		}
		if len(data) > maxTileBytes {
			return nil, fmt.Errorf("GET %s: body exceeds %d bytes", url, maxTileBytes)
		}
		return data, nil
	}
}

// Reader adapts a log's C2SP tiles to tlog.TileReader (height 8), so that
// tlog.TileHashReader authenticates every tile it reads against a tree
// hash. tlog.Tile{H: 8, L: -1} maps to entry bundles, L >= 0 to hash tiles.
//
// Reader keeps the full tiles that tlog has authenticated (SaveTiles) and
// serves them again without fetching: full tiles never change. Partial
// tiles are always fetched; if a partial tile is gone (fs.ErrNotExist), the
// full tile is fetched and truncated, as tlog-tiles allows.
//
// A Reader is safe for concurrent use. It uses the context given to
// NewReader for every fetch, because tlog.TileReader has no context.
type Reader struct {
	ctx context.Context
	f   Fetcher

	mu    sync.Mutex
	saved map[tlog.Tile][]byte
}

// NewReader returns a Reader that fetches with f under ctx.
func NewReader(ctx context.Context, f Fetcher) *Reader {
	return &Reader{ctx: ctx, f: f, saved: make(map[tlog.Tile][]byte)}
}

// Height implements tlog.TileReader.
func (r *Reader) Height() int { return Height }

// FromTlog maps an x/mod tile of height 8 to a C2SP tile.
func FromTlog(t tlog.Tile) (Tile, error) {
	if t.H != Height || t.L < -1 || t.L > MaxLevel || t.N < 0 || t.W < 1 || t.W > Width {
		return Tile{}, fmt.Errorf("tlog tile %+v is not a height-%d C2SP tile", t, Height)
	}
	if t.L == -1 {
		return Tile{Entries: true, Index: uint64(t.N), Width: t.W}, nil
	}
	return Tile{Level: uint8(t.L), Index: uint64(t.N), Width: t.W}, nil
}

// ReadTiles implements tlog.TileReader. Hash tiles MUST be exactly
// 32 * W bytes; entry bundles MUST hold exactly W entries.
func (r *Reader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	data := make([][]byte, len(tiles))
	errs := make([]error, len(tiles))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, t := range tiles {
		r.mu.Lock()
		d, ok := r.saved[t]
		r.mu.Unlock()
		if ok {
			data[i] = d
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			data[i], errs[i] = r.readTile(t)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return data, nil
}

func (r *Reader) readTile(t tlog.Tile) ([]byte, error) {
	ct, err := FromTlog(t)
	if err != nil {
		return nil, err
	}
	data, err := r.f(r.ctx, ct.Path())
	if err != nil && ct.Width < Width && errors.Is(err, fs.ErrNotExist) {
		full := ct
		full.Width = Width
		data, err = r.f(r.ctx, full.Path())
		if err == nil && !ct.Entries && len(data) >= ct.Width*tlog.HashSize {
			data = data[:ct.Width*tlog.HashSize]
		}
		if err == nil && ct.Entries {
			data, err = truncateBundle(data, ct.Width)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", ct.Path(), err)
	}
	if ct.Entries {
		entries, err := ParseBundle(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ct.Path(), err)
		}
		if len(entries) != ct.Width {
			return nil, fmt.Errorf("%s: %w: bundle has %d entries, want %d", ct.Path(), ErrBadBundle, len(entries), ct.Width)
		}
		return data, nil
	}
	if want := ct.Width * tlog.HashSize; len(data) != want {
		return nil, fmt.Errorf("%s: tile is %d bytes, want %d", ct.Path(), len(data), want)
	}
	return data, nil
}

// truncateBundle returns the prefix of a bundle holding its first w entries.
func truncateBundle(data []byte, w int) ([]byte, error) {
	entries, err := ParseBundle(data)
	if err != nil {
		return nil, err
	}
	if len(entries) < w {
		return nil, fmt.Errorf("%w: full bundle has %d entries, want at least %d", ErrBadBundle, len(entries), w)
	}
	n := 0
	for _, e := range entries[:w] {
		n += 2 + len(e)
	}
	return data[:n], nil
}

// SaveTiles implements tlog.TileReader: tlog calls it only with tiles it
// has authenticated. Only full tiles are kept.
func (r *Reader) SaveTiles(tiles []tlog.Tile, data [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, t := range tiles {
		if i < len(data) && t.W == Width {
			r.saved[t] = data[i]
		}
	}
}

// MaxTreeSize is the largest tree HashReader serves. x/mod's tlog never
// returns for larger trees: its maxpow2 loops forever once a range holds
// more than 2^62 leaves (1<<63 and 1<<64 overflow int64 to values below
// n), and TileHashReader computes the subtrees of [0, size], so a size of
// 2^62 already hangs it.
const MaxTreeSize = 1<<62 - 1

// HashReader returns a tlog.HashReader for the tree of the given size and
// root hash, which the caller MUST have taken from a verified checkpoint:
// every hash it returns has been authenticated against root. If size is
// above MaxTreeSize or root is not 32 bytes, every read fails.
func (r *Reader) HashReader(size uint64, root []byte) tlog.HashReader {
	if size > MaxTreeSize || len(root) != tlog.HashSize {
		err := fmt.Errorf("tree of size %d with %d-byte root: want size <= %d and a %d-byte root", size, len(root), uint64(MaxTreeSize), tlog.HashSize)
		return tlog.HashReaderFunc(func([]int64) ([]tlog.Hash, error) { return nil, err })
	}
	return tlog.TileHashReader(tlog.Tree{N: int64(size), Hash: tlog.Hash(root)}, r)
}

// AuthenticatedBundle fetches entry bundle n of the tree of size and checks
// every entry against the level-0 hashes that hr authenticates (hr is
// r.HashReader for that tree). Nothing it returns is trusted before that
// check.
func (r *Reader) AuthenticatedBundle(hr tlog.HashReader, n, size uint64) ([][]byte, error) {
	base := n * Width
	if base >= size || n > math.MaxInt64/Width {
		return nil, fmt.Errorf("entry bundle %d is beyond the tree of size %d", n, size)
	}
	w := int(min(Width, size-base))
	data, err := r.ReadTiles([]tlog.Tile{{H: Height, L: -1, N: int64(n), W: w}})
	if err != nil {
		return nil, fmt.Errorf("entry bundle %d: %w", n, err)
	}
	entries, err := ParseBundle(data[0])
	if err != nil {
		return nil, fmt.Errorf("entry bundle %d: %w", n, err)
	}
	if len(entries) != w {
		return nil, fmt.Errorf("entry bundle %d has %d entries, want %d", n, len(entries), w)
	}
	idxs := make([]int64, w)
	for i := range idxs {
		idxs[i] = tlog.StoredHashIndex(0, int64(base)+int64(i))
	}
	hashes, err := hr.ReadHashes(idxs)
	if err != nil {
		return nil, fmt.Errorf("the hash tiles of entries %d..%d do not authenticate against the checkpoint: %w", base, base+uint64(w)-1, err)
	}
	for i, e := range entries {
		if tlog.RecordHash(e) != hashes[i] {
			return nil, fmt.Errorf("entry %d in bundle %d does not match the authenticated leaf hash: the served bundle is not the log's", base+uint64(i), n)
		}
	}
	return entries, nil
}
