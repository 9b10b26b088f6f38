package ledger

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// MaxEntrySize is the largest entry the log takes: tlog-tiles entry bundles
// prefix each entry with a big-endian uint16 length.
const MaxEntrySize = 1<<16 - 1

// Config configures a Log. Zero values of the tuning fields take the
// documented defaults.
type Config struct {
	// Origin is the checkpoint origin line, e.g. "ledger.example.org/fja/2026".
	Origin string
	// Signers sign every checkpoint. The first MUST be the log's Ed25519
	// key (note algorithm 0x01, the one C2SP witnesses accept); further
	// signers (e.g. an ECDSA P-256 KMS key) add signatures.
	Signers []note.Signer
	// Storage is the backend; the Log owns it and closes it on Close.
	Storage Storage
	// MaxBatch is the most entries integrated in one commit (default 1024).
	MaxBatch int
	// MaxBatchBytes bounds the entry bytes of one commit (default 8 MiB).
	// Open refuses a MaxBatch and MaxBatchBytes whose worst-case batch a
	// Storage that is a BatchLimiter cannot commit at once.
	MaxBatchBytes int
	// MaxDelay is how long the sequencer waits for a batch to fill once its
	// first entry arrived (default 2ms).
	MaxDelay time.Duration
	// MaxPending is how many appends may wait for the sequencer before Append
	// pushes back with ErrPushback (default 16 × MaxBatch).
	MaxPending int
	// Presync, when set, is called once for every batch after it was cut
	// and before it is signed and committed. When it returns, every write
	// the layers above made before submitting the batch's appends MUST be
	// durable (the audit layer makes the keys of a batch's private content
	// durable here: one fsync per batch, never a record without its key).
	// An error fails the batch's appends and changes nothing in the log.
	// It MAY run while the previous batch's commit is in flight.
	Presync func() error
	// Now is the log clock (default time.Now). Log time never goes backwards
	// even if Now does.
	Now func() time.Time
	// Logger receives operational messages (default slog.Default()).
	Logger *slog.Logger
	// Frozen opens a log that was frozen (a shard rotated away from, see
	// package ledger/shard): it serves reads of its stored tree and
	// checkpoint, signs nothing, and refuses every append with ErrFrozen.
	// Signers may be empty; the stored checkpoint MUST exist.
	Frozen bool
}

