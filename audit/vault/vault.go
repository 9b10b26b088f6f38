// Package vault keeps the keys that encrypt private content outside the
// Merkle tree, and destroys them on erasure (crypto-shredding).
//
// Layout: one key file, <dir>/keys (mode 0600), of fixed-size 32-byte
// slots; slot n is bytes [32n, 32n+32). A slot holds one random key, or 32
// zero bytes once destroyed. The vault keeps no per-key state in memory:
// only the number of the next free slot and its reserve, the keys written
// ahead and not yet handed out.
//
// Contracts:
//   - Keys are written before they are handed out. The vault keeps a
//     reserve: random keys already written into the slots that follow the
//     last one handed out and made durable by one fsync, ReserveSlots at a
//     time (one write and one fsync per run of ReserveSlots keys, not per
//     batch of records). NewKey hands out the next reserved slot and its
//     key, so a key is durable when NewKey returns it: a record that needs
//     it can be committed at once. When the reserve runs low a new run is
//     written and fsynced in the background; NewKey waits only when the
//     reserve is empty (at the first key after Open, or under a load that
//     outruns the refills).
//   - Sync has group semantics: every write that completed before Sync was
//     called (a refill, a Destroy) is durable when it returns nil;
//     concurrent calls share one fsync, and a call with nothing new to
//     make durable does none (so the ledger's Presync, Sync once per
//     batch, costs nothing while keys come from the reserve). A failed
//     write or fsync leaves the file's state unknown, so it is sticky:
//     every later NewKey, Destroy and Sync returns it (restart to recover).
//   - Slots are handed out in increasing order and never reused: at Open
//     the next slot is derived from the file size (rounded up to a whole
//     slot), past every key ever written, handed out or not. The reserved
//     keys that were never handed out before a restart or a crash are
//     orphans, as are keys handed out to a request that then failed (or
//     lost a race to an identical one): random keys that nothing refers
//     to and nothing was kept encrypted under. They are harmless and stay
//     (of the reserve's, fewer than 1¼ runs, 5,120 keys or 160 KiB, a
//     restart). A run torn by a crash before its fsync returned was never
//     handed out either. So a copy of the key file taken while the vault
//     is open holds the keys it will hand out next; one taken while it is
//     closed (ledgerctl backup) holds none of a later key, since slots
//     resume past the end of the file.
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
// for a delivery window), as long as the caller keeps the slot number.
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

	"github.com/fjaledger/fja/internal/durable"
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

// ReserveSlots is the number of keys a refill of the reserve writes (and
// fsyncs) at once: 512 KiB of keys. A new run is started when fewer than
// a quarter of them are left, so appends draw 4,096 keys while it is
// written and synced: 160 ms of private decisions at 25,000/s. (With 4,096
// a run, the quarter lasted 40 ms, less than the refill's fsync takes
// beside the log's own commits at times: a run of 330,000 batched private
// decisions found the reserve empty three times, 578 appends in all
// waiting 5–15 ms for the next run.)
const ReserveSlots = 16384

// Vault is a key file of slots. It is safe for concurrent use.
type Vault struct {
	dir string
	f   *os.File

	mu   sync.Mutex // guards next, reserve, refilling and closed
	next Slot       // the next slot to hand out
	// reserve holds the keys of slots [next, next+len(reserve)/KeySize):
	// written to the key file and fsynced, not yet handed out. A key
	// handed out is cleared from it.
	reserve []byte
	// refilling is closed when the refill under way (writing the slots
	// that follow the reserve) ends; nil when none is.
	refilling chan struct{}
	closed    bool // Close began: no new refill starts

	// written counts writes to the key file that completed (refills,
	// Destroy); Sync makes durable every write counted when it starts.
	written atomic.Uint64

	fsyncs atomic.Uint64 // fsyncs of the key file done by Sync

	smu      sync.Mutex // guards the fields below; never held across I/O
	synced   uint64     // written as of the start of the last good fsync
	inflight chan struct{}
	failed   error // sticky: a failed write or fsync
}

// fsync is (*os.File).Sync, and writeRun the write of a refill's run;
// tests replace them to inject failures and delays.
var (
	fsync    = (*os.File).Sync
	writeRun = (*os.File).WriteAt
)

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
	// A size that is not a whole number of slots is a refill torn by a
	// crash: none of it was handed out, so never referred to; skip it.
	next := Slot((fi.Size() + KeySize - 1) / KeySize)
	return &Vault{dir: dir, f: f, next: next}, nil
}

// Slots returns the number of slots handed out so far (live, destroyed
// and orphaned alike); the reserve's slots are not counted.
func (v *Vault) Slots() uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return uint64(v.next)
}

