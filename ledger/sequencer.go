package ledger

import (
	"fmt"
	"time"
)

// pending is a request with its place in the batch being integrated.
type pending struct {
	r     *request
	index uint64
	entry []byte
	leaf  []byte
	dup   bool // index is that of an earlier entry with the same key
	err   error
}

// integrate sequences one batch: dedup, log time, indices, tree and tiles,
// one durable commit with the new checkpoint, then the acknowledgements.
// Requests that do not fit the byte budget once stamped are carried over
// and returned, to start the next batch.
func (l *Log) integrate(batch []*request) (carry []*request) {
	w := newTileWriter(l.edges)
	rng, err := rangeFactory.NewRange(0, l.size, l.rng.Hashes())
	if err != nil {
		l.fail(batch, fmt.Errorf("ledger: copy compact range: %w", err))
		return nil
	}
	var (
		ps       = make([]pending, 0, len(batch))
		inBatch  = map[string]uint64{}
		entries  [][]byte
		keys     [][]byte
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
		idx, found, err := l.store.Lookup(r.key)
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
		if r.stamp != nil {
			t := max(l.cfg.Now().UnixNano(), lastTime)
			e, err := r.stamp(time.Unix(0, t).UTC())
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
			p.entry, lastTime = e, t
		} else {
			lastTime = max(l.cfg.Now().UnixNano(), lastTime)
		}
		bytes += len(p.entry)
		p.index = next
		p.leaf = hasher.HashLeaf(p.entry)
		if err := rng.Append(p.leaf, w.visit); err != nil {
			l.fail(batch, fmt.Errorf("ledger: append leaf %d: %w", next, err))
			return nil
		}
		inBatch[string(r.key)] = next
		entries = append(entries, p.entry)
		keys = append(keys, r.key)
		next++
		ps = append(ps, p)
	}
	if w.err != nil {
		l.fail(batch, fmt.Errorf("ledger: tiles: %w", w.err))
		return nil
	}
	// requests in ps were handled; those in carry wait for the next batch.
	handled := batch[:len(batch)-len(carry)]

	head := l.Head()
	if next != l.size {
		root := rootOf(rng)
		cp, err := l.sign(next, root)
		if err != nil {
			l.fail(handled, err)
			return carry
		}
		st := State{Size: next, Range: rng.Hashes(), LastTime: lastTime, Checkpoint: cp}
		b := &Batch{Start: l.size, Entries: entries, DedupKeys: keys, Tiles: w.dirty, State: st}
		if err := l.store.Commit(b); err != nil {
			l.cfg.Logger.Error("commit failed; batch refused", "start", l.size, "entries", len(entries), "err", err)
			l.fail(handled, err)
			return carry
		}
		l.size, l.rng, l.edges, l.lastTime = next, rng, w.edges, lastTime
		head = Head{Size: next, Root: root, Checkpoint: cp}
		l.head.Store(&head)
	}

	// Acknowledge: proofs are computed against the new head, reading the
	// tiles this batch wrote from memory and older ones from storage.
	nr := newNodeReader(func(id TileID) ([]byte, error) {
		if t, ok := w.dirty[id]; ok {
			return t, nil
		}
		return l.store.Tile(id)
	})
	for i := range ps {
		p := &ps[i]
		if p.err != nil {
			p.r.reply <- reply{err: p.err}
			continue
		}
		ack := &Ack{Index: p.index, Entry: p.entry, LeafHash: p.leaf, Duplicate: p.dup,
			Size: head.Size, Root: head.Root, Checkpoint: head.Checkpoint}
		if p.dup && p.entry == nil {
			es, err := l.store.Entries(p.index, 1)
			if err != nil {
				p.r.reply <- reply{err: fmt.Errorf("ledger: read duplicate's first entry %d: %w", p.index, err)}
				continue
			}
			ack.Entry, ack.LeafHash = es[0], hasher.HashLeaf(es[0])
		}
		proof, err := nr.inclusion(p.index, head.Size)
		if err != nil {
			p.r.reply <- reply{err: fmt.Errorf("ledger: inclusion proof of %d in %d: %w", p.index, head.Size, err)}
			continue
		}
		ack.Proof = proof
		p.r.reply <- reply{ack: ack}
	}
	return carry
}

func (l *Log) fail(rs []*request, err error) {
	for _, r := range rs {
		r.reply <- reply{err: err}
	}
}
