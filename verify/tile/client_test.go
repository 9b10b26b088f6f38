package tile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/fjaledger/fja/verify/reftree"
)

// testLog serves C2SP tiles for leaves, computed with the naive reference
// tree: the hash at level L, index i of the tile grid is the root of the
// perfect subtree over leaves [i*256^L, (i+1)*256^L).
type testLog struct {
	leaves [][]byte
	// deletePartial makes partial tiles 404 once the full tile exists, as
	// tlog-tiles allows.
	deletePartial bool
	// tamper, if set, corrupts the body served for that path.
	tamper      string
	fullFetches atomic.Int64 // full hash tiles served
}

func (l *testLog) span(level uint8) uint64 { return 1 << (Height * uint(level)) }

func (l *testLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/log/")
	t, err := ParsePath(p)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	n := uint64(len(l.leaves))
	span := l.span(t.Level)
	end := (t.Index*Width + uint64(t.Width)) * span // one past the last leaf covered
	fullEnd := (t.Index + 1) * Width * span
	if t.Level > 2 || end > n || (t.Width < Width && l.deletePartial && fullEnd <= n) {
		http.NotFound(w, r)
		return
	}
	var body []byte
	for i := t.Index * Width; i < t.Index*Width+uint64(t.Width); i++ {
		if t.Entries {
			body, _ = AppendBundleEntry(body, l.leaves[i])
		} else {
			body = append(body, reftree.Root(l.leaves[i*span:(i+1)*span])...)
		}
	}
	if !t.Entries && t.Width == Width {
		l.fullFetches.Add(1)
	}
	if p == l.tamper {
		body[len(body)/2] ^= 1
	}
	w.Write(body)
}

func entries(n int) [][]byte {
	e := make([][]byte, n)
	for i := range e {
		e[i] = fmt.Appendf(nil, "e%d", i)
	}
	return e
}

func TestReaderAgainstReference(t *testing.T) {
	const serverSize = 70200 // full level-0 tile 273 exists, level-1 tile 1 is partial
	leaves := entries(serverSize)
	log := &testLog{leaves: leaves, deletePartial: true}
	srv := httptest.NewServer(log)
	defer srv.Close()
	r := NewReader(context.Background(), HTTPFetcher(srv.URL+"/log/", srv.Client()))

	for _, size := range []int{1, 2, 255, 256, 257, 511, 512, 1000, 65535, 65536, 65537, 70000} {
		root := reftree.Root(leaves[:size])
		hr := r.HashReader(uint64(size), root)
		th, err := tlog.TreeHash(int64(size), hr)
		if err != nil {
			t.Fatalf("size %d: TreeHash: %v", size, err)
		}
		if !bytes.Equal(th[:], root) {
			t.Fatalf("size %d: TreeHash = %x, want %x", size, th, root)
		}
		for _, i := range []int{0, size / 3, size - 1} {
			p, err := tlog.ProveRecord(int64(size), int64(i), hr)
			if err != nil {
				t.Fatalf("size %d: ProveRecord(%d): %v", size, i, err)
			}
			if err := tlog.CheckRecord(p, int64(size), tlog.Hash(root), int64(i), tlog.RecordHash(leaves[i])); err != nil {
				t.Fatalf("size %d: CheckRecord(%d): %v", size, i, err)
			}
			if size <= 1000 || i == size-1 {
				want := reftree.InclusionProof(i, leaves[:size])
				if len(p) != len(want) {
					t.Fatalf("size %d: proof for %d has %d hashes, reference has %d", size, i, len(p), len(want))
				}
				for k := range p {
					if !bytes.Equal(p[k][:], want[k]) {
						t.Fatalf("size %d: proof for %d differs from reference at %d", size, i, k)
					}
				}
			}
		}
		if size > 1 {
			tp, err := tlog.ProveTree(int64(size), int64(size/2), hr)
			if err != nil {
				t.Fatalf("size %d: ProveTree: %v", size, err)
			}
			if err := tlog.CheckTree(tp, int64(size), tlog.Hash(root), int64(size/2), tlog.Hash(reftree.Root(leaves[:size/2]))); err != nil {
				t.Fatalf("size %d: CheckTree: %v", size, err)
			}
		}
	}

	// Full tiles are cached once authenticated: only partial tiles are
	// fetched again.
	hr := r.HashReader(65536, reftree.Root(leaves[:65536]))
	if _, err := tlog.ProveRecord(65536, 12345, hr); err != nil {
		t.Fatal(err)
	}
	before := log.fullFetches.Load()
	if _, err := tlog.ProveRecord(65536, 12345, hr); err != nil {
		t.Fatal(err)
	}
	if after := log.fullFetches.Load(); after != before {
		t.Errorf("ProveRecord over cached full tiles fetched %d full tiles, want 0", after-before)
	}
}

