package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
	"github.com/fjaledger/fja/ledger/storagetest"
)

// watchdog bounds waits for things that MUST happen (an answer, a
// release); it is a deadlock detector, not a speed requirement.
const watchdog = 20 * time.Second

// within fails the test if fn has not returned within the watchdog.
func within(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(watchdog):
		t.Fatalf("%s has not returned after %v: deadlock", what, watchdog)
	}
}

// openFaulty opens a log over a Faulty wrapping badgerstore in dir.
func openFaulty(t *testing.T, dir string, s note.Signer, tweak func(*ledger.Config)) (*ledger.Log, *storagetest.Faulty) {
	t.Helper()
	st, err := badgerstore.Open(badgerstore.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	f := &storagetest.Faulty{Store: st}
	cfg := ledger.Config{Origin: testOrigin, Signers: []note.Signer{s}, Storage: f}
	if tweak != nil {
		tweak(&cfg)
	}
	l, err := ledger.Open(cfg)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	return l, f
}

// result is one append's answer.
type result struct {
	i   int
	ack *ledger.Ack
	err error
}

// appendAll starts one append per entry i in [from, to) and returns the
// channel their answers arrive on.
func appendAll(l *ledger.Log, from, to int) <-chan result {
	out := make(chan result, to-from)
	for i := from; i < to; i++ {
		go func() {
			a, err := l.Append(context.Background(), entry(i))
			out <- result{i, a, err}
		}()
	}
	return out
}

// acked is what clients were told: entry i at an index, under a checkpoint.
type acked struct {
	i   int
	ack *ledger.Ack
}

// checkAcked verifies, against head, every acknowledged entry (its bytes
// at its index and its inclusion proof) and every checkpoint handed out
// (consistent with head), as a client holding those receipts would.
func checkAcked(t *testing.T, l *ledger.Log, v note.Verifier, acks []acked, head ledger.Head) {
	t.Helper()
	ht := openTree(t, v, head.Checkpoint)
	if uint64(ht.N) != head.Size || !bytes.Equal(ht.Hash[:], head.Root) {
		t.Fatalf("head checkpoint is for size %d, head says %d", ht.N, head.Size)
	}
	for _, a := range acks {
		es, err := l.Entries(a.ack.Index, 1)
		if err != nil || !bytes.Equal(es[0], entry(a.i)) {
			t.Fatalf("acknowledged entry %d at index %d: %q, %v", a.i, a.ack.Index, es, err)
		}
		p, err := l.InclusionProof(a.ack.Index, head.Size)
		if err != nil {
			t.Fatalf("inclusion proof of %d in %d: %v", a.ack.Index, head.Size, err)
		}
		if err := tlog.CheckRecord(toTlog(p), ht.N, ht.Hash, int64(a.ack.Index), tlog.RecordHash(entry(a.i))); err != nil {
			t.Fatalf("acknowledged entry %d at %d does not verify against the head of size %d: %v", a.i, a.ack.Index, head.Size, err)
		}
		old := openTree(t, v, a.ack.Checkpoint)
		cp, err := l.ConsistencyProof(uint64(old.N), head.Size)
		if err != nil {
			t.Fatalf("consistency %d -> %d: %v", old.N, head.Size, err)
		}
		if err := tlog.CheckTree(toTlog(cp), ht.N, ht.Hash, old.N, old.Hash); err != nil {
			t.Fatalf("checkpoint of size %d handed out with entry %d is not consistent with the head of size %d: %v", old.N, a.i, head.Size, err)
		}
	}
}

// TestFailStop, for each commit fault: (a) no append in the failed batch,
// nor in any batch after it, is acknowledged; (b) the log stops: every
// later append fails with ErrStopped naming the cause, Stats and Stopped
// say so, reads go on and never serve a head beyond the last durable
// commit; (c) reopened on the same directory with a healthy store, the log
// resumes at its last durable checkpoint, every acknowledged entry and
// every checkpoint handed out verifies against the new head, and appends
// work again. NoSpace is the full-disk case (ENOSPC).
func TestFailStop(t *testing.T) {
	for _, c := range []struct {
		fault storagetest.Fault
		cause error
	}{
		{storagetest.FailCommit, storagetest.ErrInjected},
		{storagetest.FailSync, storagetest.ErrInjectedSync},
		{storagetest.NoSpace, syscall.ENOSPC},
	} {
		t.Run(c.fault.String(), func(t *testing.T) { testFailStop(t, c.fault, c.cause) })
	}
}

func testFailStop(t *testing.T, fault storagetest.Fault, cause error) {
	s, v := newKey(t)
	dir := t.TempDir()
	l, f := openFaulty(t, dir, s, func(c *ledger.Config) { c.MaxBatch = 8 })
	defer func() { l.Close() }()
	var acks []acked
	for r := range appendAll(l, 0, 40) {
		if r.err != nil {
			t.Fatalf("healthy append %d: %v", r.i, r.err)
		}
		acks = append(acks, acked{r.i, r.ack})
		if len(acks) == 40 {
			break
		}
	}
	durable := l.Head()
	if err := f.Update([]ledger.KV{{Key: []byte("idx/a"), Value: []byte("1")}}, nil); err != nil {
		t.Fatal(err)
	}

	// Hold the next commit, queue appends behind it, then fail it: the
	// held batch and every batch built on it are refused.
	gate := f.Hold()
	rs := appendAll(l, 100, 160)
	<-gate.Held()
	f.Inject(fault)
	gate.Release()
	within(t, "the answers to appends around a failed commit", func() {
		for range 60 {
			r := <-rs
			if r.err == nil {
				t.Errorf("entry %d acknowledged at %d after its batch's commit failed (%v)", r.i, r.ack.Index, fault)
				continue
			}
			if !errors.Is(r.err, ledger.ErrStopped) {
				t.Errorf("entry %d: %v, want an error wrapping ErrStopped", r.i, r.err)
			}
		}
	})

	// Stopped, with the cause.
	stop := l.Stopped()
	if !errors.Is(stop, ledger.ErrStopped) || !errors.Is(stop, cause) {
		t.Fatalf("Stopped() = %v, want ErrStopped wrapping %v", stop, cause)
	}
	if st := l.Stats(); !st.Failed {
		t.Fatalf("Stats().Failed is false after a failed commit: %+v", st)
	}
	f.Inject(storagetest.Healthy) // the log must not try again anyway
	commits, _ := f.Counts()
	if _, err := l.Append(context.Background(), entry(1000)); !errors.Is(err, ledger.ErrStopped) || !errors.Is(err, cause) {
		t.Fatalf("append after the stop: %v, want ErrStopped wrapping %v", err, cause)
	}
	_, err := l.AppendStamped(context.Background(), []byte("stamped"), func(uint64, time.Time) ([]byte, []ledger.KV, error) {
		return []byte("x"), nil, nil
	})
	if !errors.Is(err, ledger.ErrStopped) {
		t.Fatalf("stamped append after the stop: %v, want ErrStopped", err)
	}
	if n, _ := f.Counts(); n != commits {
		t.Fatalf("the stopped log committed %d more batches", n-commits)
	}

	// Reads go on, at the last durable head.
	if h := l.Head(); h.Size != durable.Size || !bytes.Equal(h.Root, durable.Root) {
		t.Fatalf("head after the failure: size %d, want the durable %d", h.Size, durable.Size)
	}
	checkAcked(t, l, v, acks, l.Head())
	if _, err := l.Entries(durable.Size, 1); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("entry at the durable size %d: %v, want ErrNotFound", durable.Size, err)
	}
	if _, err := l.InclusionProof(durable.Size, durable.Size+1); !errors.Is(err, ledger.ErrInvalidRange) {
		t.Fatalf("proof beyond the durable head: %v, want ErrInvalidRange", err)
	}
	if val, err := f.Get([]byte("idx/a")); err != nil || string(val) != "1" {
		t.Fatalf("index read after the stop: %q, %v", val, err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close of a stopped log: %v", err)
	}

	// Restart on the same directory, healthy.
	l = openLog(t, dir, s, nil)
	head := l.Head()
	switch {
	case head.Size < durable.Size:
		t.Fatalf("restarted at size %d, behind the durable %d", head.Size, durable.Size)
	case fault != storagetest.FailSync && head.Size != durable.Size:
		t.Fatalf("restarted at size %d after a commit that wrote nothing, want %d", head.Size, durable.Size)
	case fault == storagetest.FailSync && head.Size == durable.Size:
		t.Fatalf("restarted at size %d: the batch written before the failed sync is missing", head.Size)
	}
	if head.Size == durable.Size && !bytes.Equal(head.Root, durable.Root) {
		t.Fatalf("restarted at size %d with another root", head.Size)
	}
	checkAcked(t, l, v, acks, head)
	if got := openTree(t, v, durable.Checkpoint); got.N != int64(durable.Size) {
		t.Fatalf("durable checkpoint opens at size %d", got.N)
	}
	a, err := l.Append(context.Background(), entry(2000))
	if err != nil || a.Index != head.Size {
		t.Fatalf("append after restart: %+v, %v; want index %d", a, err, head.Size)
	}
	acks = append(acks, acked{2000, a})
	// Appends refused before the stop may be retried; they are logged now
	// (or found, if the failed-sync batch made it to disk after all).
	b, err := l.Append(context.Background(), entry(100))
	if err != nil {
		t.Fatalf("retry of a refused append after restart: %v", err)
	}
	acks = append(acks, acked{100, b})
	checkAcked(t, l, v, acks, l.Head())
}

// TestSlowCommit: (d) while a commit hangs, reads of the log and of the
// index store answer, nothing is acknowledged, and appends queue up to
// MaxBatch+MaxPending and are then pushed back; once the commit is
// released every queued append is acknowledged.
func TestSlowCommit(t *testing.T) {
	s, v := newKey(t)
	const maxBatch, maxPending = 4, 8
	l, f := openFaulty(t, t.TempDir(), s, func(c *ledger.Config) { c.MaxBatch, c.MaxPending = maxBatch, maxPending })
	defer l.Close()
	var acks []acked
	for i := range 10 {
		a, err := l.Append(context.Background(), entry(i))
		if err != nil {
			t.Fatal(err)
		}
		acks = append(acks, acked{i, a})
	}
	if err := f.Update([]ledger.KV{{Key: []byte("idx/a"), Value: []byte("1")}, {Key: []byte("idx/b"), Value: []byte("2")}}, nil); err != nil {
		t.Fatal(err)
	}
	before := l.Head()

	gate := f.Hold()
	defer gate.Release()
	held := appendAll(l, 100, 101)
	<-gate.Held()
	within(t, "reads while a commit hangs", func() {
		if h := l.Head(); h.Size != before.Size {
			t.Errorf("head moved to %d while its commit hangs", h.Size)
		}
		if es, err := l.Entries(0, 10); err != nil || len(es) != 10 {
			t.Errorf("Entries: %d, %v", len(es), err)
		}
		if _, err := l.InclusionProof(3, before.Size); err != nil {
			t.Errorf("InclusionProof: %v", err)
		}
		if _, err := l.ConsistencyProof(2, before.Size); err != nil {
			t.Errorf("ConsistencyProof: %v", err)
		}
		if _, err := l.Tile(0, 0, int(before.Size)); err != nil {
			t.Errorf("Tile: %v", err)
		}
		if v, err := f.Get([]byte("idx/b")); err != nil || string(v) != "2" {
			t.Errorf("index Get: %q, %v", v, err)
		}
		n := 0
		if err := f.Scan(context.Background(), []byte("idx/"), nil, func(k, v []byte) bool { n++; return true }); err != nil || n != 2 {
			t.Errorf("index Scan: %d keys, %v", n, err)
		}
		_ = l.Stats()
	})

	// At most MaxBatch appends wait in the sequencer's next batch and
	// MaxPending in its queue: one more is pushed back, immediately.
	const queued = maxBatch + maxPending + 1
	rs := appendAll(l, 200, 200+queued)
	within(t, "a pushback while the queue is full", func() {
		r := <-rs // the first answer: a pushback (the rest wait)
		switch {
		case r.err == nil:
			t.Errorf("entry %d acknowledged at %d while the commit before it hangs", r.i, r.ack.Index)
		case !errors.Is(r.err, ledger.ErrPushback):
			t.Errorf("entry %d: %v, want ErrPushback", r.i, r.err)
		}
	})
	if p := l.Stats().Pushbacks; p == 0 {
		t.Fatalf("Stats().Pushbacks is 0 after a pushback")
	}
	select {
	case r := <-held:
		t.Fatalf("the held append was answered before its commit was released: %+v, %v", r.ack, r.err)
	default:
	}

	gate.Release()
	within(t, "the answers once the commit is released", func() {
		r := <-held
		if r.err != nil {
			t.Errorf("held append: %v", r.err)
			return
		}
		acks = append(acks, acked{r.i, r.ack})
		// Every append not pushed back is acknowledged; the pushed back
		// ones answered already.
		for range queued - 1 {
			r := <-rs
			switch {
			case r.err == nil:
				acks = append(acks, acked{r.i, r.ack})
			case errors.Is(r.err, ledger.ErrPushback):
			default:
				t.Errorf("entry %d after release: %v", r.i, r.err)
			}
		}
	})
	if len(acks) < 11+1 {
		t.Fatalf("only %d appends acknowledged", len(acks))
	}
	checkAcked(t, l, v, acks, l.Head())
	if err := l.Stopped(); err != nil {
		t.Fatalf("a slow commit stopped the log: %v", err)
	}
}

// TestOpenChecksBatchLimits: a Config whose worst-case batch does not fit
// one Badger transaction is refused at Open, naming both numbers; the
// defaults fit the default store.
func TestOpenChecksBatchLimits(t *testing.T) {
	s, _ := newKey(t)
	for _, c := range []struct {
		mem      int64
		maxBatch int
		want     []string // the storage's limit is appended
	}{
		{0, 200_000, []string{"MaxBatch 200000", "can write 401826 records"}},
		{16 << 20, 0, []string{"MaxBatch 1024", "can count 4824751 bytes"}}, // index keys counted 8 bytes longer, as list blocks of their own
	} {
		st, err := badgerstore.Open(badgerstore.Config{Dir: t.TempDir(), MemTableSize: c.mem})
		if err != nil {
			t.Fatal(err)
		}
		lim := st.BatchLimits()
		want := append(c.want, fmt.Sprintf("at most %d records", lim.MaxRecords))
		if c.mem != 0 {
			want[2] = fmt.Sprintf("at most %d bytes", lim.MaxBytes)
		}
		_, err = ledger.Open(ledger.Config{Origin: testOrigin, Signers: []note.Signer{s}, Storage: st, MaxBatch: c.maxBatch})
		st.Close()
		if err == nil {
			t.Fatalf("Open with MaxBatch %d over a store of memtable %d succeeded, want a refusal", c.maxBatch, c.mem)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Open refusal %q does not say %q", err, w)
			}
		}
	}
	// The defaults, and the default store, are fine (every other test opens them).
	l := newTestLog(t, nil)
	if _, err := l.Append(context.Background(), entry(0)); err != nil {
		t.Fatal(err)
	}
}

