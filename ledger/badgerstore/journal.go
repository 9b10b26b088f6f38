package badgerstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/fjaledger/fja/internal/durable"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/journal"
	"github.com/fjaledger/fja/ledger/logfiles"
)

// The write-ahead journal. A Commit appends everything it writes — the
// batch's entries and tile hashes, and the Badger keys with their values —
// to one file (package journal) and makes it durable with one fdatasync;
// then it writes the same to the log files and to Badger (opened without
// SyncWrites) without syncing either. So a commit waits for one sync
// instead of two in a row (the log files', then Badger's). A checkpoint
// makes the log files and Badger durable and empties the journal; Open
// replays what the journal holds after a crash.
//
// Invariants:
//   - A batch is in the journal, durably, before any of it is written
//     elsewhere; so after a crash the log files and Badger hold at most
//     what the journal and the last checkpoint hold.
//   - The journal's records continue the store at the last checkpoint: the
//     first starts at the size the log files and Badger held durably then,
//     each next one where the one before ended.
//   - Every write that does not go through the journal (Update) comes
//     after a checkpoint and is synced itself: a replay never writes a
//     key older than it (an Update may delete what a batch set).

// JournalFile is the journal's name in the log directory.
const JournalFile = "journal"

// checkpointBytes is the journal size past which a Commit checkpoints.
const checkpointBytes = 32 << 20

// kv is one Badger key a commit sets.
type kv struct{ k, v []byte }

// encodeRecord is the journal record of a commit: start(8) | uvarint
// count, each entry as uvarint length | bytes | uvarint count, each tile
// as level(1) | index(8) | uvarint length | bytes | uvarint count, each
// Badger key as uvarint length | key | uvarint length | value.
func encodeRecord(buf []byte, start uint64, entries [][]byte, tiles map[ledger.TileID][]byte, sets []kv) []byte {
	b := binary.BigEndian.AppendUint64(buf[:0], start)
	b = binary.AppendUvarint(b, uint64(len(entries)))
	for _, e := range entries {
		b = binary.AppendUvarint(b, uint64(len(e)))
		b = append(b, e...)
	}
	b = binary.AppendUvarint(b, uint64(len(tiles)))
	for id, t := range tiles {
		b = append(b, id.Level)
		b = binary.BigEndian.AppendUint64(b, id.Index)
		b = binary.AppendUvarint(b, uint64(len(t)))
		b = append(b, t...)
	}
	b = binary.AppendUvarint(b, uint64(len(sets)))
	for _, s := range sets {
		b = binary.AppendUvarint(b, uint64(len(s.k)))
		b = append(b, s.k...)
		b = binary.AppendUvarint(b, uint64(len(s.v)))
		b = append(b, s.v...)
	}
	return b
}

// record is a decoded journal record; its slices point into the payload.
type record struct {
	start   uint64
	entries [][]byte
	tiles   map[ledger.TileID][]byte
	sets    []kv
}

func (r *record) end() uint64 { return r.start + uint64(len(r.entries)) }

var errBadRecord = errors.New("badgerstore: a journal record does not decode")

func decodeRecord(p []byte) (*record, error) {
	if len(p) < 8 {
		return nil, errBadRecord
	}
	r := &record{start: binary.BigEndian.Uint64(p), tiles: map[ledger.TileID][]byte{}}
	p = p[8:]
	bytesOf := func() ([]byte, bool) {
		n, k := binary.Uvarint(p)
		if k <= 0 || uint64(len(p)-k) < n {
			return nil, false
		}
		b := p[k : k+int(n) : k+int(n)]
		p = p[k+int(n):]
		return b, true
	}
	count := func() (int, bool) {
		n, k := binary.Uvarint(p)
		if k <= 0 || n > uint64(len(p)) {
			return 0, false
		}
		p = p[k:]
		return int(n), true
	}
	n, ok := count()
	if !ok {
		return nil, errBadRecord
	}
	for range n {
		e, ok := bytesOf()
		if !ok {
			return nil, errBadRecord
		}
		r.entries = append(r.entries, e)
	}
	if n, ok = count(); !ok {
		return nil, errBadRecord
	}
	for range n {
		if len(p) < 9 {
			return nil, errBadRecord
		}
		id := ledger.TileID{Level: p[0], Index: binary.BigEndian.Uint64(p[1:])}
		p = p[9:]
		t, ok := bytesOf()
		if !ok {
			return nil, errBadRecord
		}
		r.tiles[id] = t
	}
	if n, ok = count(); !ok {
		return nil, errBadRecord
	}
	for range n {
		k, ok1 := bytesOf()
		v, ok2 := bytesOf()
		if !ok1 || !ok2 {
			return nil, errBadRecord
		}
		r.sets = append(r.sets, kv{k, v})
	}
	if len(p) != 0 {
		return nil, errBadRecord
	}
	return r, nil
}

