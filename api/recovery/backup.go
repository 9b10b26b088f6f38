package recovery

import (
	"archive/tar"
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
	"github.com/fjaledger/fja/audit/vault"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
)

// The backup archive of the private part: a gzipped tar of
//
//	manifest.json          Manifest (first)
//	index.kv               the private index keys: uvarint(len) key uvarint(len) value, repeated
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
	st, state, c, err := openState(dir)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	m := &Manifest{Format: backupFormat, Checkpoint: string(state.Checkpoint), Origin: c.Origin, Size: c.Size, TakenAt: time.Now().UTC()}
	var kv bytes.Buffer
	for _, p := range audit.PrivateIndexPrefixes() {
		err := st.Scan(ctx, []byte(p), nil, func(k, v []byte) bool {
			kv.Write(binary.AppendUvarint(nil, uint64(len(k))))
			kv.Write(k)
			kv.Write(binary.AppendUvarint(nil, uint64(len(v))))
			kv.Write(v)
			m.IndexKeys++
			return true
		})
		if err != nil {
			return nil, fmt.Errorf("recovery: reading the index keys under %q: %w", p, err)
		}
	}
	files, err := privateFiles(dir)
	if err != nil {
		return nil, err
	}
	m.Files = files
	tmp := out + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("recovery: %w", err)
	}
	defer os.Remove(tmp) // after the rename, a no-op
	if err := writeArchive(f, dir, m, kv.Bytes()); err != nil {
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
// slash-separated paths relative to it: the server secret and everything
// in the vault directory.
func privateFiles(dir string) ([]string, error) {
	var out []string
	if _, err := os.Stat(filepath.Join(dir, SecretFile)); err == nil {
		out = append(out, SecretFile)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("recovery: %w", err)
	}
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
	return out, nil
}

func writeArchive(w io.Writer, dir string, m *Manifest, kv []byte) error {
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	add := func(name string, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(b)), ModTime: m.TakenAt, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	if err := add(manifestMember, mj); err != nil {
		return fmt.Errorf("recovery: writing the backup: %w", err)
	}
	if err := add(indexMember, kv); err != nil {
		return fmt.Errorf("recovery: writing the backup: %w", err)
	}
	for _, f := range m.Files {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil {
			return fmt.Errorf("recovery: %w", err)
		}
		if err := add(filesPrefix+f, b); err != nil {
			return fmt.Errorf("recovery: writing the backup: %w", err)
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

// archive is a backup read into memory.
type archive struct {
	m     Manifest
	kv    []ledger.KV
	files map[string][]byte
}

// maxMember bounds one member of a backup archive read back.
const maxMember = 1 << 34

func readArchive(name string) (*archive, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("recovery: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("recovery: %s is not a backup archive (gzip): %w", name, err)
	}
	tr := tar.NewReader(zr)
	a := &archive{files: map[string][]byte{}}
	for first := true; ; first = false {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("recovery: %s: %w", name, err)
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxMember))
		if err != nil {
			return nil, fmt.Errorf("recovery: %s: %s: %w", name, h.Name, err)
		}
		switch {
		case first && h.Name != manifestMember:
			return nil, fmt.Errorf("recovery: %s: first member is %q, want %q", name, h.Name, manifestMember)
		case h.Name == manifestMember:
			if err := json.Unmarshal(b, &a.m); err != nil || a.m.Format != backupFormat {
				return nil, fmt.Errorf("recovery: %s: manifest is not a %s manifest (%v)", name, backupFormat, err)
			}
		case h.Name == indexMember:
			if a.kv, err = parseKV(b); err != nil {
				return nil, fmt.Errorf("recovery: %s: %s: %w", name, h.Name, err)
			}
		case strings.HasPrefix(h.Name, filesPrefix):
			rel := strings.TrimPrefix(h.Name, filesPrefix)
			if !privatePath(rel) {
				return nil, fmt.Errorf("recovery: %s: member %q is not a private file of a data directory", name, h.Name)
			}
			a.files[rel] = b
		default:
			return nil, fmt.Errorf("recovery: %s: unknown member %q", name, h.Name)
		}
	}
	if len(a.files) != len(a.m.Files) || a.kv == nil && a.m.IndexKeys > 0 || len(a.kv) != a.m.IndexKeys {
		return nil, fmt.Errorf("recovery: %s is incomplete: %d files and %d index keys, the manifest lists %d and %d", name, len(a.files), len(a.kv), len(a.m.Files), a.m.IndexKeys)
	}
	return a, nil
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

// parseKV decodes the index.kv member; every key MUST have a private prefix.
func parseKV(b []byte) ([]ledger.KV, error) {
	kvs := []ledger.KV{}
	next := func() ([]byte, error) {
		n, w := binary.Uvarint(b)
		if w <= 0 || n > uint64(len(b)-w) {
			return nil, errors.New("truncated")
		}
		v := b[w : w+int(n)]
		b = b[w+int(n):]
		return v, nil
	}
	for len(b) > 0 {
		k, err := next()
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", len(kvs), err)
		}
		v, err := next()
		if err != nil {
			return nil, fmt.Errorf("value of key %q: %w", k, err)
		}
		private := false
		for _, p := range audit.PrivateIndexPrefixes() {
			private = private || bytes.HasPrefix(k, []byte(p))
		}
		if !private {
			return nil, fmt.Errorf("key %q is not a private index key (want one of the prefixes %q)", k, audit.PrivateIndexPrefixes())
		}
		kvs = append(kvs, ledger.KV{Key: k, Value: v})
	}
	return kvs, nil
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
// backup's root at that size. dir MUST hold no vault key file and no
// server secret yet (a ledgerd started on it before would have made its
// own, which the backup would overwrite). Private content of records
// logged after the backup is not in it.
func RestorePrivate(ctx context.Context, archivePath, dir string) (*Manifest, error) {
	a, err := readArchive(archivePath)
	if err != nil {
		return nil, err
	}
	want, err := ledger.CheckpointBody([]byte(a.m.Checkpoint))
	if err != nil {
		return nil, fmt.Errorf("recovery: the backup's %w", err)
	}
	_, secretErr := os.Stat(filepath.Join(dir, SecretFile))
	keys, keysErr := os.Stat(filepath.Join(dir, VaultDir, vault.KeyFile))
	if secretErr == nil || keysErr == nil && keys.Size() > 0 {
		return nil, fmt.Errorf("%w: %s holds a server secret or vault keys already (a ledgerd ran on it?): restore the private part only into a directory restored from the public copy and not yet served", ErrDirNotEmpty, dir)
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
	// Index keys first: a vault slot marked in use without the key file
	// makes the book refuse to open (audit.Open), so an interrupted
	// restore is never served; it is run again.
	if err := writeKeys(ctx, st, a.kv); err != nil {
		return nil, err
	}
	if err := st.Close(); err != nil {
		return nil, err
	}
	for _, rel := range a.m.Files {
		if err := writeFile(dir, rel, a.files[rel]); err != nil {
			return nil, err
		}
	}
	return &a.m, nil
}

// writeKeys writes kvs in updates that fit the store's batch limits.
func writeKeys(ctx context.Context, st *badgerstore.Store, kvs []ledger.KV) error {
	lim := st.BatchLimits()
	for len(kvs) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, bytes := 0, int64(0)
		for n < len(kvs) && int64(n) < lim.MaxRecords-1 {
			c := int64(len(kvs[n].Key)+min(len(kvs[n].Value), int(lim.ValueCap))) + lim.RecordOverhead + 1
			if n > 0 && bytes+c > lim.MaxBytes {
				break
			}
			bytes += c
			n++
		}
		if err := st.Update(kvs[:n], nil); err != nil {
			return fmt.Errorf("recovery: writing %d private index keys: %w", n, err)
		}
		kvs = kvs[n:]
	}
	return nil
}

// writeFile writes the private file rel of a data directory durably, mode
// 0600 (directories 0700), through a temporary file.
func writeFile(dir, rel string, b []byte) error {
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("recovery: %w", err)
	}
	tmp := p + ".restoring"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("recovery: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("recovery: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("recovery: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("recovery: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("recovery: %w", err)
	}
	return syncDir(filepath.Dir(p))
}
