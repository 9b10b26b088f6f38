package badgerstore

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"

	"github.com/dgraph-io/badger/v4"

	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/logfiles"
)

// migrateChunk is how many entries the move into the log files reads and
// writes at a time (a multiple of the tile width).
const migrateChunk = 64 * ledger.TileWidth

// migrate moves the entries and tiles of a store written before the log
// files (or marks a new store) into the files in dir, then records the
// layout and drops the old keys. It is safe to repeat after a crash: the
// files are rewritten from the start until the layout key is committed,
// and the old keys are dropped only after it.
func (s *Store) migrate(dir string, size uint64, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if size > 0 {
		logger.Info("moving the log's entries and tiles out of Badger into files, once", "entries", size, "dir", dir)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("badgerstore: move the log into files: %w", err)
	}
	f, err := logfiles.Open(dir, 0)
	if err != nil {
		return fmt.Errorf("badgerstore: move the log into files: %w", err)
	}
	defer f.Close()
	for a := uint64(0); a < size; {
		b := min(a+migrateChunk, size)
		es, err := s.legacyEntries(a, b)
		if err != nil {
			return err
		}
		tiles := map[ledger.TileID][]byte{}
		for l := uint8(0); size>>(8*uint(l)) > 0; l++ {
			lo, hi := a>>(8*uint(l)), b>>(8*uint(l)) // the level's new nodes
			for n := lo / ledger.TileWidth; n*ledger.TileWidth < hi; n++ {
				id := ledger.TileID{Level: l, Index: n}
				t, err := s.get(tileKey(id))
				w := min(ledger.TileWidth, hi-n*ledger.TileWidth)
				if err != nil || uint64(len(t)) < 32*w {
					return fmt.Errorf("badgerstore: move the log into files: tile %d/%d holds %d bytes (%v), want %d hashes: the store is damaged, restore it from a backup or a bucket", l, n, len(t), err, w)
				}
				tiles[id] = t[:32*w]
			}
		}
		if err := f.Write(a, es, tiles); err != nil {
			return fmt.Errorf("badgerstore: move the log into files: %w", err)
		}
		f.Publish()
		a = b
		if a%(1<<20) == 0 || a == size {
			logger.Info("moved", "entries", a, "of", size)
		}
	}
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(layoutKey, layoutFiles) }); err != nil {
		return fmt.Errorf("badgerstore: record the files layout: %w", err)
	}
	// Durable before any commit: a store without it is moved again, and
	// the move removes dir.
	if err := s.syncBadger(); err != nil {
		return err
	}
	if size == 0 {
		s.refresh()
		return nil // a new store: nothing to drop
	}
	return s.dropLegacy()
}

// dropLegacy drops the entry and tile keys of a store written before the
// log files, if any are left (the move drops them once it recorded the
// layout; a crash in between leaves them).
func (s *Store) dropLegacy() error {
	found := false
	err := s.view(func(txn *badger.Txn) error {
		for _, p := range []byte{'e', 't'} {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{p}})
			it.Rewind()
			found = found || it.Valid()
			it.Close()
		}
		return nil
	})
	if err != nil || !found {
		return err
	}
	if err := s.db.DropPrefix([]byte{'e'}, []byte{'t'}); err != nil {
		return fmt.Errorf("badgerstore: drop the entries and tiles moved into files: %w", err)
	}
	s.refresh()
	return nil
}

// legacyEntries reads the entries [a, b) of a store written before the
// log files.
func (s *Store) legacyEntries(a, b uint64) ([][]byte, error) {
	out := make([][]byte, 0, b-a)
	err := s.view(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte{'e'}
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(entryKey(a)); it.Valid() && uint64(len(out)) < b-a; it.Next() {
			k := it.Item().Key()
			if len(k) != 9 || binary.BigEndian.Uint64(k[1:]) != a+uint64(len(out)) {
				break
			}
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badgerstore: move the log into files: read entries [%d, %d): %w", a, b, err)
	}
	if uint64(len(out)) != b-a {
		return nil, fmt.Errorf("badgerstore: move the log into files: entry %d is missing: the store is damaged, restore it from a backup or a bucket", a+uint64(len(out)))
	}
	return out, nil
}
