// Package vault keeps the keys that encrypt private content outside the
// Merkle tree, and destroys them on erasure (crypto-shredding).
//
// Layout: one key file, <dir>/keys (mode 0600), of fixed-size 32-byte
// slots; slot n is bytes [32n, 32n+32). A slot holds one random key, or 32
// zero bytes once destroyed. The vault keeps no per-key state in memory:
// only the number of the next free slot.
//
// Contracts:
//   - NewKey makes a fresh random key for the next free slot and returns
//     the slot and the key; the key is kept in memory (Key finds it) until
//     the next Sync writes every key made since the last one with one
//     pwrite (slots are consecutive) and fsyncs. The key is durable once a
//     Sync that started after NewKey returned has returned. The ledger
//     runs Sync once per batch, before the batch's commit
//     (ledger.Config.Presync), so a record that needs a key is never
//     committed before its key is durable: one write and one fsync per
//     batch, not per record.
//   - Sync has group semantics: every key made and every write that
//     completed before Sync was called is durable when it returns nil;
//     concurrent calls share one fsync, and a call with nothing new to
//     flush does none. A failed write or fsync leaves the file's state
//     unknown, so it is sticky: every later NewKey, Destroy and Sync
//     returns it (restart to recover).
//   - Slots are handed out in increasing order and never reused while the
//     vault runs; at Open the next slot is derived from the file size
//     (rounded up to a whole slot). After a crash, keys written but never
//     synced may be gone and their slot numbers handed out again: no
//     committed record refers to them, since its commit waited for a Sync.
//     Keys synced but whose record was never committed (a crash between
//     the fsync and the commit, or an append that lost a race to an
//     identical one) are orphans: random keys that nothing refers to and
//     nothing was kept encrypted under. They are harmless and stay.
//   - Destroy overwrites a slot with zeros and fsyncs before it returns.
//     After it nothing kept in the data directory can rebuild the key: it
//     was never written anywhere but its slot (callers keep slot numbers,
//     never keys, in their indexes). On copy-on-write file systems or SSDs
//     old blocks may survive below the file system; see SECURITY.md.
//   - Seal is AES-256-GCM under a key with a reference (the record's
//     "<kind>/<id>") as additional data: a blob does not open under any
//     other reference. SubKey derives keys for other uses (a keyed digest)
//     so that a key is never used directly by two algorithms.
//
// The slot operations are not tied to records: NewKey, Key and Destroy
// serve any secret that must be destroyable (say, a key wrapping a token
// for a delivery window), as long as the caller keeps the slot number and
// runs Sync before relying on the key's durability.
//
// Legacy layout: before slots, each record's key was a file of its own in
// dir, named by the hex SHA-256 of the record's reference. Such files are
// still read (LegacyKey) and destroyed (DestroyLegacy); no new ones are
// made.
package vault

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
)

// KeySize is the size of a key and of a slot.
const KeySize = 32

// KeyFile is the name of the key file in the vault directory.
const KeyFile = "keys"

// ErrDestroyed is returned for a key that was destroyed (or, in the legacy
// layout, never made).
var ErrDestroyed = errors.New("vault: key destroyed (erased)")

// Slot numbers a key in the key file.
type Slot uint64

// Vault is a key file of slots. It is safe for concurrent use.
type Vault struct {
	dir string
	f   *os.File

	mu   sync.Mutex // guards next, pending and flushing
	next Slot
	// pending are the keys of slots [next-len(pending), next), made since
	// the last flush; flushing those of the flush being written, from
	// flushFrom on (Key reads both until they are in the file).
	pending   []byte
	flushing  []byte
	flushFrom Slot
	flushMu   sync.Mutex // serialises flushes: one is written before the next begins

	// written counts writes to the key file that completed (NewKey,
	// Destroy); Sync makes durable every write counted when it starts.
	written atomic.Uint64

	fsyncs atomic.Uint64 // fsyncs of the key file done by Sync

	smu      sync.Mutex // guards the fields below; never held across I/O
	synced   uint64     // written as of the start of the last good fsync
	inflight chan struct{}
	failed   error // sticky: a failed fsync
}

// fsync is (*os.File).Sync; tests replace it to inject failures.
var fsync = (*os.File).Sync

// Open opens (creating if needed, mode 0700 and 0600) the vault directory
// and its key file.
func Open(dir string) (*Vault, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	path := filepath.Join(dir, KeyFile)
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("vault: %w", err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		// A new key file: its directory entry must be durable before any
		// key in it is relied on.
		if err := syncDir(dir); err != nil {
			f.Close()
			return nil, err
		}
	}
	// A size that is not a whole number of slots is a write torn by a
	// crash: that slot was never synced, so never referred to; skip it.
	next := Slot((fi.Size() + KeySize - 1) / KeySize)
	return &Vault{dir: dir, f: f, next: next}, nil
}

