package recovery

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/transparency-dev/formats/log"

	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
)

// The backup archive of the private part: a gzipped tar of
//
//	manifest.json          Manifest (first)
//	index.kv               the private index keys (with, as "m/" keys, the request digests kept with
//	                       records' dedup keys): uvarint(len) key uvarint(len) value, repeated
//	files/digest.secret    the server secret
//	files/vault/...        the vault's key file and legacy key files
//
// written with mode 0600: it holds every key that can open private content.
const (
	backupFormat   = "fja-ledger-private-backup/v1"
	manifestMember = "manifest.json"
	indexMember    = "index.kv"
	filesPrefix    = "files/"
)

// Manifest describes a backup of the private part.
type Manifest struct {
	Format string `json:"format"`
	// Checkpoint is the log's signed checkpoint when the backup was taken:
	// a backup is restored only into a data directory whose log holds
	// that tree.
	Checkpoint string    `json:"checkpoint"`
	Origin     string    `json:"origin"`
	Size       uint64    `json:"size"`
	TakenAt    time.Time `json:"taken_at"`
	IndexKeys  int       `json:"index_keys"`
	Files      []string  `json:"files"`
}

// ErrMismatch refuses to restore a backup into a data directory whose log
// does not hold the backup's tree.
var ErrMismatch = errors.New("recovery: the data directory's log does not match the backup's")

