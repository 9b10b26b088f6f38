// Package tile implements the paths and entry bundles of C2SP tlog-tiles
// (https://c2sp.org/tlog-tiles), and a client that reads a log's tiles and
// authenticates them against a checkpoint through
// golang.org/x/mod/sumdb/tlog.
//
// Contracts:
//   - Tiles have height 8: a full tile holds 256 hashes (8,192 bytes), a
//     partial tile 1..255; entry bundles hold as many entries as the level 0
//     tile with the same index and width.
//   - Path and ParsePath are exact inverses on valid tiles: ParsePath
//     accepts only the canonical form Path produces (no leading zero groups,
//     every non-last group prefixed 'x', partial width 1..255 without leading
//     zeros, level 0..63 without leading zeros, no trailing slash).
//   - Parsers never panic on any input.
//   - Nothing fetched through Reader is trusted until tlog.TileHashReader
//     has authenticated it against a checkpoint root.
package tile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

const (
	// Height is the number of tree levels one tile spans.
	Height = 8
	// Width is the number of hashes in a full tile, and of entries in a
	// full entry bundle.
	Width = 1 << Height
	// MaxLevel is the highest tile level the spec allows.
	MaxLevel = 63
	// MaxEntrySize is the largest entry a bundle can hold (uint16 length).
	MaxEntrySize = math.MaxUint16
)

// ErrBadPath is wrapped by every ParsePath and ParseIndex error.
var ErrBadPath = errors.New("bad tile path")

// ErrBadBundle is wrapped by every AppendBundleEntry and ParseBundle error.
var ErrBadBundle = errors.New("bad entry bundle")

// Tile names one hash tile or entry bundle.
type Tile struct {
	Level   uint8  // 0..63; always 0 for an entry bundle
	Index   uint64 // N, the tile's index within its level
	Width   int    // 1..256; 256 is a full tile
	Entries bool   // an entry bundle rather than a hash tile
}

// Path is the tile's path relative to the log prefix, e.g. "tile/0/x001/234",
// "tile/1/005.p/17", "tile/entries/x001/234.p/9". Path of an invalid Tile
// (Width outside 1..256, Level > 63) is not parseable by ParsePath.
func (t Tile) Path() string {
	var b strings.Builder
	b.WriteString("tile/")
	if t.Entries {
		b.WriteString("entries")
	} else {
		b.WriteString(strconv.Itoa(int(t.Level)))
	}
	b.WriteByte('/')
	b.WriteString(EncodeIndex(t.Index))
	if t.Width != Width {
		b.WriteString(".p/")
		b.WriteString(strconv.Itoa(t.Width))
	}
	return b.String()
}

func (t Tile) String() string { return t.Path() }

// EncodeIndex encodes n as zero-padded 3-digit path elements, all but the
// last prefixed with 'x': 1234067 -> "x001/x234/067", 0 -> "000".
func EncodeIndex(n uint64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	return s
}

// ParseIndex is the inverse of EncodeIndex. It accepts only canonical
// encodings: no leading "x000" group, exactly 3 digits per group, 'x' on
// every group but the last, and a value that fits in a uint64.
func ParseIndex(s string) (uint64, error) {
	groups := strings.Split(s, "/")
	if len(groups) > 7 {
		return 0, fmt.Errorf("%w: index %q has %d groups, want at most 7", ErrBadPath, s, len(groups))
	}
	var n uint64
	for i, g := range groups {
		last := i == len(groups)-1
		if !last {
			d, ok := strings.CutPrefix(g, "x")
			if !ok {
				return 0, fmt.Errorf("%w: index %q: group %q is not the last, want an 'x' prefix", ErrBadPath, s, g)
			}
			g = d
		}
		if len(g) != 3 || !isDigits(g) {
			return 0, fmt.Errorf("%w: index %q: group %q, want 3 decimal digits", ErrBadPath, s, groups[i])
		}
		d := uint64(g[0]-'0')*100 + uint64(g[1]-'0')*10 + uint64(g[2]-'0')
		if i == 0 && d == 0 && !last {
			return 0, fmt.Errorf("%w: index %q has a leading zero group", ErrBadPath, s)
		}
		if n > (math.MaxUint64-d)/1000 {
			return 0, fmt.Errorf("%w: index %q overflows uint64", ErrBadPath, s)
		}
		n = n*1000 + d
	}
	return n, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseSmall parses a canonical decimal (no sign, no leading zeros) in
// [lo, hi].
func parseSmall(s string, lo, hi int) (int, bool) {
	if s == "" || len(s) > 3 || !isDigits(s) || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n, _ := strconv.Atoi(s)
	return n, n >= lo && n <= hi
}

// ParsePath parses "tile/<L>/<N>[.p/<W>]" or "tile/entries/<N>[.p/<W>]",
// accepting only the canonical form (see the package contract).
func ParsePath(p string) (Tile, error) {
	rest, ok := strings.CutPrefix(p, "tile/")
	if !ok {
		return Tile{}, fmt.Errorf("%w: %q does not start with \"tile/\"", ErrBadPath, p)
	}
	levelStr, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return Tile{}, fmt.Errorf("%w: %q has no index", ErrBadPath, p)
	}
	var t Tile
	if levelStr == "entries" {
		t.Entries = true
	} else {
		l, ok := parseSmall(levelStr, 0, MaxLevel)
		if !ok {
			return Tile{}, fmt.Errorf("%w: %q: level %q, want \"entries\" or a decimal 0..%d without leading zeros", ErrBadPath, p, levelStr, MaxLevel)
		}
		t.Level = uint8(l)
	}
	t.Width = Width
	if idx, w, ok := strings.Cut(rest, ".p/"); ok {
		width, ok := parseSmall(w, 1, Width-1)
		if !ok {
			return Tile{}, fmt.Errorf("%w: %q: partial width %q, want a decimal 1..%d without leading zeros", ErrBadPath, p, w, Width-1)
		}
		t.Width = width
		rest = idx
	}
	n, err := ParseIndex(rest)
	if err != nil {
		return Tile{}, fmt.Errorf("path %q: %w", p, err)
	}
	t.Index = n
	return t, nil
}

// AppendBundleEntry appends entry to the bundle dst as a big-endian uint16
// length followed by the entry bytes. It fails if entry is longer than
// MaxEntrySize bytes.
func AppendBundleEntry(dst, entry []byte) ([]byte, error) {
	if len(entry) > MaxEntrySize {
		return dst, fmt.Errorf("%w: entry is %d bytes, want at most %d", ErrBadBundle, len(entry), MaxEntrySize)
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(entry)))
	return append(dst, entry...), nil
}

// ParseBundle splits an entry bundle into its entries. The entries alias
// data. It fails if data ends inside a length prefix or an entry. An empty
// bundle parses to zero entries (logs MUST NOT serve one; callers comparing
// against a tile width catch it).
func ParseBundle(data []byte) ([][]byte, error) {
	var entries [][]byte
	for off := 0; off < len(data); {
		if len(data)-off < 2 {
			return nil, fmt.Errorf("%w: entry %d at offset %d: %d bytes left, want a 2-byte length", ErrBadBundle, len(entries), off, len(data)-off)
		}
		n := int(binary.BigEndian.Uint16(data[off:]))
		off += 2
		if len(data)-off < n {
			return nil, fmt.Errorf("%w: entry %d at offset %d: length %d, but only %d bytes left", ErrBadBundle, len(entries), off-2, n, len(data)-off)
		}
		entries = append(entries, data[off:off+n:off+n])
		off += n
	}
	return entries, nil
}
