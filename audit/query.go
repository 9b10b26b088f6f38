package audit

import (
	"bytes"
	"cmp"
	"context"
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
func (b *Book) Query(ctx context.Context, f Filter, kind string, cursor uint64, limit int) (*QueryResult, error) {
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
			got, err := b.postings(ctx, l.field, l.value, start, to)
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
			facts, err := b.contestFactsIn(ctx, idx, idx+1)
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
func (b *Book) postings(ctx context.Context, field byte, value string, from, to uint64) ([]uint64, error) {
	prefix := postingPrefix(field, value)
	var out []uint64
	err := b.cfg.Index.Scan(ctx, prefix, binary.BigEndian.AppendUint64(slices.Clip(prefix), from), func(k, _ []byte) bool {
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

// IndexSource is what Reindex and CheckIndex read: the log's entries and
// index keys (a *ledger.Log, or a ledger.Storage opened offline).
type IndexSource interface {
	Entries(start uint64, n int) ([][]byte, error)
	Get(key []byte) ([]byte, error)
}

// Reindex rebuilds the query indexes of the first size entries from the
// entries alone (for an index lost or damaged): it writes, through put,
// every key the records imply, overwriting wrong values. It does not
// delete keys that no record implies.
func Reindex(src IndexSource, size uint64, put func([]ledger.KV) error, progress func(done, total uint64)) error {
	var kvs []ledger.KV
	flush := func(done uint64) error {
		if len(kvs) > 0 {
			if err := put(kvs); err != nil {
				return err
			}
			kvs = kvs[:0]
		}
		if progress != nil {
			progress(done, size)
		}
		return nil
	}
	err := walkIndex(src, size, func(idx uint64, want []ledger.KV) error {
		kvs = append(kvs, want...)
		if len(kvs) >= 4096 {
			return flush(idx + 1)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush(size)
}

// IndexProblem is an index key that does not say what the log says.
type IndexProblem struct {
	Index  uint64 // the record the key belongs to
	Key    []byte
	Detail string
}

// CheckIndex recomputes the query index keys of the first size entries and
// compares them with the stored ones (missing keys, wrong values). It does
// not look for stray keys that no record implies.
func CheckIndex(src IndexSource, size uint64, progress func(done, total uint64)) ([]IndexProblem, error) {
	// Contest facts change when the contest is resolved: compare the last
	// value each key is given, once the walk is over.
	last := map[string]struct {
		idx uint64
		val []byte
	}{}
	var problems []IndexProblem
	err := walkIndex(src, size, func(idx uint64, want []ledger.KV) error {
		for _, kv := range want {
			if bytes.HasPrefix(kv.Key, []byte(prefixContestFacts)) {
				last[string(kv.Key)] = struct {
					idx uint64
					val []byte
				}{idx, kv.Value}
				continue
			}
			if p := checkKey(src, idx, kv.Key, kv.Value); p != nil {
				problems = append(problems, *p)
			}
		}
		if progress != nil && idx%4096 == 0 {
			progress(idx, size)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for k, v := range last {
		if p := checkKey(src, v.idx, []byte(k), v.val); p != nil {
			problems = append(problems, *p)
		}
	}
	slices.SortFunc(problems, func(a, b IndexProblem) int { return cmp.Compare(a.Index, b.Index) })
	if progress != nil {
		progress(size, size)
	}
	return problems, nil
}

func checkKey(src IndexSource, idx uint64, key, want []byte) *IndexProblem {
	got, err := src.Get(key)
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		return &IndexProblem{Index: idx, Key: key, Detail: "index key missing"}
	case err != nil:
		return &IndexProblem{Index: idx, Key: key, Detail: "index key unreadable: " + err.Error()}
	case !bytes.Equal(got, want):
		return &IndexProblem{Index: idx, Key: key, Detail: fmt.Sprintf("index value is %x, the record implies %x", got, want)}
	}
	return nil
}

// walkIndex calls fn with the index keys of every record in [0, size), in
// log order.
func walkIndex(src IndexSource, size uint64, fn func(idx uint64, kvs []ledger.KV) error) error {
	contests := map[string]*Contest{}
	contestOf := func(id string) (*Contest, error) {
		if c := contests[id]; c != nil {
			return c, nil
		}
		return nil, fmt.Errorf("resolution of contest %q, which is not logged before it", id)
	}
	const chunk = 1024
	for i := uint64(0); i < size; i += chunk {
		es, err := src.Entries(i, int(min(chunk, size-i)))
		if err != nil {
			return err
		}
		for j, e := range es {
			idx := i + uint64(j)
			env, err := ParseEnvelope(e)
			if err != nil {
				return fmt.Errorf("entry %d: %w", idx, err)
			}
			if env.Kind == KindContest {
				var c Contest
				if err := decodeStrict(env.Body, &c); err != nil {
					return fmt.Errorf("entry %d: %w", idx, err)
				}
				contests[c.ContestID] = &c
			}
			kvs, err := recordIndex(idx, env, contestOf)
			if err != nil {
				return fmt.Errorf("entry %d: %w", idx, err)
			}
			if err := fn(idx, kvs); err != nil {
				return err
			}
		}
	}
	return nil
}
