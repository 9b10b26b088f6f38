package ledger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"
)

// Errors callers branch on.
var (
	// ErrPushback: too many appends are queued; retry later.
	ErrPushback = errors.New("ledger: too many appends queued, retry later")
	// ErrClosed: the log was closed.
	ErrClosed = errors.New("ledger: log is closed")
	// ErrTooLarge: the entry is larger than MaxEntrySize.
	ErrTooLarge = fmt.Errorf("ledger: entry larger than %d bytes", MaxEntrySize)
	// ErrInvalidRange: an index or size argument does not fit the tree.
	ErrInvalidRange = errors.New("ledger: invalid index or size")
	// ErrStopped: a commit failed and the log stopped taking appends until
	// it is restarted (fail-stop: nothing is acknowledged that may not be
	// durable). The error returned wraps it and names the cause.
	ErrStopped = errors.New("ledger: the log stopped after a failed commit")
	// ErrFrozen: the log is a frozen shard (Config.Frozen); appends go to
	// the active shard.
	ErrFrozen = errors.New("ledger: the log is a frozen shard and takes no appends; append to the active shard")
)

// Ack acknowledges a durable append.
type Ack struct {
	// Index is the entry's position in the log.
	Index uint64
	// LeafHash is the RFC 6962 leaf hash of Entry.
	LeafHash []byte
	// Entry is the leaf data as logged.
	Entry []byte
	// Duplicate is true when the dedup key was already logged: Index and
	// Entry are those of the first entry with that key.
	Duplicate bool
	// Size and Root are the tree the checkpoint commits to; Checkpoint is
	// that signed checkpoint.
	Size       uint64
	Root       []byte
	Checkpoint []byte
	// Proof is the inclusion proof of Index in the tree of Size.
	Proof [][]byte
}

// Head is a signed tree head: a size, its root and the checkpoint signed for them.
type Head struct {
	Size       uint64
	Root       []byte
	Checkpoint []byte
}

// Log is an append-only Merkle log. It is safe for concurrent use.
type Log struct {
	cfg     Config
	store   Storage
	signers []note.Signer

	head atomic.Pointer[Head]

	mu     sync.RWMutex // guards closed and sending on reqs
	closed bool
	reqs   chan *request
	jobs   chan *job     // sequencer -> committer
	free   chan struct{} // the committer's token: held by the sequencer to hand over a batch
	acks   chan *job     // committer -> acknowledger
	done   chan struct{} // closed when every request has been answered

	failure atomic.Pointer[error] // set once by a failed commit: the log stopped

	stats counters

	// inflight maps the dedup keys of built batches to their indices: all
	// batches not yet durable, and the last retainBatches durable ones (see
	// lookupInBuild). Keys leave it only once in storage.
	inflightMu sync.Mutex
	inflight   map[string]uint64

	// upper keeps the upper nodes that proofs hash (tree.go), across
	// requests, under its own lock; only readers of committed tiles add
	// to it.
	upper *upperNodes

	// durableSeq is the sequence number of the last batch committed.
	durableSeq atomic.Uint64

	// Tentative tree state: the sequencer goroutine's alone after Open. It
	// runs ahead of the published head by the batches in the pipeline.
	size     uint64
	rng      *compact.Range
	edges    edgeTiles
	lastTime int64
	// Batch bookkeeping of the sequencer goroutine.
	seq           uint64      // sequence number of the last batch built
	retained      []batchKeys // batches whose keys are still in inflight, oldest first
	prunedThrough uint64      // the keys of batches up to this one left inflight

	// budget is what the stamped entries of one batch may add to its
	// commit within the storage's BatchLimits; used is what the batch
	// being built took of it (both the sequencer goroutine's: stamps run
	// there).
	budget stampBudget
	used   batchUse
}

// batchUse is what the stamped entries of the batch starting at start took
// of the stamp budget so far.
type batchUse struct {
	start          uint64
	records, bytes int64
}

// batchKeys are the dedup keys a batch added to inflight.
type batchKeys struct {
	seq  uint64
	keys []string
}

type request struct {
	data  []byte
	stamp StampFunc
	key   []byte
	reply chan reply
	// The submitter's storage lookup of key, done before queueing to keep
	// it off the sequencer: seen is the durable batch sequence number read
	// before it; found and index its answer.
	probe *Probe
	seen  uint64
	found bool
	index uint64
}