// openJournal opens the log files and the journal in dir, after any
// layout move (which removes dir), and replays the journal's records into
// the files and Badger, then checkpoints. size is Badger's state.
func (s *Store) openJournal(dir string, size uint64) error {
	j, payloads, cut, err := journal.Open(filepath.Join(dir, JournalFile))
	if err != nil {
		return fmt.Errorf("badgerstore: %w", err)
	}
	s.journal = j
	if cut > 0 && s.logger != nil {
		s.logger.Warn("badgerstore: the journal ended in a record an interrupted commit left; it was never acknowledged and is cut off", "bytes", cut)
	}
	recs := make([]*record, len(payloads))
	for i, p := range payloads {
		if recs[i], err = decodeRecord(p); err != nil {
			return fmt.Errorf("%w (record %d of %d): %s", err, i+1, len(payloads), damagedJournal(dir))
		}
		if i > 0 && recs[i].start != recs[i-1].end() {
			return fmt.Errorf("badgerstore: journal record %d starts at entry %d, want %d, where the one before ended: %s", i+1, recs[i].start, recs[i-1].end(), damagedJournal(dir))
		}
	}
	from := size // where the log files are durable: the last checkpoint
	if len(recs) > 0 {
		from = recs[0].start
		if last := recs[len(recs)-1].end(); size < from || size > last {
			return fmt.Errorf("badgerstore: Badger's state holds %d entries, but the journal continues a store of %d with entries up to %d: %s", size, from, last, damagedJournal(dir))
		}
	}
	if s.files, err = logfiles.Open(dir, from); err != nil {
		return fmt.Errorf("badgerstore: %w", err)
	}
	for _, r := range recs {
		if err := s.apply(r.start, r.entries, r.tiles, r.sets, nil); err != nil {
			return fmt.Errorf("badgerstore: replaying the journal: %w", err)
		}
		s.files.Publish()
	}
	if len(recs) > 0 && s.logger != nil {
		s.logger.Info("badgerstore: replayed the journal", "records", len(recs), "from", from, "to", recs[len(recs)-1].end())
	}
	if err := s.checkpoint(); err != nil {
		return err
	}
	s.refresh()
	return nil
}

// errBeforeJournal marks an error of apply before its journal step: the
// commit changed nothing.
var errBeforeJournal = errors.New("nothing written")

// damagedJournal is the advice for a journal that does not continue the
// store.
func damagedJournal(dir string) string {
	return fmt.Sprintf("the journal %s is damaged; moved aside, the store opens as of its last checkpoint (the commits since are lost) and ledgerctl fsck checks it; or restore the log from a backup or a bucket", filepath.Join(dir, JournalFile))
}

// apply writes a commit to the log files and Badger, syncing neither.
// journaled, if not nil, runs once the keys fit one Badger transaction and
// before anything is written (Commit appends the record there).
func (s *Store) apply(start uint64, entries [][]byte, tiles map[ledger.TileID][]byte, sets []kv, journaled func() error) error {
	txn := s.db.NewTransaction(true)
	defer txn.Discard()
	for _, kv := range sets {
		if err := txn.Set(kv.k, kv.v); err != nil {
			return fmt.Errorf("badgerstore: commit of %d entries at %d: key %q (%d bytes): %w (%w)", len(entries), start, kv.k[:min(len(kv.k), 64)], len(kv.k), err, errBeforeJournal)
		}
	}
	if journaled != nil {
		if err := journaled(); err != nil {
			return fmt.Errorf("badgerstore: commit of %d entries at %d: %w", len(entries), start, err)
		}
	}
	if err := s.files.Stage(start, entries, tiles); err != nil {
		return fmt.Errorf("badgerstore: commit of %d entries at %d: %w", len(entries), start, err)
	}
	if err := txn.Commit(); err != nil {
		s.files.Abandon()
		return fmt.Errorf("badgerstore: commit of %d entries at %d: %w", len(entries), start, err)
	}
	return nil
}

// checkpoint makes the log files and Badger durable and empties the
// journal. The caller holds writeMu (or is Open).
func (s *Store) checkpoint() error {
	if s.journal == nil || s.journal.Size() == 0 {
		return nil
	}
	if err := s.files.Sync(); err != nil {
		return fmt.Errorf("badgerstore: checkpoint: %w", err)
	}
	if err := s.syncBadger(); err != nil {
		return err
	}
	if err := s.journal.Reset(); err != nil {
		return fmt.Errorf("badgerstore: checkpoint: %w", err)
	}
	return nil
}

// syncBadger makes everything written to Badger so far durable. DB.Sync
// syncs the current memtable's write-ahead log and value log file; with
// SyncWrites off, Badger syncs neither the log of a memtable it replaced
// (until its level-0 table is written) nor a value log file it finished
// (Badger v4.9.6: ensureRoomForWrite, logFile.doneWriting), so every .mem
// and .vlog file in the directory is synced too, and the directory.
func (s *Store) syncBadger() error {
	if err := s.db.Sync(); err != nil {
		return fmt.Errorf("badgerstore: sync Badger: %w", err)
	}
	des, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("badgerstore: sync Badger: %w", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(des))
	for i, de := range des {
		if name := de.Name(); strings.HasSuffix(name, ".mem") || strings.HasSuffix(name, ".vlog") {
			wg.Go(func() { errs[i] = syncFile(filepath.Join(s.dir, name)) })
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("badgerstore: sync Badger: %w", err)
	}
	if err := durable.SyncDir(s.dir); err != nil {
		return fmt.Errorf("badgerstore: sync Badger: %w", err)
	}
	return nil
}

// syncFile fsyncs the file at path; one removed meanwhile (a memtable's
// log once its table is written) is skipped.
func syncFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
