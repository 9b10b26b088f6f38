package storagetest

import (
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"syscall"

	"github.com/fjaledger/fja/ledger"
)

// Fault is what a Faulty store does to a Commit.
type Fault int

const (
	// Healthy commits pass through.
	Healthy Fault = iota
	// FailCommit: Commit writes nothing and returns an error wrapping
	// ErrInjected.
	FailCommit
	// FailSync: Commit writes the batch, then returns an error wrapping
	// ErrInjectedSync, as a store whose fsync failed after the write: the
	// batch may or may not survive, and the caller MUST treat it as not
	// durable (and MUST NOT assume it absent either).
	FailSync
	// NoSpace: Commit writes nothing and returns an error wrapping
	// syscall.ENOSPC, as from a full disk.
	NoSpace
)

func (f Fault) String() string {
	switch f {
	case Healthy:
		return "healthy"
	case FailCommit:
		return "failed commit"
	case FailSync:
		return "failed fsync"
	case NoSpace:
		return "no space left on device"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// Errors a Faulty store injects.
var (
	ErrInjected     = errors.New("storagetest: injected commit failure")
	ErrInjectedSync = errors.New("storagetest: injected fsync failure after the batch was written")
)

// Faulty wraps a Store and injects faults into its Commit, for tests of the
// layers above a backend: no acknowledgement without durability, fail-stop,
// recovery on restart, liveness of reads while a commit hangs. Reads,
// Update and Close pass through untouched. The zero value of every field
// but Store is a healthy store; the methods are safe for concurrent use.
type Faulty struct {
	Store

	mu      sync.Mutex
	fault   Fault
	gate    *Gate
	commits int // Commit calls
	failed  int // of which were answered with an injected error
}

var (
	_ Store               = (*Faulty)(nil)
	_ ledger.BatchLimiter = (*Faulty)(nil)
)

// Inject makes every Commit from now on (including one held by a Gate
// when it is released) behave as fault, until the next Inject.
func (f *Faulty) Inject(fault Fault) {
	f.mu.Lock()
	f.fault = fault
	f.mu.Unlock()
}

// Hold makes every Commit from now on block, before it writes anything,
// until the returned Gate is released. Holding again replaces the gate for
// later commits; commits already held wait for their own gate.
func (f *Faulty) Hold() *Gate {
	g := &Gate{held: make(chan struct{}), release: make(chan struct{})}
	f.mu.Lock()
	f.gate = g
	f.mu.Unlock()
	return g
}

// Counts returns how many Commits were called and how many of them were
// answered with an injected error.
func (f *Faulty) Counts() (commits, failed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.commits, f.failed
}

// Commit implements ledger.Storage, with the fault injected last and the
// gate installed last.
func (f *Faulty) Commit(b *ledger.Batch) error {
	f.mu.Lock()
	f.commits++
	g := f.gate
	f.mu.Unlock()
	if g != nil {
		g.wait()
	}
	f.mu.Lock()
	fault := f.fault
	if fault != Healthy {
		f.failed++
	}
	f.mu.Unlock()
	what := fmt.Sprintf("commit of %d entries at index %d", len(b.Entries), b.Start)
	switch fault {
	case FailCommit:
		return fmt.Errorf("storagetest: %s: %w", what, ErrInjected)
	case NoSpace:
		return fmt.Errorf("storagetest: %s: %w", what, &fs.PathError{Op: "write", Path: "storagetest-journal", Err: syscall.ENOSPC})
	case FailSync:
		if err := f.Store.Commit(b); err != nil {
			return err
		}
		return fmt.Errorf("storagetest: %s: %w", what, ErrInjectedSync)
	}
	return f.Store.Commit(b)
}

// BatchLimits implements ledger.BatchLimiter with the wrapped store's
// limits (none if it declares none).
func (f *Faulty) BatchLimits() ledger.BatchLimits {
	if bl, ok := f.Store.(ledger.BatchLimiter); ok {
		return bl.BatchLimits()
	}
	return ledger.BatchLimits{}
}

// Gate holds commits until it is released.
type Gate struct {
	once    sync.Once
	held    chan struct{} // closed when the first commit is held
	release chan struct{}
	rel     sync.Once
}

func (g *Gate) wait() {
	g.once.Do(func() { close(g.held) })
	<-g.release
}

// Held is closed once a commit is blocked at the gate.
func (g *Gate) Held() <-chan struct{} { return g.held }

// Release lets every commit held at the gate, and every later one that
// reaches it, go on. It may be called more than once.
func (g *Gate) Release() { g.rel.Do(func() { close(g.release) }) }