// StampFunc builds an entry once the sequencer has assigned its index and
// log time, and returns the index keys to write in the same commit.
type StampFunc func(index uint64, loggedAt time.Time) (entry []byte, extra []KV, err error)

type reply struct {
	ack *Ack
	err error
}

// Open resumes the log stored in cfg.Storage, or starts a new one with a
// signed checkpoint of the empty tree.
func Open(cfg Config) (*Log, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	budget, err := cfg.stampBudget()
	if err != nil {
		return nil, err
	}
	st, err := cfg.Storage.Load()
	if err != nil {
		return nil, err
	}
	rng, err := rangeFactory.NewRange(0, st.Size, st.Range)
	if err != nil {
		return nil, fmt.Errorf("ledger: stored compact range for size %d: %w", st.Size, err)
	}
	edges, err := loadEdges(cfg.Storage, st.Size)
	if err != nil {
		return nil, fmt.Errorf("ledger: resume at size %d: %w", st.Size, err)
	}
	l := &Log{
		cfg:      cfg,
		store:    cfg.Storage,
		signers:  cfg.Signers,
		reqs:     make(chan *request, cfg.MaxPending),
		jobs:     make(chan *job, 1),
		free:     make(chan struct{}, 1),
		acks:     make(chan *job, 2),
		done:     make(chan struct{}),
		inflight: map[string]uint64{},
		upper:    newUpperNodes(maxUpperNodes),
		size:     st.Size,
		rng:      rng,
		edges:    edges,
		lastTime: st.LastTime,
		budget:   budget,
	}
	root := rootOf(rng)
	if cfg.Frozen {
		if st.Checkpoint == nil {
			return nil, errors.New("ledger: a frozen log has no stored checkpoint, want its final one")
		}
		if err := l.checkStoredCheckpoint(st.Checkpoint, st.Size, root); err != nil {
			return nil, err
		}
	} else if st.Checkpoint == nil || st.Size == 0 {
		cp, err := l.sign(st.Size, root)
		if err != nil {
			return nil, err
		}
		st.Checkpoint = cp
		if err := l.store.Commit(&Batch{Start: st.Size, Tiles: map[TileID][]byte{}, State: st}); err != nil {
			return nil, fmt.Errorf("ledger: commit first checkpoint: %w", err)
		}
	} else if err := l.checkStoredCheckpoint(st.Checkpoint, st.Size, root); err != nil {
		return nil, err
	}
	l.head.Store(&Head{Size: st.Size, Root: root, Checkpoint: st.Checkpoint})
	l.free <- struct{}{}
	go l.run()
	go l.commitLoop()
	go l.ackLoop()
	return l, nil
}

// rootOf returns the root hash of a compact range starting at 0.
func rootOf(r *compact.Range) []byte {
	if r.End() == 0 {
		h := sha256.Sum256(nil)
		return h[:]
	}
	root, _ := r.GetRootHash(nil) // cannot fail: the range begins at 0
	return root
}

// presync runs Config.Presync, if any.
func (l *Log) presync() error {
	if l.cfg.Presync == nil {
		return nil
	}
	if err := l.cfg.Presync(); err != nil {
		return fmt.Errorf("ledger: presync before a batch: %w", err)
	}
	return nil
}

func (l *Log) sign(size uint64, root []byte) ([]byte, error) {
	text := log.Checkpoint{Origin: l.cfg.Origin, Size: size, Hash: root}.Marshal()
	cp, err := note.Sign(&note.Note{Text: string(text)}, l.signers...)
	if err != nil {
		return nil, fmt.Errorf("ledger: sign checkpoint of size %d: %w", size, err)
	}
	return cp, nil
}

// checkStoredCheckpoint makes sure the checkpoint found at start commits to
// the stored tree, so a log never resumes serving a head it cannot prove.
func (l *Log) checkStoredCheckpoint(cp []byte, size uint64, root []byte) error {
	// The signatures were made by this log and are checked by its clients.
	c, err := CheckpointBody(cp)
	if err != nil {
		return fmt.Errorf("ledger: stored %w", err)
	}
	if c.Origin != l.cfg.Origin || c.Size != size || !bytes.Equal(c.Hash, root) {
		return fmt.Errorf("ledger: stored checkpoint is for %q size %d, want %q size %d with the stored root", c.Origin, c.Size, l.cfg.Origin, size)
	}
	return nil
}