// bigStamp returns a stamp of an entry with n index keys of MaxKeySize
// bytes and values of vlen bytes.
func bigStamp(tag string, n, vlen int) ledger.StampFunc {
	return func(idx uint64, _ time.Time) ([]byte, []ledger.KV, error) {
		kvs := make([]ledger.KV, n)
		v := bytes.Repeat([]byte{'v'}, vlen)
		for i := range kvs {
			k := fmt.Appendf(nil, "big/%s/%06d/", tag, i)
			kvs[i] = ledger.KV{Key: append(k, bytes.Repeat([]byte{'k'}, ledger.MaxKeySize-len(k))...), Value: v}
		}
		return fmt.Appendf(nil, "stamped %s", tag), kvs, nil
	}
}

// TestStampBounds: an entry whose stamp returns more than MaxExtraPerEntry
// index keys, or a key longer than MaxKeySize, fails alone with
// ErrTooLarge; entries whose index keys together exceed what one Badger
// transaction takes are not put into one batch (the one that does not fit
// is pushed back and goes into the next); the log never stops.
func TestStampBounds(t *testing.T) {
	// A store whose transactions take one entry at the bounds, not two.
	st, err := badgerstore.Open(badgerstore.Config{Dir: t.TempDir(), MemTableSize: 40 << 20})
	if err != nil {
		t.Fatal(err)
	}
	vcap := int(st.BatchLimits().ValueCap) // the longest value a record counts whole
	tl := newTestLog(t, func(c *ledger.Config) {
		c.Storage.Close()
		c.Storage, c.MaxBatch, c.MaxDelay = st, 2, time.Hour
	})
	ctx := context.Background()
	over := func(uint64, time.Time) ([]byte, []ledger.KV, error) {
		return []byte("too many keys"), make([]ledger.KV, ledger.MaxExtraPerEntry+1), nil
	}
	long := func(uint64, time.Time) ([]byte, []ledger.KV, error) {
		return []byte("long key"), []ledger.KV{{Key: make([]byte, ledger.MaxKeySize+1)}}, nil
	}
	// MaxDelay is an hour and MaxBatch 2: each pair below is one batch.
	pair := func(a, b func() error) (error, error) {
		ea := make(chan error, 1)
		go func() { ea <- a() }()
		eb := b()
		return <-ea, eb
	}
	stamped := func(key string, st ledger.StampFunc) func() error {
		return func() error { _, err := tl.AppendStamped(ctx, []byte(key), st); return err }
	}
	plain := func(i int) func() error {
		return func() error { _, err := tl.Append(ctx, entry(i)); return err }
	}
	var e1, e2 error
	within(t, "appends over the per-entry bounds", func() {
		e1, e2 = pair(stamped("over", over), plain(0))
	})
	if !errors.Is(e1, ledger.ErrTooLarge) || e2 != nil {
		t.Fatalf("an entry with %d index keys: %v (and its batch mate: %v), want ErrTooLarge alone", ledger.MaxExtraPerEntry+1, e1, e2)
	}
	within(t, "appends over the per-entry bounds", func() {
		e1, e2 = pair(stamped("long", long), plain(1))
	})
	if !errors.Is(e1, ledger.ErrTooLarge) || e2 != nil {
		t.Fatalf("an entry with an index key of %d bytes: %v (and its batch mate: %v), want ErrTooLarge alone", ledger.MaxKeySize+1, e1, e2)
	}
	if _, err := tl.AppendStamped(ctx, make([]byte, ledger.MaxKeySize+1), over); !errors.Is(err, ledger.ErrTooLarge) {
		t.Fatalf("a dedup key of %d bytes: %v, want ErrTooLarge", ledger.MaxKeySize+1, err)
	}

	// Two entries at the bounds (MaxExtraPerEntry keys of MaxKeySize with
	// values as long as the store counts whole: 4.5 MB of its 6.3 MB
	// transaction each) do not fit one commit: one is logged, the other
	// pushed back, then logged with the next batch.
	within(t, "two entries at the bounds", func() {
		e1, e2 = pair(stamped("a", bigStamp("a", ledger.MaxExtraPerEntry, vcap)), stamped("b", bigStamp("b", ledger.MaxExtraPerEntry, vcap)))
	})
	var retry func() error
	switch {
	case e1 == nil && errors.Is(e2, ledger.ErrPushback):
		retry = stamped("b", bigStamp("b", ledger.MaxExtraPerEntry, vcap))
	case e2 == nil && errors.Is(e1, ledger.ErrPushback):
		retry = stamped("a", bigStamp("a", ledger.MaxExtraPerEntry, vcap))
	default:
		t.Fatalf("two entries at the bounds in one batch: %v and %v, want one logged and one pushed back", e1, e2)
	}
	within(t, "the retry", func() { e1, e2 = pair(retry, plain(2)) })
	if e1 != nil || e2 != nil {
		t.Fatalf("retry of the pushed back entry: %v (and its batch mate: %v)", e1, e2)
	}
	if err := tl.Stopped(); err != nil {
		t.Fatalf("the log stopped: %v", err)
	}
	if n := tl.Head().Size; n != 5 {
		t.Fatalf("log size %d, want 5 (3 plain, 2 stamped)", n)
	}
}

