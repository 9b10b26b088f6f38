package ledger

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/fjaledger/fja/verify/tile"
)

// TileHeight is the tlog-tiles tile height: a tile at level L holds the
// nodes at tree height 8L, 256 of them when full.
const (
	TileHeight = tile.Height
	TileWidth  = tile.Width
)

var hasher = rfc6962.DefaultHasher

var rangeFactory = &compact.RangeFactory{Hash: hashChildren}

// hashChildren is hasher.HashChildren (RFC 6962: SHA-256 of 0x01, left,
// right) with one allocation, the hash it returns, where the hasher also
// allocates a hash state: the sequencer's compact range hashes a node or
// two for every entry.
func hashChildren(left, right []byte) []byte {
	h, ok := nodeHash(left, right)
	if !ok {
		return hasher.HashChildren(left, right)
	}
	return h[:]
}

// nodeHash is RFC 6962's hash of the inner node over two 32-byte hashes,
// computed on the stack; ok is false for children of other lengths (the
// log never makes them), which are left to the hasher.
func nodeHash(left, right []byte) (h [sha256.Size]byte, ok bool) {
	if len(left) != sha256.Size || len(right) != sha256.Size {
		return h, false
	}
	var buf [1 + 2*sha256.Size]byte
	buf[0] = rfc6962.RFC6962NodeHashPrefix
	copy(buf[1:], left)
	copy(buf[1+sha256.Size:], right)
	return sha256.Sum256(buf[:]), true
}

// nodeReader computes node hashes of perfect subtrees from hash tiles.
// Nodes at tile levels are read straight from a tile; nodes between tile
// levels are hashed up from the tile below and memoised, so the proofs of a
// whole batch share the work. A nodeReader is used by one goroutine and
// then dropped; it only ever reads nodes that are complete in the tree, so
// it never sees a hash that can change.
type nodeReader struct {
	tile  func(TileID) ([]byte, error)
	tiles map[TileID][]byte
	memo  map[compact.NodeID][]byte
	// upper, if set, holds the nodes above the first tile level (upper
	// nodes) of the log, shared by its readers; a reader of committed
	// tiles only (keep) adds the upper nodes it hashes.
	upper *upperNodes
	keep  bool
	arena []byte // where hashed nodes are kept, 32 bytes each
}

func newNodeReader(tile func(TileID) ([]byte, error)) *nodeReader {
	return &nodeReader{tile: tile, tiles: map[TileID][]byte{}, memo: map[compact.NodeID][]byte{}}
}

func (r *nodeReader) node(id compact.NodeID) ([]byte, error) {
	if id.Level%TileHeight == 0 {
		tid := TileID{Level: uint8(id.Level / TileHeight), Index: id.Index >> TileHeight}
		t, ok := r.tiles[tid]
		if !ok {
			var err error
			if t, err = r.tile(tid); err != nil {
				return nil, fmt.Errorf("tile %d/%d: %w", tid.Level, tid.Index, err)
			}
			r.tiles[tid] = t
		}
		off := int(id.Index%TileWidth) * 32
		if len(t) < off+32 {
			return nil, fmt.Errorf("tile %d/%d holds %d hashes, want > %d: %w", tid.Level, tid.Index, len(t)/32, off/32, ErrNotFound)
		}
		return t[off : off+32], nil
	}
	if h, ok := r.memo[id]; ok {
		return h, nil
	}
	upper := r.upper != nil && id.Level > TileHeight
	if upper {
		if h, ok := r.upper.get(id); ok {
			return r.keepHash(&h), nil
		}
	}
	left, err := r.node(compact.NewNodeID(id.Level-1, 2*id.Index))
	if err != nil {
		return nil, err
	}
	right, err := r.node(compact.NewNodeID(id.Level-1, 2*id.Index+1))
	if err != nil {
		return nil, err
	}
	h := r.hashChildren(left, right)
	r.memo[id] = h
	if upper && r.keep {
		r.upper.put(id, h)
	}
	return h, nil
}

// hashChildren is hasher.HashChildren (RFC 6962: SHA-256 of 0x01, left,
// right) without an allocation per node: the hash is kept in r's arena.
func (r *nodeReader) hashChildren(left, right []byte) []byte {
	sum, ok := nodeHash(left, right)
	if !ok {
		return hasher.HashChildren(left, right)
	}
	return r.keepHash(&sum)
}

// keepHash copies h into r's arena and returns the copy (one allocation
// per 64 hashes, not one per hash).
func (r *nodeReader) keepHash(h *[32]byte) []byte {
	if len(r.arena)+32 > cap(r.arena) {
		r.arena = make([]byte, 0, 64*32)
	}
	r.arena = append(r.arena, h[:]...)
	return r.arena[len(r.arena)-32 : len(r.arena) : len(r.arena)]
}

