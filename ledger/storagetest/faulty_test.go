package storagetest_test

import (
	"errors"
	"syscall"
	"testing"

	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
	"github.com/fjaledger/fja/ledger/storagetest"
)

func openFaulty(t *testing.T, dir string) *storagetest.Faulty {
	s, err := badgerstore.Open(badgerstore.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return &storagetest.Faulty{Store: s}
}

// TestHealthyFaultyConforms: a Faulty store with no fault injected is the
// store it wraps.
func TestHealthyFaultyConforms(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, dir string) storagetest.Store { return openFaulty(t, dir) })
}

// TestFaults: each fault does what it says to the wrapped store.
func TestFaults(t *testing.T) {
	f := openFaulty(t, t.TempDir())
	defer f.Close()
	b := func(start uint64) *ledger.Batch {
		return &ledger.Batch{Start: start, Entries: [][]byte{{byte(start)}}, DedupKeys: [][]byte{{'d', byte(start)}},
			State: ledger.State{Size: start + 1, Checkpoint: []byte("cp")}}
	}
	size := func() uint64 {
		st, err := f.Load()
		if err != nil {
			t.Fatal(err)
		}
		return st.Size
	}
	if err := f.Commit(b(0)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		fault   storagetest.Fault
		want    error
		written bool
	}{
		{storagetest.FailCommit, storagetest.ErrInjected, false},
		{storagetest.NoSpace, syscall.ENOSPC, false},
		{storagetest.FailSync, storagetest.ErrInjectedSync, true},
	} {
		n := size()
		f.Inject(c.fault)
		err := f.Commit(b(n))
		if !errors.Is(err, c.want) {
			t.Fatalf("%v: Commit returned %v, want %v", c.fault, err, c.want)
		}
		if got := size() > n; got != c.written {
			t.Fatalf("%v: batch written %v, want %v", c.fault, got, c.written)
		}
	}
	f.Inject(storagetest.Healthy)
	if err := f.Commit(b(size())); err != nil {
		t.Fatalf("healthy again: %v", err)
	}
	if commits, failed := f.Counts(); commits != 5 || failed != 3 {
		t.Fatalf("Counts: %d commits, %d failed; want 5, 3", commits, failed)
	}

	// A held commit writes nothing until released, then takes the fault
	// injected meanwhile.
	g := f.Hold()
	n := size()
	done := make(chan error, 1)
	go func() { done <- f.Commit(b(n)) }()
	<-g.Held()
	if size() != n {
		t.Fatal("a held commit wrote its batch")
	}
	select {
	case err := <-done:
		t.Fatalf("a held commit returned %v before its release", err)
	default:
	}
	f.Inject(storagetest.FailCommit)
	g.Release()
	if err := <-done; !errors.Is(err, storagetest.ErrInjected) {
		t.Fatalf("held commit released into a failure: %v", err)
	}
	g.Release() // twice is fine
	if lim := f.BatchLimits(); lim.MaxRecords <= 0 {
		t.Fatalf("BatchLimits of a Faulty over badgerstore: %+v, want badgerstore's", lim)
	}
}
