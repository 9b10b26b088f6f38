package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/transparency-dev/merkle/compact"
)

// Rebuilder writes a log that already exists elsewhere (a public copy, a
// mirror) into an empty Storage: the bulk write path of a restore. It
// takes the entries in index order from 0, with the dedup and index keys
// each one's append wrote, computes the hash tiles and the compact range
// as the sequencer does, and commits in batches that fit the storage's
// BatchLimits (each Commit durable, as Storage requires).
//
// Contracts:
//   - The store MUST be empty when NewRebuilder is called (it is checked).
//   - Until Finish returns, the store is not a usable log: the commits
//     before it carry a State without a checkpoint, and ledger.Open would
//     sign a checkpoint of its own for that partial tree (a tree smaller
//     than the one the source published: a rollback to its monitors). A
//     store left by an interrupted rebuild MUST be discarded; callers
//     build in a staging directory and move it into place afterwards.
//   - Finish commits the source's signed checkpoint only if the tree
//     recomputed from the entries has its size and root hash: nothing
//     fetched is trusted beyond what that comparison proves. (The caller
//     verifies the checkpoint's signature before.)
//   - Log time never goes backwards: an entry whose LoggedAt is before the
//     previous entry's is refused.
//   - No dedup key is written twice: an entry whose key an earlier entry
//     has is refused (no log this ledger wrote holds one).
type Rebuilder struct {
	s     Storage
	lim   BatchLimits
	limOK bool

	size     uint64
	rng      *compact.Range
	edges    edgeTiles
	w        *tileWriter
	lastTime int64

	b       Batch
	keys    map[string]uint64 // dedup keys of the batch being built
	records int64
	bytes   int64
}

// RebuildEntry is one entry of a log being rebuilt and what its append
// wrote beside it.
type RebuildEntry struct {
	Entry []byte
	// Dedup says how the entry was deduplicated when it was appended:
	// DedupLeaf (Append: by its leaf hash), DedupStamped (AppendStamped,
	// with Key), or DedupNone (no key is written: the key cannot be
	// derived from the entry).
	Dedup DedupKind
	Key   []byte
	// Extra are index keys written with the entry (KV.List MUST NOT be set:
	// index lists are rebuilt by the layer that owns them).
	Extra []KV
	// LoggedAt is the entry's log time in Unix nanoseconds (0: unknown,
	// for entries that carry none).
	LoggedAt int64
}

// DedupKind says how an entry was deduplicated when it was appended.
type DedupKind int

// Dedup kinds of a RebuildEntry.
const (
	DedupLeaf DedupKind = iota
	DedupStamped
	DedupNone
)

// rebuildMaxEntries bounds the entries of one rebuild commit, so that the
// tiles it changes are bounded too.
const rebuildMaxEntries = 4096

// ErrNotEmpty is returned by NewRebuilder for a store that holds a log.
var ErrNotEmpty = errors.New("ledger: the store is not empty")

// NewRebuilder starts a rebuild into s, which MUST be empty.
func NewRebuilder(s Storage) (*Rebuilder, error) {
	st, err := s.Load()
	if err != nil {
		return nil, err
	}
	if st.Size != 0 || st.Checkpoint != nil {
		return nil, fmt.Errorf("%w: it holds a tree of size %d", ErrNotEmpty, st.Size)
	}
	r := &Rebuilder{s: s, rng: rangeFactory.NewEmptyRange(0), edges: edgeTiles{}}
	if bl, ok := s.(BatchLimiter); ok {
		r.lim, r.limOK = bl.BatchLimits(), true
	}
	r.reset()
	return r, nil
}

func (r *Rebuilder) reset() {
	r.b = Batch{Start: r.size}
	r.w = newTileWriter(r.edges)
	r.keys = map[string]uint64{}
	// Reserve what the tiles and the state of a full commit can take.
	r.records = maxBatchTiles(rebuildMaxEntries) + 1
	r.bytes = maxBatchTiles(rebuildMaxEntries)*r.lim.cost(9, TileWidth*32) + r.lim.cost(0, maxStateBytes)
}

// Size is the number of entries added so far.
func (r *Rebuilder) Size() uint64 { return r.size }

// storeKey is the dedup key as the Storage keeps it (see Log.Append and
// Log.AppendStamped), nil for DedupNone.
func (e *RebuildEntry) storeKey() ([]byte, error) {
	switch e.Dedup {
	case DedupLeaf:
		return append([]byte{'h'}, hasher.HashLeaf(e.Entry)...), nil
	case DedupStamped:
		if len(e.Key) == 0 || len(e.Key) > MaxKeySize {
			return nil, fmt.Errorf("dedup key of %d bytes, want 1..%d", len(e.Key), MaxKeySize)
		}
		return append([]byte{'k'}, e.Key...), nil
	case DedupNone:
		return nil, nil
	}
	return nil, fmt.Errorf("unknown dedup kind %d", e.Dedup)
}