// CheckpointBody parses the body of a signed checkpoint (everything before
// the blank line that starts the signatures), without checking them.
func CheckpointBody(cp []byte) (log.Checkpoint, error) {
	var c log.Checkpoint
	i := bytes.Index(cp, []byte("\n\n"))
	if i < 0 {
		return c, errors.New("checkpoint has no signature block")
	}
	if _, err := c.Unmarshal(cp[:i+1]); err != nil {
		return c, fmt.Errorf("checkpoint does not parse: %w", err)
	}
	return c, nil
}

// counters are the log's running totals since Open (see Stats).
type counters struct {
	appended, duplicates, pushbacks, batches, commitNanos atomic.Uint64
}

// Stats are running totals since the log was opened, for monitoring.
type Stats struct {
	// Appended counts entries made durable; Duplicates, appends answered
	// with an earlier entry; Pushbacks, appends refused with ErrPushback.
	Appended, Duplicates, Pushbacks uint64
	// Batches counts durable commits, and CommitSeconds their total time.
	Batches       uint64
	CommitSeconds float64
	// Failed is true once a commit failed and the log stopped taking appends.
	Failed bool
}

// Stats returns the log's running totals.
func (l *Log) Stats() Stats {
	return Stats{
		Appended: l.stats.appended.Load(), Duplicates: l.stats.duplicates.Load(), Pushbacks: l.stats.pushbacks.Load(),
		Batches: l.stats.batches.Load(), CommitSeconds: float64(l.stats.commitNanos.Load()) / 1e9, Failed: l.failed() != nil,
	}
}

// Stopped returns nil while the log takes appends, and the error that
// stopped it (wrapping ErrStopped) once a commit failed.
func (l *Log) Stopped() error { return l.failed() }

// Frozen reports whether the log was opened frozen (Config.Frozen).
func (l *Log) Frozen() bool { return l.cfg.Frozen }

// Head returns the latest signed tree head.
func (l *Log) Head() Head { return *l.head.Load() }

// Append logs data, deduplicated by its leaf hash, and returns once it is
// durable and covered by a signed checkpoint.
func (l *Log) Append(ctx context.Context, data []byte) (*Ack, error) {
	if len(data) > MaxEntrySize {
		return nil, fmt.Errorf("%w: got %d bytes", ErrTooLarge, len(data))
	}
	lh := hasher.HashLeaf(data)
	return l.submit(ctx, &request{data: data, key: append([]byte{'h'}, lh...)})
}

// leafOf returns the leaf hash of a plain request, computed by Append.
func (r *request) leafOf() []byte {
	if r.stamp == nil && len(r.key) == 33 && r.key[0] == 'h' {
		return r.key[1:]
	}
	return nil
}

// AppendStamped logs the entry that stamp builds for the index and log time
// the sequencer assigns, with the index keys stamp returns, in one commit.
// key (non-empty) deduplicates: a key already logged returns the first
// entry's acknowledgement with Duplicate set, and stamp is not called.
// stamp runs on the sequencer goroutine: it MUST be quick, MUST NOT call
// back into the Log, and MUST have no side effects: it may run more than
// once (a stamped entry that does not fit its batch's byte budget is
// stamped again, with a new index and time, for the next batch), and only
// the last result is logged.
func (l *Log) AppendStamped(ctx context.Context, key []byte, stamp StampFunc) (*Ack, error) {
	if len(key) == 0 {
		return nil, errors.New("ledger: AppendStamped needs a dedup key")
	}
	if len(key) > MaxKeySize {
		return nil, fmt.Errorf("%w: dedup key of %d bytes, want at most %d", ErrTooLarge, len(key), MaxKeySize)
	}
	k := append([]byte{'k'}, key...)
	return l.submit(ctx, &request{stamp: l.bounded(k, stamp), key: k})
}

