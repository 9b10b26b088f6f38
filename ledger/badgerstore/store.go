// Package badgerstore is the ledger's embedded storage on Badger v4.
//
// The entries and hash tiles are not in Badger but in append-only files in
// the subdirectory "log" (package logfiles), read with pread: Badger maps
// every file it holds into memory, so keeping the log's bulk out of it keeps
// the server's memory from growing with the log, and a proof reads a tile
// with one pread instead of an LSM lookup; what Badger maps of its own
// files is held to Config.MappedBudget resident (mappedTrimmer). Badger
// holds the small keys (all integers big-endian, so keys sort in index
// order):
//
//	"d" | dedup key           index(8) of the first entry with that key
//	"s"                       encoded ledger.State
//	"f"                       the layout: "logfiles-1"
//	"x" | key                 index keys (ledger.KV) of the layers above
//
// A store written before the log files (no "f" key) kept entries under
// "e" | index(8) and tiles under "t" | level(1) | index(8); Open moves them
// into the files once.
//
// Every Commit first appends the whole batch — entries, new tile hashes,
// Badger keys — to a write-ahead journal in the log directory and makes it
// durable with one fdatasync, then writes the entries and hashes to the
// files and the rest in one Badger transaction (whose state names the new
// size), syncing neither: a checkpoint syncs both and empties the journal
// every 32 MiB of it, before every Update and at Close, and Open replays
// the journal after a crash (journal.go). So a batch is atomic (a torn
// journal record was never acknowledged and is cut; the files' bytes past
// the committed size are ignored and cut at the next Open) and on disk
// when Commit returns, after one sync instead of two in a row. A write
// that fails once its batch is in the journal, or a failed checkpoint,
// stops the store (ErrWriteFailed), so that nothing is acknowledged that
// may not be on disk. (Badger's syncs all return their errors here: the
// one it only logs, of its value log, happens only with SyncWrites.)
//
// Reads go through a shared read-only snapshot that is replaced after every
// Commit and Update, before they return: a read sees everything committed
// before it started, and never waits for a commit in flight (a fresh Badger
// read transaction waits for every commit that has its timestamp, fsync
// included; the sequencer keeps one in flight nearly all the time).
// Snapshots are reference counted: a reader takes a reference under a
// short lock and reads without any lock, so a long Scan never delays a
// Commit (nor, through a waiting writer, other readers). The installed
// snapshot's read timestamp never goes backwards.
package badgerstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/journal"
	"github.com/fjaledger/fja/ledger/logfiles"
)

// Config configures the Badger store.
type Config struct {
	// Dir is the Badger directory; it is created if missing.
	Dir string
	// Logger receives Badger's errors and warnings, and its info messages
	// at debug level (see badgerLogger); nil discards them.
	Logger *slog.Logger
	// MemTableSize is the size of Badger's memtables (default 64 MiB).
	// One commit takes at most 15% of it (see BatchLimits), which bounds
	// the ledger's batches: with its per-entry bounds (one stamped entry
	// may count 5 MB) the ledger needs about 42 MiB, and ledger.Open
	// refuses a store too small for its Config. Badger's memory is about
	// four times MemTableSize: two memtables (each in an arena about a
	// third larger) and the table builder of a flush, plus compactions'
	// builders of 2 MiB tables.
	MemTableSize int64
	// MappedBudget bounds the resident pages of Badger's tables and value
	// log files, which it maps into memory: past it, the store hands the
	// oldest back to the kernel (see mappedTrimmer). 0: DefaultMappedBudget
	// (256 MiB); negative: no bound. Linux only; elsewhere, and on a kernel
	// without MADV_PAGEOUT, the store logs a warning once and goes on.
	MappedBudget int64
}

// Validate reports what is missing from c.
func (c Config) Validate() error {
	if c.Dir == "" {
		return errors.New("badgerstore: Dir is empty, want a directory path")
	}
	if c.MemTableSize != 0 && c.MemTableSize < 1<<20 {
		return fmt.Errorf("badgerstore: MemTableSize is %d, want 0 (default) or at least 1 MiB", c.MemTableSize)
	}
	return nil
}

