package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/fjaledger/fja/api"
	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/verify/tile"
)

const origin = apitest.DefaultOrigin

// fixture is a read-only server (no record book, no tokens) and the
// entries appended to its log.
type fixture struct {
	*apitest.Server
	entries map[uint64]string // index -> entry appended
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return &fixture{Server: apitest.New(t, apitest.ReadOnly()), entries: map[uint64]string{}}
}

func (f *fixture) get(t *testing.T, path string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(f.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func (f *fixture) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	resp, b := f.get(t, path)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", path, resp.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// appendN appends entries "entry from" .. "entry to-1" concurrently and
// records at which index each landed.
func (f *fixture) appendN(t *testing.T, from, to int) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, to-from)
	for i := from; i < to; i++ {
		wg.Add(1)
		go func(e string) {
			defer wg.Done()
			ack, err := f.Log.Append(context.Background(), []byte(e))
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			f.entries[ack.Index] = e
			mu.Unlock()
		}(fmt.Sprintf("entry %d", i))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func toTlog(hs [][]byte) []tlog.Hash {
	out := make([]tlog.Hash, len(hs))
	for i, h := range hs {
		copy(out[i][:], h)
	}
	return out
}

// TestInteropWithIndependentClients reads the log over HTTP only with code
// this project did not write: formats/log.ParseCheckpoint and x/mod's note
// open the checkpoint, x/mod's tlog.TileHashReader authenticates every tile
// it reads against it, and tlog.CheckRecord / CheckTree check the server's
// proofs.
func TestInteropWithIndependentClients(t *testing.T) {
	f := newFixture(t)
	verifier, err := fnote.NewVerifier(f.VKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var trees []tlog.Tree
	sizes := []int{1, 2, 3, 255, 256, 257, 511, 600, 256*3 + 17}
	done := 0
	for _, size := range sizes {
		f.appendN(t, done, size)
		done = size

		resp, raw := f.get(t, "/checkpoint")
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=5") {
			t.Errorf("checkpoint Cache-Control %q, want a short max-age", cc)
		}
		cp, _, _, err := log.ParseCheckpoint(raw, origin, verifier)
		if err != nil {
			t.Fatalf("formats ParseCheckpoint: %v\n%s", err, raw)
		}
		if _, err := note.Open(raw, note.VerifierList(verifier)); err != nil {
			t.Fatalf("x/mod note.Open: %v", err)
		}
		if cp.Size != uint64(size) {
			t.Fatalf("checkpoint size %d, want %d", cp.Size, size)
		}
		tree := tlog.Tree{N: int64(cp.Size)}
		copy(tree.Hash[:], cp.Hash)

		// tiles authenticate to the checkpoint through x/mod's TileHashReader
		hr := tile.NewReader(ctx, tile.HTTPFetcher(f.URL, nil)).HashReader(cp.Size, cp.Hash)
		th, err := tlog.TreeHash(tree.N, hr)
		if err != nil || th != tree.Hash {
			t.Fatalf("size %d: tree hash from tiles %v, %v; want %v", size, th, err, tree.Hash)
		}
		for _, idx := range []int64{0, int64(size) / 2, int64(size) - 1} {
			want := tlog.RecordHash([]byte(f.entries[uint64(idx)]))
			fromTiles, err := tlog.ProveRecord(tree.N, idx, hr)
			if err != nil {
				t.Fatalf("ProveRecord(%d, %d) from tiles: %v", tree.N, idx, err)
			}
			if err := tlog.CheckRecord(fromTiles, tree.N, tree.Hash, idx, want); err != nil {
				t.Fatalf("proof from tiles: %v", err)
			}
			var p api.InclusionProof
			f.getJSON(t, fmt.Sprintf("/v1/proofs/inclusion?index=%d&size=%d", idx, size), &p)
			if err := tlog.CheckRecord(toTlog(p.Hashes), tree.N, tree.Hash, idx, want); err != nil {
				t.Fatalf("server inclusion proof %d in %d: %v", idx, size, err)
			}
			if !bytes.Equal(p.LeafHash, want[:]) {
				t.Fatalf("leaf_hash %x, want %x", p.LeafHash, want)
			}
			var e api.Entry
			f.getJSON(t, fmt.Sprintf("/v1/entries/%d", idx), &e)
			if string(e.Entry) != f.entries[uint64(idx)] {
				t.Fatalf("entry %d is %q", idx, e.Entry)
			}
			ecp, _, _, err := log.ParseCheckpoint([]byte(e.Checkpoint), origin, verifier)
			if err != nil {
				t.Fatal(err)
			}
			et := tlog.Tree{N: int64(ecp.Size)}
			copy(et.Hash[:], ecp.Hash)
			if err := tlog.CheckRecord(toTlog(e.InclusionProof), et.N, et.Hash, idx, want); err != nil {
				t.Fatalf("/v1/entries/%d proof: %v", idx, err)
			}
		}
		// every entry in the entry bundles hashes to the authenticated level-0 hashes
		for b := uint64(0); b*256 < cp.Size; b++ {
			w := min(256, int(cp.Size-b*256))
			data, err := tile.HTTPFetcher(f.URL, nil)(ctx, tile.Tile{Entries: true, Index: b, Width: w}.Path())
			if err != nil {
				t.Fatal(err)
			}
			es, err := tile.ParseBundle(data)
			if err != nil || len(es) != w {
				t.Fatalf("bundle %d: %d entries, %v; want %d", b, len(es), err, w)
			}
			idx := make([]int64, w)
			for i := range idx {
				idx[i] = tlog.StoredHashIndex(0, int64(b*256)+int64(i))
			}
			hs, err := hr.ReadHashes(idx)
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range es {
				if tlog.RecordHash(e) != hs[i] {
					t.Fatalf("bundle %d entry %d does not hash to the tile's leaf hash", b, i)
				}
			}
		}
		for _, old := range trees {
			var c api.ConsistencyProof
			f.getJSON(t, fmt.Sprintf("/v1/proofs/consistency?from=%d&to=%d", old.N, tree.N), &c)
			if err := tlog.CheckTree(toTlog(c.Hashes), tree.N, tree.Hash, old.N, old.Hash); err != nil {
				t.Fatalf("consistency %d -> %d: %v", old.N, tree.N, err)
			}
		}
		trees = append(trees, tree)
	}
}

// TestEntryBundles checks the C2SP entry bundles and cache headers.
func TestEntryBundles(t *testing.T) {
	f := newFixture(t)
	f.appendN(t, 0, 300)
	resp, full := f.get(t, "/tile/entries/000")
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Fatalf("full bundle: %s, Cache-Control %q", resp.Status, resp.Header.Get("Cache-Control"))
	}
	es, err := tile.ParseBundle(full)
	if err != nil || len(es) != 256 {
		t.Fatalf("full bundle: %d entries, %v", len(es), err)
	}
	for i, e := range es {
		if string(e) != f.entries[uint64(i)] {
			t.Fatalf("bundle entry %d is %q", i, e)
		}
	}
	resp, part := f.get(t, "/tile/entries/001.p/44")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "max-age=5") {
		t.Fatalf("partial bundle: %s, Cache-Control %q", resp.Status, resp.Header.Get("Cache-Control"))
	}
	es, err = tile.ParseBundle(part)
	if err != nil || len(es) != 44 || string(es[43]) != f.entries[299] {
		t.Fatalf("partial bundle: %d entries, %v", len(es), err)
	}
	resp, tl := f.get(t, "/tile/0/000")
	if resp.StatusCode != 200 || len(tl) != 256*32 || resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Fatalf("full tile: %s, %d bytes, %q", resp.Status, len(tl), resp.Header.Get("Cache-Control"))
	}
	// a partial tile is a prefix of the later tile
	resp, p := f.get(t, "/tile/0/000.p/7")
	if resp.StatusCode != 200 || !bytes.Equal(p, tl[:7*32]) {
		t.Fatalf("partial tile 0/000.p/7: %s, not a prefix of the full tile", resp.Status)
	}
}

