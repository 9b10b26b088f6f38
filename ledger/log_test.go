package ledger_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
)

const testOrigin = "test.example.org/log"

type testLog struct {
	*ledger.Log
	dir      string
	signer   note.Signer
	verifier note.Verifier
}

func newKey(t testing.TB) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func openLog(t testing.TB, dir string, s note.Signer, tweak func(*ledger.Config)) *ledger.Log {
	t.Helper()
	st, err := badgerstore.Open(badgerstore.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	cfg := ledger.Config{Origin: testOrigin, Signers: []note.Signer{s}, Storage: st}
	if tweak != nil {
		tweak(&cfg)
	}
	l, err := ledger.Open(cfg)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	return l
}

func newTestLog(t testing.TB, tweak func(*ledger.Config)) *testLog {
	t.Helper()
	s, v := newKey(t)
	dir := t.TempDir()
	l := openLog(t, dir, s, tweak)
	tl := &testLog{Log: l, dir: dir, signer: s, verifier: v}
	t.Cleanup(func() { tl.Log.Close() })
	return tl
}

// openTree opens a checkpoint with x/mod's note package and parses its body
// with x/mod's tlog, as an independent client would.
func openTree(t testing.TB, v note.Verifier, cp []byte) tlog.Tree {
	t.Helper()
	n, err := note.Open(cp, note.VerifierList(v))
	if err != nil {
		t.Fatalf("checkpoint does not open: %v\n%s", err, cp)
	}
	text := n.Text
	// tlog.ParseTree wants the go.sum "go.sum database tree" header; the
	// C2SP body is origin, size, hash: swap the origin line for it.
	i := bytes.IndexByte([]byte(text), '\n')
	tree, err := tlog.ParseTree([]byte("go.sum database tree\n" + text[i+1:]))
	if err != nil {
		t.Fatalf("checkpoint body: %v\n%s", err, text)
	}
	if text[:i] != testOrigin {
		t.Fatalf("origin %q, want %q", text[:i], testOrigin)
	}
	return tree
}

func toTlog(hs [][]byte) []tlog.Hash {
	out := make([]tlog.Hash, len(hs))
	for i, h := range hs {
		copy(out[i][:], h)
	}
	return out
}

func entry(i int) []byte { return []byte(fmt.Sprintf("entry %d", i)) }

// appendRetry appends data, retrying after a millisecond while the log
// pushes back, as a client would.
func appendRetry(ctx context.Context, l *ledger.Log, data []byte) (*ledger.Ack, error) {
	for {
		a, err := l.Append(ctx, data)
		if !errors.Is(err, ledger.ErrPushback) {
			return a, err
		}
		time.Sleep(time.Millisecond)
	}
}

// TestAppendProofsEverySize appends one entry at a time up to 300 and
// checks, at every size, the acknowledgement's proof and the consistency
// proof from every earlier size with x/mod's tlog.
func TestAppendProofsEverySize(t *testing.T) {
	l := newTestLog(t, nil)
	ctx := context.Background()
	var trees []tlog.Tree
	var leaves [][]byte
	trees = append(trees, openTree(t, l.verifier, l.Head().Checkpoint))
	for i := 0; i < 300; i++ {
		ack, err := l.Append(ctx, entry(i))
		if err != nil {
			t.Fatal(err)
		}
		if ack.Index != uint64(i) || ack.Size != uint64(i+1) || ack.Duplicate {
			t.Fatalf("append %d: got index %d size %d dup %v", i, ack.Index, ack.Size, ack.Duplicate)
		}
		tree := openTree(t, l.verifier, ack.Checkpoint)
		if tree.N != int64(i+1) {
			t.Fatalf("checkpoint size %d, want %d", tree.N, i+1)
		}
		leaves = append(leaves, rfc6962.DefaultHasher.HashLeaf(entry(i)))
		if err := tlog.CheckRecord(toTlog(ack.Proof), tree.N, tree.Hash, int64(i), tlog.RecordHash(entry(i))); err != nil {
			t.Fatalf("ack proof of %d: %v", i, err)
		}
		for _, old := range trees[1:] {
			p, err := l.ConsistencyProof(uint64(old.N), uint64(tree.N))
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.CheckTree(toTlog(p), tree.N, tree.Hash, old.N, old.Hash); err != nil {
				t.Fatalf("consistency %d -> %d: %v", old.N, tree.N, err)
			}
		}
		trees = append(trees, tree)
	}
	// every inclusion proof for every earlier size
	for _, tree := range trees[1:] {
		for j := int64(0); j < tree.N; j += 7 {
			p, err := l.InclusionProof(uint64(j), uint64(tree.N))
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(j), uint64(tree.N), leaves[j], p, tree.Hash[:]); err != nil {
				t.Fatalf("inclusion %d in %d: %v", j, tree.N, err)
			}
		}
	}
}