// Store implements ledger.Storage and ledger.IndexStore on Badger.
type Store struct {
	db     *badger.DB
	files  *logfiles.Files
	dir    string
	logger *slog.Logger // nil: none

	// writeMu orders Commit, Update and Close; under it:
	writeMu sync.Mutex
	journal *journal.Journal // see journal.go
	jbuf    []byte           // the record being appended
	failed  error            // a write failed after its journal record: no more writes
	opened  bool             // Open replayed the journal: Close may checkpoint

	snapMu  sync.Mutex     // guards snap; never held across a read
	snap    *snapshot      // as of the last Commit or Update; nil once closed
	readers sync.WaitGroup // reads in progress: Close waits for them

	trimStop chan struct{} // closed by Close; nil if no trimmer runs
	trimDone chan struct{} // closed when the trimmer has ended
}

var (
	_ ledger.Storage      = (*Store)(nil)
	_ ledger.IndexStore   = (*Store)(nil)
	_ ledger.BatchLimiter = (*Store)(nil)
)

// snapshot is a read-only Badger transaction shared by readers. The Store
// holds one reference while it is the installed snapshot, each reader one
// while it reads; the last release discards the transaction.
type snapshot struct {
	txn  *badger.Txn
	refs atomic.Int64
}

func (sn *snapshot) release() {
	if sn.refs.Add(-1) == 0 {
		sn.txn.Discard()
	}
}

// OpenExisting opens the existing store in dir for an offline tool
// (fsck, reindex): it never creates one, and Badger's directory lock error
// (ledgerd, or another tool, has the store open) becomes advice to stop
// it first. Like Open, it moves the entries and tiles of a store written
// before the log files into them.
func OpenExisting(dir string) (*Store, error) {
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST")); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no ledger store in %s (no Badger MANIFEST file)", dir)
		}
		return nil, err
	}
	st, err := Open(Config{Dir: dir})
	if err != nil {
		// Badger formats the flock error into its message instead of
		// wrapping it.
		if strings.Contains(err.Error(), "Cannot acquire directory lock") {
			return nil, fmt.Errorf("%s is locked by another process: is ledgerd running? Stop it before running fsck (%w)", dir, err)
		}
		return nil, err
	}
	return st, nil
}

// Open opens (or creates) the store in c.Dir.
func Open(c Config) (*Store, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	mem := c.MemTableSize
	if mem == 0 {
		mem = 64 << 20
	}
	opts := badger.DefaultOptions(c.Dir).
		// No sync on Badger's writes: a commit is durable in the journal
		// first, and checkpoints sync Badger (journal.go).
		WithSyncWrites(false).
		WithLogger(badgerLogger{l: c.Logger}).
		WithMetricsEnabled(false).
		WithMemTableSize(mem).
		WithNumCompactors(2).
		// Values over 256 bytes (sealed private content, batch summaries)
		// go to the value log, which is never compacted: the LSM tree keeps
		// the small keys only, so its compactions, which grow with the
		// log, cost less. No block compression: the keys are hashes and
		// ids with their prefixes already shared per block, so compressing
		// spent CPU for little (make scale-grow, issue 10).
		WithValueThreshold(256).
		WithCompression(options.None).
		// No block cache: blocks are neither compressed nor encrypted, so a
		// read takes them straight from the table's memory map. Badger's
		// cache would only add work: it counts a cached block at the rest of
		// its table's mapping (the block is a slice of it), so it held a few
		// blocks at a time, each evicted within seconds, and warned "Block
		// cache might be too small" every minute under load.
		WithBlockCacheSize(0).
		// Badger's own memory is bounded, not grown with the tree (issue
		// 10, docs/scale-bounded.md). Two memtables: the one written and
		// the one being flushed. Under make scale-grow's load a memtable
		// fills in about ten seconds (a new level-0 table every ~10 s) and
		// a flush takes about 0.5 s of CPU (profiled); more memtables would
		// only hold writes while a flush waits on a stalled level 0.
		WithNumMemtables(2).
		// No conflict detection: no write transaction of this store reads
		// (Commit, Update and the layout mark only set and delete keys),
		// so none can conflict, and detecting conflicts would only hash
		// every key written into a map kept until older snapshots end.
		WithDetectConflicts(false)
	// Tables of BaseTableSize at every level (Badger doubles them at each
	// level below the base by default): a compaction holds each table it
	// builds in memory, up to 8 at once, so deeper levels would need more.
	opts.TableSizeMultiplier = 1
	db, err := badger.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("badgerstore: open %s: %w", c.Dir, err)
	}
	s := &Store{db: db, snap: &snapshot{txn: db.NewTransaction(false)}, dir: c.Dir, logger: c.Logger}
	s.snap.refs.Store(1)
	if err := s.openFiles(filepath.Join(c.Dir, LogDir), c.Logger); err != nil {
		s.Close()
		return nil, err
	}
	s.opened = true
	if c.MappedBudget >= 0 {
		budget := c.MappedBudget
		if budget == 0 {
			budget = DefaultMappedBudget
		}
		s.startTrimmer(c.Dir, budget, c.Logger)
	}
	return s, nil
}