// Slots returns the number of slots handed out so far (live, destroyed
// and orphaned alike).
func (v *Vault) Slots() uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return uint64(v.next)
}

// NewKey makes a random key, writes it into the next free slot and returns
// both. The key is durable only after the next Sync (see the package
// contracts); a caller that never gets that far leaves a harmless orphan.
func (v *Vault) NewKey() (Slot, []byte, error) {
	if err := v.stopped(); err != nil {
		return 0, nil, err
	}
	key := make([]byte, KeySize)
	for {
		if _, err := rand.Read(key); err != nil {
			return 0, nil, fmt.Errorf("vault: %w", err)
		}
		if !isZero(key) { // all zeros means destroyed
			break
		}
	}
	v.mu.Lock()
	s := v.next
	v.next++
	v.pending = append(v.pending, key...)
	v.mu.Unlock()
	return s, key, nil
}

// flush writes the keys made so far (pending) into their slots with one
// write, counted in written. A failed write stops the vault.
func (v *Vault) flush() error {
	v.flushMu.Lock()
	defer v.flushMu.Unlock()
	v.mu.Lock()
	keys := v.pending
	from := v.next - Slot(len(keys)/KeySize)
	v.pending, v.flushing, v.flushFrom = nil, keys, from
	v.mu.Unlock()
	if len(keys) == 0 {
		return nil
	}
	_, err := v.f.WriteAt(keys, int64(from)*KeySize)
	if err != nil {
		err = fmt.Errorf("vault: write key slots %d..%d failed, the vault is stopped (restart to recover): %w", from, from+Slot(len(keys)/KeySize)-1, err)
		v.smu.Lock()
		if v.failed == nil {
			v.failed = err
		}
		v.smu.Unlock()
	} else {
		v.written.Add(1)
	}
	v.mu.Lock()
	v.flushing = nil
	v.mu.Unlock()
	return err
}

// unwritten returns a copy of the key of slot s if it is made but not yet
// in the file.
func (v *Vault) unwritten(s Slot) ([]byte, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if n := Slot(len(v.pending) / KeySize); s < v.next && s >= v.next-n {
		off := int(s-(v.next-n)) * KeySize
		return bytes.Clone(v.pending[off : off+KeySize]), true
	}
	if n := Slot(len(v.flushing) / KeySize); s >= v.flushFrom && s < v.flushFrom+n {
		off := int(s-v.flushFrom) * KeySize
		return bytes.Clone(v.flushing[off : off+KeySize]), true
	}
	return nil, false
}

// Key returns the key in slot s, or ErrDestroyed if it was destroyed. A
// slot beyond the end of the key file (a key lost, or a slot never handed
// out) is an error that is not ErrDestroyed.
func (v *Vault) Key(s Slot) ([]byte, error) {
	if key, ok := v.unwritten(s); ok {
		return key, nil
	}
	key := make([]byte, KeySize)
	n, err := v.f.ReadAt(key, int64(s)*KeySize)
	if n < KeySize {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("vault: key slot %d is beyond the end of the key file (%d slots handed out): the key is missing", s, v.Slots())
		}
		return nil, fmt.Errorf("vault: read key slot %d: %w", s, err)
	}
	if isZero(key) {
		return nil, ErrDestroyed
	}
	return key, nil
}

// Destroy overwrites slot s with zeros and makes that durable before it
// returns. Destroying a destroyed slot is not an error (a retried erasure
// finishes what a crash interrupted); a slot never handed out is.
func (v *Vault) Destroy(s Slot) error {
	if n := v.Slots(); uint64(s) >= n {
		return fmt.Errorf("vault: destroy key slot %d: no such slot (%d handed out)", s, n)
	}
	if err := v.stopped(); err != nil {
		return err
	}
	// The key goes to its slot first (it may still be in memory), so that
	// no later flush writes it back.
	if err := v.flush(); err != nil {
		return err
	}
	if _, err := v.f.WriteAt(make([]byte, KeySize), int64(s)*KeySize); err != nil {
		return fmt.Errorf("vault: overwrite key slot %d: %w", s, err)
	}
	v.written.Add(1)
	return v.Sync()
}

// Sync makes every key made and every write completed before it was
// called durable: one write of the keys made since the last flush, then
// one fsync of the key file, shared with concurrent callers, none when
// nothing was written since the last one.
func (v *Vault) Sync() error {
	if err := v.stopped(); err != nil {
		return err
	}
	if err := v.flush(); err != nil {
		return err
	}
	want := v.written.Load()
	for {
		v.smu.Lock()
		switch {
		case v.failed != nil:
			err := v.failed
			v.smu.Unlock()
			return err
		case v.synced >= want:
			v.smu.Unlock()
			return nil
		case v.inflight != nil:
			// An fsync is under way, maybe begun before our writes: wait
			// for it, then look again.
			ch := v.inflight
			v.smu.Unlock()
			<-ch
			continue
		}
		ch := make(chan struct{})
		v.inflight = ch
		// Every write counted here completed before the fsync begins.
		gen := v.written.Load()
		v.smu.Unlock()

		err := fsync(v.f)
		v.fsyncs.Add(1)

		v.smu.Lock()
		v.inflight = nil
		if err != nil {
			v.failed = fmt.Errorf("vault: fsync of the key file failed, the vault is stopped (restart to recover): %w", err)
		} else if gen > v.synced {
			v.synced = gen
		}
		v.smu.Unlock()
		close(ch)
	}
}

