package tile

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// FromTlog and ReadTiles reject tiles C2SP cannot name (wrong height,
// level, index or width) with an error, never a panic.
func TestFromTlogRejects(t *testing.T) {
	for _, tt := range []tlog.Tile{
		{H: 4, L: 0, N: 0, W: 16},
		{H: 8, L: -2, N: 0, W: 256},
		{H: 8, L: 64, N: 0, W: 256},
		{H: 8, L: 0, N: -1, W: 256},
		{H: 8, L: 0, N: 0, W: 0},
		{H: 8, L: 0, N: 0, W: 257},
		{H: 8, L: -1, N: math.MinInt64, W: -1},
	} {
		if got, err := FromTlog(tt); err == nil || !strings.Contains(err.Error(), "is not a height-8 C2SP tile") {
			t.Errorf("FromTlog(%+v) = %+v, %v; want an error", tt, got, err)
		}
		r := NewReader(context.Background(), func(context.Context, string) ([]byte, error) {
			t.Fatalf("fetched for invalid tile %+v", tt)
			return nil, nil
		})
		if _, err := r.ReadTiles([]tlog.Tile{tt}); err == nil {
			t.Errorf("ReadTiles(%+v) succeeded", tt)
		}
	}
	got, err := FromTlog(tlog.Tile{H: 8, L: -1, N: math.MaxInt64, W: 1})
	if err != nil || got != (Tile{Entries: true, Index: math.MaxInt64, Width: 1}) {
		t.Errorf("FromTlog(entries, max N) = %+v, %v", got, err)
	}
}

// A tile of the wrong length is rejected with both lengths in the error.
func TestReadTilesWrongLength(t *testing.T) {
	for _, tc := range []struct {
		tile tlog.Tile
		data []byte
		msg  string
	}{
		{tlog.Tile{H: 8, L: 0, N: 0, W: 2}, make([]byte, 63), "tile is 63 bytes, want 64"},
		{tlog.Tile{H: 8, L: 1, N: 0, W: 256}, make([]byte, 8193), "tile is 8193 bytes, want 8192"},
		{tlog.Tile{H: 8, L: -1, N: 0, W: 2}, []byte{0, 1, 'a'}, "bundle has 1 entries, want 2"},
		{tlog.Tile{H: 8, L: -1, N: 0, W: 1}, []byte{0, 3, 'a'}, "length 3, but only 1 bytes left"},
	} {
		r := NewReader(context.Background(), func(context.Context, string) ([]byte, error) { return tc.data, nil })
		_, err := r.ReadTiles([]tlog.Tile{tc.tile})
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("ReadTiles(%+v) = %v, want error containing %q", tc.tile, err, tc.msg)
		}
		if tc.tile.L == -1 && !errors.Is(err, ErrBadBundle) {
			t.Errorf("ReadTiles(%+v) = %v, want ErrBadBundle", tc.tile, err)
		}
	}
}

// tlog.TileHashReader never returns for trees above 2^62 - 1 leaves (its
// maxpow2 loops forever), so HashReader refuses them up front, while
// 2^62 - 1 itself still answers (here: the fetch fails, and it returns).
func TestHashReaderHugeTree(t *testing.T) {
	root := make([]byte, 32)
	fetched := make(chan struct{}, 64)
	r := NewReader(context.Background(), func(context.Context, string) ([]byte, error) {
		fetched <- struct{}{}
		return nil, errors.New("no tiles here")
	})
	for _, size := range []uint64{MaxTreeSize + 1, 1 << 62, 1<<62 + 5, 1 << 63, math.MaxUint64} {
		done := make(chan error, 1)
		go func() {
			_, err := r.HashReader(size, root).ReadHashes([]int64{0})
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "want size <= 4611686018427387903") {
				t.Errorf("HashReader(%d).ReadHashes = %v, want a size error", size, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("HashReader(%d).ReadHashes did not return", size)
		}
	}
	if len(fetched) != 0 {
		t.Errorf("fetched %d tiles for refused trees", len(fetched))
	}
	done := make(chan error, 1)
	go func() {
		_, err := r.HashReader(MaxTreeSize, root).ReadHashes([]int64{0})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "no tiles here") {
			t.Errorf("HashReader(MaxTreeSize).ReadHashes = %v, want the fetch error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("HashReader(MaxTreeSize).ReadHashes did not return")
	}
}