// startTrimmer runs a mappedTrimmer over the files in dir until Close.
func (s *Store) startTrimmer(dir string, budget int64, logger *slog.Logger) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(dir)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		logger.Warn("badgerstore: Badger's mapped files will not be paged out", "dir", dir, "err", err)
		return
	}
	t := &mappedTrimmer{dir: abs, budget: budget, tails: map[string]int64{}}
	s.trimStop, s.trimDone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(s.trimDone)
		tick := time.NewTicker(mappedTrimEvery)
		defer tick.Stop()
		for {
			select {
			case <-s.trimStop:
				return
			case <-tick.C:
			}
			resident, paged, err := t.trim()
			if err != nil {
				logger.Warn("badgerstore: paging out Badger's mapped files failed; their pages stay resident from now on", "dir", abs, "err", err)
				return
			}
			if paged > 0 {
				logger.Debug("badgerstore: paged out Badger's mapped files", "resident_bytes", resident, "paged_out_bytes", paged, "budget_bytes", budget)
			}
		}
	}()
}

// LogDir is the subdirectory of the store's directory holding the log's
// entries and tiles.
const LogDir = "log"

var layoutKey, layoutFiles = []byte{'f'}, []byte("logfiles-1")

// openFiles opens the log files at the committed size, first moving the
// entries and tiles of a store written before them out of Badger.
func (s *Store) openFiles(dir string, logger *slog.Logger) error {
	st, err := s.Load()
	if err != nil {
		return err
	}
	layout, err := s.get(layoutKey)
	switch {
	case err == nil && string(layout) == string(layoutFiles):
		// A move that crashed after recording the layout left old keys.
		if err := s.dropLegacy(); err != nil {
			return err
		}
	case err == nil:
		return fmt.Errorf("badgerstore: the store's layout is %q, want %q: written by a newer ledger?", layout, layoutFiles)
	case !errors.Is(err, ledger.ErrNotFound):
		return err
	default:
		// The move removes dir, so it must hold no journal to replay.
		if fi, err := os.Stat(filepath.Join(dir, JournalFile)); err == nil && fi.Size() > 0 {
			return fmt.Errorf("badgerstore: the store has no layout record but its log directory %s holds a journal of %d bytes: the store is damaged; run ledgerctl fsck", dir, fi.Size())
		}
		if err := s.migrate(dir, st.Size, logger); err != nil {
			return err
		}
	}
	return s.openJournal(dir, st.Size)
}

// refresh installs a snapshot that sees every write so far, unless a
// concurrent refresh installed a newer one already.
func (s *Store) refresh() {
	sn := &snapshot{txn: s.db.NewTransaction(false)}
	sn.refs.Store(1)
	s.snapMu.Lock()
	old := s.snap
	if old == nil || old.txn.ReadTs() > sn.txn.ReadTs() {
		// closed, or overtaken: keep what is installed
		s.snapMu.Unlock()
		sn.release()
		return
	}
	s.snap = sn
	s.snapMu.Unlock()
	old.release()
}

// view runs fn on the current snapshot without holding any lock;
// read-only Badger transactions are safe for concurrent readers.
func (s *Store) view(fn func(txn *badger.Txn) error) error {
	sn, err := s.enter()
	if err != nil {
		return err
	}
	defer s.leave(sn)
	return fn(sn.txn)
}

// enter starts a read: it takes a reference to the current snapshot and
// counts the read in progress (Close waits for it), or refuses once the
// store is closed. The log files' reads take one too, for the count.
func (s *Store) enter() (*snapshot, error) {
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	sn := s.snap
	if sn == nil {
		return nil, badger.ErrDBClosed
	}
	sn.refs.Add(1)
	s.readers.Add(1)
	return sn, nil
}

// leave ends a read started by enter.
func (s *Store) leave(sn *snapshot) {
	sn.release()
	s.readers.Done()
}