func TestReaderRejectsBadTiles(t *testing.T) {
	leaves := entries(1000)
	root := reftree.Root(leaves)
	for _, tamper := range []string{"tile/0/001", "tile/0/003.p/232", "tile/1/000.p/3"} {
		t.Run(tamper, func(t *testing.T) {
			srv := httptest.NewServer(&testLog{leaves: leaves, tamper: tamper})
			defer srv.Close()
			r := NewReader(context.Background(), HTTPFetcher(srv.URL+"/log", nil))
			hr := r.HashReader(1000, root)
			_, err1 := tlog.TreeHash(1000, hr)
			_, err2 := tlog.ProveRecord(1000, 300, hr)
			if err1 == nil && err2 == nil {
				t.Fatalf("tampered %s: TreeHash and ProveRecord both succeeded", tamper)
			}
		})
	}

	srv := httptest.NewServer(&testLog{leaves: leaves})
	defer srv.Close()
	r := NewReader(context.Background(), HTTPFetcher(srv.URL+"/log", nil))
	wrongRoot := reftree.Root(leaves[:999])
	if _, err := tlog.TreeHash(1000, r.HashReader(1000, wrongRoot)); err == nil {
		t.Error("TreeHash accepted tiles against the wrong root")
	}
	if _, err := r.HashReader(1000, root[:31]).ReadHashes([]int64{0}); err == nil {
		t.Error("HashReader accepted a 31-byte root")
	}
	if _, err := r.HashReader(1<<63, root).ReadHashes([]int64{0}); err == nil {
		t.Error("HashReader accepted size 2^63")
	}
	// A tree larger than the log: tiles are missing.
	if _, err := tlog.TreeHash(2000, r.HashReader(2000, root)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("TreeHash beyond the log: err = %v, want fs.ErrNotExist", err)
	}
}

func TestReaderEntryBundles(t *testing.T) {
	leaves := entries(700)
	srv := httptest.NewServer(&testLog{leaves: leaves})
	defer srv.Close()
	r := NewReader(context.Background(), HTTPFetcher(srv.URL+"/log", nil))
	tiles := []tlog.Tile{{H: 8, L: -1, N: 1, W: 256}, {H: 8, L: -1, N: 2, W: 188}, {H: 8, L: 0, N: 2, W: 188}}
	data, err := r.ReadTiles(tiles)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseBundle(data[1])
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range got {
		if !bytes.Equal(e, leaves[512+i]) {
			t.Fatalf("bundle entry %d differs", i)
		}
		// Each entry hashes to the matching level-0 tile hash.
		if !bytes.Equal(reftree.LeafHash(e), data[2][i*32:(i+1)*32]) {
			t.Fatalf("bundle entry %d does not hash to the level-0 tile", i)
		}
	}
	if _, err := r.ReadTiles([]tlog.Tile{{H: 8, L: -1, N: 0, W: 255}}); err != nil {
		t.Errorf("partial bundle: %v", err)
	}
	if _, err := r.ReadTiles([]tlog.Tile{{H: 4, L: 0, N: 0, W: 16}}); err == nil {
		t.Error("ReadTiles accepted a height-4 tile")
	}
}

func TestHTTPFetcherStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/tile/0/000":
			w.Write([]byte("ok"))
		case "/tile/0/001":
			http.Error(w, "boom", http.StatusInternalServerError)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	f := HTTPFetcher(srv.URL, nil)
	if b, err := f(context.Background(), "tile/0/000"); err != nil || string(b) != "ok" {
		t.Errorf("200: %q, %v", b, err)
	}
	if _, err := f(context.Background(), "tile/0/001"); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("500: err = %v, want a non-ErrNotExist error", err)
	}
	if _, err := f(context.Background(), "tile/0/002"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("404: err = %v, want fs.ErrNotExist", err)
	}
}