func TestConcurrentAppendsAndRestart(t *testing.T) {
	s, v := newKey(t)
	dir := t.TempDir()
	l := openLog(t, dir, s, func(c *ledger.Config) { c.MaxBatch = 64 })
	ctx := context.Background()
	const n = 3000
	acks := make([]*ledger.Ack, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			a, err := appendRetry(ctx, l, entry(i))
			if err != nil {
				errs <- err
				return
			}
			acks[i] = a
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	for i, a := range acks {
		if seen[a.Index] {
			t.Fatalf("index %d acknowledged twice", a.Index)
		}
		seen[a.Index] = true
		tree := openTree(t, v, a.Checkpoint)
		if err := tlog.CheckRecord(toTlog(a.Proof), tree.N, tree.Hash, int64(a.Index), tlog.RecordHash(entry(i))); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
	}
	head := l.Head()
	if head.Size != n {
		t.Fatalf("size %d, want %d", head.Size, n)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := openLog(t, dir, s, nil)
	defer l2.Close()
	if got := l2.Head(); got.Size != head.Size || !bytes.Equal(got.Root, head.Root) {
		t.Fatalf("after restart: size %d, want %d", got.Size, head.Size)
	}
	// a duplicate returns the first index, and appends resume after the old head
	dup, err := l2.Append(ctx, entry(17))
	if err != nil {
		t.Fatal(err)
	}
	if !dup.Duplicate || dup.Index != acks[17].Index {
		t.Fatalf("duplicate: got index %d dup %v, want %d true", dup.Index, dup.Duplicate, acks[17].Index)
	}
	a, err := l2.Append(ctx, entry(n))
	if err != nil {
		t.Fatal(err)
	}
	if a.Index != n {
		t.Fatalf("index after restart %d, want %d", a.Index, n)
	}
	old := openTree(t, v, head.Checkpoint)
	nw := openTree(t, v, a.Checkpoint)
	p, err := l2.ConsistencyProof(uint64(old.N), uint64(nw.N))
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckTree(toTlog(p), nw.N, nw.Hash, old.N, old.Hash); err != nil {
		t.Fatal(err)
	}
}

// TestDedupAcrossManyBatches hammers a few distinct entries from many
// goroutines through hundreds of small batches, so that dedup keys go
// through every place they live (in-batch, in flight, retained after
// commit, pruned to storage): each entry must be logged exactly once, and
// every acknowledgement must point at it.
func TestDedupAcrossManyBatches(t *testing.T) {
	l := newTestLog(t, func(c *ledger.Config) { c.MaxBatch = 16; c.MaxDelay = 20 * time.Microsecond })
	const distinct, workers, rounds = 300, 128, 40
	var mu sync.Mutex
	first := map[string]uint64{}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				e := entry((w*7 + i*13) % distinct)
				ack, err := l.Append(context.Background(), e)
				if errors.Is(err, ledger.ErrPushback) {
					time.Sleep(time.Millisecond)
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if idx, ok := first[string(e)]; ok && idx != ack.Index {
					t.Errorf("%q acknowledged at %d and at %d", e, idx, ack.Index)
				}
				first[string(e)] = ack.Index
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	size := l.Head().Size
	if size != uint64(len(first)) {
		t.Fatalf("log holds %d entries for %d distinct ones", size, len(first))
	}
	es, err := l.Entries(0, int(size))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, e := range es {
		if seen[string(e)] {
			t.Fatalf("entry %q logged twice (again at %d)", e, i)
		}
		seen[string(e)] = true
		if first[string(e)] != uint64(i) {
			t.Fatalf("%q is at %d but was acknowledged at %d", e, i, first[string(e)])
		}
	}
}

// TestPresync: Presync runs before every batch is built; its error fails
// that batch's appends and leaves the log as it was, and the log goes on.
func TestPresync(t *testing.T) {
	var mu sync.Mutex
	var calls int
	var fail error
	tl := newTestLog(t, func(c *ledger.Config) {
		c.Presync = func() error {
			mu.Lock()
			defer mu.Unlock()
			calls++
			return fail
		}
	})
	ctx := context.Background()
	if _, err := tl.Append(ctx, entry(0)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	fail = errors.New("disk on fire")
	mu.Unlock()
	if _, err := tl.Append(ctx, entry(1)); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("append with a failing presync: %v, want its error", err)
	}
	if n := tl.Head().Size; n != 1 {
		t.Fatalf("size %d after a failed presync, want 1", n)
	}
	mu.Lock()
	fail = nil
	mu.Unlock()
	a, err := tl.Append(ctx, entry(1))
	if err != nil || a.Index != 1 {
		t.Fatalf("append after presync recovered: %+v, %v", a, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 3 {
		t.Fatalf("presync ran %d times for 3 batches", calls)
	}
}

// TestProbe: a key probed before its append is not looked up again, and
// a probe gone stale (the key was logged since) still deduplicates: the
// sequencer finds the entry made durable after the probe.
func TestProbe(t *testing.T) {
	tl := newTestLog(t, nil)
	ctx := context.Background()
	stamp := func(data string) ledger.StampFunc {
		return func(uint64, time.Time) ([]byte, []ledger.KV, error) { return []byte(data), nil, nil }
	}
	p, err := tl.Probe([]byte("a"))
	if err != nil || p.Found {
		t.Fatalf("probe of a new key: %+v, %v", p, err)
	}
	stale, _ := tl.Probe([]byte("a"))
	first, err := tl.AppendProbed(ctx, p, stamp("first"))
	if err != nil || first.Duplicate {
		t.Fatalf("append of a probed new key: %+v, %v", first, err)
	}
	// many batches later, so that the key has left the sequencer's memory
	for i := range 40 {
		if _, err := tl.AppendStamped(ctx, []byte(fmt.Sprintf("pad-%d", i)), stamp(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	again, err := tl.AppendProbed(ctx, stale, stamp("second"))
	if err != nil || !again.Duplicate || again.Index != first.Index || string(again.Entry) != "first" {
		t.Fatalf("append with a stale probe: %+v, %v; want the first entry %d as a duplicate", again, err, first.Index)
	}
	if p, err := tl.Probe([]byte("a")); err != nil || !p.Found || p.Index != first.Index {
		t.Fatalf("probe of a logged key: %+v, %v; want found at %d", p, err, first.Index)
	}
	if _, err := tl.Probe(nil); err == nil {
		t.Fatal("probe of an empty key succeeded")
	}
}