// upperNodes keeps the hashes of a log's upper nodes, those above the
// first tile level that are not in a tile themselves: 255 of them are
// hashed from the 256 nodes of a full level-1 tile, and one in 256 nodes
// of the tree is one. An inclusion or consistency proof needs a few of them
// per tile level above the first; kept here, a proof hashes only the
// nodes inside the one level-0 tile it reaches into, and its cost stops
// growing with the tree's tile levels. The nodes of complete subtrees never
// change, so nothing kept goes stale. At most max are kept (then the map is
// dropped and refilled): a log of max × 256 entries keeps all of them.
type upperNodes struct {
	mu  sync.RWMutex
	m   map[compact.NodeID][32]byte
	max int
}

func newUpperNodes(max int) *upperNodes {
	return &upperNodes{m: map[compact.NodeID][32]byte{}, max: max}
}

// get returns a kept node's hash, by value: the map holds arrays, nothing
// for the collector to scan, and a caller copies the hash where it keeps
// hashes (nodeReader.keepHash) rather than into an allocation of its own.
func (u *upperNodes) get(id compact.NodeID) ([32]byte, bool) {
	u.mu.RLock()
	h, ok := u.m[id]
	u.mu.RUnlock()
	return h, ok
}

func (u *upperNodes) put(id compact.NodeID, h []byte) {
	u.mu.Lock()
	if len(u.m) >= u.max {
		clear(u.m)
	}
	u.m[id] = [32]byte(h)
	u.mu.Unlock()
}

func (r *nodeReader) rehash(nodes proof.Nodes) ([][]byte, error) {
	hashes := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		h, err := r.node(id)
		if err != nil {
			return nil, err
		}
		hashes[i] = h
	}
	// The ephemeral node a proof may need is hashed into r's arena too.
	return nodes.Rehash(hashes, r.hashChildren)
}

// inclusion returns the inclusion proof of leaf index in the tree of size size.
func (r *nodeReader) inclusion(index, size uint64) ([][]byte, error) {
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, errors.Join(ErrInvalidRange, err)
	}
	return r.rehash(nodes)
}

// consistency returns the consistency proof between tree sizes from and to.
func (r *nodeReader) consistency(from, to uint64) ([][]byte, error) {
	nodes, err := proof.Consistency(from, to)
	if err != nil {
		return nil, errors.Join(ErrInvalidRange, err)
	}
	return r.rehash(nodes)
}

// edgeTiles holds, for each tile level, the tile that receives the next
// node of that level: the right edge of the tree. It is all of the tree the
// sequencer keeps in memory besides the compact range.
type edgeTiles map[uint8]*edgeTile

type edgeTile struct {
	index  uint64
	hashes []byte
}

// loadEdges reads the right-edge tile of every level of a tree of the given size.
func loadEdges(s Storage, size uint64) (edgeTiles, error) {
	e := edgeTiles{}
	for level := uint8(0); ; level++ {
		count := size >> (TileHeight * uint(level)) // complete nodes at height 8*level
		if count == 0 {
			return e, nil
		}
		idx := (count - 1) / TileWidth
		t, err := s.Tile(TileID{Level: level, Index: idx})
		if err != nil {
			return nil, fmt.Errorf("right-edge tile %d/%d: %w", level, idx, err)
		}
		want := int(count-idx*TileWidth) * 32
		if len(t) < want {
			return nil, fmt.Errorf("right-edge tile %d/%d holds %d hashes, want %d", level, idx, len(t)/32, want/32)
		}
		e[level] = &edgeTile{index: idx, hashes: t[:want:want]}
	}
}

// tileWriter collects the nodes a batch adds at tile levels into copies of
// the edge tiles, leaving the originals untouched until the batch commits.
type tileWriter struct {
	edges edgeTiles
	dirty map[TileID][]byte
	err   error
}

func newTileWriter(e edgeTiles) *tileWriter {
	c := make(edgeTiles, len(e))
	for l, t := range e {
		c[l] = &edgeTile{index: t.index, hashes: t.hashes}
	}
	return &tileWriter{edges: c, dirty: map[TileID][]byte{}}
}

// visit is a compact.VisitFn.
func (w *tileWriter) visit(id compact.NodeID, h []byte) {
	if id.Level%TileHeight != 0 || w.err != nil {
		return
	}
	level := uint8(id.Level / TileHeight)
	idx, off := id.Index/TileWidth, int(id.Index%TileWidth)
	t := w.edges[level]
	if t == nil || t.index != idx {
		if off != 0 {
			w.err = fmt.Errorf("node %d/%d starts tile %d/%d at offset %d", id.Level, id.Index, level, idx, off)
			return
		}
		t = &edgeTile{index: idx, hashes: make([]byte, 0, 32*TileWidth)}
		w.edges[level] = t
	} else if len(t.hashes) != off*32 {
		w.err = fmt.Errorf("node %d/%d lands at offset %d of tile %d/%d, which holds %d", id.Level, id.Index, off, level, idx, len(t.hashes)/32)
		return
	}
	tid := TileID{Level: level, Index: idx}
	if _, ok := w.dirty[tid]; !ok {
		// First change of this tile in the batch: copy, so the committed
		// edge stays intact if the batch fails.
		t.hashes = append(make([]byte, 0, 32*TileWidth), t.hashes...)
	}
	t.hashes = append(t.hashes, h...)
	w.dirty[tid] = t.hashes
}