// DB exposes the Badger database for tools and tests that work below the
// log (say, to simulate tampering). The Store's reads see writes made
// through it only after Refresh; they are neither journaled nor synced
// (the next checkpoint syncs them).
func (s *Store) DB() *badger.DB { return s.db }

// Refresh makes the Store's reads see every write so far, including writes
// made through DB.
func (s *Store) Refresh() { s.refresh() }

// BatchLimits implements ledger.BatchLimiter with Badger's transaction
// limits: a transaction refuses the record that brings its count to
// MaxBatchCount or its estimated size to MaxBatchSize (ErrTxnTooBig). Badger
// estimates a record as its key, its value if shorter than the value
// threshold (else a 12-byte value pointer), 2 bytes of metadata and 10 of
// version; the store adds one prefix byte to every key the ledger names.
// Every transaction starts out counting one record and len("!badger!txn")+10
// bytes for the marker that ends it.
func (s *Store) BatchLimits() ledger.BatchLimits {
	return ledger.BatchLimits{
		MaxRecords:     s.db.MaxBatchCount() - 2,
		MaxBytes:       s.db.MaxBatchSize() - 1 - int64(len("!badger!txn")+10),
		ValueCap:       s.db.Opts().ValueThreshold - 1,
		RecordOverhead: 1 + 2 + 10,
	}
}

func entryKey(i uint64) []byte {
	k := make([]byte, 9)
	k[0] = 'e'
	binary.BigEndian.PutUint64(k[1:], i)
	return k
}

func tileKey(id ledger.TileID) []byte {
	k := make([]byte, 10)
	k[0] = 't'
	k[1] = id.Level
	binary.BigEndian.PutUint64(k[2:], id.Index)
	return k
}

func dedupKey(key []byte) []byte {
	return append([]byte{'d'}, key...)
}

var stateKey = []byte{'s'}

func indexKey(key []byte) []byte {
	return append([]byte{'x'}, key...)
}

// Load implements ledger.Storage.
func (s *Store) Load() (ledger.State, error) {
	var st ledger.State
	err := s.view(func(txn *badger.Txn) error {
		it, err := txn.Get(stateKey)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return it.Value(func(v []byte) error {
			st, err = decodeState(v)
			return err
		})
	})
	if err != nil {
		return ledger.State{}, fmt.Errorf("badgerstore: load state: %w", err)
	}
	return st, nil
}

// Commit implements ledger.Storage.
func (s *Store) Commit(b *ledger.Batch) error {
	if len(b.DedupKeys) != len(b.Entries) || b.DedupValues != nil && len(b.DedupValues) != len(b.Entries) {
		return fmt.Errorf("badgerstore: batch has %d dedup keys and %d dedup values for %d entries", len(b.DedupKeys), len(b.DedupValues), len(b.Entries))
	}
	if end := b.Start + uint64(len(b.Entries)); b.State.Size != end {
		return fmt.Errorf("badgerstore: batch of %d entries at %d carries a state of size %d, want %d", len(b.Entries), b.Start, b.State.Size, end)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	sets := make([]kv, 0, len(b.DedupKeys)+len(b.Extra)+1)
	for i, k := range b.DedupKeys {
		if k != nil {
			var dv []byte
			if b.DedupValues != nil {
				dv = b.DedupValues[i]
			}
			// the entry's index, then its dedup value
			v := append(binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(dv)), b.Start+uint64(i)), dv...)
			sets = append(sets, kv{dedupKey(k), v})
		}
	}
	for _, x := range b.Extra {
		sets = append(sets, kv{indexKey(x.Key), x.Value})
	}
	sets = append(sets, kv{stateKey, encodeState(b.State)})
	// The batch is durable in the journal before it is written anywhere
	// else; apply checks it fits Badger's transaction first, so that a
	// batch the journal holds always replays.
	err := s.apply(b.Start, b.Entries, b.Tiles, sets, func() error {
		s.jbuf = encodeRecord(s.jbuf, b.Start, b.Entries, b.Tiles, sets)
		if err := s.journal.Append(s.jbuf); err != nil {
			s.failed = err
			return err
		}
		return nil
	})
	if err != nil {
		if s.failed == nil && !errors.Is(err, errBeforeJournal) {
			// In the journal, not fully applied: the next Open replays
			// it; the ledger, told the commit failed, acknowledges none
			// of it and stops.
			s.failed = err
		}
		return err
	}
	s.files.Publish() // before the snapshot: what a reader's state counts is readable
	s.refresh()
	if s.journal.Size() >= checkpointBytes {
		if err := s.checkpoint(); err != nil {
			// This batch is durable in the journal; later writes fail.
			s.failed = err
			if s.logger != nil {
				s.logger.Error("badgerstore: a checkpoint failed; the store takes no more writes", "err", err)
			}
		}
	}
	return nil
}