// bounded wraps a stamp with the per-entry bounds (MaxExtraPerEntry,
// MaxKeySize) and the batch's stamp budget, so that no Commit exceeds the
// storage's BatchLimits. An entry over the bounds, or whose keys alone
// exceed the budget of a whole batch, fails with ErrTooLarge; one that does
// not fit what its batch has left fails with ErrPushback (the client
// retries and it goes into a later batch).
//
// It relies on stamps running on the sequencer goroutine, in index order,
// while l.size is the start of the batch being built: the first entry of a
// batch is stamped with index l.size. What an entry that fails after its
// stamp (too large, carried to the next batch) took is not given back,
// which only errs on the safe side, and only for the rest of that batch.
func (l *Log) bounded(key []byte, stamp StampFunc) StampFunc {
	return func(index uint64, loggedAt time.Time) ([]byte, []KV, error) {
		e, kvs, err := stamp(index, loggedAt)
		if err != nil || len(e) > MaxEntrySize {
			return e, kvs, err // the sequencer refuses them; nothing is used
		}
		if len(kvs) > MaxExtraPerEntry {
			return nil, nil, fmt.Errorf("%w: the entry brings %d index keys, want at most %d", ErrTooLarge, len(kvs), MaxExtraPerEntry)
		}
		lim := l.budget.limits
		records, bytes := int64(1+len(kvs)), lim.cost(len(key), 8)
		nlists, ndedup := 0, 0
		for _, kv := range kvs {
			if kv.Dedup {
				if ndedup++; ndedup > 1 || len(kv.Value) > MaxDedupValue || kv.List {
					return nil, nil, fmt.Errorf("%w: the entry brings %d values for its dedup key (want at most one, of at most %d bytes, not a list item), the last of %d bytes",
						ErrTooLarge, ndedup, MaxDedupValue, len(kv.Value))
				}
			}
			if len(kv.Key) > MaxKeySize {
				return nil, nil, fmt.Errorf("%w: index key of %d bytes, want at most %d", ErrTooLarge, len(kv.Key), MaxKeySize)
			}
			if !kv.List {
				bytes += lim.cost(len(kv.Key), len(kv.Value))
				continue
			}
			// counted as a block of its own, the most it can add
			bytes += lim.cost(len(kv.Key)+8, len(kv.Value)+listItemMax)
			nlists++
		}
		if list := repeatedList(kvs, nlists); list != nil {
			return nil, nil, fmt.Errorf("ledger: the entry gives index list %q two items, want at most one", list)
		}
		b := l.budget
		if (b.records > 0 && records > b.records) || (b.bytes > 0 && bytes > b.bytes) {
			return nil, nil, fmt.Errorf("%w: the entry's %d keys count %d bytes toward one commit, the storage takes at most %d keys and %d bytes beside a full batch",
				ErrTooLarge, records, bytes, b.records, b.bytes)
		}
		if index == l.size || l.used.start != l.size {
			l.used = batchUse{start: l.size}
		}
		u := &l.used
		if (b.records > 0 && u.records+records > b.records) || (b.bytes > 0 && u.bytes+bytes > b.bytes) {
			l.stats.pushbacks.Add(1)
			return nil, nil, fmt.Errorf("%w: the batch at index %d is at the storage's limit of %d keys and %d bytes of index keys",
				ErrPushback, l.size, b.records, b.bytes)
		}
		u.records += records
		u.bytes += bytes
		return e, kvs, nil
	}
}

// repeatedList returns the name of an index list given two items by kvs,
// which hold n list items in all, or nil if none is. It runs in the
// sequencer, once an entry: the few lists of a typical entry are compared
// pairwise, without the map (and its allocation) that many lists need.
func repeatedList(kvs []KV, n int) []byte {
	if n < 2 {
		return nil
	}
	if n <= 32 {
		for i, a := range kvs {
			if !a.List {
				continue
			}
			for _, b := range kvs[i+1:] {
				if b.List && bytes.Equal(a.Key, b.Key) {
					return a.Key
				}
			}
		}
		return nil
	}
	seen := make(map[string]bool, n)
	for _, kv := range kvs {
		if kv.List {
			if seen[string(kv.Key)] {
				return kv.Key
			}
			seen[string(kv.Key)] = true
		}
	}
	return nil
}

// Probe is a dedup key looked up in storage ahead of its append
// (Log.Probe), so that the append need not look it up again: Found and
// Index say whether, and where, the key was durably logged when it was
// looked up. Entries in flight then are not seen (the sequencer finds
// them); entries made durable since are found by the sequencer too.
type Probe struct {
	key   []byte // with the 'k' prefix of stamped keys
	seen  uint64 // the durable batch sequence number read before the lookup
	Index uint64
	Found bool
}

// Probe looks up the dedup key of a stamped append (AppendProbed) in
// storage.
func (l *Log) Probe(key []byte) (*Probe, error) {
	if len(key) == 0 || len(key) > MaxKeySize {
		return nil, fmt.Errorf("%w: dedup key of %d bytes, want 1..%d", ErrTooLarge, len(key), MaxKeySize)
	}
	p := &Probe{key: append([]byte{'k'}, key...)}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, ErrClosed
	}
	if err := p.lookup(l); err != nil {
		return nil, err
	}
	return p, nil
}

