package vault

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func openT(t *testing.T, dir string) *Vault {
	t.Helper()
	v, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func newKeyT(t *testing.T, v *Vault) (Slot, []byte) {
	t.Helper()
	s, k, err := v.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return s, k
}

// TestSlots: keys take consecutive slots of 32 bytes in the key file, read
// back by slot; each is in the file, fsynced, before NewKey returns it:
// the first key wrote a whole run of ReserveSlots keys with one write and
// one fsync, the next ones none; nothing else is written.
func TestSlots(t *testing.T) {
	dir := t.TempDir()
	v := openT(t, dir)
	var keys [][]byte
	for i := range 5 {
		s, k := newKeyT(t, v)
		if s != Slot(i) {
			t.Fatalf("key %d took slot %d", i, s)
		}
		keys = append(keys, k)
		if i == 0 {
			if w, f := v.written.Load(), v.fsyncs.Load(); w != 1 || f != 1 {
				t.Fatalf("the first key: %d writes and %d fsyncs before it was handed out, want 1 and 1", w, f)
			}
		}
	}
	if w, f := v.written.Load(), v.fsyncs.Load(); w != 1 || f != 1 {
		t.Fatalf("5 keys: %d writes and %d fsyncs in all, want 1 and 1 (one run)", w, f)
	}
	// Sync finds nothing to do: the keys were durable when handed out.
	if err := v.Sync(); err != nil || v.fsyncs.Load() != 1 {
		t.Fatalf("Sync after 5 keys: %v, %d fsyncs; want none more", err, v.fsyncs.Load())
	}
	b, err := os.ReadFile(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != ReserveSlots*KeySize {
		t.Fatalf("key file of %d bytes, want one run of %d slots", len(b), ReserveSlots)
	}
	if !bytes.Equal(b[:5*KeySize], bytes.Join(keys, nil)) {
		t.Fatalf("key file begins %x, want the 5 keys in slot order", b[:5*KeySize])
	}
	for i, k := range keys {
		got, err := v.Key(Slot(i))
		if err != nil || !bytes.Equal(got, k) {
			t.Fatalf("Key(%d) = %x, %v; want %x", i, got, err, k)
		}
	}
	for off := 0; off < len(b); off += KeySize {
		if isZero(b[off : off+KeySize]) {
			t.Fatalf("slot %d of the run is all zeros (reads as destroyed)", off/KeySize)
		}
	}
	if _, err := v.Key(ReserveSlots); err == nil || errors.Is(err, ErrDestroyed) {
		t.Fatalf("Key beyond the file: %v, want a missing-key error that is not ErrDestroyed", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("vault directory holds %d entries, want only %s", len(ents), KeyFile)
	}
	if v.Slots() != 5 {
		t.Fatalf("Slots() = %d, want 5", v.Slots())
	}
}

// TestRefillAhead: the next run is written once a quarter of the reserve
// is left, ahead of NewKey needing it, and follows the last slot written;
// slots stay consecutive across runs.
func TestRefillAhead(t *testing.T) {
	dir := t.TempDir()
	v := openT(t, dir)
	n := ReserveSlots - ReserveSlots/4 + 1 // leaves a quarter less one
	for i := range n {
		if s, _ := newKeyT(t, v); s != Slot(i) {
			t.Fatalf("key %d took slot %d", i, s)
		}
	}
	v.mu.Lock()
	done := v.refilling
	v.mu.Unlock()
	if done == nil && v.written.Load() < 2 {
		t.Fatalf("after %d of %d reserved keys no refill is under way or done", n, ReserveSlots)
	}
	if done != nil {
		<-done
	}
	if w, f := v.written.Load(), v.fsyncs.Load(); w != 2 || f != 2 {
		t.Fatalf("%d writes and %d fsyncs after the refill, want 2 and 2", w, f)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || fi.Size() != 2*ReserveSlots*KeySize {
		t.Fatalf("key file after the refill: %v, %v; want 2 runs, %d bytes", fi.Size(), err, 2*ReserveSlots*KeySize)
	}
	for i := n; i < 2*ReserveSlots; i++ {
		s, k := newKeyT(t, v)
		if s != Slot(i) {
			t.Fatalf("key %d took slot %d", i, s)
		}
		if got, err := v.Key(s); err != nil || !bytes.Equal(got, k) {
			t.Fatalf("Key(%d) = %x, %v; want %x", s, got, err, k)
		}
	}
}

// TestConcurrentNewKey: concurrent callers get distinct slots, each
// holding its own key.
func TestConcurrentNewKey(t *testing.T) {
	v := openT(t, t.TempDir())
	const n = 64
	slots := make([]Slot, n)
	keys := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, k, err := v.NewKey()
			if err != nil {
				t.Error(err)
			}
			slots[i], keys[i] = s, k
		})
	}
	wg.Wait()
	seen := map[Slot]bool{}
	for i, s := range slots {
		if seen[s] {
			t.Fatalf("slot %d handed out twice", s)
		}
		seen[s] = true
		if got, err := v.Key(s); err != nil || !bytes.Equal(got, keys[i]) {
			t.Fatalf("slot %d holds %x, %v; want %x", s, got, err, keys[i])
		}
	}
}

// TestSync: Sync fsyncs once when something was written since the last
// fsync, and not at all otherwise; concurrent Syncs share fsyncs.
func TestSync(t *testing.T) {
	v := openT(t, t.TempDir())
	if err := v.Sync(); err != nil || v.fsyncs.Load() != 0 {
		t.Fatalf("Sync of a fresh vault: %v, %d fsyncs; want none", err, v.fsyncs.Load())
	}
	newKeyT(t, v)
	newKeyT(t, v)
	if err := v.Sync(); err != nil || v.fsyncs.Load() != 1 {
		t.Fatalf("Sync after two keys: %v, %d fsyncs; want 1 (the run's)", err, v.fsyncs.Load())
	}
	// A write counted since (as Destroy makes one), then 32 concurrent
	// Syncs: the first fsync covers it, the others wait for it or find it
	// done.
	if _, err := v.f.WriteAt(make([]byte, KeySize), 0); err != nil {
		t.Fatal(err)
	}
	v.written.Add(1)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			if err := v.Sync(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := v.fsyncs.Load(); n != 2 {
		t.Fatalf("32 concurrent Syncs made %d fsyncs in all, want 2 (one for the write)", n)
	}
}

// TestSyncGroup: a Sync that finds an fsync in flight that began before
// its writes waits for it and then makes its own.
func TestSyncGroup(t *testing.T) {
	v := openT(t, t.TempDir())
	release := make(chan struct{})
	entered := make(chan struct{})
	var once sync.Once
	fsync = func(f *os.File) error {
		once.Do(func() { close(entered); <-release })
		return f.Sync()
	}
	t.Cleanup(func() { fsync = (*os.File).Sync })
	v.written.Add(1) // a write completed
	first := make(chan error)
	go func() { first <- v.Sync() }()
	<-entered // the first fsync is under way, covering one write
	v.written.Add(1)
	second := make(chan error)
	go func() { second <- v.Sync() }()
	close(release)
	if err := errors.Join(<-first, <-second); err != nil {
		t.Fatal(err)
	}
	if n := v.fsyncs.Load(); n != 2 {
		t.Fatalf("%d fsyncs, want 2: the second write came after the first fsync began", n)
	}
	if v.synced != 2 {
		t.Fatalf("synced = %d, want 2 writes covered", v.synced)
	}
}

// TestSyncFailureSticks: a key is never handed out from a run whose fsync
// failed, and after the failure the vault makes no key and every Sync
// fails, so no record is committed on a key that may be lost; a failure
// in a background refill stops the vault too.
func TestSyncFailureSticks(t *testing.T) {
	t.Cleanup(func() { fsync = (*os.File).Sync })
	fsync = func(*os.File) error { return errors.New("injected EIO") }
	v := openT(t, t.TempDir())
	if s, k, err := v.NewKey(); err == nil || !strings.Contains(err.Error(), "injected EIO") {
		t.Fatalf("NewKey with a failing fsync = %d, %x, %v; want the fsync's error", s, k, err)
	}
	fsync = (*os.File).Sync
	if err := v.Sync(); err == nil {
		t.Fatal("Sync succeeded after an earlier fsync failed")
	}
	if _, _, err := v.NewKey(); err == nil {
		t.Fatal("NewKey succeeded after an fsync failed")
	}
	if err := v.Destroy(0); err == nil {
		t.Fatal("Destroy succeeded after an fsync failed")
	}

	// The run's fsync fails in the background, while keys are left.
	w := openT(t, t.TempDir())
	newKeyT(t, w)
	fsync = func(*os.File) error { return errors.New("injected EIO") }
	var err error
	for i := 1; i < ReserveSlots && err == nil; i++ {
		_, _, err = w.NewKey()
	}
	w.mu.Lock()
	done := w.refilling
	w.mu.Unlock()
	if done != nil {
		<-done
	}
	if err == nil {
		_, _, err = w.NewKey()
	}
	if err == nil || !strings.Contains(err.Error(), "injected EIO") {
		t.Fatalf("NewKey after a failed background refill: %v, want the fsync's error", err)
	}
}

// TestDestroy: a destroyed slot reads as ErrDestroyed, holds zeros in the
// file, and its neighbours are untouched; destroying again is fine, a slot
// never handed out is an error.
func TestDestroy(t *testing.T) {
	dir := t.TempDir()
	v := openT(t, dir)
	_, k0 := newKeyT(t, v)
	s1, k1 := newKeyT(t, v)
	_, k2 := newKeyT(t, v)
	if err := v.Sync(); err != nil {
		t.Fatal(err)
	}
	before := v.fsyncs.Load()
	if err := v.Destroy(s1); err != nil {
		t.Fatal(err)
	}
	if v.fsyncs.Load() != before+1 {
		t.Fatal("Destroy returned before an fsync")
	}
	if _, err := v.Key(s1); !errors.Is(err, ErrDestroyed) {
		t.Fatalf("Key of a destroyed slot: %v, want ErrDestroyed", err)
	}
	if err := v.Destroy(s1); err != nil {
		t.Fatalf("second Destroy: %v", err)
	}
	if err := v.Destroy(3); err == nil {
		t.Fatal("Destroy of a slot never handed out succeeded")
	}
	b, _ := os.ReadFile(filepath.Join(dir, KeyFile))
	want := bytes.Join([][]byte{k0, make([]byte, KeySize), k2}, nil)
	if len(b) < len(want) || !bytes.Equal(b[:len(want)], want) {
		t.Fatalf("key file begins %x, want %x", b[:min(len(b), len(want))], want)
	}
	if bytes.Contains(b, k1) {
		t.Fatal("the destroyed key is still in the key file")
	}
}

// TestReopen: the next slot after a restart follows the file, past the
// reserved keys never handed out (orphans) and a torn last slot (a crash
// mid-write, never synced), and keys written before read back.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	v, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s0, k0 := newKeyT(t, v)
	s1, _ := newKeyT(t, v)
	if err := v.Destroy(s1); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.NewKey(); err == nil {
		t.Fatal("NewKey after Close succeeded")
	}
	v = openT(t, dir)
	if got, err := v.Key(s0); err != nil || !bytes.Equal(got, k0) {
		t.Fatalf("after reopen Key(%d) = %x, %v", s0, got, err)
	}
	if _, err := v.Key(s1); !errors.Is(err, ErrDestroyed) {
		t.Fatalf("after reopen a destroyed slot reads %v", err)
	}
	if s, _ := newKeyT(t, v); s != ReserveSlots {
		t.Fatalf("after reopen the next key took slot %d, want %d, past the run written before (slots are never reused)", s, ReserveSlots)
	}
	v.Close()

	// a torn write: 40 bytes = 1 slot + 8 bytes of a second
	tdir := t.TempDir()
	if err := os.WriteFile(filepath.Join(tdir, KeyFile), bytes.Repeat([]byte{7}, 40), 0o600); err != nil {
		t.Fatal(err)
	}
	v = openT(t, tdir)
	if s, _ := newKeyT(t, v); s != 2 {
		t.Fatalf("after a torn slot the next key took slot %d, want 2", s)
	}
}

// TestCloseWaitsForRefill: Close waits for a refill under way before it
// closes the file, and nothing is handed out after it.
func TestCloseWaitsForRefill(t *testing.T) {
	dir := t.TempDir()
	v, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	entered := make(chan struct{})
	var once sync.Once
	writeRun = func(f *os.File, b []byte, off int64) (int, error) {
		once.Do(func() { close(entered); <-release })
		return f.WriteAt(b, off)
	}
	t.Cleanup(func() { writeRun = (*os.File).WriteAt })
	key := make(chan error)
	go func() { _, _, err := v.NewKey(); key <- err }()
	<-entered // the first run's write is under way
	closed := make(chan error)
	go func() { closed <- v.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a refill's write was under way", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if err := <-key; err == nil {
		t.Fatal("a NewKey waiting for the first run got a key from a vault closed meanwhile")
	}
	if fi, err := os.Stat(filepath.Join(dir, KeyFile)); err != nil || fi.Size() != ReserveSlots*KeySize {
		t.Fatalf("key file after Close: %v; want the whole run written", err)
	}
}

// TestSealUnseal: a sealed blob opens under its key and reference only.
func TestSealUnseal(t *testing.T) {
	v := openT(t, t.TempDir())
	_, key := newKeyT(t, v)
	_, other := newKeyT(t, v)
	secret := []byte("a private prompt, never in the tree")
	blob, err := Seal(key, "decision/d1", secret)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(blob, secret) {
		t.Fatal("sealed blob holds the plaintext")
	}
	if got, err := Unseal(key, "decision/d1", blob); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Unseal = %q, %v", got, err)
	}
	if _, err := Unseal(key, "decision/d2", blob); err == nil {
		t.Fatal("a blob opened under another record's reference")
	}
	if _, err := Unseal(other, "decision/d1", blob); err == nil {
		t.Fatal("a blob opened under another key")
	}
	if _, err := Unseal(key, "decision/d1", blob[:10]); err == nil {
		t.Fatal("a truncated blob opened")
	}
	if bytes.Equal(SubKey(key, "a"), SubKey(key, "b")) || bytes.Equal(SubKey(key, "a"), key) {
		t.Fatal("SubKey does not separate purposes")
	}
}

