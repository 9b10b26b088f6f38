// Package logfiles keeps a log's entries and hash tiles in append-only
// files, read with pread and cached by the kernel's page cache only: their
// pages are never mapped into the process, so the memory of a server
// reading them does not grow with the log, and the storage engine beside
// them (Badger, which maps every file it holds) keeps only the small keys.
//
// Layout of the directory:
//
//	entries      the entries' bytes, concatenated in index order
//	offsets      8 bytes (big-endian) per entry: the end offset of entry i
//	             in entries (entry i is entries[end(i-1), end(i)), end(-1) = 0)
//	hashes.<L>   32 bytes per node: the tree nodes at height 8L, in order;
//	             level L's tile N is hashes.<L>[32·256N, 32·(256N+w)), its
//	             width w = min(256, size>>8L - 256N)
//
// Every file only grows, and a byte at a position the committed size
// covers is never written again, so a crash during a write can only leave
// bytes past the committed size; Open truncates them. The committed size is
// the caller's (the storage engine keeps it in its own atomic commit):
// Write makes a batch's bytes durable, the caller then commits its state,
// then calls Publish. Until Publish, reads do not see the batch. So an
// entry is durable before any state that counts it, and a state is never
// ahead of the files (if it is, the files were damaged: see Open). A
// caller that keeps the batch durable elsewhere first (the Badger store's
// journal) writes it with Stage instead and makes the files durable with
// Sync later; after a crash it opens the files at the size they were last
// synced at and writes the batches since again.
package logfiles

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/fjaledger/fja/internal/durable"
	"github.com/fjaledger/fja/ledger"
)

const (
	entriesFile = "entries"
	offsetsFile = "offsets"
	hashesFile  = "hashes." // + level
	hashSize    = 32
	tileWidth   = 256
	maxLevels   = 8 // 256^8 = 2^64 leaves
)

// Files is one log's entries and tiles. Write and Publish are called by one
// goroutine at a time (the storage's committer); reads are safe for
// concurrent use with each other and with Write.
type Files struct {
	dir     string
	entries *os.File
	offsets *os.File

	levelsMu sync.RWMutex
	levels   [maxLevels]*os.File // nil until the level has a node

	size    atomic.Uint64 // published: what reads see
	written uint64        // entries durable in the files (writer only)
	dataEnd uint64        // end offset of entry written-1 (writer only)
	pubEnd  uint64        // dataEnd when size was published (writer only)
	damaged error         // files shorter than the committed size: Write refuses
	buf     []byte        // writer's scratch
	// unsynced holds the files Stage wrote since the last Sync (writer only).
	unsynced map[*os.File]bool
}

// Open opens (or creates) the files in dir for a log whose committed size
// is size. Bytes past size — a batch written but never committed — are
// truncated. Files shorter than size mean the files were damaged (or
// removed): reads then find what is left, and Write refuses, naming what is
// missing, so that fsck can report and nothing is written on top.
func Open(dir string, size uint64) (*Files, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("logfiles: %w", err)
	}
	f := &Files{dir: dir}
	var err error
	if f.entries, err = openFile(dir, entriesFile); err != nil {
		return nil, err
	}
	if f.offsets, err = openFile(dir, offsetsFile); err != nil {
		f.entries.Close()
		return nil, err
	}
	for l := range maxLevels {
		p := filepath.Join(dir, hashesFile+strconv.Itoa(l))
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if f.levels[l], err = openFile(dir, hashesFile+strconv.Itoa(l)); err != nil {
			f.Close()
			return nil, err
		}
	}
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.recover(size); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func openFile(dir, name string) (*os.File, error) {
	fh, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("logfiles: %w", err)
	}
	return fh, nil
}

// recover truncates each file to what size covers, or notes it is short.
func (f *Files) recover(size uint64) error {
	var short []string
	trim := func(fh *os.File, want uint64) error {
		fi, err := fh.Stat()
		if err != nil {
			return fmt.Errorf("logfiles: %w", err)
		}
		have := uint64(fi.Size())
		switch {
		case have > want:
			if err := fh.Truncate(int64(want)); err != nil {
				return fmt.Errorf("logfiles: truncate %s to the committed %d bytes: %w", fh.Name(), want, err)
			}
			return fdatasync(fh)
		case have < want:
			short = append(short, fmt.Sprintf("%s holds %d bytes, want %d", filepath.Base(fh.Name()), have, want))
		}
		return nil
	}
	if err := trim(f.offsets, 8*size); err != nil {
		return err
	}
	if size > 0 {
		var b [8]byte
		if _, err := f.offsets.ReadAt(b[:], int64(8*(size-1))); err == nil {
			f.dataEnd = binary.BigEndian.Uint64(b[:])
			if err := trim(f.entries, f.dataEnd); err != nil {
				return err
			}
		}
	} else if err := trim(f.entries, 0); err != nil {
		return err
	}
	for l, fh := range f.levels {
		if fh != nil {
			if err := trim(fh, hashSize*(size>>(8*l))); err != nil {
				return err
			}
		} else if size>>(8*l) > 0 {
			short = append(short, fmt.Sprintf("%s%d is missing, want %d hashes", hashesFile, l, size>>(8*l)))
		}
	}
	if len(short) > 0 {
		f.damaged = fmt.Errorf("logfiles: the files in %s are shorter than the committed log of size %d (%v): run ledgerctl fsck, and restore the log from a backup or a bucket", f.dir, size, short)
	}
	f.written, f.pubEnd = size, f.dataEnd
	f.size.Store(size)
	return nil
}

