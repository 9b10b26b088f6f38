package ledger

import (
	"fmt"
	"slices"
	"time"

	"github.com/transparency-dev/merkle/compact"
)

// The append path is a three-stage pipeline. The sequencer goroutine (run)
// deduplicates, stamps, assigns indices to and integrates into its
// tentative tree each request as it arrives, and signs the new checkpoint
// once it cuts the batch; the committer goroutine (commitLoop) writes each batch in one
// durable commit, in order, and publishes the head; the acknowledger
// (ackLoop) then computes the inclusion proofs and answers. So the
// sequencer builds batch k+1 while batch k is being fsynced and the proofs
// of batch k-1 are computed. No request is answered before its batch (and
// every batch before it) is durable.
//
// Failure is fail-stop: if a commit fails, that batch and every batch
// already built on top of it are refused, the log refuses all further
// appends, and a restart resumes from the last durable commit. No head is
// published that is not durable.

// pending is a request with its place in a batch.
type pending struct {
	r     *request
	index uint64
	entry []byte
	leaf  []byte
	dup   bool // index is that of an earlier entry with the same key
	err   error
}

// job is a built batch on its way to the committer.
type job struct {
	seq   uint64 // batch sequence number (0 when the batch adds no entry)
	batch *Batch // nil when the batch adds no entry
	ps    []pending
	head  Head
	nodes *nodeReader
}

// retainBatches is how many durable batches keep their keys in inflight, so
// that a submitter's storage lookup, done a little before its request is
// sequenced, is still good (see lookupInBuild).
const retainBatches = 16

// builder sequences one batch on top of the sequencer's tentative state,
// a request at a time as requests arrive (add), so that by the time the
// committer is free only the checkpoint is left to sign (finish): the
// batch's stamping, hashing and tiles overlap the previous batch's commit.
// It belongs to the sequencer goroutine; the Log's tentative state (size,
// range, edges, lastTime) changes only in finish.
type builder struct {
	l       *Log
	w       *tileWriter
	rng     *compact.Range
	memo    map[compact.NodeID][]byte // every node the batch creates: the acknowledgements' proofs need not hash them again
	visit   compact.VisitFn
	handled []*request // every request added, in order
	ps      []pending
	inBatch map[string]uint64
	entries [][]byte
	keys    [][]byte
	dvals   [][]byte // the entries' dedup values (KV.Dedup), nil while none has one
	extra   []KV
	lists   ListBuilder // the batch's list items, stored as one block per list
	bytes   int         // entry bytes so far
	next    uint64
	last    int64 // log time of the last entry
	err     error // the batch cannot be built: every request is refused
}

func (l *Log) newBuilder() *builder {
	b := &builder{l: l, w: newTileWriter(l.edges), memo: map[compact.NodeID][]byte{}, inBatch: map[string]uint64{},
		next: l.size, last: l.lastTime}
	b.rng, b.err = rangeFactory.NewRange(0, l.size, slices.Clone(l.rng.Hashes()))
	if b.err != nil {
		b.err = fmt.Errorf("ledger: copy compact range: %w", b.err)
	}
	b.visit = func(id compact.NodeID, h []byte) {
		b.w.visit(id, h)
		if id.Level%TileHeight != 0 {
			b.memo[id] = h
		}
	}
	return b
}

// full reports whether the batch takes no more requests.
func (b *builder) full() bool {
	return len(b.handled) >= b.l.cfg.MaxBatch || b.bytes >= b.l.cfg.MaxBatchBytes-MaxEntrySize
}

