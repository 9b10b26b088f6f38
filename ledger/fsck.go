package ledger

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strings"

	"github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"
)

// Kinds of Problem found by Fsck.
const (
	// ProblemEntry: an entry is missing, or its leaf hash differs from the
	// level-0 tile (the entry or that tile hash was changed).
	ProblemEntry = "entry"
	// ProblemTile: a tile is missing, shorter or longer than the tree
	// implies, or holds a node hash that differs from the recomputed one.
	ProblemTile = "tile"
	// ProblemCheckpoint: the stored checkpoint does not parse, does not
	// verify, or does not commit to the recomputed tree.
	ProblemCheckpoint = "checkpoint"
	// ProblemState: the stored compact range differs from the recomputed one.
	ProblemState = "state"
	// ProblemDedup: a dedup record maps an entry's leaf hash to an entry
	// that is not identical to it.
	ProblemDedup = "dedup"
)

// MaxFsckProblems is the most problems a FsckReport lists; further ones are
// only counted in FsckReport.Omitted.
const MaxFsckProblems = 1000

// fsckChunk is how many entries Fsck reads at a time.
const fsckChunk = TileWidth

// FsckOptions configures Fsck.
type FsckOptions struct {
	// Origin, if set, must be the stored checkpoint's origin line.
	Origin string
	// VerifierKeys, if any, are note verifier keys (Ed25519, or ECDSA as
	// accepted by github.com/transparency-dev/formats/note.NewVerifier);
	// the stored checkpoint must carry a valid signature by every one.
	VerifierKeys []string
	// Progress, if set, is called with the number of entries checked so far
	// and the tree size, after each chunk of entries.
	Progress func(done, total uint64)
}

// FsckReport is the outcome of Fsck.
type FsckReport struct {
	// Size is the stored tree size (State.Size).
	Size uint64 `json:"size"`
	// Root is the root hash recomputed from the stored entries.
	Root []byte `json:"root"`
	// Problems lists what is wrong, in the order found; empty when the
	// store is consistent.
	Problems []Problem `json:"problems"`
	// Omitted counts problems found past MaxFsckProblems and not listed.
	Omitted int `json:"omitted,omitempty"`
}

// OK reports whether Fsck found no problem.
func (r *FsckReport) OK() bool { return len(r.Problems) == 0 && r.Omitted == 0 }

// Err is nil when the report is OK, else an error counting the problems
// (those omitted too) and naming the tree size.
func (r *FsckReport) Err() error {
	if r.OK() {
		return nil
	}
	n := len(r.Problems) + r.Omitted
	return fmt.Errorf("%d problem%s found in the log of size %d", n, map[bool]string{true: "s"}[n != 1], r.Size)
}