// errClosed is returned by writes after Close.
var errClosed = errors.New("badgerstore: the store is closed")

// writable is nil unless the store takes no more writes.
func (s *Store) writable() error {
	if s.journal == nil {
		return errClosed
	}
	if s.failed != nil {
		return fmt.Errorf("%w: %w", ErrWriteFailed, s.failed)
	}
	return nil
}

// ErrWriteFailed is returned by every Commit and Update once a write
// failed after its batch was in the journal, or a checkpoint failed.
var ErrWriteFailed = errors.New("badgerstore: an earlier write failed, so the store takes no more writes (restart the server once the disk is sound: the journal is replayed; ledgerctl fsck checks the store)")

// Tile implements ledger.Storage.
func (s *Store) Tile(id ledger.TileID) ([]byte, error) {
	sn, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer s.leave(sn)
	return s.files.Tile(id)
}

func (s *Store) get(key []byte) ([]byte, error) {
	var out []byte
	err := s.view(func(txn *badger.Txn) error {
		it, err := txn.Get(key)
		if err != nil {
			return err
		}
		out, err = it.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ledger.ErrNotFound
	}
	return out, err
}

// Entries implements ledger.Storage.
func (s *Store) Entries(start uint64, n int) ([][]byte, error) {
	sn, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer s.leave(sn)
	es, err := s.files.Entries(start, n)
	if err != nil {
		return nil, fmt.Errorf("badgerstore: %w", err)
	}
	return es, nil
}

// Lookup implements ledger.Storage.
func (s *Store) Lookup(key []byte) (uint64, bool, error) {
	idx, _, ok, err := s.dedupRecord(key)
	return idx, ok, err
}

// DedupValue implements ledger.Storage.
func (s *Store) DedupValue(key []byte) ([]byte, bool, error) {
	_, v, ok, err := s.dedupRecord(key)
	return v, ok, err
}

// dedupRecord reads a dedup key's record: the entry's index, then its
// dedup value (Batch.DedupValues; empty if none).
func (s *Store) dedupRecord(key []byte) (idx uint64, value []byte, ok bool, err error) {
	v, err := s.get(dedupKey(key))
	if errors.Is(err, ledger.ErrNotFound) {
		return 0, nil, false, nil
	}
	if err != nil {
		return 0, nil, false, err
	}
	if len(v) < 8 {
		return 0, nil, false, fmt.Errorf("badgerstore: dedup record holds %d bytes, want an index of 8 and its dedup value", len(v))
	}
	return binary.BigEndian.Uint64(v), v[8:], true, nil
}

// ScanDedupValues calls fn for every dedup key stored with a value
// (ledger.KV.Dedup), in key order, with the key as the ledger gave it and
// the value, until fn returns false or ctx is done. fn MUST NOT retain
// key or value. For tools that copy those values out (a backup of the
// private part).
func (s *Store) ScanDedupValues(ctx context.Context, fn func(key, value []byte) bool) error {
	prefix := dedupKey(nil)
	return s.scan(ctx, prefix, prefix, func(k, v []byte) bool {
		return len(v) <= 8 || fn(k, v[8:]) // an index alone, or an index and a value
	})
}

// Get implements ledger.IndexStore.
func (s *Store) Get(key []byte) ([]byte, error) {
	return s.get(indexKey(key))
}

// scanCheckEvery is how many keys a Scan reads between looks at its context.
const scanCheckEvery = 256

// Scan implements ledger.IndexStore.
func (s *Store) Scan(ctx context.Context, prefix, start []byte, fn func(key, value []byte) bool) error {
	seek := indexKey(prefix)
	if bytes.Compare(start, prefix) > 0 {
		seek = indexKey(start)
	}
	return s.scan(ctx, indexKey(prefix), seek, fn)
}

// scan calls fn for every Badger key with prefix from seek on, in key
// order, on one snapshot, with the key past its namespace byte and the
// value, until fn returns false or ctx is done.
func (s *Store) scan(ctx context.Context, prefix, seek []byte, fn func(key, value []byte) bool) error {
	return s.view(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = prefix
		opts.PrefetchValues = false
		it := txn.NewIterator(opts)
		defer it.Close()
		n := 0
		for it.Seek(seek); it.Valid(); it.Next() {
			if n++; n%scanCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			var cont bool
			err := it.Item().Value(func(v []byte) error {
				cont = fn(it.Item().Key()[1:], v)
				return nil
			})
			if err != nil {
				return err
			}
			if !cont {
				return nil
			}
		}
		return ctx.Err()
	})
}