// add sequences r into the batch. It returns false, adding nothing, when
// r's stamped entry does not fit the batch's byte budget: r starts the
// next batch.
func (b *builder) add(r *request) bool {
	l := b.l
	if b.err != nil {
		b.handled = append(b.handled, r)
		return true
	}
	p := pending{r: r}
	if idx, ok := b.inBatch[string(r.key)]; ok {
		p.index, p.dup = idx, true
		b.keep(p)
		return true
	}
	idx, found, err := l.lookupInBuild(r)
	if err != nil {
		p.err = fmt.Errorf("ledger: dedup lookup: %w", err)
		b.keep(p)
		return true
	}
	if found {
		p.index, p.dup = idx, true
		b.keep(p)
		return true
	}
	p.entry = r.data
	t := max(l.cfg.Now().UnixNano(), b.last)
	var dval []byte // stored with the entry's dedup key
	if r.stamp != nil {
		e, kvs, err := r.stamp(b.next, time.Unix(0, t).UTC())
		switch {
		case err != nil:
			p.err = err
		case len(e) > MaxEntrySize:
			p.err = fmt.Errorf("%w: got %d bytes", ErrTooLarge, len(e))
		}
		if p.err != nil {
			b.keep(p)
			return true
		}
		if b.bytes+len(e) > l.cfg.MaxBatchBytes && len(b.entries) > 0 {
			return false
		}
		p.entry = e
		for _, kv := range kvs {
			if kv.Dedup {
				dval = kv.Value
				continue
			}
			if !kv.List {
				b.extra = append(b.extra, kv)
			} else if err := b.lists.Add(kv.Key, b.next, kv.Value); err != nil {
				// bounded refuses two items of one list from one entry
				b.err = err
				b.handled = append(b.handled, r)
				return true
			}
		}
	}
	b.last = t
	b.bytes += len(p.entry)
	p.index = b.next
	if p.leaf = r.leafOf(); p.leaf == nil {
		p.leaf = hasher.HashLeaf(p.entry)
	}
	if err := b.rng.Append(p.leaf, b.visit); err != nil {
		b.err = fmt.Errorf("ledger: append leaf %d: %w", b.next, err)
		b.handled = append(b.handled, r)
		return true
	}
	b.inBatch[string(r.key)] = b.next
	if dval != nil && b.dvals == nil {
		b.dvals = make([][]byte, len(b.entries), cap(b.entries))
	}
	if b.dvals != nil {
		b.dvals = append(b.dvals, dval)
	}
	b.entries = append(b.entries, p.entry)
	b.keys = append(b.keys, r.key)
	b.next++
	b.keep(p)
	return true
}

func (b *builder) keep(p pending) {
	b.handled = append(b.handled, p.r)
	b.ps = append(b.ps, p)
}

// finish signs the batch's checkpoint, makes it the sequencer's tentative
// state and returns its job; or, if the batch cannot be built or err is
// set (the log failed, presync failed), a job that refuses every request
// and leaves the tentative state as it was.
func (b *builder) finish(err error) *job {
	l := b.l
	if err == nil {
		err = b.err
	}
	if err == nil {
		err = b.w.err
		if err != nil {
			err = fmt.Errorf("ledger: tiles: %w", err)
		}
	}
	if err != nil {
		return l.refuse(b.handled, err)
	}
	j := &job{ps: b.ps, head: Head{Size: l.size}}
	if b.next != l.size {
		root := rootOf(b.rng)
		cp, err := l.sign(b.next, root)
		if err != nil {
			return l.refuse(b.handled, err)
		}
		l.seq++
		j.seq = l.seq
		extra := append(b.extra, b.lists.Blocks()...)
		j.batch = &Batch{Start: l.size, Entries: b.entries, DedupKeys: b.keys, DedupValues: b.dvals, Tiles: b.w.dirty, Extra: extra,
			State: State{Size: b.next, Range: slices.Clone(b.rng.Hashes()), LastTime: b.last, Checkpoint: cp}}
		j.head = Head{Size: b.next, Root: root, Checkpoint: cp}
		bk := batchKeys{seq: j.seq, keys: make([]string, 0, len(b.inBatch))}
		l.inflightMu.Lock()
		for k, idx := range b.inBatch {
			l.inflight[k] = idx
			bk.keys = append(bk.keys, k)
		}
		l.inflightMu.Unlock()
		l.retained = append(l.retained, bk)
		l.size, l.rng, l.edges, l.lastTime = b.next, b.rng, b.w.edges, b.last
	}
	dirty := b.w.dirty
	j.nodes = newNodeReader(func(id TileID) ([]byte, error) {
		if t, ok := dirty[id]; ok {
			return t, nil
		}
		return l.store.Tile(id)
	})
	j.nodes.memo = b.memo
	// Upper nodes are read from the log's, not added: this reader also
	// sees the tiles of a batch not yet committed.
	j.nodes.upper = l.upper
	return j
}

// lookupInBuild finds the first index of r's key for the sequencer. The
// submitter looked in storage after reading the durable batch number
// r.seen; any batch that became durable after that is either still in
// inflight (the last retainBatches durable ones are kept there) or, if it
// was pruned already, the sequencer looks in storage again. So no key is
// ever missed, and most requests cost the sequencer one map lookup.
func (l *Log) lookupInBuild(r *request) (uint64, bool, error) {
	l.pruneRetained()
	l.inflightMu.Lock()
	idx, ok := l.inflight[string(r.key)]
	l.inflightMu.Unlock()
	switch {
	case ok:
		return idx, true, nil
	case r.found:
		return r.index, true, nil
	case r.seen >= l.prunedThrough:
		return 0, false, nil
	}
	return l.store.Lookup(r.key)
}