// TestManyIndexKeysNeverStopTheLog: entries with as many index keys as the
// audit layer's largest decision (521: six postings, 256 rules, 256 flags, a
// summary, a digest and the sealed content), queued by the hundred behind a
// held commit so that they meet in one batch: more of them than one Badger
// transaction takes (about 197 at the default 64 MiB memtable). Without the
// batch budget this stopped the log with "Txn is too big"; with it, the
// ones that do not fit are pushed back, retried, and all are logged.
func TestManyIndexKeysNeverStopTheLog(t *testing.T) {
	if raceEnabled {
		t.Skip("156,000 index keys take half a minute under the race detector; TestStampBounds covers the same budget")
	}
	s, _ := newKey(t)
	l, f := openFaulty(t, t.TempDir(), s, nil)
	defer l.Close()
	stamp := func(i int) ledger.StampFunc {
		return func(idx uint64, _ time.Time) ([]byte, []ledger.KV, error) {
			kvs := make([]ledger.KV, 521)
			for j := range kvs {
				kvs[j] = ledger.KV{Key: fmt.Appendf(nil, "q/r\x00\x10rule-%04d-%06d/%d", j, i, idx)}
			}
			return fmt.Appendf(nil, "decision %d", i), kvs, nil
		}
	}
	gate := f.Hold()
	first := appendAll(l, 0, 1)
	<-gate.Held()
	const n = 300
	errs := make(chan error, n)
	for i := range n {
		go func() {
			for {
				_, err := l.AppendStamped(context.Background(), fmt.Appendf(nil, "decision/%d", i), stamp(i))
				if !errors.Is(err, ledger.ErrPushback) {
					errs <- err
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	gate.Release()
	within(t, "300 appends of 521 index keys each", func() {
		if r := <-first; r.err != nil {
			t.Errorf("first append: %v", r.err)
		}
		for range n {
			if err := <-errs; err != nil {
				t.Errorf("append: %v", err)
			}
		}
	})
	if err := l.Stopped(); err != nil {
		t.Fatalf("the log stopped: %v", err)
	}
	if got := l.Head().Size; got != n+1 {
		t.Fatalf("log size %d, want %d", got, n+1)
	}
	t.Logf("%d pushbacks, %d batches", l.Stats().Pushbacks, l.Stats().Batches)
}