// Damaged reports why Write refuses, or nil.
func (f *Files) Damaged() error { return f.damaged }

// Write makes durable the entries [start, start+len(entries)) and the
// new hashes of tiles, each tile's full current content (as ledger.Batch
// carries them). start must be the committed size. Only the hashes past
// what the committed size holds at each level are written. It does not
// change what reads see: the caller commits its state and then calls
// Publish (or Abandon, if its commit failed).
func (f *Files) Write(start uint64, entries [][]byte, tiles map[ledger.TileID][]byte) error {
	if err := f.Stage(start, entries, tiles); err != nil {
		return err
	}
	return f.Sync()
}

// Sync makes durable what Stage wrote since the last Sync, the files in
// parallel.
func (f *Files) Sync() error {
	var dirty []*os.File
	for _, fh := range append([]*os.File{f.entries, f.offsets}, f.levels[:]...) {
		if fh != nil && f.unsynced[fh] {
			dirty = append(dirty, fh)
		}
	}
	if err := syncAll(dirty); err != nil {
		return err
	}
	clear(f.unsynced)
	return nil
}

// Stage is Write without making the bytes durable: the caller makes them
// durable with Sync (or keeps them durable elsewhere, as a journal does,
// and replays them after a crash). Reads see them after Publish, from the
// page cache.
func (f *Files) Stage(start uint64, entries [][]byte, tiles map[ledger.TileID][]byte) error {
	if f.damaged != nil {
		return f.damaged
	}
	if start != f.written {
		return fmt.Errorf("logfiles: batch starts at entry %d, want the committed size %d", start, f.written)
	}
	var dirty []*os.File
	end := f.dataEnd
	if len(entries) > 0 {
		data := f.buf[:0]
		offs := make([]byte, 0, 8*len(entries))
		for _, e := range entries {
			data = append(data, e...)
			end += uint64(len(e))
			offs = binary.BigEndian.AppendUint64(offs, end)
		}
		f.buf = data[:0]
		if _, err := f.entries.WriteAt(data, int64(f.dataEnd)); err != nil {
			return fmt.Errorf("logfiles: write entries [%d, %d): %w", start, start+uint64(len(entries)), err)
		}
		if _, err := f.offsets.WriteAt(offs, int64(8*start)); err != nil {
			return fmt.Errorf("logfiles: write offsets [%d, %d): %w", start, start+uint64(len(entries)), err)
		}
		dirty = append(dirty, f.entries, f.offsets)
	}
	var touched [maxLevels]bool
	for id, t := range tiles {
		if len(t)%hashSize != 0 || len(t) > hashSize*tileWidth || int(id.Level) >= maxLevels {
			return fmt.Errorf("logfiles: tile %d/%d holds %d bytes, want up to %d hashes of %d bytes", id.Level, id.Index, len(t), tileWidth, hashSize)
		}
		held := start >> (8 * uint(id.Level)) // nodes the committed size holds
		first := id.Index * tileWidth
		n := uint64(len(t) / hashSize)
		if first+n <= held {
			continue // nothing new (the tile is rewritten with its old content)
		}
		from := max(first, held)
		fh, err := f.level(id.Level)
		if err != nil {
			return err
		}
		if _, err := fh.WriteAt(t[hashSize*(from-first):], int64(hashSize*from)); err != nil {
			return fmt.Errorf("logfiles: write tile %d/%d: %w", id.Level, id.Index, err)
		}
		if !touched[id.Level] {
			touched[id.Level] = true
			dirty = append(dirty, fh)
		}
	}
	if f.unsynced == nil {
		f.unsynced = map[*os.File]bool{}
	}
	for _, fh := range dirty {
		f.unsynced[fh] = true
	}
	f.written, f.dataEnd = start+uint64(len(entries)), end
	return nil
}

// level returns the file of a level, creating it (durably) if needed.
func (f *Files) level(l uint8) (*os.File, error) {
	f.levelsMu.RLock()
	fh := f.levels[l]
	f.levelsMu.RUnlock()
	if fh != nil {
		return fh, nil
	}
	fh, err := openFile(f.dir, hashesFile+strconv.Itoa(int(l)))
	if err != nil {
		return nil, err
	}
	if err := syncDir(f.dir); err != nil {
		fh.Close()
		return nil, err
	}
	f.levelsMu.Lock()
	f.levels[l] = fh
	f.levelsMu.Unlock()
	return fh, nil
}