// Write prints the report: as one JSON object, or as text, one problem a
// line ("index N: KIND: DETAIL"), "... and N more problems" for those
// omitted, then "size N", "root <base64>" and, when OK, "ok".
func (r *FsckReport) Write(w io.Writer, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(r)
	}
	var b strings.Builder
	for _, p := range r.Problems {
		fmt.Fprintln(&b, p)
	}
	if r.Omitted > 0 {
		fmt.Fprintf(&b, "... and %d more problems\n", r.Omitted)
	}
	fmt.Fprintf(&b, "size %d\nroot %s\n", r.Size, base64.StdEncoding.EncodeToString(r.Root))
	if r.OK() {
		b.WriteString("ok\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Problem is one inconsistency found by Fsck.
type Problem struct {
	// Index is the entry index the problem is about: for a node hash
	// mismatch or a short tile, the first leaf under the (first) bad node;
	// for a missing or overlong tile, the first leaf the tile covers; for
	// a compact range mismatch, the first leaf under the first differing
	// range node; for checkpoint problems, the stored tree size.
	Index uint64 `json:"index"`
	// Kind is one of the Problem* constants.
	Kind string `json:"kind"`
	// Detail says what was expected and what was found.
	Detail string `json:"detail"`
}

func (p Problem) String() string { return fmt.Sprintf("index %d: %s: %s", p.Index, p.Kind, p.Detail) }

// Fsck recomputes the whole tree from the entries stored in s and compares
// it with every stored tile, the stored compact range and the stored
// checkpoint. It also checks that each entry's leaf-hash dedup record, if
// any, names an identical entry. Inconsistencies are collected in the
// report; the error is for failures to read s (and for bad VerifierKeys or
// a cancelled ctx).
//
// Fsck reads s while it runs: the log must not be appending to it.
func Fsck(ctx context.Context, s Storage, opts FsckOptions) (*FsckReport, error) {
	var verifiers []note.Verifier
	for _, k := range opts.VerifierKeys {
		v, err := fnote.NewVerifier(k)
		if err != nil {
			return nil, fmt.Errorf("ledger: fsck: verifier key %q: %w", k, err)
		}
		verifiers = append(verifiers, v)
	}
	st, err := s.Load()
	if err != nil {
		return nil, fmt.Errorf("ledger: fsck: load state: %w", err)
	}
	f := &fsck{s: s, size: st.Size, rep: &FsckReport{Size: st.Size, Problems: []Problem{}}, tiles: map[uint8]*fsckTile{}}
	rng := rangeFactory.NewEmptyRange(0)
	visit := f.visit
	if opts.Progress != nil {
		opts.Progress(0, st.Size)
	}
	for start := uint64(0); start < st.Size; start += fsckChunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := int(min(fsckChunk, st.Size-start))
		es, err := f.entries(start, n)
		if err != nil {
			return nil, err
		}
		for i, e := range es {
			idx := start + uint64(i)
			var lh []byte
			if e == nil {
				// Missing entry (already reported): check the rest of the
				// tree with the stored leaf hash, if there is one.
				lh = f.storedLeaf(idx)
			} else {
				lh = hasher.HashLeaf(e)
				if err := f.checkDedup(idx, e, lh, es, start); err != nil {
					return nil, err
				}
			}
			if err := rng.Append(lh, visit); err != nil {
				return nil, fmt.Errorf("ledger: fsck: append leaf %d: %w", idx, err)
			}
			if f.err != nil {
				return nil, f.err
			}
		}
		if opts.Progress != nil {
			opts.Progress(start+uint64(n), st.Size)
		}
	}
	f.finishTiles()
	if err := f.checkBeyond(); err != nil {
		return nil, err
	}
	root := rootOf(rng)
	f.rep.Root = root
	f.checkRange(rng.Hashes(), st.Range)
	f.checkCheckpoint(st, root, opts.Origin, verifiers)
	return f.rep, nil
}

type fsck struct {
	s     Storage
	size  uint64
	rep   *FsckReport
	tiles map[uint8]*fsckTile // per level, the tile being compared
	err   error               // I/O error met by the visitor
}

// fsckTile is a stored tile being compared with the recomputed nodes.
type fsckTile struct {
	id      TileID
	data    []byte
	missing bool
	short   int // offset of the first node beyond data, -1 if none yet
	bad     int // nodes that differ
}

func (f *fsck) problem(index uint64, kind, format string, a ...any) {
	if len(f.rep.Problems) >= MaxFsckProblems {
		f.rep.Omitted++
		return
	}
	f.rep.Problems = append(f.rep.Problems, Problem{Index: index, Kind: kind, Detail: fmt.Sprintf(format, a...)})
}

// firstLeaf is the index of the first leaf under the node at height
// TileHeight*level and index idx.
func firstLeaf(level uint8, idx uint64) uint64 { return idx << (TileHeight * uint(level)) }

func hx(b []byte) string { return hex.EncodeToString(b) }

// entries reads n entries from start; a missing entry is reported and
// returned as nil.
func (f *fsck) entries(start uint64, n int) ([][]byte, error) {
	es, err := f.s.Entries(start, n)
	if err == nil && len(es) == n {
		return es, nil
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("ledger: fsck: read entries [%d, %d): %w", start, start+uint64(n), err)
	}
	// Some are missing: find which, one at a time.
	es = make([][]byte, n)
	for i := range es {
		idx := start + uint64(i)
		e, err := f.s.Entries(idx, 1)
		switch {
		case errors.Is(err, ErrNotFound) || (err == nil && len(e) != 1):
			f.problem(idx, ProblemEntry, "entry %d: missing (tree size %d)", idx, f.size)
		case err != nil:
			return nil, fmt.Errorf("ledger: fsck: read entry %d: %w", idx, err)
		default:
			es[i] = e[0]
		}
	}
	return es, nil
}

// storedLeaf returns the level-0 tile hash of leaf idx, or a zero hash if
// there is none.
func (f *fsck) storedLeaf(idx uint64) []byte {
	t, err := f.s.Tile(TileID{Level: 0, Index: idx / TileWidth})
	off := int(idx%TileWidth) * 32
	if err != nil || len(t) < off+32 {
		return make([]byte, 32)
	}
	return t[off : off+32]
}

// checkDedup checks the leaf-hash dedup record of entry idx, if any: it must
// name an entry of the tree that is identical to e. (The record may name a
// later entry: an entry appended with AppendStamped has no leaf-hash record,
// so a later plain Append of the same bytes is logged again and owns it.)
func (f *fsck) checkDedup(idx uint64, e, lh []byte, chunk [][]byte, chunkStart uint64) error {
	first, ok, err := f.s.Lookup(append([]byte{'h'}, lh...))
	if err != nil {
		return fmt.Errorf("ledger: fsck: dedup lookup of entry %d: %w", idx, err)
	}
	if !ok || first == idx {
		return nil
	}
	if first >= f.size {
		f.problem(idx, ProblemDedup, "entry %d: its leaf hash %s is recorded for entry %d, beyond the tree size %d", idx, hx(lh), first, f.size)
		return nil
	}
	var other []byte
	if first >= chunkStart && first < chunkStart+uint64(len(chunk)) {
		other = chunk[first-chunkStart]
	} else {
		es, err := f.s.Entries(first, 1)
		if errors.Is(err, ErrNotFound) {
			return nil // reported as a missing entry
		}
		if err != nil {
			return fmt.Errorf("ledger: fsck: read entry %d: %w", first, err)
		}
		other = es[0]
	}
	if other != nil && !bytes.Equal(other, e) {
		f.problem(idx, ProblemDedup, "entry %d: its leaf hash %s is recorded for entry %d, which holds different bytes (leaf hash %s)", idx, hx(lh), first, hx(hasher.HashLeaf(other)))
	}
	return nil
}

// visit is the compact.VisitFn that compares every node at a tile level
// with its stored tile.
func (f *fsck) visit(id compact.NodeID, h []byte) {
	if id.Level%TileHeight != 0 || f.err != nil {
		return
	}
	level := uint8(id.Level / TileHeight)
	tid := TileID{Level: level, Index: id.Index / TileWidth}
	off := int(id.Index % TileWidth)
	t := f.tiles[level]
	if t == nil || t.id != tid {
		if t != nil {
			f.finishTile(t, TileWidth)
		}
		data, err := f.s.Tile(tid)
		t = &fsckTile{id: tid, data: data, short: -1}
		switch {
		case errors.Is(err, ErrNotFound):
			t.missing = true
			f.problem(firstLeaf(level, tid.Index*TileWidth), ProblemTile, "tile %d/%d: missing (tree size %d)", tid.Level, tid.Index, f.size)
		case err != nil:
			f.err = fmt.Errorf("ledger: fsck: read tile %d/%d: %w", tid.Level, tid.Index, err)
			return
		}
		f.tiles[level] = t
	}
	if t.missing {
		return
	}
	if len(t.data) < (off+1)*32 {
		if t.short < 0 {
			t.short = off
		}
		return
	}
	stored := t.data[off*32 : off*32+32]
	if bytes.Equal(stored, h) {
		return
	}
	t.bad++
	if level == 0 {
		f.problem(id.Index, ProblemEntry, "entry %d: leaf hash %s does not match tile 0/%d at offset %d, which holds %s (the entry or the tile was changed)",
			id.Index, hx(h), tid.Index, off, hx(stored))
		return
	}
	f.problem(firstLeaf(level, id.Index), ProblemTile, "tile %d/%d at offset %d: holds %s, but the node at height %d over leaves [%d, %d) hashes to %s",
		tid.Level, tid.Index, off, hx(stored), id.Level, firstLeaf(level, id.Index), firstLeaf(level, id.Index+1), hx(h))
}

// finishTile checks the length of a stored tile once all its nodes were
// seen; want is the number of hashes the tree implies.
func (f *fsck) finishTile(t *fsckTile, want int) {
	if t.missing {
		return
	}
	n := len(t.data)
	switch {
	case t.short >= 0 || n < want*32:
		first := t.short
		if first < 0 {
			first = n / 32
		}
		f.problem(firstLeaf(t.id.Level, t.id.Index*TileWidth+uint64(first)), ProblemTile, "tile %d/%d: holds %s, want %d hashes (tree size %d)",
			t.id.Level, t.id.Index, tileLen(n), want, f.size)
	case n > want*32:
		f.problem(firstLeaf(t.id.Level, t.id.Index*TileWidth), ProblemTile, "tile %d/%d: holds %s, longer than the %d hashes the tree of size %d implies",
			t.id.Level, t.id.Index, tileLen(n), want, f.size)
	}
}

func tileLen(n int) string {
	if n%32 != 0 {
		return fmt.Sprintf("%d bytes (not a whole number of hashes)", n)
	}
	return fmt.Sprintf("%d hashes", n/32)
}

// finishTiles checks the length of the right-edge tile of every level.
func (f *fsck) finishTiles() {
	for level := uint8(0); level < 8; level++ {
		if t := f.tiles[level]; t != nil {
			count := f.size >> (TileHeight * uint(level))
			f.finishTile(t, int(count-t.id.Index*TileWidth))
		}
	}
}

// checkBeyond makes sure nothing is stored past the tree: no entry at
// index size, and at each level no tile after the last one the tree has
// (and no tile at the first level with no complete node).
func (f *fsck) checkBeyond() error {
	_, err := f.s.Entries(f.size, 1)
	switch {
	case err == nil:
		f.problem(f.size, ProblemEntry, "entry %d: stored, but the tree size is %d", f.size, f.size)
	case !errors.Is(err, ErrNotFound):
		return fmt.Errorf("ledger: fsck: read entry %d: %w", f.size, err)
	}
	for level := uint8(0); level < 8; level++ {
		count := f.size >> (TileHeight * uint(level))
		next := (count + TileWidth - 1) / TileWidth // tiles the level has
		t, err := f.s.Tile(TileID{Level: level, Index: next})
		switch {
		case err == nil:
			f.problem(firstLeaf(level, next*TileWidth), ProblemTile, "tile %d/%d: stored (%s), but the tree of size %d has %d tiles at level %d",
				level, next, tileLen(len(t)), f.size, next, level)
		case !errors.Is(err, ErrNotFound):
			return fmt.Errorf("ledger: fsck: read tile %d/%d: %w", level, next, err)
		}
		if count == 0 {
			break
		}
	}
	return nil
}

// checkRange compares the recomputed compact range with the stored one.
func (f *fsck) checkRange(got, stored [][]byte) {
	if len(stored) != len(got) {
		f.problem(f.size, ProblemState, "stored compact range has %d hashes, want %d for size %d", len(stored), len(got), f.size)
		return
	}
	// The range nodes are the perfect subtrees of the size's binary
	// decomposition, largest (leftmost) first.
	begin := uint64(0)
	rest := f.size
	for i := range got {
		height := 63 - bits.LeadingZeros64(rest)
		if !bytes.Equal(got[i], stored[i]) {
			f.problem(begin, ProblemState, "stored compact range hash %d (leaves [%d, %d)) is %s, recomputed %s",
				i, begin, begin+1<<height, hx(stored[i]), hx(got[i]))
		}
		begin += 1 << height
		rest &^= 1 << height
	}
}

// checkCheckpoint checks that the stored checkpoint verifies and commits to
// the recomputed tree.
func (f *fsck) checkCheckpoint(st State, root []byte, origin string, verifiers []note.Verifier) {
	cp := st.Checkpoint
	if len(cp) == 0 {
		f.problem(st.Size, ProblemCheckpoint, "no checkpoint stored (tree size %d)", st.Size)
		return
	}
	var body []byte
	if len(verifiers) > 0 {
		n, err := note.Open(cp, note.VerifierList(verifiers...))
		if err != nil {
			f.problem(st.Size, ProblemCheckpoint, "does not verify with the given keys: %v", err)
			return
		}
		for _, v := range verifiers {
			found := false
			for _, s := range n.Sigs {
				found = found || (s.Name == v.Name() && s.Hash == v.KeyHash())
			}
			if !found {
				f.problem(st.Size, ProblemCheckpoint, "no signature by key %s+%08x", v.Name(), v.KeyHash())
			}
		}
		body = []byte(n.Text)
	} else {
		i := bytes.Index(cp, []byte("\n\n"))
		if i < 0 {
			f.problem(st.Size, ProblemCheckpoint, "has no signature block")
			return
		}
		body = cp[:i+1]
	}
	var c log.Checkpoint
	if _, err := c.Unmarshal(body); err != nil {
		f.problem(st.Size, ProblemCheckpoint, "does not parse: %v", err)
		return
	}
	if origin != "" && c.Origin != origin {
		f.problem(st.Size, ProblemCheckpoint, "origin is %q, want %q", c.Origin, origin)
	}
	if c.Size != st.Size {
		f.problem(st.Size, ProblemCheckpoint, "size is %d, but the stored tree size is %d", c.Size, st.Size)
	}
	if !bytes.Equal(c.Hash, root) {
		b64 := base64.StdEncoding.EncodeToString
		f.problem(st.Size, ProblemCheckpoint, "root is %s, but the entries hash to %s (size %d)", b64(c.Hash), b64(root), st.Size)
	}
}