// pruneRetained drops from inflight the keys of durable batches beyond the
// last retainBatches.
func (l *Log) pruneRetained() {
	durable := l.durableSeq.Load()
	for len(l.retained) > retainBatches && l.retained[0].seq <= durable {
		b := l.retained[0]
		l.inflightMu.Lock()
		for _, k := range b.keys {
			delete(l.inflight, k)
		}
		l.inflightMu.Unlock()
		l.retained = l.retained[1:]
		l.prunedThrough = b.seq
	}
}

// lookup finds a dedup key in inflight, then in storage. Keys leave
// inflight only after their commit, so a key is always in one place or the
// other.
func (l *Log) lookup(key []byte) (uint64, bool, error) {
	l.inflightMu.Lock()
	idx, ok := l.inflight[string(key)]
	l.inflightMu.Unlock()
	if ok {
		return idx, true, nil
	}
	return l.store.Lookup(key)
}

// refuse makes a job that fails every request with err.
func (l *Log) refuse(rs []*request, err error) *job {
	j := &job{}
	for _, r := range rs {
		j.ps = append(j.ps, pending{r: r, err: err})
	}
	return j
}

// commitLoop writes jobs in order, returns the sequencer's token after each,
// and hands them to the acknowledger.
func (l *Log) commitLoop() {
	defer close(l.acks)
	for j := range l.jobs {
		if j.batch != nil {
			err := l.failed()
			if err == nil {
				t0 := time.Now()
				err = l.store.Commit(j.batch)
				l.stats.commitNanos.Add(uint64(time.Since(t0)))
				if err != nil {
					l.cfg.Logger.Error("commit failed; the log refuses appends until restarted",
						"start", j.batch.Start, "entries", len(j.batch.Entries), "err", err)
					err = fmt.Errorf("%w: commit of %d entries at index %d: %w", ErrStopped, len(j.batch.Entries), j.batch.Start, err)
					l.failure.Store(&err)
				}
			}
			if err != nil {
				l.free <- struct{}{}
				for i := range j.ps {
					j.ps[i].r.reply <- reply{err: err}
				}
				continue
			}
			l.head.Store(&j.head)
			l.durableSeq.Store(j.seq)
			l.stats.batches.Add(1)
			l.stats.appended.Add(uint64(len(j.batch.Entries)))
		} else {
			// Duplicates only: answer against the head published by now,
			// which covers every batch before this one.
			j.head = l.Head()
		}
		l.free <- struct{}{}
		l.acks <- j
	}
}

// ackLoop answers the requests of committed jobs.
func (l *Log) ackLoop() {
	defer close(l.done)
	for j := range l.acks {
		l.acknowledge(j)
	}
}

// acknowledge answers every request of a committed job, with an inclusion
// proof against the job's head.
func (l *Log) acknowledge(j *job) {
	head := j.head
	for i := range j.ps {
		p := &j.ps[i]
		if p.err != nil {
			p.r.reply <- reply{err: p.err}
			continue
		}
		ack := &Ack{Index: p.index, Entry: p.entry, LeafHash: p.leaf, Duplicate: p.dup,
			Size: head.Size, Root: head.Root, Checkpoint: head.Checkpoint}
		if p.dup {
			l.stats.duplicates.Add(1)
			es, err := l.store.Entries(p.index, 1)
			if err != nil {
				p.r.reply <- reply{err: fmt.Errorf("ledger: read first entry %d of a duplicate: %w", p.index, err)}
				continue
			}
			ack.Entry, ack.LeafHash = es[0], hasher.HashLeaf(es[0])
		}
		proof, err := j.nodes.inclusion(p.index, head.Size)
		if err != nil {
			p.r.reply <- reply{err: fmt.Errorf("ledger: inclusion proof of %d in %d: %w", p.index, head.Size, err)}
			continue
		}
		ack.Proof = proof
		p.r.reply <- reply{ack: ack}
	}
}

func (l *Log) failed() error {
	if e := l.failure.Load(); e != nil {
		return *e
	}
	return nil
}
