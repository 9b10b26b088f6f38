// Package recovery rebuilds a ledger's data directory after the loss of its
// machine or disk: the public part from any C2SP tlog-tiles copy of the log
// (another ledgerd, or a bucket the log publishes to), the private part
// from an operator's backup.
//
// Contracts:
//   - Restore trusts nothing it fetches but what the log's verifier key
//     proves: the checkpoint MUST carry a valid signature by that key;
//     every hash tile and entry bundle is authenticated against the
//     checkpoint's root (verify/tile, golang.org/x/mod/sumdb/tlog); and the
//     tree recomputed from the entries MUST have the checkpoint's size and
//     root before the checkpoint is stored. Any failure leaves no ledger:
//     the data directory is removed if Restore made it, else left empty.
//   - The restored ledger continues the same tree: started with the same
//     key and origin (ledgerd --data DIR --key FILE --origin NAME), its
//     next checkpoint is consistent with the restored one. Only one ledger
//     may sign for a log: the source MUST be stopped for good (two signers
//     appending to copies of one log fork it, which every monitor reports).
//   - Restore writes the data directory ledgerd uses: DIR/badger (the
//     store: entries, hash tiles, state, dedup keys, the book's keys the
//     records imply, the query indexes), built in DIR/badger.restoring and
//     moved into place only once it passes fsck. It writes no vault, no
//     server secret: see audit.PrivateIndexPrefixes and Backup for what
//     the public copy does not hold.
//   - Backup and RestorePrivate carry the private part (vault key file,
//     sealed content, request digests, delivery keys, server secret) in
//     one archive, restored only into a data directory whose log holds the
//     backup's tree. A key destroyed after a backup still lives in that
//     backup (SECURITY.md: backups expire within the erasure deadline).
package recovery

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"

	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/internal/durable"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
	"github.com/fjaledger/fja/ledger/shard"
	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/tile"
)

// The layout of ledgerd's --data directory, as ledger/shard declares it
// (shard 1's parts are at the top of the directory).
const (
	StoreDir   = shard.StoreDir
	VaultDir   = shard.VaultDir
	SecretFile = shard.SecretFile
)

// ErrRotated refuses a backup or a private restore of a data directory
// whose ledger has rotated: both cover one shard's store and vault, and
// would silently leave the later shards' keys out.
var ErrRotated = errors.New("recovery: the data directory holds a rotated ledger (" + shard.ManifestFile + "); backup and private restore cover an unrotated ledger only")

// notRotated refuses dir if its ledger has rotated.
func notRotated(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, shard.ManifestFile)); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrRotated, dir)
	}
	return nil
}

// stagingDir is where Restore builds the store before moving it into place.
const stagingDir = StoreDir + ".restoring"

// ErrDirNotEmpty refuses a restore into a directory that holds anything.
var ErrDirNotEmpty = errors.New("recovery: the data directory is not empty")

// Config configures Restore.
type Config struct {
	// URL is the base URL of a C2SP tlog-tiles log: another ledgerd, or a
	// bucket (or CDN) the log publishes to; <URL>/checkpoint and
	// <URL>/tile/... are read.
	URL string
	// VerifierKey is the log's note verifier key (vkey): the checkpoint
	// MUST be signed by it, and its name is the log's origin.
	VerifierKey string
	// Dir is the data directory to create (ledgerd's --data); it MUST be
	// absent or empty.
	Dir string
	// HTTPClient does the fetching (http.DefaultClient when nil).
	HTTPClient *http.Client
	// Workers is how many entry bundles are fetched at once (default 8).
	Workers int
	// Progress, when set, is told how far each stage is: "restore"
	// (entries fetched, authenticated and written), "reindex", "fsck".
	Progress func(stage string, done, total uint64)
}

// Result says what was restored.
type Result struct {
	Origin     string
	Size       uint64 // entries restored
	Checkpoint []byte // the source's signed checkpoint, now the ledger's
	// UnknownKinds counts records of kinds this version does not know:
	// their dedup keys are not rebuilt (audit.RebuildEntry).
	UnknownKinds uint64
}

// Restore rebuilds a ledger in cfg.Dir from the log at cfg.URL (see the
// package contract).
func Restore(ctx context.Context, cfg Config) (res *Result, err error) {
	if cfg.URL == "" || cfg.VerifierKey == "" || cfg.Dir == "" {
		return nil, errors.New("recovery: Restore needs URL, VerifierKey and Dir")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	progress := cfg.Progress
	if progress == nil {
		progress = func(string, uint64, uint64) {}
	}
	c, err := client.New(client.Config{URL: cfg.URL, VerifierKey: cfg.VerifierKey, HTTPClient: cfg.HTTPClient})
	if err != nil {
		return nil, fmt.Errorf("recovery: %w", err)
	}
	created, err := prepareDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	staging := filepath.Join(cfg.Dir, stagingDir)
	defer func() {
		if err == nil {
			return
		}
		if created {
			os.RemoveAll(cfg.Dir)
		} else {
			os.RemoveAll(staging)
			os.RemoveAll(filepath.Join(cfg.Dir, StoreDir))
		}
	}()
	cp, raw, err := c.Checkpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("recovery: the checkpoint of %s: %w", cfg.URL, err)
	}
	if cp.Size > tile.MaxTreeSize {
		return nil, fmt.Errorf("recovery: the checkpoint is for a tree of size %d, more than %d", cp.Size, uint64(tile.MaxTreeSize))
	}
	st, err := badgerstore.Open(badgerstore.Config{Dir: staging})
	if err != nil {
		return nil, err
	}
	defer func() {
		if st != nil {
			st.Close()
		}
	}()
	res = &Result{Origin: cp.Origin, Size: cp.Size, Checkpoint: raw}
	if err := fill(ctx, cfg, c, cp, raw, st, res, progress); err != nil {
		return nil, err
	}
	if err := audit.Reindex(ctx, st, cp.Size, st, func(done, total uint64) { progress("reindex", done, total) }); err != nil {
		return nil, fmt.Errorf("recovery: rebuilding the query indexes: %w", err)
	}
	if err := check(ctx, st, cp.Origin, cfg.VerifierKey, progress); err != nil {
		return nil, err
	}
	err = st.Close()
	st = nil
	if err != nil {
		return nil, fmt.Errorf("recovery: closing the store: %w", err)
	}
	if err := os.Rename(staging, filepath.Join(cfg.Dir, StoreDir)); err != nil {
		return nil, fmt.Errorf("recovery: %w", err)
	}
	if err := syncDir(cfg.Dir); err != nil {
		return nil, err
	}
	return res, nil
}