// NewKey hands out the next slot and its key, which is durable already
// (see the package contracts: it was written and fsynced before it was
// handed out). A caller that never refers to it leaves a harmless orphan.
func (v *Vault) NewKey() (Slot, []byte, error) {
	for {
		if err := v.stopped(); err != nil {
			return 0, nil, err
		}
		v.mu.Lock()
		if v.closed {
			v.mu.Unlock()
			return 0, nil, errors.New("vault: closed")
		}
		if len(v.reserve) > 0 {
			s := v.next
			key := bytes.Clone(v.reserve[:KeySize])
			clear(v.reserve[:KeySize])
			v.reserve = v.reserve[KeySize:]
			v.next++
			if len(v.reserve) < ReserveSlots/4*KeySize {
				v.startRefill()
			}
			v.mu.Unlock()
			return s, key, nil
		}
		done := v.startRefill()
		v.mu.Unlock()
		<-done // then take a key from the new run, or find why there is none
	}
}

// startRefill starts writing the next run of reserved keys, unless one is
// under way, and returns the channel closed when the run ends. The
// caller holds v.mu.
func (v *Vault) startRefill() chan struct{} {
	if v.refilling == nil {
		v.refilling = make(chan struct{})
		go v.refill(v.next+Slot(len(v.reserve)/KeySize), v.refilling)
	}
	return v.refilling
}

// refill writes ReserveSlots fresh random keys into the slots from the
// first one past the reserve on, with one write, makes them durable (Sync)
// and only then adds them to the reserve. A failed write or fsync stops
// the vault.
func (v *Vault) refill(from Slot, done chan struct{}) {
	keys := make([]byte, ReserveSlots*KeySize)
	err := randomKeys(keys)
	if err == nil {
		if _, err = writeRun(v.f, keys, int64(from)*KeySize); err != nil {
			err = fmt.Errorf("vault: write key slots %d..%d failed, the vault is stopped (restart to recover): %w", from, from+ReserveSlots-1, err)
		} else {
			v.written.Add(1)
			err = v.Sync()
		}
	}
	if err != nil {
		v.fail(err) // NewKey waiting for this run returns it
	}
	v.mu.Lock()
	if err == nil && !v.closed {
		// A new array: the old one's remaining keys are cleared, so that a
		// key lives in memory in one place until it is handed out.
		r := make([]byte, 0, len(v.reserve)+len(keys))
		r = append(append(r, v.reserve...), keys...)
		clear(v.reserve)
		v.reserve = r
	}
	clear(keys)
	v.refilling = nil
	v.mu.Unlock()
	close(done)
}

// randomKeys fills keys with random 32-byte keys, none all zeros (which
// means destroyed).
func randomKeys(keys []byte) error {
	if _, err := rand.Read(keys); err != nil {
		return fmt.Errorf("vault: %w", err)
	}
	for off := 0; off < len(keys); off += KeySize {
		for isZero(keys[off : off+KeySize]) {
			if _, err := rand.Read(keys[off : off+KeySize]); err != nil {
				return fmt.Errorf("vault: %w", err)
			}
		}
	}
	return nil
}

// fail makes err the vault's sticky failure, unless one is set already.
func (v *Vault) fail(err error) {
	v.smu.Lock()
	defer v.smu.Unlock()
	if v.failed == nil {
		v.failed = err
	}
}

// Key returns the key in slot s, or ErrDestroyed if it was destroyed. A
// slot beyond the end of the key file (a key lost, or a slot never handed
// out) is an error that is not ErrDestroyed.
func (v *Vault) Key(s Slot) ([]byte, error) {
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
	if _, err := v.f.WriteAt(make([]byte, KeySize), int64(s)*KeySize); err != nil {
		return fmt.Errorf("vault: overwrite key slot %d: %w", s, err)
	}
	v.written.Add(1)
	return v.Sync()
}

// Sync makes every write to the key file completed before it was called
// durable with one fsync, shared with concurrent callers, none when
// nothing was written since the last one.
func (v *Vault) Sync() error {
	if err := v.stopped(); err != nil {
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

// Close waits for a refill under way, then syncs and closes the key file.
// NewKey fails after it.
func (v *Vault) Close() error {
	v.mu.Lock()
	v.closed = true
	done := v.refilling
	clear(v.reserve)
	v.reserve = nil
	v.mu.Unlock()
	if done != nil {
		<-done
	}
	v.mu.Lock()
	clear(v.reserve) // a refill that ended meanwhile
	v.reserve = nil
	v.mu.Unlock()
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

// syncDir makes the entries of dir durable.
func syncDir(dir string) error {
	if err := durable.SyncDir(dir); err != nil {
		return fmt.Errorf("vault: %w", err)
	}
	return nil
}
