package audit

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"

	"github.com/fjaledger/fja/ledger"
)

// MaxQueryLimit is the most records one query page returns.
const MaxQueryLimit = 1000

// MaxFilterValue bounds the length in bytes of one filter value: no
// indexed field is longer (the schemas bound ids and names to 256).
const MaxFilterValue = 256

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

// queryKinds are the kinds a query may name.
var queryKinds = []Kind{KindDecision, KindConstitution, KindContest, KindResolution, KindAccess,
	KindChallenge, KindChallengeResponse, KindAmendment}

// Query returns the records of kind (any kind if empty; a decision field
// filter implies decisions) matching f whose index is in the window and at
// least cursor, at most limit of them.
//
// Its work is bounded by limit and the window, never by the size of an
// index: filters combine with AND, each a posting list (index.go) read
// through a cursor that holds one chunk of it at a time, intersected by
// leapfrogging (each list seeks to the largest index any other list is
// at) until limit+1 matches are found or the window ends. ctx is honoured
// in every scan; its error is returned as is (context.DeadlineExceeded
// when the request's deadline passed).
func (b *Book) Query(ctx context.Context, f Filter, kind string, cursor uint64, limit int) (*QueryResult, error) {
	if limit < 1 || limit > MaxQueryLimit {
		return nil, &ValidationError{Field: "limit", Message: fmt.Sprintf("is %d, want 1..%d", limit, MaxQueryLimit)}
	}
	if !slices.Contains(queryKinds, Kind(kind)) && kind != "" {
		return nil, &ValidationError{Field: "kind", Message: fmt.Sprintf("%q is not a record kind (decision, constitution, contest, resolution, access)", truncate(kind, 40))}
	}
	if err := f.Check(); err != nil {
		return nil, err
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
	var lists []*indexCursor
	for _, l := range []struct {
		field byte
		value string
	}{{fieldOperator, f.Operator}, {fieldModel, f.Model}, {fieldAction, f.Action}, {fieldCategory, f.Category},
		{fieldRule, f.Rule}, {fieldFlag, f.Flag}, {fieldJurisdiction, f.Jurisdiction}} {
		if l.value != "" {
			lists = append(lists, b.newCursor(ctx, postingPrefix(l.field, l.value), to))
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
		lists = append(lists, b.newCursor(ctx, postingPrefix(fieldKind, k), to))
	}
	// The contest facts (keyed by decision index) are read through a cursor
	// too. A status other than none needs a contest: the facts list joins
	// the intersection; none is checked against it per match.
	var facts *indexCursor
	if f.ContestStatus != "" {
		facts = b.newCursor(ctx, []byte(prefixContestFacts), to)
		facts.facts = true
		if f.ContestStatus != "none" {
			lists = append(lists, facts)
		}
	}
	now := b.cfg.Now()
	for target := start; target < to; {
		idx, ok := target, true
		if len(lists) > 0 {
			if idx, ok, err = leapfrog(lists, target); err != nil {
				return nil, err
			}
		} else if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		target = idx + 1
		if facts != nil {
			fs, err := facts.factsAt(idx)
			if err != nil {
				return nil, err
			}
			if contestStatus(fs, now) != f.ContestStatus {
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

// Check bounds the filter values (a posting key holds a value of at most
// 65535 bytes; no indexed value is longer than MaxFilterValue) and checks
// the enumerated ones.
func (f *Filter) Check() error {
	for _, v := range []struct{ name, value string }{{"operator", f.Operator}, {"model", f.Model}, {"action", f.Action},
		{"category", f.Category}, {"rule", f.Rule}, {"flag", f.Flag}, {"jurisdiction", f.Jurisdiction}} {
		if len(v.value) > MaxFilterValue {
			return &ValidationError{Field: v.name, Message: fmt.Sprintf("is %d bytes long, want at most %d", len(v.value), MaxFilterValue)}
		}
	}
	switch f.Action {
	case "", "answered", "refused", "modified", "escalated":
	default:
		return &ValidationError{Field: "action", Message: fmt.Sprintf("is %q, want answered, refused, modified or escalated", truncate(f.Action, 40))}
	}
	switch f.ContestStatus {
	case "", "open", "resolved", "overdue", "none":
	default:
		return &ValidationError{Field: "contest_status", Message: fmt.Sprintf("is %q, want open, resolved, overdue or none", truncate(f.ContestStatus, 40))}
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return &ValidationError{Field: "to", Message: fmt.Sprintf("%s is before from %s", f.To.Format(LoggedAtFormat), f.From.Format(LoggedAtFormat))}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// leapfrog returns the least index >= target that every cursor holds
// (ok false when one of them ends first). Each cursor seeks to the largest
// index seen so far, so a long list is skipped through, not read whole,
// when a short one is ahead of it.
func leapfrog(cs []*indexCursor, target uint64) (uint64, bool, error) {
	for {
		agree := true
		for _, c := range cs {
			idx, ok, err := c.seek(target)
			if err != nil || !ok {
				return 0, false, err
			}
			if idx > target {
				target, agree = idx, false
			}
		}
		if agree {
			return target, true, nil
		}
	}
}

// Cursor chunk sizes: a cursor reads minChunk keys after a seek and
// doubles that (up to maxChunk) while it is read through in order.
// Variables only so that tests can make them small.
var (
	minChunk = 64
	maxChunk = 4096
)

// indexCursor walks, in ascending order, the record indices below to of
// one index: a posting list (an index list named prefix, index.go), or
// (facts true) the contest facts keys prefix || idx(8) || contest id,
// whose values it decodes. It holds at most one chunk of the index (and
// never splits the facts of one index across chunks); each refill is one
// Scan from the sought index, on the request's context.
type indexCursor struct {
	ctx    context.Context
	store  ledger.IndexStore
	prefix []byte
	to     uint64
	facts  bool

	buf    []uint64
	vals   []contestFacts // with facts: vals[i] belongs to buf[i]
	pos    int
	next   uint64 // the least index not yet read (once filled)
	filled bool
	end    bool // nothing in [next, to) beyond buf
	chunk  int
}

func (b *Book) newCursor(ctx context.Context, prefix []byte, to uint64) *indexCursor {
	return &indexCursor{ctx: ctx, store: b.cfg.Index, prefix: prefix, to: to, chunk: minChunk}
}

// fill replaces the buffer with the indices from index from on.
func (c *indexCursor) fill(from uint64) error {
	c.buf, c.vals, c.pos = c.buf[:0], c.vals[:0], 0
	full := false
	var err error
	if !c.facts {
		err = scanList(c.ctx, c.store, c.prefix, from, c.to, func(idx uint64, _ []byte) bool {
			if len(c.buf) >= c.chunk {
				full = true
				return false
			}
			c.buf = append(c.buf, idx)
			return true
		})
	} else {
		var perr error
		err = c.store.Scan(c.ctx, c.prefix, binary.BigEndian.AppendUint64(slices.Clip(c.prefix), from), func(k, v []byte) bool {
			if len(k) < len(c.prefix)+8 {
				return true
			}
			idx := binary.BigEndian.Uint64(k[len(c.prefix):])
			if idx >= c.to {
				return false
			}
			if len(c.buf) >= c.chunk && idx != c.buf[len(c.buf)-1] {
				full = true
				return false
			}
			f, err := decodeFacts(v)
			if err != nil {
				perr = fmt.Errorf("audit: index key %x: %w", k, err)
				return false
			}
			c.vals = append(c.vals, f)
			c.buf = append(c.buf, idx)
			return true
		})
		err = errors.Join(err, perr)
	}
	if err != nil {
		return err
	}
	c.end, c.filled = !full, true
	if len(c.buf) > 0 {
		c.next = c.buf[len(c.buf)-1] + 1
	} else {
		c.next = max(from, c.next)
	}
	return nil
}

// seek moves to the first index >= target and returns it (ok false when
// the list has none below to).
func (c *indexCursor) seek(target uint64) (uint64, bool, error) {
	for {
		if c.pos < len(c.buf) && c.buf[len(c.buf)-1] >= target {
			if c.buf[c.pos] < target {
				c.pos += sort.Search(len(c.buf)-c.pos, func(i int) bool { return c.buf[c.pos+i] >= target })
			}
			return c.buf[c.pos], true, nil
		}
		if c.filled && c.end {
			c.pos = len(c.buf)
			return 0, false, nil
		}
		from := target
		if c.filled && target <= c.next {
			from = c.next // reading on in order: a larger chunk next time
			c.chunk = min(2*c.chunk, maxChunk)
		}
		if err := c.fill(from); err != nil {
			return 0, false, err
		}
	}
}

// factsAt returns the contest facts of decision idx; the cursor moves to
// idx (calls must not go backwards).
func (c *indexCursor) factsAt(idx uint64) ([]contestFacts, error) {
	got, ok, err := c.seek(idx)
	if err != nil || !ok || got != idx {
		return nil, err
	}
	i := c.pos
	for i < len(c.buf) && c.buf[i] == idx {
		i++
	}
	return c.vals[c.pos:i], nil
}

// IndexSource is what Reindex and CheckIndex read: the log's entries and
// index keys (a *ledger.Log, or a ledger.Storage opened offline).
type IndexSource interface {
	Entries(start uint64, n int) ([][]byte, error)
	Get(key []byte) ([]byte, error)
	Scan(ctx context.Context, prefix, start []byte, fn func(key, value []byte) bool) error
}

// listNamespaces are the key prefixes under which every key is an index
// list block (index.go).
var listNamespaces = []string{prefixPosting, prefixSummary}

// Reindex rebuilds the query indexes of the first size entries from the
// entries alone (for an index lost or damaged), in dst: it first deletes
// every index list block (their blocks would not line up with the rebuilt
// ones), then writes every key and list item the records imply,
// overwriting wrong values. It does not delete other keys that no record
// implies. It stops with ctx's error once ctx is done; an interrupted
// Reindex leaves the lists incomplete, and is run again.
func Reindex(ctx context.Context, src IndexSource, size uint64, dst ledger.IndexStore, progress func(done, total uint64)) error {
	for _, ns := range listNamespaces {
		var keys [][]byte
		flushDel := func() error {
			err := dst.Update(nil, keys)
			keys = keys[:0]
			return err
		}
		var uerr error
		err := dst.Scan(ctx, []byte(ns), nil, func(k, _ []byte) bool {
			keys = append(keys, bytes.Clone(k))
			if len(keys) == 4096 {
				uerr = flushDel()
			}
			return uerr == nil
		})
		if err := errors.Join(err, uerr); err != nil {
			return fmt.Errorf("audit: delete the index lists under %q: %w", ns, err)
		}
		if err := flushDel(); err != nil {
			return fmt.Errorf("audit: delete the index lists under %q: %w", ns, err)
		}
	}
	var (
		kvs   []ledger.KV
		lists ledger.ListBuilder
		items int
	)
	flush := func(done uint64) error {
		if kvs = append(kvs, lists.Blocks()...); len(kvs) > 0 {
			if err := dst.Update(kvs, nil); err != nil {
				return err
			}
			kvs, items = kvs[:0], 0
		}
		if progress != nil {
			progress(done, size)
		}
		return nil
	}
	err := walkIndex(ctx, src, size, func(idx uint64, want []ledger.KV) error {
		for _, kv := range want {
			if !kv.List {
				kvs = append(kvs, kv)
			} else if err := lists.Add(kv.Key, idx, kv.Value); err != nil {
				return err
			}
		}
		if items += len(want); items >= 4096 {
			return flush(idx + 1)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := flush(size); err != nil {
		return err
	}
	return dst.Update([]ledger.KV{{Key: []byte(indexFormatKey), Value: []byte(indexFormat)}}, nil)
}

// IndexProblem is an index key or list item that does not say what the log
// says.
type IndexProblem struct {
	Index  uint64 // the record the key or item belongs to
	Key    []byte // the key, or the name of the list
	Detail string
}

// CheckIndex recomputes the query indexes of the first size entries and
// compares them with the stored ones: missing keys and list items, wrong
// values, malformed list blocks, and items of a list that no record
// implies (in a list some record implies an item of). It does not look
// for other stray keys. It stops with ctx's error once ctx is done.
func CheckIndex(ctx context.Context, src IndexSource, size uint64, progress func(done, total uint64)) ([]IndexProblem, error) {
	// Contest facts change when the contest is resolved: compare the last
	// value each key is given, once the walk is over.
	last := map[string]struct {
		idx uint64
		val []byte
	}{}
	var problems []IndexProblem
	lists := map[string]*listWalker{}
	err := walkIndex(ctx, src, size, func(idx uint64, want []ledger.KV) error {
		for _, kv := range want {
			if kv.List {
				w := lists[string(kv.Key)]
				if w == nil {
					w = &listWalker{ctx: ctx, src: src, name: kv.Key, to: size}
					lists[string(kv.Key)] = w
				}
				if err := w.expect(idx, kv.Value, &problems); err != nil {
					return err
				}
				continue
			}
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
	for _, w := range lists {
		if err := w.expect(size, nil, &problems); err != nil { // the strays after the last item
			return nil, err
		}
	}
	for k, v := range last {
		if p := checkKey(src, v.idx, []byte(k), v.val); p != nil {
			problems = append(problems, *p)
		}
	}
	if v, err := src.Get([]byte(indexFormatKey)); err != nil || string(v) != indexFormat {
		problems = append(problems, IndexProblem{Key: []byte(indexFormatKey),
			Detail: fmt.Sprintf("index format mark is %q (%v), want %q: reindex", v, err, indexFormat)})
	}
	slices.SortFunc(problems, func(a, b IndexProblem) int { return cmp.Compare(a.Index, b.Index) })
	if progress != nil {
		progress(size, size)
	}
	return problems, nil
}

// listWalker reads a stored index list in index order, a chunk at a time,
// for CheckIndex.
type listWalker struct {
	ctx  context.Context
	src  IndexSource
	name []byte
	to   uint64

	items  []listItem
	pos    int
	next   uint64 // the least index not read yet
	broken bool   // a block did not decode: the rest of the list is not checked
}

type listItem struct {
	idx uint64
	val []byte
}

const listWalkerChunk = 1024

// expect checks that the next stored item is (idx, val), recording as
// problems the items before it (no record implies them) and its absence or
// wrong value. idx = to checks only that nothing is left.
func (w *listWalker) expect(idx uint64, val []byte, problems *[]IndexProblem) error {
	for !w.broken {
		if w.pos == len(w.items) {
			if w.next >= w.to || w.next > idx {
				break
			}
			if err := w.fill(problems); err != nil {
				return err
			}
			if w.pos == len(w.items) {
				break // nothing more below to
			}
			continue
		}
		it := w.items[w.pos]
		if it.idx > idx {
			break
		}
		w.pos++
		if it.idx < idx {
			*problems = append(*problems, IndexProblem{Index: it.idx, Key: w.name, Detail: "index list item that no record implies"})
			continue
		}
		if !bytes.Equal(it.val, val) {
			*problems = append(*problems, IndexProblem{Index: idx, Key: w.name, Detail: fmt.Sprintf("index list item value is %x, the record implies %x", it.val, val)})
		}
		return nil
	}
	if idx < w.to && !w.broken {
		*problems = append(*problems, IndexProblem{Index: idx, Key: w.name, Detail: "index list item missing"})
	}
	return nil
}

func (w *listWalker) fill(problems *[]IndexProblem) error {
	w.items, w.pos = w.items[:0], 0
	from := w.next
	full := false
	err := scanList(w.ctx, w.src, w.name, from, w.to, func(idx uint64, v []byte) bool {
		if len(w.items) == listWalkerChunk {
			full = true
			return false
		}
		w.items = append(w.items, listItem{idx, bytes.Clone(v)})
		return true
	})
	switch {
	case errors.Is(err, ledger.ErrListBlock):
		*problems = append(*problems, IndexProblem{Index: from, Key: w.name, Detail: err.Error()})
		w.broken = true
		return nil
	case err != nil:
		return err
	}
	if full {
		w.next = w.items[len(w.items)-1].idx + 1
	} else {
		w.next = w.to
	}
	return nil
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
// log order, looking at ctx before each chunk of entries.
func walkIndex(ctx context.Context, src IndexSource, size uint64, fn func(idx uint64, kvs []ledger.KV) error) error {
	contests := map[string]*Contest{}
	contestOf := func(id string) (*Contest, error) {
		if c := contests[id]; c != nil {
			return c, nil
		}
		return nil, fmt.Errorf("resolution of contest %q, which is not logged before it", id)
	}
	const chunk = 1024
	for i := uint64(0); i < size; i += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
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
