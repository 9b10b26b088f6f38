package vault

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
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
// back by slot; they are kept in memory until a Sync writes them all with
// one write (and one fsync); nothing else is written.
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
	}
	for i, k := range keys {
		got, err := v.Key(Slot(i))
		if err != nil || !bytes.Equal(got, k) {
			t.Fatalf("Key(%d) = %x, %v; want %x", i, got, err, k)
		}
	}
	if _, err := v.Key(5); err == nil || errors.Is(err, ErrDestroyed) {
		t.Fatalf("Key beyond the file: %v, want a missing-key error that is not ErrDestroyed", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, KeyFile)); err != nil || len(b) != 0 {
		t.Fatalf("key file before a Sync: %d bytes, %v; want none written yet", len(b), err)
	}
	writes, fsyncs := v.written.Load(), v.fsyncs.Load()
	if err := v.Sync(); err != nil {
		t.Fatal(err)
	}
	if w, f := v.written.Load()-writes, v.fsyncs.Load()-fsyncs; w != 1 || f != 1 {
		t.Fatalf("Sync of 5 new keys: %d writes and %d fsyncs, want 1 and 1", w, f)
	}
	for i, k := range keys { // now from the file
		got, err := v.Key(Slot(i))
		if err != nil || !bytes.Equal(got, k) {
			t.Fatalf("Key(%d) after Sync = %x, %v; want %x", i, got, err, k)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, bytes.Join(keys, nil)) {
		t.Fatalf("key file holds %x, want the 5 keys in slot order", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("vault directory holds %d entries, want only %s", len(ents), KeyFile)
	}
	if v.Slots() != 5 {
		t.Fatalf("Slots() = %d, want 5", v.Slots())
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
		t.Fatalf("Sync after two keys: %v, %d fsyncs; want 1", err, v.fsyncs.Load())
	}
	if err := v.Sync(); err != nil || v.fsyncs.Load() != 1 {
		t.Fatalf("Sync with nothing new: %v, %d fsyncs; want still 1", err, v.fsyncs.Load())
	}
	for range 10 {
		newKeyT(t, v)
	}
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			if err := v.Sync(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// 32 concurrent Syncs of the same writes: the first fsync covers them
	// all, the others wait for it or find it done.
	if n := v.fsyncs.Load(); n != 2 {
		t.Fatalf("32 concurrent Syncs made %d fsyncs in all, want 2 (one for the batch)", n)
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
	newKeyT(t, v)
	first := make(chan error)
	go func() { first <- v.Sync() }()
	<-entered // the first fsync is under way, covering one write
	newKeyT(t, v)
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

// TestSyncFailureSticks: after a failed fsync the vault makes no key and
// every Sync fails, so no record is committed on a key that may be lost.
func TestSyncFailureSticks(t *testing.T) {
	v := openT(t, t.TempDir())
	fsync = func(*os.File) error { return errors.New("injected EIO") }
	t.Cleanup(func() { fsync = (*os.File).Sync })
	newKeyT(t, v)
	if err := v.Sync(); err == nil {
		t.Fatal("Sync succeeded with a failing fsync")
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
	if !bytes.Equal(b, want) {
		t.Fatalf("key file %x, want %x", b, want)
	}
	if bytes.Contains(b, k1) {
		t.Fatal("the destroyed key is still in the key file")
	}
}

// TestReopen: the next slot after a restart follows the file, a torn last
// slot (a crash mid-write, never synced) is skipped, and keys written
// before read back.
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
	v = openT(t, dir)
	if got, err := v.Key(s0); err != nil || !bytes.Equal(got, k0) {
		t.Fatalf("after reopen Key(%d) = %x, %v", s0, got, err)
	}
	if _, err := v.Key(s1); !errors.Is(err, ErrDestroyed) {
		t.Fatalf("after reopen a destroyed slot reads %v", err)
	}
	if s, _ := newKeyT(t, v); s != 2 {
		t.Fatalf("after reopen the next key took slot %d, want 2 (slots are never reused)", s)
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

// BenchmarkNewKey: one key made and written to its slot (no fsync).
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

// BenchmarkBatchOf256: a batch's worth of keys, then the one Sync that
// makes them durable (what the ledger's Presync costs per batch).
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

// TestDestroyUnwritten: a key destroyed before any Sync wrote it is gone
// for good: Destroy writes it and then its zeros, so no later Sync puts it
// back, and the key file never holds it afterwards.
func TestDestroyUnwritten(t *testing.T) {
	dir := t.TempDir()
	v := openT(t, dir)
	_, keep := newKeyT(t, v)
	s, gone := newKeyT(t, v)
	if err := v.Destroy(s); err != nil {
		t.Fatal(err)
	}
	_, later := newKeyT(t, v)
	if err := v.Sync(); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Key(s); !errors.Is(err, ErrDestroyed) {
		t.Fatalf("Key of the destroyed slot: %v, want ErrDestroyed", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := bytes.Join([][]byte{keep, make([]byte, KeySize), later}, nil); !bytes.Equal(b, want) {
		t.Fatalf("key file holds %x, want %x", b, want)
	}
	if bytes.Contains(b, gone) {
		t.Fatal("the destroyed key is in the key file")
	}
}

// TestKeyWhileFlushing: keys read while Syncs write them are always found
// (from memory or from the file), never reported missing.
func TestKeyWhileFlushing(t *testing.T) {
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
	for range 2000 {
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