// TestBadRequests: malformed paths and out-of-range indices get a 4xx with
// the JSON error body, never a 500.
func TestBadRequests(t *testing.T) {
	f := newFixture(t)
	f.appendN(t, 0, 10)
	cases := map[string]int{
		"/tile/0/001":            404,
		"/tile/0/000":            404, // only 10 leaves: no full tile
		"/tile/0/000.p/11":       404,
		"/tile/0/000.p/10":       200,
		"/tile/1/000.p/1":        404,
		"/tile/8/000.p/1":        404,
		"/tile/64/000":           400,
		"/tile/0/x000/001":       400,
		"/tile/0/1":              400,
		"/tile/0/000.p/256":      400,
		"/tile/0/000.p/00":       400,
		"/tile/0/000/":           400,
		"/tile/":                 400,
		"/tile/entries/000.p/11": 404,
		"/tile/entries/x999/x999/x999/x999/x999/x999/999": 400,
		"/tile/entries/x018/x446/x744/x073/x709/x551/615": 404,
		"/tile/entries/x018/x446/x744/x073/x709/x551/616": 400,
		"/tile/0/x072/x057/x594/x037/x927/935":            404,
		"/v1/entries/10":                                  404,
		"/v1/entries/-1":                                  400,
		"/v1/entries/abc":                                 400,
		"/v1/entries/18446744073709551616":                400,
		"/v1/entries/18446744073709551615":                404,
		"/v1/proofs/inclusion?index=10&size=10":           400,
		"/v1/proofs/inclusion?index=0&size=11":            400,
		"/v1/proofs/inclusion?index=0":                    400,
		"/v1/proofs/inclusion?index=x&size=1":             400,
		"/v1/proofs/inclusion?index=0&size=0":             400,
		"/v1/proofs/consistency?from=5&to=4":              400,
		"/v1/proofs/consistency?from=1&to=11":             400,
		"/v1/proofs/consistency?from=1":                   400,
		"/v1/proofs/consistency?from=%00&to=1":            400,
		"/v1/nothing":                                     404,
	}
	for path, want := range cases {
		resp, b := f.get(t, path)
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d %s, want %d", path, resp.StatusCode, b, want)
			continue
		}
		if want == 200 {
			continue
		}
		var body struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal(b, &body); err != nil || body.Error.Code == "" || body.Error.Message == "" {
			t.Errorf("GET %s: body %q is not the JSON error shape", path, b)
		}
	}
	resp, _ := f.get(t, "/healthz")
	if resp.StatusCode != 200 {
		t.Fatalf("server not healthy after bad requests: %s", resp.Status)
	}
}