func (c *Config) setDefaults() {
	if c.MaxBatch == 0 {
		c.MaxBatch = 1024
	}
	if c.MaxBatchBytes == 0 {
		c.MaxBatchBytes = 8 << 20
	}
	if c.MaxDelay == 0 {
		c.MaxDelay = 2 * time.Millisecond
	}
	if c.MaxPending == 0 {
		c.MaxPending = 16 * c.MaxBatch
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports the first thing wrong with c (after defaults are applied).
func (c Config) Validate() error {
	c.setDefaults()
	switch {
	case c.Origin == "":
		return errors.New("ledger: Origin is empty, want the checkpoint origin line")
	case len(c.Signers) == 0 && !c.Frozen:
		return errors.New("ledger: no Signers, want at least the log's Ed25519 signer")
	case c.Storage == nil:
		return errors.New("ledger: Storage is nil")
	case c.MaxBatch < 1:
		return fmt.Errorf("ledger: MaxBatch is %d, want >= 1", c.MaxBatch)
	case c.MaxBatchBytes < MaxEntrySize:
		return fmt.Errorf("ledger: MaxBatchBytes is %d, want >= %d", c.MaxBatchBytes, MaxEntrySize)
	case c.MaxDelay < 0:
		return fmt.Errorf("ledger: MaxDelay is %v, want >= 0", c.MaxDelay)
	case c.MaxPending < 1:
		return fmt.Errorf("ledger: MaxPending is %d, want >= 1", c.MaxPending)
	}
	if len(c.Signers) == 0 {
		return nil // frozen: signs nothing
	}
	if n := c.Signers[0].Name(); n != c.Origin {
		return fmt.Errorf("ledger: first signer is named %q, want the origin %q", n, c.Origin)
	}
	_, err := c.stampBudget()
	return err
}

// Bounds on what one stamped entry brings to its batch, so that the worst
// case of a batch is known when the log opens (see BatchLimiter). A stamp
// that exceeds them fails its own append only.
const (
	// MaxExtraPerEntry is the most index keys a StampFunc may return for
	// one entry. The audit layer writes at most 521 for a decision: six
	// postings, one per distinct rule and per distinct provenance flag
	// (at most 256 of each by schema), a summary, the request digest and
	// the sealed private content.
	MaxExtraPerEntry = 1024
	// MaxKeySize is the longest dedup key AppendStamped takes and the
	// longest index key a StampFunc may return (Badger refuses keys over
	// 65000 bytes at commit time, which would stop the log). The audit
	// layer's keys are under 400 bytes.
	MaxKeySize = 4096
	// MaxDedupValue is the longest value a StampFunc may store with an
	// entry's dedup key (KV.Dedup). The audit layer's request digests are
	// 32 bytes.
	MaxDedupValue = 64
)

// BatchLimiter is implemented by a Storage whose Commit refuses a batch
// beyond fixed limits (Badger refuses a transaction that is too big). Open
// refuses a Config whose worst-case batch could exceed them, and the
// sequencer keeps each batch's stamped entries within what is left, so no
// Commit fails because of its size.
type BatchLimiter interface {
	BatchLimits() BatchLimits
}

// BatchLimits are a backend's limits on one Commit and how it counts a
// Batch against them. Every record of a Batch (an entry, a dedup key, a
// tile, the state, an Extra key) counts once toward MaxRecords and, toward
// MaxBytes, at most
//
//	keyLen + min(valueLen, ValueCap) + RecordOverhead
//
// where keyLen is 8 for an entry (its index), 9 for a tile (level and
// index), 0 for the state, and the key's length for a dedup or Extra key.
// A zero MaxRecords or MaxBytes is no limit; a zero ValueCap counts values
// in full.
type BatchLimits struct {
	MaxRecords, MaxBytes     int64
	ValueCap, RecordOverhead int64
}

// cost is the most a record counts toward MaxBytes.
func (bl BatchLimits) cost(keyLen, valueLen int) int64 {
	v := int64(valueLen)
	if bl.ValueCap > 0 {
		v = min(v, bl.ValueCap)
	}
	return int64(keyLen) + v + bl.RecordOverhead
}

// maxStateBytes bounds the encoded State: size, time, a compact range of at
// most 64 hashes, and a checkpoint (a few hundred bytes per signer).
const maxStateBytes = 17 + 64*32 + 16<<10

// maxBatchTiles is the most tiles a batch of n entries can change: at each
// of the 8 tile levels, the tiles spanned by the n leaves' range plus the
// partial tile at either edge.
func maxBatchTiles(n int) int64 {
	var tiles int64
	span := uint64(TileWidth)
	for level := 0; level < 8; level++ {
		tiles += int64(uint64(n-1)/span) + 2
		if span > (1<<64-1)/TileWidth {
			span = 1<<64 - 1
		} else {
			span *= TileWidth
		}
	}
	return tiles
}

// stampBudget is what the stamped entries of one batch may add, in the
// backend's terms, on top of the worst case of everything else (zero
// fields: unlimited).
type stampBudget struct {
	limits         BatchLimits
	records, bytes int64
}

// stampBudget checks the worst-case batch of c against its Storage's
// BatchLimits, if it has any, and returns what is left for stamped
// entries' dedup and index keys. The worst case is MaxBatch entries with
// plain dedup keys and the most entry bytes the sequencer can let into a
// batch (twice MaxBatchBytes: plain appends are admitted by size before
// any stamp runs), every tile a batch can change, and the state; what is
// left must take at least one stamped entry at the per-entry bounds.
func (c *Config) stampBudget() (stampBudget, error) {
	bl, ok := c.Storage.(BatchLimiter)
	if !ok {
		return stampBudget{}, nil
	}
	lim := bl.BatchLimits()
	n := int64(c.MaxBatch)
	tiles := maxBatchTiles(c.MaxBatch)
	records := 2*n + tiles + 1
	entryBytes := 2*int64(c.MaxBatchBytes) + MaxEntrySize
	if lim.ValueCap > 0 {
		entryBytes = min(entryBytes, n*min(lim.ValueCap, MaxEntrySize))
	}
	bytes := n*lim.cost(8, 0) + entryBytes + // entries
		n*lim.cost(1+32, 8) + // plain dedup keys: 'h' and a leaf hash
		tiles*lim.cost(9, TileWidth*32) +
		lim.cost(0, maxStateBytes)
	// One stamped entry at the bounds: a dedup key and MaxExtraPerEntry
	// index keys of MaxKeySize (values as large as ValueCap counts them;
	// uncapped values are checked per entry at run time only).
	// (A list item counts as a block of its own: its key is 8 bytes longer.)
	oneRecords := int64(1 + MaxExtraPerEntry)
	oneBytes := oneRecords * lim.cost(MaxKeySize+8, 0)
	if lim.ValueCap > 0 {
		oneBytes = oneRecords * lim.cost(MaxKeySize+8, int(lim.ValueCap))
	}
	if lim.MaxRecords > 0 && records+oneRecords > lim.MaxRecords {
		return stampBudget{}, fmt.Errorf("ledger: a batch of MaxBatch %d entries can write %d records in one commit (%d entries and dedup keys, %d tiles, the state, and %d for one stamped entry at MaxExtraPerEntry), the storage commits at most %d records: lower MaxBatch",
			c.MaxBatch, records+oneRecords, 2*n, tiles, oneRecords, lim.MaxRecords)
	}
	if lim.MaxBytes > 0 && bytes+oneBytes > lim.MaxBytes {
		return stampBudget{}, fmt.Errorf("ledger: a batch of MaxBatch %d entries and MaxBatchBytes %d can count %d bytes in one commit (%d of them for one stamped entry at MaxExtraPerEntry keys of MaxKeySize), the storage commits at most %d bytes: lower MaxBatch or MaxBatchBytes, or give the storage larger transactions",
			c.MaxBatch, c.MaxBatchBytes, bytes+oneBytes, oneBytes, lim.MaxBytes)
	}
	b := stampBudget{limits: lim}
	if lim.MaxRecords > 0 {
		b.records = lim.MaxRecords - records
	}
	if lim.MaxBytes > 0 {
		b.bytes = lim.MaxBytes - bytes
	}
	return b, nil
}
