// Package vault keeps the per-record keys that encrypt private content
// outside the Merkle tree, and destroys them on erasure (crypto-shredding).
//
// Contracts:
//   - Each record's data-encryption key (DEK, 32 random bytes) lives in its
//     own file (mode 0600), written and fsynced before Seal returns, so
//     sealed content committed afterwards can always be opened until
//     Destroy. A record has one key at most; sealing again reuses it.
//   - Sealed content is AES-256-GCM under the DEK with the record reference
//     as additional data: a blob cannot be moved to another record.
//   - Destroy overwrites the key file with zeros, fsyncs, removes it and
//     fsyncs the directory. After it the content cannot be opened from
//     anything kept in the data directory: the DEK was never written
//     anywhere else. (On copy-on-write file systems or SSDs the old blocks
//     may survive below the file system; see SECURITY.md.)
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrDestroyed is returned for a record whose key does not exist (never
// sealed, or destroyed).
var ErrDestroyed = errors.New("vault: no key for this record (erased or never sealed)")

// Vault is a directory of per-record keys. It is safe for concurrent use
// as long as no two goroutines work on the same reference at once.
type Vault struct {
	dir string
}

// Open opens (creating if needed, mode 0700) the vault directory.
func Open(dir string) (*Vault, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	return &Vault{dir: dir}, nil
}

func (v *Vault) path(ref string) string {
	h := sha256.Sum256([]byte(ref))
	return filepath.Join(v.dir, hex.EncodeToString(h[:]))
}

// Seal returns plaintext sealed under ref's key, making the key if ref has
// none. A key left by an earlier attempt that was never committed (or by a
// concurrent Seal of the same ref) is reused, so a retried append works.
func (v *Vault) Seal(ref string, plaintext []byte) ([]byte, error) {
	key, err := v.Key(ref)
	if errors.Is(err, ErrDestroyed) {
		key, err = v.newKey(ref)
	}
	if err != nil {
		return nil, err
	}
	return seal(key, ref, plaintext)
}

// newKey writes a fresh key for ref: to a temporary file, fsynced, then
// linked into place, so a key file is never seen half-written. If another
// goroutine linked one first, that key wins and is returned.
func (v *Vault) newKey(ref string) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(v.dir, ".new-*")
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(key)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return nil, fmt.Errorf("vault: key of %s: %w", ref, err)
	}
	if err := os.Link(tmp.Name(), v.path(ref)); errors.Is(err, fs.ErrExist) {
		return v.Key(ref)
	} else if err != nil {
		return nil, fmt.Errorf("vault: key of %s: %w", ref, err)
	}
	if err := syncDir(v.dir); err != nil {
		return nil, err
	}
	return key, nil
}

// Open returns the plaintext of a blob sealed for ref.
func (v *Vault) Open(ref string, sealed []byte) ([]byte, error) {
	key, err := v.Key(ref)
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	n := aead.NonceSize()
	if len(sealed) < n+aead.Overhead() {
		return nil, fmt.Errorf("vault: sealed blob of %s has %d bytes, want at least %d", ref, len(sealed), n+aead.Overhead())
	}
	pt, err := aead.Open(nil, sealed[:n], sealed[n:], []byte(ref))
	if err != nil {
		return nil, fmt.Errorf("vault: sealed blob of %s does not open: %w", ref, err)
	}
	return pt, nil
}

// Key returns ref's DEK (for keyed digests of the content), or ErrDestroyed.
func (v *Vault) Key(ref string) ([]byte, error) {
	key, err := os.ReadFile(v.path(ref))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrDestroyed
	}
	if err != nil {
		return nil, fmt.Errorf("vault: key of %s: %w", ref, err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("vault: key file of %s has %d bytes, want 32", ref, len(key))
	}
	return key, nil
}

// Destroy shreds ref's key. Destroying a key that does not exist returns
// ErrDestroyed.
func (v *Vault) Destroy(ref string) error {
	p := v.path(ref)
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return ErrDestroyed
	}
	if err != nil {
		return fmt.Errorf("vault: %w", err)
	}
	_, werr := f.WriteAt(make([]byte, 32), 0)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("vault: overwrite key of %s: %w", ref, err)
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("vault: remove key of %s: %w", ref, err)
	}
	return syncDir(v.dir)
}

func seal(key []byte, ref string, plaintext []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plaintext, []byte(ref)), nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("vault: sync %s: %w", dir, err)
	}
	return nil
}
