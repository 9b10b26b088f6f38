package ledger

import (
	"fmt"
	"slices"
	"time"

	"github.com/transparency-dev/merkle/compact"
)

// The append path is a three-stage pipeline. The sequencer goroutine (run)
// takes a batch of requests, deduplicates, stamps, assigns indices,
// integrates the leaves into its tentative tree and signs the new
// checkpoint; the committer goroutine (commitLoop) writes each batch in one
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

// build sequences one batch on top of the sequencer's tentative state.
// Requests that do not fit the byte budget once stamped are carried over
// and returned, to start the next batch.
func (l *Log) build(batch []*request) (j *job, carry []*request) {
	w := newTileWriter(l.edges)
	rng, err := rangeFactory.NewRange(0, l.size, slices.Clone(l.rng.Hashes()))
	if err != nil {
		return l.refuse(batch, fmt.Errorf("ledger: copy compact range: %w", err)), nil
	}
	// Every node the batch creates is remembered, so the acknowledgements'
	// proofs need not hash them again.
	memo := map[compact.NodeID][]byte{}
	visit := func(id compact.NodeID, h []byte) {
		w.visit(id, h)
		if id.Level%TileHeight != 0 {
			memo[id] = h
		}
	}
	var (
		ps       = make([]pending, 0, len(batch))
		inBatch  = map[string]uint64{}
		entries  [][]byte
		keys     [][]byte
		extra    []KV
		lists    ListBuilder // the batch's list items, stored as one block per list
		bytes    int
		next     = l.size
		lastTime = l.lastTime
	)
	for i, r := range batch {
		p := pending{r: r}
		if idx, ok := inBatch[string(r.key)]; ok {
			p.index, p.dup = idx, true
			ps = append(ps, p)
			continue
		}
		idx, found, err := l.lookupInBuild(r)
		if err != nil {
			p.err = fmt.Errorf("ledger: dedup lookup: %w", err)
			ps = append(ps, p)
			continue
		}
		if found {
			p.index, p.dup = idx, true
			ps = append(ps, p)
			continue
		}
		p.entry = r.data
		t := max(l.cfg.Now().UnixNano(), lastTime)
		if r.stamp != nil {
			e, kvs, err := r.stamp(next, time.Unix(0, t).UTC())
			switch {
			case err != nil:
				p.err = err
			case len(e) > MaxEntrySize:
				p.err = fmt.Errorf("%w: got %d bytes", ErrTooLarge, len(e))
			}
			if p.err != nil {
				ps = append(ps, p)
				continue
			}
			if bytes+len(e) > l.cfg.MaxBatchBytes && len(entries) > 0 {
				carry = batch[i:]
				break
			}
			p.entry = e
			for _, kv := range kvs {
				if !kv.List {
					extra = append(extra, kv)
				} else if err := lists.Add(kv.Key, next, kv.Value); err != nil {
					// bounded refuses two items of one list from one entry
					return l.refuse(batch, err), nil
				}
			}
		}
		lastTime = t
		bytes += len(p.entry)
		p.index = next
		if p.leaf = r.leafOf(); p.leaf == nil {
			p.leaf = hasher.HashLeaf(p.entry)
		}
		if err := rng.Append(p.leaf, visit); err != nil {
			return l.refuse(batch, fmt.Errorf("ledger: append leaf %d: %w", next, err)), nil
		}
		inBatch[string(r.key)] = next
		entries = append(entries, p.entry)
		keys = append(keys, r.key)
		next++
		ps = append(ps, p)
	}
	handled := batch[:len(batch)-len(carry)]
	extra = append(extra, lists.Blocks()...)
	if w.err != nil {
		return l.refuse(handled, fmt.Errorf("ledger: tiles: %w", w.err)), carry
	}

	j = &job{ps: ps, head: Head{Size: l.size}}
	if next != l.size {
		root := rootOf(rng)
		cp, err := l.sign(next, root)
		if err != nil {
			return l.refuse(handled, err), carry
		}
		l.seq++
		j.seq = l.seq
		j.batch = &Batch{Start: l.size, Entries: entries, DedupKeys: keys, Tiles: w.dirty, Extra: extra,
			State: State{Size: next, Range: slices.Clone(rng.Hashes()), LastTime: lastTime, Checkpoint: cp}}
		j.head = Head{Size: next, Root: root, Checkpoint: cp}
		bk := batchKeys{seq: j.seq, keys: make([]string, 0, len(inBatch))}
		l.inflightMu.Lock()
		for k, idx := range inBatch {
			l.inflight[k] = idx
			bk.keys = append(bk.keys, k)
		}
		l.inflightMu.Unlock()
		l.retained = append(l.retained, bk)
		l.size, l.rng, l.edges, l.lastTime = next, rng, w.edges, lastTime
	}
	dirty := w.dirty
	j.nodes = newNodeReader(func(id TileID) ([]byte, error) {
		if t, ok := dirty[id]; ok {
			return t, nil
		}
		return l.store.Tile(id)
	})
	j.nodes.memo = memo
	return j, carry
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