// fill fetches, authenticates and writes every entry of the tree of cp.
func fill(ctx context.Context, cfg Config, c *client.Client, cp *verify.Checkpoint, raw []byte, st *badgerstore.Store, res *Result, progress func(string, uint64, uint64)) error {
	rb, err := ledger.NewRebuilder(st)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bundles := (cp.Size + tile.Width - 1) / tile.Width
	queue := make(chan chan bundle, 2*cfg.Workers)
	go fetchBundles(ctx, c.Tiles(), cp, bundles, queue)
	progress("restore", 0, cp.Size)
	for n := uint64(0); n < bundles; n++ {
		var b bundle
		select {
		case ch := <-queue:
			b = <-ch
		case <-ctx.Done():
			return ctx.Err()
		}
		if b.err != nil {
			return fmt.Errorf("recovery: %w", b.err)
		}
		for i, e := range b.entries {
			idx := n*tile.Width + uint64(i)
			re, known, err := audit.RebuildEntry(e)
			if err != nil {
				return fmt.Errorf("recovery: entry %d: %w", idx, err)
			}
			if !known {
				res.UnknownKinds++
			}
			if err := rb.Add(re); err != nil {
				return fmt.Errorf("recovery: %w", err)
			}
		}
		progress("restore", rb.Size(), cp.Size)
	}
	if err := rb.Finish(raw, cp.Origin); err != nil {
		return fmt.Errorf("recovery: %w", err)
	}
	return nil
}

// bundle is an authenticated entry bundle, or why it is not.
type bundle struct {
	entries [][]byte
	err     error
}

// readerSpan is how many bundles one tile.Reader serves: a Reader keeps
// every full tile it authenticated, so a fresh one bounds the memory.
const readerSpan = 1024

// fetchBundles fetches and authenticates bundles [0, n) of the tree of
// cp, at most cap(queue)+1 at a time, and queues their results in order.
func fetchBundles(ctx context.Context, f tile.Fetcher, cp *verify.Checkpoint, n uint64, queue chan<- chan bundle) {
	var r *tile.Reader
	for i := uint64(0); i < n; i++ {
		if i%readerSpan == 0 {
			r = tile.NewReader(ctx, f)
		}
		hr := r.HashReader(cp.Size, cp.Hash)
		ch := make(chan bundle, 1)
		select {
		case queue <- ch:
		case <-ctx.Done():
			return
		}
		go func(r *tile.Reader, i uint64) {
			es, err := r.AuthenticatedBundle(hr, i, cp.Size)
			ch <- bundle{es, err}
		}(r, i)
	}
}

// check runs fsck on the restored store: the tree, the checkpoint and its
// signature, the dedup keys, the query indexes.
func check(ctx context.Context, st *badgerstore.Store, origin, vkey string, progress func(string, uint64, uint64)) error {
	rep, err := ledger.Fsck(ctx, st, ledger.FsckOptions{Origin: origin, VerifierKeys: []string{vkey},
		Progress: func(done, total uint64) { progress("fsck", done, total) }})
	if err != nil {
		return fmt.Errorf("recovery: fsck: %w", err)
	}
	if err := audit.FsckIndexes(ctx, st, rep); err != nil {
		return fmt.Errorf("recovery: fsck of the indexes: %w", err)
	}
	if !rep.OK() {
		return fmt.Errorf("recovery: the restored store fails fsck with %d problems, the first: %s", len(rep.Problems)+rep.Omitted, rep.Problems[0])
	}
	return nil
}

// prepareDir makes dir if it is absent (created) or checks that it is an
// empty directory.
func prepareDir(dir string) (created bool, err error) {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return false, fmt.Errorf("recovery: %w", err)
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("recovery: %w", err)
	case len(ents) > 0:
		return false, fmt.Errorf("%w: %s holds %q (and %d more): restore only into an empty or new directory", ErrDirNotEmpty, dir, ents[0].Name(), len(ents)-1)
	}
	return false, nil
}

// syncDir makes the entries of dir durable.
func syncDir(dir string) error {
	if err := durable.SyncDir(dir); err != nil {
		return fmt.Errorf("recovery: %w", err)
	}
	return nil
}
