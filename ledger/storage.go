package ledger

import "errors"

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

// Batch is one atomic, durable write: new entries at [Start, Start+len(Entries)),
// their dedup keys, the full current content of every tile the batch changed,
// and the new State with its checkpoint.
type Batch struct {
	Start     uint64
	Entries   [][]byte
	DedupKeys [][]byte // parallel to Entries
	Tiles     map[TileID][]byte
	State     State
}

// Storage is what the log needs from its backend. Implementations MUST make
// Commit atomic (all of a Batch or none of it is visible, before and after a
// crash) and durable (on return, the batch survives power loss). Reads see
// only committed data. Methods are safe for concurrent use, but Commit is
// called by one goroutine at a time.
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
	// Close releases the backend.
	Close() error
}
