package ledger

import (
	"context"
	"errors"
)

// ErrNotFound is returned by Storage reads for a key, tile or entry that is
// not stored.
var ErrNotFound = errors.New("not found")

// TileID names a hash tile: level L holds the tree nodes at height 8L.
type TileID struct {
	Level uint8
	Index uint64
}

// State is everything the sequencer needs to resume a log.
type State struct {
	// Size is the number of leaves integrated.
	Size uint64
	// Range holds the hashes of the compact range [0, Size), left to right.
	Range [][]byte
	// LastTime is the log time of the last entry, in Unix nanoseconds.
	LastTime int64
	// Checkpoint is the signed checkpoint for Size (nil while Size is 0 and
	// nothing was ever signed).
	Checkpoint []byte
}

// KV is an index key and its value. Index keys live in their own namespace
// beside the log's own keys; the audit layer keeps its indexes and sealed
// private content there.
//
// A KV that a StampFunc returns with List set is not a key but an item of
// the index list named Key: the entry's index, with Value. The sequencer
// stores the items each batch gives one list as one list block (list.go),
// so that a list costs one stored key per batch, not one per entry; a
// stamp MUST NOT give one list two items. List is for StampFunc results
// only: IndexStore.Update writes keys as they are.
//
// A KV that a StampFunc returns with Dedup set is not a key either: its
// Value (at most MaxDedupValue bytes; Key unused) is stored with the
// entry's dedup key, after its index, and read back by Log.DedupValue.
// A stamp returns at most one. For a small value only ever read through
// the entry's key, it spares the backend one key an entry.
type KV struct {
	Key, Value []byte
	List       bool
	Dedup      bool
}

// Batch is one atomic, durable write: new entries at [Start, Start+len(Entries)),
// their dedup keys, the full current content of every tile the batch changed,
// the new State with its checkpoint, and the index keys of the new entries.
// Extra is written in order: a key that occurs more than once in it holds
// its last value.
// State.Size is Start+len(Entries), and the tiles are those of the tree of
// that size: a tile at level L holds the nodes at height 8L, as many as
// the size implies (so a backend may derive a tile's width from the size).
type Batch struct {
	Start     uint64
	Entries   [][]byte
	DedupKeys [][]byte // parallel to Entries
	// DedupValues, if not nil, is parallel to Entries: each is stored
	// with the entry's dedup key, after its index (nil: nothing).
	DedupValues [][]byte
	Tiles       map[TileID][]byte
	State       State
	Extra       []KV
}

// Storage is what the log needs from its backend. Implementations MUST make
// Commit atomic (all of a Batch or none of it is visible, before and after a
// crash) and durable (on return, the batch survives power loss). Reads see
// only committed data and never wait for a Commit in flight. Methods are
// safe for concurrent use, but Commit is called by one goroutine at a time.
//
// A Batch's Extra keys are written with it; the layers above read and
// change them through the IndexStore the backend also provides.
type Storage interface {
	// Load returns the committed State; the zero State for a new log.
	Load() (State, error)
	// Commit writes b atomically and durably.
	Commit(b *Batch) error
	// Tile returns the stored hashes of a tile (32 bytes each, at most 256),
	// or ErrNotFound.
	Tile(id TileID) ([]byte, error)
	// Entries returns the n entries starting at index start, or ErrNotFound
	// if any of them is not stored.
	Entries(start uint64, n int) ([][]byte, error)
	// Lookup returns the index stored for a dedup key.
	Lookup(key []byte) (index uint64, ok bool, err error)
	// DedupValue returns the value stored with a dedup key after its
	// index (Batch.DedupValues; empty if none), ok false if the key is not
	// stored.
	DedupValue(key []byte) (value []byte, ok bool, err error)
	// Close releases the backend.
	Close() error
}

// IndexStore is the namespace of index keys beside the log (the Extra of
// each Batch), as the layers above use it. Reads see a committed snapshot;
// a read never blocks a Commit and a Commit never blocks a read, however
// long the read runs.
type IndexStore interface {
	// Get returns the value of an index key, or ErrNotFound.
	Get(key []byte) ([]byte, error)
	// Scan calls fn for every index key with prefix that is >= start (nil:
	// from the first), in key order, on one snapshot, until fn returns
	// false or ctx is done (then it returns ctx's error). fn MUST NOT
	// retain key or value.
	Scan(ctx context.Context, prefix, start []byte, fn func(key, value []byte) bool) error
	// Update sets and deletes index keys, atomically and durably, outside
	// any batch.
	Update(set []KV, del [][]byte) error
}