// TestAppendSeal: AppendSeal keeps dst, appends SealedSize bytes that
// Unseal opens, in one allocation at most (none into room enough), and
// two seals of one plaintext differ (a fresh nonce each).
func TestAppendSeal(t *testing.T) {
	key := bytes.Repeat([]byte{9}, KeySize)
	pt := []byte("sealed after a prefix")
	out, err := AppendSeal([]byte("slot0000"), key, "decision/d1", pt)
	if err != nil {
		t.Fatal(err)
	}
	if string(out[:8]) != "slot0000" || len(out) != 8+SealedSize(len(pt)) {
		t.Fatalf("AppendSeal = %q (%d bytes), want the prefix and %d sealed bytes", out, len(out), SealedSize(len(pt)))
	}
	if got, err := Unseal(key, "decision/d1", out[8:]); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("Unseal = %q, %v", got, err)
	}
	again, err := Seal(key, "decision/d1", pt)
	if err != nil || bytes.Equal(again, out[8:]) {
		t.Fatalf("two seals of one plaintext: %x and %x (%v)", again, out[8:], err)
	}
	if _, err := AppendSeal(nil, key[:16], "decision/d1", pt); err == nil {
		t.Fatal("sealed under a 16-byte key")
	}
	room := make([]byte, 0, 8+SealedSize(len(pt)))
	if n := testing.AllocsPerRun(10, func() {
		room = room[:0]
		if _, err := AppendSeal(room, key, "decision/d1", pt); err != nil {
			t.Fatal(err)
		}
	}); n > 3 { // the cipher, its GCM and the additional data, not the output
		t.Errorf("AppendSeal into room enough: %.0f allocations", n)
	}
}