// lookup fills p from storage; the caller holds l.mu (read), so that
// Close cannot close the store meanwhile.
func (p *Probe) lookup(l *Log) error {
	p.seen = l.durableSeq.Load()
	idx, found, err := l.store.Lookup(p.key)
	if err != nil {
		return fmt.Errorf("ledger: dedup lookup: %w", err)
	}
	p.Found, p.Index = found, idx
	return nil
}

// AppendProbed is AppendStamped for a key looked up with Probe, which it
// does not look up again.
func (l *Log) AppendProbed(ctx context.Context, p *Probe, stamp StampFunc) (*Ack, error) {
	return l.submit(ctx, &request{stamp: l.bounded(p.key, stamp), key: p.key, probe: p})
}

func (l *Log) submit(ctx context.Context, r *request) (*Ack, error) {
	if l.cfg.Frozen {
		return nil, ErrFrozen
	}
	if err := l.failed(); err != nil {
		return nil, err
	}
	r.reply = make(chan reply, 1)
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return nil, ErrClosed
	}
	if r.probe == nil {
		r.probe = &Probe{key: r.key}
		if err := r.probe.lookup(l); err != nil {
			l.mu.RUnlock()
			return nil, err
		}
	}
	r.seen, r.found, r.index = r.probe.seen, r.probe.Found, r.probe.Index
	select {
	case l.reqs <- r:
	default:
		l.mu.RUnlock()
		l.stats.pushbacks.Add(1)
		return nil, ErrPushback
	}
	l.mu.RUnlock()
	select {
	case rep := <-r.reply:
		return rep.ack, rep.err
	case <-ctx.Done():
		// The append may still be integrated; the caller learns of it by
		// appending again (dedup) or reading the log.
		return nil, ctx.Err()
	}
}

// LookupKey returns the index of the entry appended with dedup key key by
// AppendStamped, including entries not yet durable.
func (l *Log) LookupKey(key []byte) (uint64, bool, error) {
	return l.lookup(append([]byte{'k'}, key...))
}

// StampedKey returns the key an entry was appended with by AppendStamped
// (or AppendProbed), given its dedup key as the storage holds it (see
// Storage.Lookup); ok is false for the dedup key of a plain Append.
func StampedKey(stored []byte) (key []byte, ok bool) {
	if len(stored) < 2 || stored[0] != 'k' {
		return nil, false
	}
	return stored[1:], true
}

// DedupValue returns the value stored with a stamped entry's dedup key
// (KV.Dedup; empty if none), ok false if the key is not logged. It reads
// committed entries only.
func (l *Log) DedupValue(key []byte) ([]byte, bool, error) {
	return l.store.DedupValue(append([]byte{'k'}, key...))
}

// Close stops taking appends, integrates those already queued, and closes
// the storage.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.closed = true
	close(l.reqs)
	l.mu.Unlock()
	<-l.done
	return l.store.Close()
}

// run is the sequencer. It sequences each request as it arrives into the
// batch being built (builder), and cuts the batch once MaxDelay has passed
// since its first request and the committer is free (group commit:
// whatever arrives while a batch is being fsynced joins the next one), or
// once the batch is full; signs it; and hands it to the committer. The
// committer returns its token (l.free) after each commit, so at most one
// built batch waits for it and batches grow with the load instead of
// queueing up small; and all but the signing of a batch is done while the
// previous one commits.
func (l *Log) run() {
	defer close(l.jobs)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var carry *request // did not fit the last batch: starts this one
	for {
		b := l.newBuilder()
		if carry != nil {
			b.add(carry) // an empty batch takes any request
			carry = nil
		} else {
			first, ok := <-l.reqs
			if !ok {
				return
			}
			b.add(first)
		}
		timer.Reset(l.cfg.MaxDelay)
		reqs, expired, free := l.reqs, timer.C, (<-chan struct{})(nil)
	collect:
		for {
			if carry != nil || b.full() {
				reqs, free = nil, l.free // full: wait for the committer only
			}
			select {
			case r, ok := <-reqs:
				if !ok {
					reqs, free = nil, l.free // closing: flush what we have
					continue
				}
				if !b.add(r) {
					carry = r
				}
			case <-expired:
				expired, free = nil, l.free
			case <-free:
				break collect
			}
		}
		timer.Stop()
		err := l.failed()
		if err == nil {
			err = l.presync()
		}
		l.jobs <- b.finish(err)
	}
}
