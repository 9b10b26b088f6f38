package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/audit/vault"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
)

// testBook is a Book on a real log in dir, its vault wired as the log's
// Presync (as ledgerd does), with the constitution of the examples.
type testBook struct {
	*Book
	log   *ledger.Log
	vault *vault.Vault
	store *badgerstore.Store
	// presynced is the number of vault slots handed out when the last
	// Presync began.
	presynced atomic.Uint64
	close     func()
}

func openTestBook(t testing.TB, dir string) *testBook {
	t.Helper()
	tb, err := openTestBookErr(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// openTestBookErr is openTestBook returning the error of audit.Open (the
// log and vault are closed by t's cleanup either way).
func openTestBookErr(t testing.TB, dir string) (*testBook, error) {
	t.Helper()
	const origin = "private.test.example.org/log"
	var skey string
	if b, err := os.ReadFile(filepath.Join(dir, "signer")); err == nil {
		skey = string(b)
	} else {
		var err error
		if skey, _, err = note.GenerateKey(rand.Reader, origin); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "signer"), []byte(skey), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	st, err := badgerstore.Open(badgerstore.Config{Dir: filepath.Join(dir, "badger")})
	if err != nil {
		t.Fatal(err)
	}
	v, err := vault.Open(filepath.Join(dir, "vault"))
	if err != nil {
		t.Fatal(err)
	}
	tb := &testBook{vault: v, store: st}
	l, err := ledger.Open(ledger.Config{Origin: origin, Signers: []note.Signer{s}, Storage: st,
		Presync: func() error {
			tb.presynced.Store(v.Slots())
			return v.Sync()
		}})
	if err != nil {
		t.Fatal(err)
	}
	tb.log = l
	tb.close = sync.OnceFunc(func() {
		if tb.Book != nil {
			tb.Book.Close()
		}
		if err := errors.Join(l.Close(), v.Close()); err != nil {
			t.Errorf("closing: %v", err)
		}
	})
	t.Cleanup(tb.close)
	if tb.Book, err = Open(Config{Log: l, Index: st, Vault: v, Secret: bytes.Repeat([]byte{1}, 32)}); err != nil {
		return nil, err
	}
	if l.Head().Size == 0 {
		if _, err := tb.PublishConstitution(context.Background(), readExample(t, "constitution.json")); err != nil {
			t.Fatal(err)
		}
	}
	return tb, nil
}

// TestStaleKeyFile: a vault key file older than the index (restored from
// an older backup) is refused at Open, before any of its slots is handed
// out again to a new record while the index still refers to it.
func TestStaleKeyFile(t *testing.T) {
	dir := t.TempDir()
	tb := openTestBook(t, dir)
	for _, id := range []string{"dec-s1", "dec-s2"} {
		if _, err := tb.AppendDecision(context.Background(), privateRequest(t, id, "p")); err != nil {
			t.Fatal(err)
		}
	}
	tb.close()
	// the same files reopen
	tb = openTestBook(t, dir)
	tb.close()
	if err := os.Truncate(filepath.Join(dir, "vault", vault.KeyFile), vault.KeySize); err != nil {
		t.Fatal(err)
	}
	if _, err := openTestBookErr(t, dir); err == nil || !strings.Contains(err.Error(), "older than the index") {
		t.Fatalf("Open with a key file of 1 slot behind an index using 2: %v, want a refusal", err)
	}
}

// TestSlotMaxCoversEveryRecord: concurrent private appends, batched
// together, leave in "vm/" the highest slot any of them uses, whatever
// order they were sequenced in; a key file that lost only that highest
// slot is refused at Open, and one that holds it is not.
func TestSlotMaxCoversEveryRecord(t *testing.T) {
	dir := t.TempDir()
	tb := openTestBook(t, dir)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Go(func() {
			if _, err := tb.AppendDecision(context.Background(), privateRequest(t, fmt.Sprintf("dec-m%d", i), "p")); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var highest vault.Slot
	for i := range 64 {
		if _, _, s, _ := tb.sealed(t, fmt.Sprintf("decision/dec-m%d", i)); s > highest {
			highest = s
		}
	}
	if m := tb.index(t, prefixSlotMax); len(m) != 8 || vault.Slot(binary.BigEndian.Uint64(m)) != highest {
		t.Fatalf("vm/ = %x after 64 concurrent appends, want their highest slot %d", m, highest)
	}
	tb.close()
	keys := filepath.Join(dir, "vault", vault.KeyFile)
	fi, err := os.Stat(keys)
	if err != nil {
		t.Fatal(err)
	}
	// Cut the key file just past the highest slot in use: it opens.
	if err := os.Truncate(keys, int64(highest+1)*vault.KeySize); err != nil || fi.Size() < int64(highest+1)*vault.KeySize {
		t.Fatalf("truncate to %d slots (file had %d bytes): %v", highest+1, fi.Size(), err)
	}
	tb = openTestBook(t, dir)
	// The running maximum resumes from vm/, and a record stamped after a
	// higher one (sequenced out of the order its slot was handed out in)
	// does not lower it.
	for _, c := range []struct{ s, want vault.Slot }{{0, highest}, {highest + 5, highest + 5}, {highest + 2, highest + 5}} {
		s, want := c.s, c.want
		kv := tb.slotMaxKV(s)
		if string(kv.Key) != prefixSlotMax || binary.BigEndian.Uint64(kv.Value) != uint64(want) {
			t.Fatalf("slotMaxKV(%d) = %s %x, want %s %d", s, kv.Key, kv.Value, prefixSlotMax, want)
		}
	}
	tb.close()
	// One slot fewer: refused, naming the slot.
	if err := os.Truncate(keys, int64(highest)*vault.KeySize); err != nil {
		t.Fatal(err)
	}
	if _, err := openTestBookErr(t, dir); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("uses vault slot %d but the vault's key file has %d slots", highest, highest)) {
		t.Fatalf("Open with a key file one slot short of vm/: %v, want a refusal naming slot %d", err, highest)
	}
}

func readExample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "schemas", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// privateRequest is the example private decision with id and the request
// text changed.
func privateRequest(t testing.TB, id, text string) []byte {
	t.Helper()
	b := readExample(t, "decision-modified-private.json")
	b = bytes.Replace(b, []byte("dec-2026-11-27-000003"), []byte(id), 1)
	return bytes.Replace(b, []byte("मुझे रिटायरमेंट के लिए कहाँ निवेश करना चाहिए?"), []byte(text), 1)
}

func (tb *testBook) index(t testing.TB, key string) []byte {
	t.Helper()
	v, err := tb.store.Get([]byte(key))
	if errors.Is(err, ledger.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// sealed returns the m/ value of the record ref (its vault-keyed digest,
// then its sealed blob), the blob, its slot and the key in that slot.
func (tb *testBook) sealed(t testing.TB, ref string) (m, blob []byte, slot vault.Slot, key []byte) {
	t.Helper()
	m = tb.index(t, prefixDigest+ref)
	if len(m) <= vaultDigestSize || m[0] != digestVaultSealed {
		t.Fatalf("m/%s = %x, want the tag %d, a slot, a MAC and a sealed blob", ref, m, digestVaultSealed)
	}
	slot = vault.Slot(binary.BigEndian.Uint64(m[1:9]))
	key, err := tb.vault.Key(slot)
	if err != nil {
		t.Fatal(err)
	}
	return m, m[vaultDigestSize:], slot, key
}

// TestPrivateLayout: private content is sealed under the record's own
// vault key and kept in the record's m/ value after the request's digest,
// keyed with the same key (tag, slot, MAC, blob), with no v/ value; no key
// is ever in the index; a public record keeps the server-secret digest;
// every key is handed out before the Presync of the batch that commits
// its record.
func TestPrivateLayout(t *testing.T) {
	tb := openTestBook(t, t.TempDir())
	ctx := context.Background()
	a, err := tb.AppendDecision(ctx, privateRequest(t, "dec-p1", "a private prompt"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Duplicate || a.ContestToken == "" {
		t.Fatalf("first append: duplicate %v, token %q", a.Duplicate, a.ContestToken)
	}
	ref := "decision/dec-p1"
	d := tb.index(t, prefixDigest+ref)
	if len(d) < vaultDigestSize+28 || d[0] != digestVaultSealed {
		t.Fatalf("m/%s = %x, want the tag %d, a slot, a MAC and a sealed blob", ref, d, digestVaultSealed)
	}
	if v := tb.index(t, prefixSealed+ref); v != nil {
		t.Fatalf("v/%s holds %d bytes, want no value (the blob is in m/)", ref, len(v))
	}
	slot := vault.Slot(binary.BigEndian.Uint64(d[1:9]))
	if n := tb.presynced.Load(); uint64(slot) >= n {
		t.Fatalf("the record's key slot %d was handed out after the last Presync before its commit began (%d slots then)", slot, n)
	}
	key, err := tb.vault.Key(slot)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := vault.Unseal(key, ref, d[vaultDigestSize:])
	if err != nil || !bytes.Contains(pt, []byte("a private prompt")) {
		t.Fatalf("the blob does not open under its slot's key: %q, %v", pt, err)
	}
	// The slot in use is counted in "vm/", not kept as a key of its own.
	if m := tb.index(t, prefixSlotMax); len(m) != 8 || vault.Slot(binary.BigEndian.Uint64(m)) != slot {
		t.Fatalf("vm/ = %x, want the record's slot %d", m, slot)
	}
	if v := tb.index(t, prefixSlot+string(binary.BigEndian.AppendUint64(nil, uint64(slot)))); v != nil {
		t.Fatalf("vs/ key for the record's slot %d: want none (vm/ counts it)", slot)
	}
	// The sealed opening opens the logged commitments, and the digest is
	// HMAC-SHA256 (crypto/hmac) under HMAC-SHA256(key, purpose) of the
	// request's canonical parts, each followed by a zero byte.
	if pt[0] != openingBinary {
		t.Fatalf("the opening begins %#x, want the binary encoding (%#x)", pt[0], openingBinary)
	}
	parsed, err := parseOpening(pt)
	if err != nil {
		t.Fatal(err)
	}
	opened := map[string]sealedPart{}
	for _, p := range parsed {
		opened[p.name] = p
	}
	req, err := DecodeDecisionRequest(privateRequest(t, "dec-p1", "a private prompt"))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := tb.Get(KindDecision, "dec-p1")
	if err != nil {
		t.Fatal(err)
	}
	var logged Decision
	if err := json.Unmarshal(rec.Envelope.Body, &logged); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*Commitment{"request": logged.Request, "response": logged.Response} {
		o, ok := opened[name]
		text := map[string]*string{"request": req.Private.Request, "response": req.Private.Response}[name]
		if !ok || o.text != *text || len(o.salt) != 32 || c == nil {
			t.Fatalf("sealed %s: %+v (present %v), want the text %q and a 32-byte salt; logged %+v", name, o, ok, *text, c)
		}
		h := sha256.Sum256(append(bytes.Clone(o.salt), *text...))
		if want := "sha256:" + hex.EncodeToString(h[:]); c.Commitment != want {
			t.Fatalf("logged %s commitment %s, want %s (the sealed salt and text)", name, c.Commitment, want)
		}
	}
	if len(opened) != 2 {
		t.Fatalf("sealed parts %v, want request and response", opened)
	}
	sub := hmac.New(sha256.New, key)
	sub.Write([]byte(digestPurpose))
	m := hmac.New(sha256.New, sub.Sum(nil))
	parts, err := decisionParts(req, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		m.Write(p)
		m.Write([]byte{0})
	}
	if !hmac.Equal(d[9:vaultDigestSize], m.Sum(nil)) {
		t.Fatalf("m/%s MAC %x, want %x", ref, d[9:vaultDigestSize], m.Sum(nil))
	}
	if tb.index(t, prefixPrivate+ref) != nil {
		t.Fatal("a legacy p/ value was written")
	}
	// no index value anywhere holds the key
	if err := tb.store.Scan(ctx, nil, nil, func(k, v []byte) bool {
		if bytes.Contains(v, key) || bytes.Contains(k, key) {
			t.Errorf("index key %q holds the record's vault key", k)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}

	pub := readExample(t, "decision-answered.json")
	if _, err := tb.AppendDecision(ctx, pub); err != nil {
		t.Fatal(err)
	}
	// Its digest is kept with its dedup key, not under an index key of
	// its own.
	if d, ok, err := tb.log.DedupValue([]byte("decision/dec-2026-11-27-000002")); err != nil || !ok || len(d) != sha256.Size {
		t.Fatalf("a public decision's digest has %d bytes (%v, %v), want a %d-byte HMAC under the server secret with its dedup key", len(d), ok, err, sha256.Size)
	}
	if d := tb.index(t, prefixDigest+"decision/dec-2026-11-27-000002"); d != nil {
		t.Fatalf("a public decision's digest is under %s too: %x", prefixDigest, d)
	}
	if err := tb.ErasePrivate(KindDecision, "dec-2026-11-27-000002"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("erasing a public decision: %v, want ErrNotFound", err)
	}
	if a, err := tb.AppendDecision(ctx, pub); err != nil || !a.Duplicate {
		t.Fatalf("resubmitted public decision: %v, duplicate %v", err, a != nil && a.Duplicate)
	}
	var other map[string]any
	if err := json.Unmarshal(pub, &other); err != nil {
		t.Fatal(err)
	}
	other["outcome"].(map[string]any)["category"] = "legal"
	changed, _ := json.Marshal(other)
	if _, err := tb.AppendDecision(ctx, changed); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "different content") {
		t.Fatalf("a public decision's id resubmitted with another category: %v, want ErrConflict for different content", err)
	}
	// A public digest is 32 bytes of HMAC, whose first byte may be any
	// tag: it is told from a vault-keyed one by its length.
	for _, tag := range []byte{digestVaultKeyed, digestVaultSealed} {
		d := append([]byte{tag}, bytes.Repeat([]byte{9}, sha256.Size-1)...)
		if err := tb.store.Update([]ledger.KV{{Key: []byte(prefixDigest + "decision/dec-2026-11-27-000002"), Value: d}}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := tb.Private(KindDecision, "dec-2026-11-27-000002"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Private of a public decision whose digest begins with %d: %v, want ErrNotFound", tag, err)
		}
		if err := tb.ErasePrivate(KindDecision, "dec-2026-11-27-000002"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("erasing a public decision whose digest begins with %d: %v, want ErrNotFound", tag, err)
		}
	}
}

// TestPrivateResubmission: a retry of a private decision (however
// formatted) is a duplicate; different private content is a conflict;
// concurrent identical requests all succeed, sealing under keys of their
// own, one logged; after erasure any resubmission is a conflict.
func TestPrivateResubmission(t *testing.T) {
	tb := openTestBook(t, t.TempDir())
	ctx := context.Background()
	req := privateRequest(t, "dec-r1", "the prompt")
	first, err := tb.AppendDecision(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	reformatted := bytes.ReplaceAll(req, []byte("\n"), []byte("\n  "))
	if a, err := tb.AppendDecision(ctx, reformatted); err != nil || !a.Duplicate || a.ContestToken != first.ContestToken {
		t.Fatalf("retry: %+v, %v; want a duplicate with the first contest token", a, err)
	}
	if _, err := tb.AppendDecision(ctx, privateRequest(t, "dec-r1", "another prompt")); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "different content") {
		t.Fatalf("other private content under the same id: %v, want a conflict", err)
	}

	// a race of identical requests for a fresh id
	race := privateRequest(t, "dec-race", "raced prompt")
	var firsts atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			a, err := tb.AppendDecision(ctx, race)
			if err != nil {
				t.Errorf("racing identical request: %v", err)
				return
			}
			if !a.Duplicate {
				firsts.Add(1)
			}
		})
	}
	wg.Wait()
	if firsts.Load() != 1 {
		t.Fatalf("%d racing requests were logged as first, want 1", firsts.Load())
	}
	if p, err := tb.Private(KindDecision, "dec-race"); err != nil || p["request"] != "raced prompt" {
		t.Fatalf("private content of the raced record: %v, %v", p, err)
	}

	if err := tb.ErasePrivate(KindDecision, "dec-r1"); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Private(KindDecision, "dec-r1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Private after erasure: %v, want ErrNotFound", err)
	}
	if err := tb.ErasePrivate(KindDecision, "dec-r1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second erasure: %v, want ErrNotFound", err)
	}
	if err := tb.ErasePrivate(KindDecision, "dec-unknown"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("erasure of an unknown decision: %v, want ErrNotFound", err)
	}
	if _, err := tb.AppendDecision(ctx, req); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "erased") {
		t.Fatalf("resubmission after erasure: %v, want a conflict naming the erasure", err)
	}
	for _, k := range []string{prefixSealed, prefixDigest} {
		if tb.index(t, k+"decision/dec-r1") != nil {
			t.Fatalf("%sdecision/dec-r1 survived erasure", k)
		}
	}
}

// TestErasureAfterCrash: a crash between zeroing the key and cleaning the
// index leaves the record erased (unreadable, resubmission a conflict),
// and a retried erasure finishes the job.
func TestErasureAfterCrash(t *testing.T) {
	tb := openTestBook(t, t.TempDir())
	ctx := context.Background()
	req := privateRequest(t, "dec-c1", "crash prompt")
	if _, err := tb.AppendDecision(ctx, req); err != nil {
		t.Fatal(err)
	}
	_, _, slot, _ := tb.sealed(t, "decision/dec-c1")
	if err := tb.vault.Destroy(slot); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Private(KindDecision, "dec-c1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Private with the key destroyed: %v, want ErrNotFound", err)
	}
	if _, err := tb.AppendDecision(ctx, req); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "erased") {
		t.Fatalf("resubmission with the key destroyed: %v, want a conflict naming the erasure", err)
	}
	if err := tb.ErasePrivate(KindDecision, "dec-c1"); err != nil {
		t.Fatalf("retried erasure: %v", err)
	}
	if tb.index(t, prefixSealed+"decision/dec-c1") != nil || tb.index(t, prefixDigest+"decision/dec-c1") != nil {
		t.Fatal("the retried erasure left index values")
	}
}

// TestLegacyRecord: a record of the legacy layout (a key file per record,
// p/ blob, digest under the server secret) is still read, compared on
// resubmission, and erased.
func TestLegacyRecord(t *testing.T) {
	dir := t.TempDir()
	tb := openTestBook(t, dir)
	ctx := context.Background()
	req := privateRequest(t, "dec-old", "an old prompt")
	if _, err := tb.AppendDecision(ctx, req); err != nil {
		t.Fatal(err)
	}
	// Rewrite the record as the legacy layout kept it.
	ref := "decision/dec-old"
	_, blob, slot, key := tb.sealed(t, ref)
	var dr DecisionRequest
	if err := decodeStrict(req, &dr); err != nil {
		t.Fatal(err)
	}
	parts, err := decisionParts(&dr, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte(ref))
	legacyFile := filepath.Join(dir, "vault", hex.EncodeToString(h[:]))
	if err := os.WriteFile(legacyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := tb.store.Update([]ledger.KV{{Key: []byte(prefixPrivate + ref), Value: blob}, {Key: []byte(prefixDigest + ref), Value: tb.digest(parts...)}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := tb.vault.Destroy(slot); err != nil {
		t.Fatal(err)
	}

	if p, err := tb.Private(KindDecision, "dec-old"); err != nil || p["request"] != "an old prompt" {
		t.Fatalf("legacy Private: %v, %v", p, err)
	}
	if a, err := tb.AppendDecision(ctx, req); err != nil || !a.Duplicate {
		t.Fatalf("legacy resubmission: %v, want a duplicate", err)
	}
	if err := tb.ErasePrivate(KindDecision, "dec-old"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(legacyFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the legacy key file survived erasure: %v", err)
	}
	if _, err := tb.Private(KindDecision, "dec-old"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("legacy Private after erasure: %v", err)
	}
	if err := tb.ErasePrivate(KindDecision, "dec-old"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second legacy erasure: %v, want ErrNotFound", err)
	}
	if tb.index(t, prefixPrivate+ref) != nil || tb.index(t, prefixDigest+ref) != nil {
		t.Fatal("legacy erasure left index values")
	}
}

// TestSlotLayoutRecord: a record logged before the sealed blob moved into
// its m/ value (the blob under v/ as slot || blob, m/ the vault-keyed
// digest alone) is still read, compared on resubmission, and erased.
func TestSlotLayoutRecord(t *testing.T) {
	tb := openTestBook(t, t.TempDir())
	ctx := context.Background()
	req := privateRequest(t, "dec-slot", "a prompt of the slot layout")
	if _, err := tb.AppendDecision(ctx, req); err != nil {
		t.Fatal(err)
	}
	ref := "decision/dec-slot"
	m, blob, slot, _ := tb.sealed(t, ref)
	digest := append([]byte{digestVaultKeyed}, m[1:vaultDigestSize]...)
	v := append(binary.BigEndian.AppendUint64(nil, uint64(slot)), blob...)
	if err := tb.store.Update([]ledger.KV{{Key: []byte(prefixDigest + ref), Value: digest}, {Key: []byte(prefixSealed + ref), Value: v}}, nil); err != nil {
		t.Fatal(err)
	}
	if p, err := tb.Private(KindDecision, "dec-slot"); err != nil || p["request"] != "a prompt of the slot layout" {
		t.Fatalf("Private of the slot layout: %q, %v", p, err)
	}
	if a, err := tb.AppendDecision(ctx, req); err != nil || !a.Duplicate {
		t.Fatalf("resubmission: %v, want a duplicate", err)
	}
	if _, err := tb.AppendDecision(ctx, privateRequest(t, "dec-slot", "another prompt")); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "different content") {
		t.Fatalf("other private content under the same id: %v, want a conflict", err)
	}
	if err := tb.ErasePrivate(KindDecision, "dec-slot"); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.vault.Key(slot); !errors.Is(err, vault.ErrDestroyed) {
		t.Fatalf("the key after erasure: %v, want ErrDestroyed", err)
	}
	if tb.index(t, prefixSealed+ref) != nil || tb.index(t, prefixDigest+ref) != nil {
		t.Fatal("erasure left index values")
	}
	if _, err := tb.Private(KindDecision, "dec-slot"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Private after erasure: %v, want ErrNotFound", err)
	}
	if err := tb.ErasePrivate(KindDecision, "dec-slot"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second erasure: %v, want ErrNotFound", err)
	}
}

// TestJSONOpening: private content sealed by earlier versions (the
// opening as the JSON of a sealedContent) still reads back, resubmits as a
// duplicate and erases.
func TestJSONOpening(t *testing.T) {
	tb := openTestBook(t, t.TempDir())
	ctx := context.Background()
	req := privateRequest(t, "dec-json", "a prompt sealed as JSON")
	if _, err := tb.AppendDecision(ctx, req); err != nil {
		t.Fatal(err)
	}
	ref := "decision/dec-json"
	m, sealed, _, key := tb.sealed(t, ref)
	pt, err := vault.Unseal(key, ref, sealed)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := parseOpening(pt)
	if err != nil {
		t.Fatal(err)
	}
	legacy := sealedContent{}
	for _, p := range parts {
		legacy[p.name] = struct {
			Salt []byte `json:"salt"`
			Text string `json:"text"`
		}{p.salt, p.text}
	}
	js, err := json.Marshal(legacy)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := vault.Seal(key, ref, js)
	if err != nil {
		t.Fatal(err)
	}
	if err := tb.store.Update([]ledger.KV{{Key: []byte(prefixDigest + ref), Value: append(m[:vaultDigestSize:vaultDigestSize], blob...)}}, nil); err != nil {
		t.Fatal(err)
	}
	p, err := tb.Private(KindDecision, "dec-json")
	if err != nil || p["request"] != "a prompt sealed as JSON" || p["response"] != "कई विकल्प हैं ... (भविष्य के रिटर्न अनिश्चित हैं)" || len(p) != 2 {
		t.Fatalf("Private of a JSON opening: %q, %v", p, err)
	}
	if a, err := tb.AppendDecision(ctx, req); err != nil || !a.Duplicate {
		t.Fatalf("resubmission: %v, want a duplicate", err)
	}
	if err := tb.ErasePrivate(KindDecision, "dec-json"); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Private(KindDecision, "dec-json"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Private after erasure: %v, want ErrNotFound", err)
	}
}

// TestCrashKeepsKeys: a ledger process killed (SIGKILL) while private
// decisions are being appended restarts with a key for every committed
// record: every decision acknowledged before the kill, and every record
// the log holds, opens. Keys of appends cut short are orphans.
func TestCrashKeepsKeys(t *testing.T) {
	if dir := os.Getenv("FJA_AUDIT_CRASH_DIR"); dir != "" {
		crashChild(t, dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKeepsKeys$", "-test.count=1")
	cmd.Env = append(os.Environ(), "FJA_AUDIT_CRASH_DIR="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if id, ok := strings.CutPrefix(sc.Text(), "acked "); ok {
			acked = append(acked, id)
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the child was not killed: %v\n%s", err, stderr.Bytes())
	}
	if len(acked) < 100 {
		t.Fatalf("the child acknowledged %d appends before it died, want >= 100\n%s", len(acked), stderr.Bytes())
	}

	tb := openTestBook(t, dir)
	for _, id := range acked {
		if p, err := tb.Private(KindDecision, id); err != nil || p["request"] != "prompt of "+id {
			t.Fatalf("acknowledged %s after the crash: %v, %v", id, p, err)
		}
	}
	size := tb.log.Head().Size
	es, err := tb.log.Entries(0, int(size))
	if err != nil {
		t.Fatal(err)
	}
	decisions := 0
	for i, e := range es {
		env, err := ParseEnvelope(e)
		if err != nil {
			t.Fatal(err)
		}
		if env.Kind != KindDecision {
			continue
		}
		decisions++
		var d Decision
		if err := decodeStrict(env.Body, &d); err != nil {
			t.Fatal(err)
		}
		if _, err := tb.Private(KindDecision, d.DecisionID); err != nil {
			t.Fatalf("record %d (%s), committed before the crash, has no key: %v", i, d.DecisionID, err)
		}
	}
	if decisions < len(acked) {
		t.Fatalf("%d decisions in the log, %d acknowledged", decisions, len(acked))
	}
	t.Logf("%d acknowledged, %d committed, %d vault slots handed out", len(acked), decisions, tb.vault.Slots())
	// the vault goes on after its last slot
	if _, err := tb.AppendDecision(context.Background(), privateRequest(t, "dec-after-crash", "prompt after")); err != nil {
		t.Fatal(err)
	}
}

// crashChild appends private decisions from 32 goroutines, printing each
// acknowledged id, and kills its own process once 150 are acknowledged.
func crashChild(t *testing.T, dir string) {
	tb := openTestBook(t, dir)
	var n atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("dec-crash-%d-%d", g, i)
				if _, err := tb.AppendDecision(context.Background(), privateRequest(t, id, "prompt of "+id)); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(3)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "acked %s\n", id)
				mu.Unlock()
				if n.Add(1) == 150 {
					syscall.Kill(os.Getpid(), syscall.SIGKILL)
				}
			}
		})
	}
	wg.Wait()
}