// TestAppendMAC: AppendMAC is crypto/hmac's HMAC-SHA256, for keys shorter
// than, as long as and longer than a block, and messages in any number of
// pieces; SubKey is AppendMAC of the purpose.
func TestAppendMAC(t *testing.T) {
	for _, n := range []int{0, 1, 32, 63, 64, 65, 200} {
		key := bytes.Repeat([]byte{byte(n), 0x36, 0x5c}, n)[:n]
		for _, msgs := range [][][]byte{nil, {[]byte("one")}, {[]byte("a"), {}, []byte{0}, bytes.Repeat([]byte("x"), 300)}} {
			m := hmac.New(sha256.New, key)
			for _, p := range msgs {
				m.Write(p)
			}
			want := m.Sum([]byte("dst"))
			if got := AppendMAC([]byte("dst"), key, msgs...); !bytes.Equal(got, want) {
				t.Fatalf("key of %d bytes, %q: %x, want %x", n, msgs, got, want)
			}
		}
		m := hmac.New(sha256.New, key)
		m.Write([]byte("purpose"))
		if got := SubKey(key, "purpose"); !bytes.Equal(got, m.Sum(nil)) {
			t.Fatalf("SubKey with a key of %d bytes: %x, want %x", n, got, m.Sum(nil))
		}
	}
	if n := testing.AllocsPerRun(10, func() {
		var out [sha256.Size]byte
		AppendMAC(out[:0], []byte("key"), []byte("a"), []byte("b"))
	}); n != 0 {
		t.Errorf("AppendMAC: %.0f allocations, want none", n)
	}
}