// Update implements ledger.IndexStore.
func (s *Store) Update(set []ledger.KV, del [][]byte) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	defer s.refresh()
	if err := s.writable(); err != nil {
		return err
	}
	// After a checkpoint, so that no replay of an older batch undoes it.
	if err := s.checkpoint(); err != nil {
		s.failed = err
		return err
	}
	err := s.db.Update(func(txn *badger.Txn) error {
		for _, kv := range set {
			if err := txn.Set(indexKey(kv.Key), kv.Value); err != nil {
				return err
			}
		}
		for _, k := range del {
			if err := txn.Delete(indexKey(k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.syncBadger(); err != nil {
		s.failed = err
		return err
	}
	return nil
}

// Close implements ledger.Storage.
func (s *Store) Close() error {
	var jerr error
	s.writeMu.Lock()
	if s.journal != nil {
		if s.opened && s.writable() == nil {
			jerr = s.checkpoint()
		}
		jerr = errors.Join(jerr, s.journal.Close())
		s.journal = nil
	}
	s.writeMu.Unlock()
	s.snapMu.Lock()
	old := s.snap
	s.snap = nil
	s.snapMu.Unlock()
	if old != nil {
		old.release()
	}
	s.readers.Wait() // no read may touch the database once it is closed
	if s.trimStop != nil {
		close(s.trimStop)
		<-s.trimDone
		s.trimStop = nil
	}
	var ferr error
	if s.files != nil {
		ferr = s.files.Close()
	}
	return errors.Join(jerr, s.db.Close(), ferr)
}

// State encoding: size(8) | lastTime(8) | nRange(1) | nRange*32 hashes | checkpoint.
func encodeState(st ledger.State) []byte {
	b := make([]byte, 0, 17+32*len(st.Range)+len(st.Checkpoint))
	b = binary.BigEndian.AppendUint64(b, st.Size)
	b = binary.BigEndian.AppendUint64(b, uint64(st.LastTime))
	b = append(b, byte(len(st.Range)))
	for _, h := range st.Range {
		b = append(b, h...)
	}
	return append(b, st.Checkpoint...)
}

func decodeState(b []byte) (ledger.State, error) {
	if len(b) < 17 {
		return ledger.State{}, fmt.Errorf("state record has %d bytes, want at least 17", len(b))
	}
	st := ledger.State{
		Size:     binary.BigEndian.Uint64(b),
		LastTime: int64(binary.BigEndian.Uint64(b[8:])),
	}
	n := int(b[16])
	b = b[17:]
	if len(b) < 32*n {
		return ledger.State{}, fmt.Errorf("state record holds %d bytes of range hashes, want %d", len(b), 32*n)
	}
	for i := 0; i < n; i++ {
		st.Range = append(st.Range, append([]byte(nil), b[32*i:32*i+32]...))
	}
	st.Checkpoint = append([]byte(nil), b[32*n:]...)
	return st, nil
}

// badgerLogger forwards Badger's errors and warnings to slog at those
// levels, its info messages (tables loaded, compactions, level-0 stalls)
// at debug level (ledgerd --log-level debug), and drops its debug chatter
// (memtable flushes among it). Messages lose Badger's trailing newlines.
type badgerLogger struct {
	l *slog.Logger
}

func (b badgerLogger) log(level slog.Level, f string, a []any) {
	if b.l != nil && b.l.Enabled(context.Background(), level) {
		b.l.Log(context.Background(), level, strings.TrimSpace(fmt.Sprintf(f, a...)), "component", "badger")
	}
}

func (b badgerLogger) Errorf(f string, a ...any) { b.log(slog.LevelError, f, a) }

func (b badgerLogger) Warningf(f string, a ...any) { b.log(slog.LevelWarn, f, a) }
func (b badgerLogger) Infof(f string, a ...any)    { b.log(slog.LevelDebug, f, a) }
func (badgerLogger) Debugf(string, ...any)         {}
