package tile

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestPath(t *testing.T) {
	for _, tc := range []struct {
		t    Tile
		path string
	}{
		{Tile{Level: 0, Index: 1234, Width: 256}, "tile/0/x001/234"},
		{Tile{Level: 1, Index: 5, Width: 17}, "tile/1/005.p/17"},
		{Tile{Entries: true, Index: 1234, Width: 9}, "tile/entries/x001/234.p/9"},
		{Tile{Level: 0, Index: 0, Width: 256}, "tile/0/000"},
		{Tile{Level: 63, Index: 1234067, Width: 1}, "tile/63/x001/x234/067.p/1"},
		{Tile{Level: 2, Index: 1000, Width: 255}, "tile/2/x001/000.p/255"},
		{Tile{Entries: true, Index: math.MaxUint64, Width: 256}, "tile/entries/x018/x446/x744/x073/x709/x551/615"},
	} {
		if got := tc.t.Path(); got != tc.path {
			t.Errorf("%+v.Path() = %q, want %q", tc.t, got, tc.path)
		}
		got, err := ParsePath(tc.path)
		if err != nil || got != tc.t {
			t.Errorf("ParsePath(%q) = %+v, %v; want %+v", tc.path, got, err, tc.t)
		}
	}
}

func TestIndexRoundTrip(t *testing.T) {
	values := []uint64{0, 1, 9, 10, 99, 100, 999, 1000, 1001, 999999, 1000000, 1234067,
		math.MaxUint32, math.MaxInt64, math.MaxUint64 - 1, math.MaxUint64}
	for p := uint64(1); p <= 1e18; p *= 10 {
		values = append(values, p-1, p, p+1)
	}
	for v := uint64(1); v != 0 && v < math.MaxUint64/3; v = v*3 + 1 {
		values = append(values, v)
	}
	for _, v := range values {
		s := EncodeIndex(v)
		got, err := ParseIndex(s)
		if err != nil || got != v {
			t.Errorf("ParseIndex(EncodeIndex(%d) = %q) = %d, %v", v, s, got, err)
		}
		for _, w := range []int{1, 17, 255, 256} {
			for _, tt := range []Tile{{Level: 3, Index: v, Width: w}, {Entries: true, Index: v, Width: w}} {
				back, err := ParsePath(tt.Path())
				if err != nil || back != tt {
					t.Errorf("ParsePath(%q) = %+v, %v; want %+v", tt.Path(), back, err, tt)
				}
			}
		}
	}
	if got := EncodeIndex(1234067); got != "x001/x234/067" {
		t.Errorf("EncodeIndex(1234067) = %q", got)
	}
}

func TestParsePathRejects(t *testing.T) {
	for _, p := range []string{
		"",
		"tile",
		"tile/",
		"tile/0",
		"tile/0/",
		"/tile/0/000",
		"tiles/0/000",
		"tile/0/000/",            // trailing slash
		"tile/0/x001/234/",       // trailing slash
		"tile/0/x000/001",        // leading zero group
		"tile/0/x000/000",        // leading zero group
		"tile/0/001/234",         // missing x
		"tile/0/x001/x234",       // x on the last group
		"tile/0/x1/234",          // short group
		"tile/0/1",               // short group
		"tile/0/01",              // short group
		"tile/0/0001",            // 4-digit group
		"tile/0/x0001/234",       // 4-digit group
		"tile/0/x001/2345",       // 4-digit group
		"tile/0/X001/234",        // capital X
		"tile/0/-01",             // sign
		"tile/0/+01",             // sign
		"tile/0/ 01",             // space
		"tile/0/x001//234",       // empty group
		"tile/0/000.p/0",         // W = 0
		"tile/0/000.p/256",       // W = 256 (full tiles have no suffix)
		"tile/0/000.p/300",       // W > 256
		"tile/0/000.p/017",       // W leading zero
		"tile/0/000.p/01",        // W leading zero
		"tile/0/000.p/",          // W empty
		"tile/0/000.p/+1",        // W sign
		"tile/0/000.p/1/",        // trailing slash
		"tile/0/000.p/1.p/1",     // double suffix
		"tile/0/000.p",           // incomplete suffix
		"tile/0/000.P/1",         // capital P
		"tile/00/000",            // L leading zero
		"tile/01/000",            // L leading zero
		"tile/64/000",            // L > 63
		"tile/256/000",           // L > 63
		"tile/-1/000",            // negative L
		"tile/+1/000",            // signed L
		"tile/a/000",             // L not decimal
		"tile/entry/000",         // not "entries"
		"tile/Entries/000",       // not "entries"
		"tile/entries/",          // no index
		"tile/entries/000/",      // trailing slash
		"tile/entries/x000/001",  // leading zero group
		"tile/entries/000.p/256", // W = 256
		"tile/8/0/000",           // x/mod sumdb form with height
		"tile/0/x018/x446/x744/x073/x709/x551/616",      // > MaxUint64
		"tile/0/x999/x999/x999/x999/x999/x999/999",      // > MaxUint64
		"tile/0/x001/x000/x000/x000/x000/x000/x000/000", // 8 groups
		"tile/0/\x00\x00\x00",
		"tile/0/٠٠٠", // Arabic-Indic digits
	} {
		if got, err := ParsePath(p); err == nil {
			t.Errorf("ParsePath(%q) = %+v, want error", p, got)
		} else if !errors.Is(err, ErrBadPath) {
			t.Errorf("ParsePath(%q) error %v does not wrap ErrBadPath", p, err)
		}
	}
}

func TestBundle(t *testing.T) {
	entries := [][]byte{{}, []byte("a"), bytes.Repeat([]byte("x"), 300), bytes.Repeat([]byte{0xff}, MaxEntrySize)}
	var b []byte
	for _, e := range entries {
		var err error
		if b, err = AppendBundleEntry(b, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ParseBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(entries) {
		t.Fatalf("got %d entries, want %d", len(got), len(entries))
	}
	for i := range got {
		if !bytes.Equal(got[i], entries[i]) {
			t.Errorf("entry %d differs", i)
		}
	}
	if got, err := ParseBundle(nil); err != nil || len(got) != 0 {
		t.Errorf("ParseBundle(nil) = %v, %v", got, err)
	}
	if _, err := AppendBundleEntry(nil, make([]byte, MaxEntrySize+1)); !errors.Is(err, ErrBadBundle) {
		t.Errorf("oversized entry: err = %v", err)
	}
	for n := 1; n < len(b); n = n*2 + 1 {
		// Every proper prefix that does not end on an entry boundary fails.
		boundary := false
		off := 0
		for _, e := range entries {
			off += 2 + len(e)
			boundary = boundary || off == n
		}
		if _, err := ParseBundle(b[:n]); (err == nil) != boundary {
			t.Errorf("ParseBundle(%d of %d bytes): err = %v, boundary = %v", n, len(b), err, boundary)
		}
	}
	_, err = ParseBundle([]byte{0x00, 0x05, 'a', 'b'})
	if !errors.Is(err, ErrBadBundle) || !strings.Contains(err.Error(), "length 5, but only 2 bytes left") {
		t.Errorf("truncated entry: err = %v", err)
	}
	_, err = ParseBundle([]byte{0x00, 0x01, 'a', 0x00})
	if !errors.Is(err, ErrBadBundle) || !strings.Contains(err.Error(), "1 bytes left, want a 2-byte length") {
		t.Errorf("truncated length: err = %v", err)
	}
}