// TestLegacy: a vault directory of the per-record layout keeps working:
// its keys read and destroy by reference beside the new key file.
func TestLegacy(t *testing.T) {
	dir := t.TempDir()
	ref := "decision/old-1"
	key := bytes.Repeat([]byte{0xab}, KeySize)
	v0 := &Vault{dir: dir}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(v0.legacyPath(ref), key, 0o600); err != nil {
		t.Fatal(err)
	}
	v := openT(t, dir)
	if got, err := v.LegacyKey(ref); err != nil || !bytes.Equal(got, key) {
		t.Fatalf("LegacyKey = %x, %v", got, err)
	}
	if _, err := v.LegacyKey("decision/other"); !errors.Is(err, ErrDestroyed) {
		t.Fatalf("LegacyKey of an unknown ref: %v, want ErrDestroyed", err)
	}
	if s, _ := newKeyT(t, v); s != 0 {
		t.Fatalf("first slot beside legacy files is %d, want 0", s)
	}
	if err := v.DestroyLegacy(ref); err != nil {
		t.Fatal(err)
	}
	if _, err := v.LegacyKey(ref); !errors.Is(err, ErrDestroyed) {
		t.Fatalf("LegacyKey after DestroyLegacy: %v", err)
	}
	if err := v.DestroyLegacy(ref); !errors.Is(err, ErrDestroyed) {
		t.Fatalf("second DestroyLegacy: %v, want ErrDestroyed", err)
	}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, key) {
				t.Errorf("%s still holds the destroyed legacy key", p)
			}
		}
		return nil
	})
}