// Publish makes reads see what Write wrote, once the caller committed it.
func (f *Files) Publish() {
	f.pubEnd = f.dataEnd
	f.size.Store(f.written)
}

// Abandon forgets what Write wrote since the last Publish, when the
// caller's commit failed: the next Write starts at the published size
// again (its bytes are past the committed size, as after a crash).
func (f *Files) Abandon() {
	f.written, f.dataEnd = f.size.Load(), f.pubEnd
}

// Size is the published size.
func (f *Files) Size() uint64 { return f.size.Load() }

// Tile returns the hashes of a tile as the published size holds it, or
// ledger.ErrNotFound if it holds none. A tile whose file was cut short
// comes back short (fsck names it).
func (f *Files) Tile(id ledger.TileID) ([]byte, error) {
	if int(id.Level) >= maxLevels {
		return nil, ledger.ErrNotFound
	}
	count := f.size.Load() >> (8 * uint(id.Level))
	first := id.Index * tileWidth
	if id.Index >= (1<<64-1)/tileWidth || first >= count {
		return nil, ledger.ErrNotFound
	}
	w := min(tileWidth, count-first)
	f.levelsMu.RLock()
	fh := f.levels[id.Level]
	f.levelsMu.RUnlock()
	if fh == nil {
		return nil, ledger.ErrNotFound
	}
	b := make([]byte, hashSize*w)
	n, err := fh.ReadAt(b, int64(hashSize*first))
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("logfiles: read tile %d/%d: %w", id.Level, id.Index, err)
	}
	if n < hashSize {
		return nil, ledger.ErrNotFound
	}
	return b[:n], nil
}

// Entries returns the n entries from start, or an error wrapping
// ledger.ErrNotFound if any of them is past the published size or missing
// from the files.
func (f *Files) Entries(start uint64, n int) ([][]byte, error) {
	size := f.size.Load()
	if n <= 0 || start >= size || uint64(n) > size-start {
		return nil, fmt.Errorf("logfiles: entries [%d, %d) of a log of size %d: %w", start, start+uint64(max(n, 0)), size, ledger.ErrNotFound)
	}
	// The end offsets of entries start-1 .. start+n-1.
	from := start
	if start > 0 {
		from--
	}
	ob := make([]byte, 8*(start+uint64(n)-from))
	if _, err := f.offsets.ReadAt(ob, int64(8*from)); err != nil {
		return nil, fmt.Errorf("logfiles: offsets of entries [%d, %d): %w (%w)", start, start+uint64(n), ledger.ErrNotFound, err)
	}
	offs := make([]uint64, 0, n+1)
	if start == 0 {
		offs = append(offs, 0)
	}
	for i := 0; i < len(ob); i += 8 {
		offs = append(offs, binary.BigEndian.Uint64(ob[i:]))
	}
	for i := 1; i < len(offs); i++ {
		if offs[i] < offs[i-1] || offs[i]-offs[i-1] > ledger.MaxEntrySize { // no entry the log takes is longer
			return nil, fmt.Errorf("logfiles: entry %d: offsets %d..%d are damaged: %w", start+uint64(i-1), offs[i-1], offs[i], ledger.ErrNotFound)
		}
	}
	data := make([]byte, offs[len(offs)-1]-offs[0])
	if _, err := f.entries.ReadAt(data, int64(offs[0])); err != nil {
		return nil, fmt.Errorf("logfiles: entries [%d, %d) at bytes %d..%d: %w (%w)", start, start+uint64(n), offs[0], offs[len(offs)-1], ledger.ErrNotFound, err)
	}
	out := make([][]byte, n)
	for i := range out {
		a, b := offs[i]-offs[0], offs[i+1]-offs[0]
		out[i] = data[a:b:b]
	}
	return out, nil
}

// Close closes the files. No read or write may be in progress.
func (f *Files) Close() error {
	var errs []error
	for _, fh := range append([]*os.File{f.entries, f.offsets}, f.levels[:]...) {
		if fh != nil {
			errs = append(errs, fh.Close())
		}
	}
	return errors.Join(errs...)
}

// syncAll makes files durable, in parallel: their journal commits overlap.
func syncAll(files []*os.File) error {
	if len(files) == 1 {
		return fdatasync(files[0])
	}
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, fh := range files {
		wg.Go(func() { errs[i] = fdatasync(fh) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func fdatasync(fh *os.File) error {
	if err := durable.Fdatasync(fh); err != nil {
		return fmt.Errorf("logfiles: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	if err := durable.SyncDir(dir); err != nil {
		return fmt.Errorf("logfiles: %w", err)
	}
	return nil
}