func (v *Vault) stopped() error {
	v.smu.Lock()
	defer v.smu.Unlock()
	return v.failed
}

// Close syncs and closes the key file.
func (v *Vault) Close() error {
	return errors.Join(v.Sync(), v.f.Close())
}

// Seal returns plaintext sealed with AES-256-GCM under key, with ref as
// additional data: nonce (12 random bytes) || ciphertext || tag.
func Seal(key []byte, ref string, plaintext []byte) ([]byte, error) {
	return AppendSeal(nil, key, ref, plaintext)
}

// AppendSeal appends to dst what Seal returns, in one allocation at most
// (none when dst has room for SealedSize(len(plaintext)) more bytes).
func AppendSeal(dst, key []byte, ref string, plaintext []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	n := len(dst)
	dst = slices.Grow(dst, SealedSize(len(plaintext)))[:n+nonceSize]
	nonce := dst[n:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(dst, nonce, plaintext, []byte(ref)), nil
}

// SealedSize is the size of what Seal makes of n bytes of plaintext.
func SealedSize(n int) int { return nonceSize + n + tagSize }

// The sizes of the nonce and tag of AES-256-GCM as Seal uses it.
const (
	nonceSize = 12
	tagSize   = 16
)

// Unseal returns the plaintext of a blob Seal made under key for ref.
func Unseal(key []byte, ref string, sealed []byte) ([]byte, error) {
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

// SubKey derives from key a key for purpose (HMAC-SHA256(key, purpose)),
// so that one vault key can key a digest without being used directly by
// two algorithms. Destroying key destroys every subkey with it.
func SubKey(key []byte, purpose string) []byte {
	return AppendMAC(make([]byte, 0, sha256.Size), key, []byte(purpose))
}

// AppendMAC appends HMAC-SHA256(key, msgs[0] || msgs[1] || ...) to dst
// (RFC 2104), what crypto/hmac computes (TestAppendMAC), without its
// allocations: the hash states live on the stack. It is for keys used
// once or twice, such as a record's vault key, where keying crypto/hmac
// (two hash states and two pads on the heap) costs more than the MAC.
func AppendMAC(dst, key []byte, msgs ...[]byte) []byte {
	const blockSize = 64 // SHA-256's
	var pad [blockSize]byte
	if len(key) > blockSize {
		k := sha256.Sum256(key)
		copy(pad[:], k[:])
	} else {
		copy(pad[:], key)
	}
	for i := range pad {
		pad[i] ^= 0x36
	}
	inner := sha256.New()
	inner.Write(pad[:])
	for _, m := range msgs {
		inner.Write(m)
	}
	var sum [sha256.Size]byte
	inner.Sum(sum[:0])
	for i := range pad {
		pad[i] ^= 0x36 ^ 0x5c
	}
	outer := sha256.New()
	outer.Write(pad[:])
	outer.Write(sum[:])
	clear(pad[:])
	return outer.Sum(dst)
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("vault: key has %d bytes, want %d", len(key), KeySize)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// legacyPath is the key file of ref in the legacy layout.
func (v *Vault) legacyPath(ref string) string {
	h := sha256.Sum256([]byte(ref))
	return filepath.Join(v.dir, hex.EncodeToString(h[:]))
}

// LegacyKey returns ref's key in the legacy layout (a file per record), or
// ErrDestroyed if there is none.
func (v *Vault) LegacyKey(ref string) ([]byte, error) {
	key, err := os.ReadFile(v.legacyPath(ref))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrDestroyed
	}
	if err != nil {
		return nil, fmt.Errorf("vault: legacy key of %s: %w", ref, err)
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("vault: legacy key file of %s has %d bytes, want %d", ref, len(key), KeySize)
	}
	return key, nil
}

// DestroyLegacy shreds ref's legacy key file: overwritten with zeros,
// fsynced, removed, and the directory fsynced. ErrDestroyed if there is
// none.
func (v *Vault) DestroyLegacy(ref string) error {
	p := v.legacyPath(ref)
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return ErrDestroyed
	}
	if err != nil {
		return fmt.Errorf("vault: %w", err)
	}
	_, werr := f.WriteAt(make([]byte, KeySize), 0)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("vault: overwrite legacy key of %s: %w", ref, err)
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("vault: remove legacy key of %s: %w", ref, err)
	}
	return syncDir(v.dir)
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