// BenchmarkNewKey: one key handed out of the reserve (with its share of
// the runs written and fsynced).
func BenchmarkNewKey(b *testing.B) {
	v, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := v.NewKey(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBatchOf256: a batch's worth of keys, then the Sync the ledger's
// Presync makes per batch (nothing to do while keys come from the
// reserve).
func BenchmarkBatchOf256(b *testing.B) {
	v, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	b.ReportAllocs()
	for b.Loop() {
		for range 256 {
			if _, _, err := v.NewKey(); err != nil {
				b.Fatal(err)
			}
		}
		if err := v.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDestroyedKeyGone: once destroyed, a key is in no file of the vault
// and later runs do not bring it back; nor is it in the vault's memory: a
// key is cleared from the reserve as it is handed out, and the rest of a
// run's memory once the next run replaces it.
func TestDestroyedKeyGone(t *testing.T) {
	dir := t.TempDir()
	v := openT(t, dir)
	_, keep := newKeyT(t, v)
	v.mu.Lock()
	run := v.reserve // the rest of the first run in memory, from the next slot on
	v.mu.Unlock()
	s, gone := newKeyT(t, v)
	v.mu.Lock()
	if !isZero(run[:KeySize]) {
		t.Error("a key handed out is still in the reserve's memory")
	}
	v.mu.Unlock()
	if err := v.Destroy(s); err != nil {
		t.Fatal(err)
	}
	for range ReserveSlots + 1 { // through the next run
		newKeyT(t, v)
	}
	v.mu.Lock()
	if !isZero(run) {
		t.Error("the first run's memory still holds keys once the reserve moved to the next")
	}
	v.mu.Unlock()
	if _, err := v.Key(s); !errors.Is(err, ErrDestroyed) {
		t.Fatalf("Key of the destroyed slot: %v, want ErrDestroyed", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := bytes.Join([][]byte{keep, make([]byte, KeySize)}, nil); !bytes.Equal(b[:2*KeySize], want) {
		t.Fatalf("key file begins %x, want %x", b[:2*KeySize], want)
	}
	if bytes.Contains(b, gone) {
		t.Fatal("the destroyed key is in the key file")
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if bytes.Contains(v.reserve, gone) {
		t.Fatal("the destroyed key is in the reserve")
	}
}

// TestKeyWhileRefilling: keys read right after NewKey, across refills
// and concurrent Syncs, are always found in the file, never reported
// missing.
func TestKeyWhileRefilling(t *testing.T) {
	v := openT(t, t.TempDir())
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				if err := v.Sync(); err != nil {
					t.Error(err)
					return
				}
			}
		}
	})
	for range 3 * ReserveSlots {
		s, k := newKeyT(t, v)
		got, err := v.Key(s)
		if err != nil || !bytes.Equal(got, k) {
			t.Errorf("Key(%d) = %x, %v; want %x", s, got, err, k)
			break
		}
	}
	close(stop)
	wg.Wait()
}
