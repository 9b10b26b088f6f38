package audit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/fjaledger/fja/ledger"
)

// MaxQueryLimit is the most records one query page returns.
const MaxQueryLimit = 1000

// QueryResult is one page of a query: the matching record indices, in
// index order, the window's index range [From, To) as of Head, and the
// index to resume from (Next, when More).
type QueryResult struct {
	Indices  []uint64
	From, To uint64
	Head     ledger.Head
	Next     uint64
	More     bool
}

// Query returns the records of kind (any kind if empty; a decision field
// filter implies decisions) matching f whose index is in the window and at
// least cursor, at most limit of them. Filters combine with AND; each is a
// posting list (index.go), intersected within the window.
func (b *Book) Query(f Filter, kind string, cursor uint64, limit int) (*QueryResult, error) {
	if limit < 1 || limit > MaxQueryLimit {
		return nil, &ValidationError{Field: "limit", Message: fmt.Sprintf("is %d, want 1..%d", limit, MaxQueryLimit)}
	}
	switch Kind(kind) {
	case "", KindDecision, KindConstitution, KindContest, KindResolution:
	default:
		return nil, &ValidationError{Field: "kind", Message: fmt.Sprintf("%q is not a record kind (decision, constitution, contest, resolution)", kind)}
	}
	head := b.cfg.Log.Head()
	from, to, err := b.window(f, head.Size)
	if err != nil {
		return nil, err
	}
	res := &QueryResult{From: from, To: to, Head: head}
	start := max(from, cursor)
	if start >= to {
		return res, nil
	}
	type list struct {
		field byte
		value string
	}
	var lists []list
	for _, l := range []list{{fieldOperator, f.Operator}, {fieldModel, f.Model}, {fieldAction, f.Action}, {fieldCategory, f.Category},
		{fieldRule, f.Rule}, {fieldFlag, f.Flag}, {fieldJurisdiction, f.Jurisdiction}} {
		if l.value != "" {
			lists = append(lists, l)
		}
	}
	decisionOnly := len(lists) > 0 || f.ContestStatus != ""
	if decisionOnly && kind != "" && Kind(kind) != KindDecision {
		return res, nil // decision filters match no other kind
	}
	// Field postings exist only for decisions, so the kind list is needed
	// only when no field filter narrows the records already.
	if len(lists) == 0 && (kind != "" || decisionOnly) {
		k := kind
		if k == "" {
			k = string(KindDecision)
		}
		lists = append(lists, list{fieldKind, k})
	}

	var candidates []uint64
	if len(lists) == 0 {
		// Every record in the window: no index needed.
		for i := start; i < to && len(candidates) <= limit; i++ {
			candidates = append(candidates, i)
		}
	} else {
		// Intersect the posting lists within [start, to).
		for n, l := range lists {
			got, err := b.postings(l.field, l.value, start, to)
			if err != nil {
				return nil, err
			}
			if n == 0 {
				candidates = got
			} else {
				candidates = intersect(candidates, got)
			}
			if len(candidates) == 0 {
				break
			}
		}
	}
	now := b.cfg.Now()
	for _, idx := range candidates {
		if f.ContestStatus != "" {
			facts, err := b.contestFactsIn(idx, idx+1)
			if err != nil {
				return nil, err
			}
			if contestStatus(facts[idx], now) != f.ContestStatus {
				continue
			}
		}
		if len(res.Indices) == limit {
			res.Next, res.More = idx, true
			break
		}
		res.Indices = append(res.Indices, idx)
	}
	return res, nil
}

// postings returns the indices in [from, to) of the posting list field = value.
func (b *Book) postings(field byte, value string, from, to uint64) ([]uint64, error) {
	prefix := postingPrefix(field, value)
	var out []uint64
	err := b.cfg.Log.ScanFrom(prefix, binary.BigEndian.AppendUint64(slices.Clip(prefix), from), func(k, _ []byte) bool {
		if len(k) != len(prefix)+8 {
			return true // a longer value sharing the prefix cannot happen (length-prefixed); skip defensively
		}
		idx := binary.BigEndian.Uint64(k[len(prefix):])
		if idx >= to {
			return false
		}
		out = append(out, idx)
		return true
	})
	return out, err
}

// intersect intersects two ascending lists.
func intersect(a, b []uint64) []uint64 {
	out := a[:0]
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

// Reindex rebuilds the query indexes from the log's entries (for an index
// lost or damaged): it writes every key the records imply, overwriting
// wrong values. It does not delete keys that no record implies. It returns
// how many records it read.
func (b *Book) Reindex(progress func(done, total uint64)) (uint64, error) {
	head := b.cfg.Log.Head()
	var kvs []ledger.KV
	var n uint64
	contestOf := func(id string) (*Contest, error) {
		idx, err := b.lookup(KindContest, id)
		if err != nil {
			return nil, err
		}
		return b.contestAt(idx)
	}
	flush := func() error {
		if len(kvs) == 0 {
			return nil
		}
		err := b.cfg.Log.Update(kvs, nil)
		kvs = kvs[:0]
		return err
	}
	err := b.scan(0, head.Size, func(idx uint64, env *Envelope) error {
		got, err := recordIndex(idx, env, contestOf)
		if err != nil {
			return fmt.Errorf("entry %d: %w", idx, err)
		}
		kvs = append(kvs, got...)
		n++
		if len(kvs) >= 4096 {
			if err := flush(); err != nil {
				return err
			}
			if progress != nil {
				progress(n, head.Size)
			}
		}
		return nil
	})
	if err := errors.Join(err, flush()); err != nil {
		return n, err
	}
	if progress != nil {
		progress(n, head.Size)
	}
	return n, nil
}
