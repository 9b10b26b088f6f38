package s3test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/tile"
)

// Cache-Control the published objects must carry (package publish).
const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheShort     = "public, max-age=5"
)

// Audit reads the C2SP tlog-tiles log at baseURL with plain anonymous HTTP
// GETs, as any client would, and checks that it is complete and
// authentic: the checkpoint verifies with the log's origin and vkey; every
// hash tile of its tree (x/mod's tlog.TileHashReader) authenticates against
// its root and is byte for byte what tlog derives; every entry bundle
// hashes to the authenticated leaves; full objects are cached forever,
// partial ones and the checkpoint briefly. When same is set, every object
// must also be byte-identical to what same returns for its path (e.g.
// ledgerd's own /checkpoint and /tile/ routes), unless same returns nil
// bytes and no error for it. It returns the tree size.
func Audit(t testing.TB, baseURL, origin, vkey string, same func(path string) ([]byte, error)) uint64 {
	t.Helper()
	base := strings.TrimRight(baseURL, "/")
	get := func(path string) []byte {
		t.Helper()
		resp, err := http.Get(base + "/" + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s/%s: %s %v %q", base, path, resp.Status, err, b)
		}
		want := cacheShort
		if p, err := tile.ParsePath(path); err == nil && p.Width == tile.Width {
			want = cacheImmutable
		}
		if got := resp.Header.Get("Cache-Control"); got != want {
			t.Errorf("GET %s/%s: Cache-Control %q, want %q", base, path, got, want)
		}
		if same != nil {
			s, err := same(path)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if s != nil && !bytes.Equal(b, s) {
				t.Errorf("%s/%s (%d bytes) differs from the log's own (%d bytes)", base, path, len(b), len(s))
			}
		}
		return b
	}
	c, err := verify.OpenCheckpoint(get("checkpoint"), origin, vkey)
	if err != nil {
		t.Fatalf("the checkpoint at %s: %v", base, err)
	}
	r := tile.NewReader(context.Background(), tile.HTTPFetcher(base, nil))
	hr := r.HashReader(c.Size, c.Hash)
	for _, tl := range tlog.NewTiles(tile.Height, 0, int64(c.Size)) {
		p := tile.Tile{Level: uint8(tl.L), Index: uint64(tl.N), Width: tl.W}.Path()
		want, err := tlog.ReadTileData(tl, hr)
		if err != nil {
			t.Fatalf("tile %s does not authenticate against the checkpoint of size %d: %v", p, c.Size, err)
		}
		if got := get(p); !bytes.Equal(got, want) {
			t.Errorf("tile %s: the object is not the authenticated tile", p)
		}
		if tl.L != 0 {
			continue
		}
		entries, err := r.AuthenticatedBundle(hr, uint64(tl.N), c.Size)
		if err != nil {
			t.Fatalf("entry bundle %d: %v", tl.N, err)
		}
		bp := tile.Tile{Index: uint64(tl.N), Width: tl.W, Entries: true}.Path()
		var b []byte
		for _, e := range entries {
			b, _ = tile.AppendBundleEntry(b, e)
		}
		if got := get(bp); !bytes.Equal(got, b) {
			t.Errorf("entry bundle %s: the object is not the authenticated entries", bp)
		}
	}
	if testing.Verbose() {
		fmt.Printf("s3test: audited %s: %d entries\n", base, c.Size)
	}
	return c.Size
}
