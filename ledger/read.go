package ledger

import (
	"fmt"

	"github.com/transparency-dev/merkle/compact"

	"github.com/fjaledger/fja/verify/tile"
)

// Tile returns the first width hashes (32 bytes each) of hash tile
// level/index as of the latest head. A tile that the head does not fill to
// width is ErrNotFound. Tiles are immutable prefixes: the same path always
// returns the same bytes.
func (l *Log) Tile(level uint8, index uint64, width int) ([]byte, error) {
	if width < 1 || width > TileWidth || level >= 8 {
		return nil, fmt.Errorf("%w: tile level %d width %d", ErrInvalidRange, level, width)
	}
	size := l.Head().Size
	count := size >> (TileHeight * uint(level)) // complete nodes at this level
	if index > count/TileWidth || index*TileWidth+uint64(width) > count {
		return nil, fmt.Errorf("tile %d/%d width %d: tree of size %d has %d nodes at level %d: %w", level, index, width, size, count, level, ErrNotFound)
	}
	t, err := l.store.Tile(TileID{Level: level, Index: index})
	if err != nil {
		return nil, err
	}
	if len(t) < width*32 {
		return nil, fmt.Errorf("stored tile %d/%d holds %d hashes, want %d: %w", level, index, len(t)/32, width, ErrNotFound)
	}
	return t[:width*32], nil
}

// Entries returns the n entries starting at start; all must be below the
// latest head's size.
func (l *Log) Entries(start uint64, n int) ([][]byte, error) {
	size := l.Head().Size
	if n < 1 || start >= size || uint64(n) > size-start {
		return nil, fmt.Errorf("entries [%d, %d+%d) in a tree of size %d: %w", start, start, n, size, ErrNotFound)
	}
	return l.store.Entries(start, n)
}

// EntryBundle returns the C2SP entry bundle index, holding width entries.
func (l *Log) EntryBundle(index uint64, width int) ([]byte, error) {
	if width < 1 || width > TileWidth {
		return nil, fmt.Errorf("%w: bundle width %d", ErrInvalidRange, width)
	}
	if index > (1<<64-1)/TileWidth {
		return nil, fmt.Errorf("bundle %d: %w", index, ErrNotFound)
	}
	es, err := l.Entries(index*TileWidth, width)
	if err != nil {
		return nil, err
	}
	var b []byte
	for i, e := range es {
		if b, err = tile.AppendBundleEntry(b, e); err != nil {
			return nil, fmt.Errorf("ledger: entry %d: %w", index*TileWidth+uint64(i), err)
		}
	}
	return b, nil
}

// InclusionProof proves leaf index in the tree of size size, which must not
// exceed the latest head.
func (l *Log) InclusionProof(index, size uint64) ([][]byte, error) {
	_, proof, err := l.InclusionProofWithLeaf(index, size)
	return proof, err
}

// InclusionProofWithLeaf is InclusionProof, with the leaf hash of index
// taken from the level-0 hash tile the proof starts in: no entry is read.
func (l *Log) InclusionProofWithLeaf(index, size uint64) (leaf []byte, proof [][]byte, err error) {
	if cur := l.Head().Size; size > cur || index >= size {
		return nil, nil, fmt.Errorf("%w: index %d, size %d; want index < size <= %d", ErrInvalidRange, index, size, cur)
	}
	nr := l.committedNodes()
	if leaf, err = nr.node(compact.NewNodeID(0, index)); err != nil {
		return nil, nil, fmt.Errorf("ledger: leaf hash %d: %w", index, err)
	}
	if proof, err = nr.inclusion(index, size); err != nil {
		return nil, nil, err
	}
	return leaf, proof, nil
}

// InclusionProofs proves several leaves in the tree of size size, sharing
// the tile reads and hashing of their common nodes.
func (l *Log) InclusionProofs(indices []uint64, size uint64) ([][][]byte, error) {
	if cur := l.Head().Size; size > cur {
		return nil, fmt.Errorf("%w: size %d; want size <= %d", ErrInvalidRange, size, cur)
	}
	nr := l.committedNodes()
	out := make([][][]byte, len(indices))
	for i, idx := range indices {
		if idx >= size {
			return nil, fmt.Errorf("%w: index %d, size %d", ErrInvalidRange, idx, size)
		}
		p, err := nr.inclusion(idx, size)
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// ConsistencyProof proves that the tree of size from is a prefix of the
// tree of size to, which must not exceed the latest head.
func (l *Log) ConsistencyProof(from, to uint64) ([][]byte, error) {
	if cur := l.Head().Size; to > cur || from > to {
		return nil, fmt.Errorf("%w: from %d, to %d; want from <= to <= %d", ErrInvalidRange, from, to, cur)
	}
	return l.committedNodes().consistency(from, to)
}

// maxUpperNodes bounds Log.upper: about 12 MiB, every upper node of a log
// of 64M entries.
const maxUpperNodes = 1 << 18

// committedNodes is a node reader of the log's committed tiles, sharing
// the upper nodes it reads and hashes with the log's other readers.
func (l *Log) committedNodes() *nodeReader {
	nr := newNodeReader(l.store.Tile)
	nr.upper, nr.keep = l.upper, true
	return nr
}

// LeafHash is the RFC 6962 leaf hash of an entry.
func LeafHash(entry []byte) []byte { return hasher.HashLeaf(entry) }