// Add appends the next entry (index Size()).
func (r *Rebuilder) Add(e RebuildEntry) error {
	idx := r.size
	if len(e.Entry) > MaxEntrySize {
		return fmt.Errorf("ledger: rebuild: entry %d: %w: got %d bytes", idx, ErrTooLarge, len(e.Entry))
	}
	if e.LoggedAt != 0 && e.LoggedAt < r.lastTime {
		return fmt.Errorf("ledger: rebuild: entry %d is logged at %d ns, before the entry before it (%d ns): log time went backwards", idx, e.LoggedAt, r.lastTime)
	}
	key, err := e.storeKey()
	if err != nil {
		return fmt.Errorf("ledger: rebuild: entry %d: %w", idx, err)
	}
	if key != nil {
		first, dup := r.keys[string(key)]
		if !dup {
			var err error
			if first, dup, err = r.s.Lookup(key); err != nil {
				return fmt.Errorf("ledger: rebuild: entry %d: dedup lookup: %w", idx, err)
			}
		}
		if dup {
			return fmt.Errorf("ledger: rebuild: entry %d has the dedup key %q of entry %d: no log this ledger wrote holds two", idx, key, first)
		}
	}
	records, bytes := int64(1), r.lim.cost(8, len(e.Entry))
	if key != nil {
		records++
		bytes += r.lim.cost(len(key), 8)
	}
	for _, kv := range e.Extra {
		if kv.List {
			return fmt.Errorf("ledger: rebuild: entry %d: index list %q given as an Extra key; lists are rebuilt by their owner", idx, kv.Key)
		}
		records++
		bytes += r.lim.cost(len(kv.Key), len(kv.Value))
	}
	if !r.fits(records, bytes) {
		if len(r.b.Entries) == 0 {
			return fmt.Errorf("ledger: rebuild: entry %d and its %d keys exceed what the storage commits at once", idx, records-1)
		}
		if err := r.flush(State{}); err != nil {
			return err
		}
		if !r.fits(records, bytes) {
			return fmt.Errorf("ledger: rebuild: entry %d and its %d keys exceed what the storage commits at once", idx, records-1)
		}
	}
	if err := r.rng.Append(hasher.HashLeaf(e.Entry), r.w.visit); err != nil {
		return fmt.Errorf("ledger: rebuild: append leaf %d: %w", idx, err)
	}
	if r.w.err != nil {
		return fmt.Errorf("ledger: rebuild: tiles: %w", r.w.err)
	}
	r.b.Entries = append(r.b.Entries, e.Entry)
	r.b.DedupKeys = append(r.b.DedupKeys, key)
	r.b.Extra = append(r.b.Extra, e.Extra...)
	if key != nil {
		r.keys[string(key)] = idx
	}
	r.records += records
	r.bytes += bytes
	r.size++
	if e.LoggedAt != 0 {
		r.lastTime = e.LoggedAt
	}
	return nil
}

// fits reports whether a record count and byte cost fit the commit being
// built.
func (r *Rebuilder) fits(records, bytes int64) bool {
	if len(r.b.Entries) >= rebuildMaxEntries {
		return false
	}
	if !r.limOK {
		return true
	}
	return (r.lim.MaxRecords == 0 || r.records+records <= r.lim.MaxRecords) &&
		(r.lim.MaxBytes == 0 || r.bytes+bytes <= r.lim.MaxBytes)
}

// flush commits the batch being built with state st (the current size,
// range and log time are filled in) and starts the next.
func (r *Rebuilder) flush(st State) error {
	st.Size, st.Range, st.LastTime = r.size, slices.Clone(r.rng.Hashes()), r.lastTime
	r.b.Tiles, r.b.State = r.w.dirty, st
	if err := r.s.Commit(&r.b); err != nil {
		return fmt.Errorf("ledger: rebuild: commit of entries [%d, %d): %w", r.b.Start, r.size, err)
	}
	r.edges = r.w.edges
	r.reset()
	return nil
}

// Finish commits what is left with the signed checkpoint cp of the
// source, whose signature the caller verified, once the recomputed tree
// has the checkpoint's origin (when origin is not empty), size and root.
// The store is then a log that ledger.Open resumes.
func (r *Rebuilder) Finish(cp []byte, origin string) error {
	c, err := CheckpointBody(cp)
	if err != nil {
		return fmt.Errorf("ledger: rebuild: the %w", err)
	}
	root := rootOf(r.rng)
	switch {
	case origin != "" && c.Origin != origin:
		return fmt.Errorf("ledger: rebuild: the checkpoint's origin is %q, want %q", c.Origin, origin)
	case c.Size != r.size:
		return fmt.Errorf("ledger: rebuild: the checkpoint is for a tree of size %d, %d entries were added", c.Size, r.size)
	case !bytes.Equal(c.Hash, root):
		return fmt.Errorf("ledger: rebuild: the %d entries hash to root %x, the checkpoint commits to %x: the entries are not the log's", r.size, root, c.Hash)
	}
	return r.flush(State{Checkpoint: bytes.Clone(cp)})
}

// RootAt returns the root hash of the first size leaves of the log stored
// in s, from its hash tiles (size at most the stored tree's): to check a
// stored log against a checkpoint of an earlier size.
func RootAt(s Storage, size uint64) ([]byte, error) {
	st, err := s.Load()
	if err != nil {
		return nil, err
	}
	if size > st.Size {
		return nil, fmt.Errorf("%w: size %d, the stored tree has %d leaves", ErrInvalidRange, size, st.Size)
	}
	nr := newNodeReader(s.Tile)
	ids := compact.RangeNodes(0, size, nil)
	hashes := make([][]byte, len(ids))
	for i, id := range ids {
		if hashes[i], err = nr.node(id); err != nil {
			return nil, err
		}
	}
	rng, err := rangeFactory.NewRange(0, size, hashes)
	if err != nil {
		return nil, err
	}
	return rootOf(rng), nil
}