// Backup writes the private part of the stopped ledger in the data
// directory dir (ledgerd's --data) to the archive out (replaced
// atomically, mode 0600), and returns its manifest. ledgerd MUST be
// stopped (the store is opened with Badger's exclusive lock). The signing
// key and the tokens file are not in it: they are the operator's
// configuration, kept (and backed up) apart.
func Backup(ctx context.Context, dir, out string) (*Manifest, error) {
	if err := notRotated(dir); err != nil {
		return nil, err
	}
	st, state, c, err := openState(dir)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	m := &Manifest{Format: backupFormat, Checkpoint: string(state.Checkpoint), Origin: c.Origin, Size: c.Size, TakenAt: time.Now().UTC()}
	// The index keys go to a temporary file first (a tar member's size
	// comes before it), so that no part of the backup is held in memory.
	kv, err := os.CreateTemp(filepath.Dir(out), ".fja-backup-keys-*")
	if err != nil {
		return nil, fmt.Errorf("recovery: %w", err)
	}
	defer os.Remove(kv.Name())
	defer kv.Close()
	bw := bufio.NewWriter(kv)
	put := func(k, v []byte) {
		bw.Write(binary.AppendUvarint(nil, uint64(len(k))))
		bw.Write(k)
		bw.Write(binary.AppendUvarint(nil, uint64(len(v))))
		bw.Write(v)
		m.IndexKeys++
	}
	for _, p := range audit.PrivateIndexPrefixes() {
		err := st.Scan(ctx, []byte(p), nil, func(k, v []byte) bool {
			put(k, v)
			return true
		})
		if err != nil {
			return nil, fmt.Errorf("recovery: reading the index keys under %q: %w", p, err)
		}
	}
	// The request digests kept with records' dedup keys go in as the
	// index keys a restore writes back (audit.DigestIndexKV): the public
	// copy a log is rebuilt from holds the dedup keys, not their values.
	err = st.ScanDedupValues(ctx, func(k, v []byte) bool {
		if key, ok := ledger.StampedKey(k); ok {
			if d, ok := audit.DigestIndexKV(key, v); ok {
				put(d.Key, d.Value)
			}
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("recovery: reading the request digests kept with the dedup keys: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("recovery: %w", err)
	}
	if m.Files, err = privateFiles(dir); err != nil {
		return nil, err
	}
	tmp := out + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("recovery: %w", err)
	}
	defer os.Remove(tmp) // after the rename, a no-op
	if err := writeArchive(f, dir, m, kv); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("recovery: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("recovery: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return nil, fmt.Errorf("recovery: %w", err)
	}
	return m, syncDir(filepath.Dir(out))
}

// privateFiles lists the private files of the data directory dir, as
// slash-separated paths relative to it: everything in the vault
// directory, then the server secret.
func privateFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(filepath.Join(dir, VaultDir), func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == filepath.Join(dir, VaultDir) {
			return filepath.SkipDir
		}
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("recovery: %s is not a regular file", p)
		}
		rel, err := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("recovery: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, SecretFile)); err == nil {
		out = append(out, SecretFile)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("recovery: %w", err)
	}
	return out, nil
}

func writeArchive(w io.Writer, dir string, m *Manifest, kv *os.File) error {
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	add := func(name string, size int64, r io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: m.TakenAt, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := io.Copy(tw, r)
		return err
	}
	addFile := func(name string, f *os.File) error {
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		return add(name, fi.Size(), f)
	}
	if err := add(manifestMember, int64(len(mj)), bytes.NewReader(mj)); err != nil {
		return fmt.Errorf("recovery: writing the backup: %w", err)
	}
	if _, err := kv.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("recovery: %w", err)
	}
	if err := addFile(indexMember, kv); err != nil {
		return fmt.Errorf("recovery: writing the backup: %w", err)
	}
	for _, name := range m.Files {
		f, err := os.Open(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return fmt.Errorf("recovery: %w", err)
		}
		err = addFile(filesPrefix+name, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("recovery: writing the backup: %s: %w", name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("recovery: writing the backup: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("recovery: writing the backup: %w", err)
	}
	return nil
}

// archiveReader reads a backup archive member by member.
type archiveReader struct {
	name string
	f    *os.File
	tr   *tar.Reader
}

func openArchive(name string) (*archiveReader, *Manifest, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("recovery: %w", err)
	}
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("recovery: %s is not a backup archive (gzip): %w", name, err)
	}
	a := &archiveReader{name: name, f: f, tr: tar.NewReader(zr)}
	h, err := a.tr.Next()
	var m Manifest
	switch {
	case err != nil:
		err = fmt.Errorf("recovery: %s: %w", name, err)
	case h.Name != manifestMember:
		err = fmt.Errorf("recovery: %s: first member is %q, want %q", name, h.Name, manifestMember)
	default:
		var b []byte
		if b, err = io.ReadAll(io.LimitReader(a.tr, 1<<20)); err == nil {
			err = json.Unmarshal(b, &m)
		}
		if err != nil || m.Format != backupFormat {
			err = fmt.Errorf("recovery: %s: the manifest is not a %s manifest (%v)", name, backupFormat, err)
		}
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return a, &m, nil
}

// privatePath reports whether rel (slash-separated) names a private file a
// backup may restore: the server secret, or a file in the vault directory.
func privatePath(rel string) bool {
	if rel == SecretFile {
		return true
	}
	if path.Clean(rel) != rel || !strings.HasPrefix(rel, VaultDir+"/") {
		return false
	}
	for _, el := range strings.Split(rel, "/") {
		if el == ".." || el == "." || el == "" {
			return false
		}
	}
	return true
}

// maxKVField bounds a key or value of index.kv read back (sealed private
// content is bounded by the largest request body ledgerd takes).
const maxKVField = 64 << 20

// readKV reads the index.kv member and writes its keys to st, in updates
// that fit the store's batch limits; every key MUST have a private prefix.
// It returns how many keys it wrote.
func readKV(ctx context.Context, r io.Reader, st *badgerstore.Store) (int, error) {
	br := bufio.NewReader(r)
	field := func() ([]byte, error) {
		n, err := binary.ReadUvarint(br)
		if err != nil || n > maxKVField {
			return nil, fmt.Errorf("bad length %d (%v)", n, err)
		}
		b := make([]byte, n)
		_, err = io.ReadFull(br, b)
		return b, err
	}
	lim := st.BatchLimits()
	var batch []ledger.KV
	var size int64
	total := 0
	flush := func() error {
		if len(batch) == 0 {
			return ctx.Err()
		}
		if err := st.Update(batch, nil); err != nil {
			return fmt.Errorf("writing %d private index keys: %w", len(batch), err)
		}
		total += len(batch)
		batch, size = batch[:0], 0
		return ctx.Err()
	}
	for {
		if _, err := br.Peek(1); errors.Is(err, io.EOF) {
			return total, flush()
		}
		k, err := field()
		if err != nil {
			return total, fmt.Errorf("key %d: %w", total+len(batch), err)
		}
		v, err := field()
		if err != nil {
			return total, fmt.Errorf("value of key %q: %w", k, err)
		}
		private := false
		for _, p := range audit.PrivateIndexPrefixes() {
			private = private || bytes.HasPrefix(k, []byte(p))
		}
		if !private {
			return total, fmt.Errorf("key %q is not a private index key (want one of the prefixes %q)", k, audit.PrivateIndexPrefixes())
		}
		c := int64(len(k)+min(len(v), int(lim.ValueCap))) + lim.RecordOverhead + 1
		if int64(len(batch)) >= lim.MaxRecords-1 || size+c > lim.MaxBytes {
			if err := flush(); err != nil {
				return total, err
			}
		}
		batch = append(batch, ledger.KV{Key: k, Value: v})
		size += c
	}
}

// openState opens the stopped ledger's store in the data directory dir,
// and returns it with its state and the body of its checkpoint.
func openState(dir string) (*badgerstore.Store, ledger.State, *log.Checkpoint, error) {
	st, err := badgerstore.OpenExisting(filepath.Join(dir, StoreDir))
	if err != nil {
		return nil, ledger.State{}, nil, err
	}
	state, err := st.Load()
	if err == nil && state.Checkpoint == nil {
		err = fmt.Errorf("recovery: the store in %s has no checkpoint", dir)
	}
	var c log.Checkpoint
	if err == nil {
		c, err = ledger.CheckpointBody(state.Checkpoint)
	}
	if err != nil {
		st.Close()
		return nil, ledger.State{}, nil, err
	}
	return st, state, &c, nil
}

// RestorePrivate restores the backup archive into the data directory dir,
// whose log (restored from the public copy, ledgerd stopped) MUST hold the
// backup's tree: the same origin, at least the backup's size, and the
// backup's root at that size. dir MUST hold no vault and no server secret
// yet (a ledgerd started on it before would have made its own, which the
// backup would overwrite). Private content of records logged after the
// backup is not in it.
//
// The archive is streamed, never held in memory. The index keys are
// written first (a vault slot marked in use without the vault's key file
// makes the book refuse to open, so an interrupted restore is never
// served, and is run again), then the files into a staging directory,
// moved into place last: the vault, then the server secret.
func RestorePrivate(ctx context.Context, archivePath, dir string) (*Manifest, error) {
	a, m, err := openArchive(archivePath)
	if err != nil {
		return nil, err
	}
	defer a.f.Close()
	want, err := ledger.CheckpointBody([]byte(m.Checkpoint))
	if err != nil {
		return nil, fmt.Errorf("recovery: the backup's %w", err)
	}
	if err := notRotated(dir); err != nil {
		return nil, err
	}
	for _, f := range []string{VaultDir, SecretFile} {
		if _, err := os.Lstat(filepath.Join(dir, f)); !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s holds %s already (%v): restore the private part only into a directory restored from the public copy and not yet served", ErrDirNotEmpty, dir, f, err)
		}
	}
	st, state, have, err := openState(dir)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if have.Origin != want.Origin {
		return nil, fmt.Errorf("%w: its origin is %q, the backup's %q", ErrMismatch, have.Origin, want.Origin)
	}
	if state.Size < want.Size {
		return nil, fmt.Errorf("%w: it has %d entries, the backup was taken at %d", ErrMismatch, state.Size, want.Size)
	}
	root, err := ledger.RootAt(st, want.Size)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(root, want.Hash) {
		return nil, fmt.Errorf("%w: its tree of size %d has root %x, the backup's %x", ErrMismatch, want.Size, root, want.Hash)
	}
	staging := filepath.Join(dir, ".private.restoring")
	if err := os.RemoveAll(staging); err != nil {
		return nil, fmt.Errorf("recovery: %w", err)
	}
	defer os.RemoveAll(staging)
	keys, files := -1, 0
	for {
		h, err := a.tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("recovery: %s: %w", a.name, err)
		}
		switch {
		case h.Name == indexMember && keys < 0:
			if keys, err = readKV(ctx, a.tr, st); err != nil {
				return nil, fmt.Errorf("recovery: %s: %s: %w", a.name, h.Name, err)
			}
		case strings.HasPrefix(h.Name, filesPrefix) && keys >= 0:
			rel := strings.TrimPrefix(h.Name, filesPrefix)
			if !privatePath(rel) {
				return nil, fmt.Errorf("recovery: %s: member %q is not a private file of a data directory", a.name, h.Name)
			}
			if err := writeFile(staging, rel, a.tr); err != nil {
				return nil, err
			}
			files++
		default:
			return nil, fmt.Errorf("recovery: %s: unexpected member %q (want %s, then files/...)", a.name, h.Name, indexMember)
		}
	}
	if keys != m.IndexKeys || files != len(m.Files) {
		return nil, fmt.Errorf("recovery: %s is incomplete: %d index keys and %d files, the manifest lists %d and %d", a.name, keys, files, m.IndexKeys, len(m.Files))
	}
	if err := st.Close(); err != nil {
		return nil, err
	}
	for _, f := range []string{VaultDir, SecretFile} {
		err := os.Rename(filepath.Join(staging, f), filepath.Join(dir, f))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("recovery: %w", err)
		}
		if err := syncDir(dir); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// writeFile writes the private file rel of a data directory under dir
// from r, durably, mode 0600 (directories 0700).
func writeFile(dir, rel string, r io.Reader) error {
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("recovery: %w", err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("recovery: %w", err)
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("recovery: %s: %w", rel, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("recovery: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("recovery: %w", err)
	}
	return syncDir(filepath.Dir(p))
}
