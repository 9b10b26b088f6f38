package audit

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/fjaledger/fja/ledger"
)

// Filter selects decisions (DESIGN.md §6, GET /v1/query and /v1/stats).
// Empty fields match everything. From and To bound logged_at, To exclusive.
type Filter struct {
	Operator, Model, Action, Category, Rule, Flag, Jurisdiction string
	// ContestStatus is open, resolved, overdue or none.
	ContestStatus string
	From, To      time.Time
}

// GroupFields are the group_by fields of GET /v1/stats.
var GroupFields = []string{"outcome", "category", "rule", "flag", "jurisdiction", "model", "operator"}

// StatsResult is a stats answer: the groups, and the index range [From, To)
// of the decisions counted, all as of Head.
type StatsResult struct {
	Groups   []Group
	From, To uint64
	Head     ledger.Head
}

// contestFacts is what stats need of a contest.
type contestFacts struct {
	overturned bool
	resolved   bool
	dueBy      time.Time
}

// MaxGroupBy is the most distinct group_by fields of one stats request.
const MaxGroupBy = 3

// MaxGroups is the most groups one stats answer holds. A request whose
// groups would pass it fails with ErrTooManyGroups (never a truncated
// answer, which no recount could tell from a wrong one).
const MaxGroups = 10000

// maxGroups is MaxGroups, a variable only so that tests can lower it.
var maxGroups = MaxGroups

// ErrTooManyGroups: a stats request would answer more than MaxGroups
// groups; narrow the window or the group_by.
var ErrTooManyGroups = errors.New("too many groups")

// normalizeGroupBy checks groupBy against fields and returns it with
// repeated fields dropped (a repeated field would multiply the keys of
// every decision with it).
func normalizeGroupBy(groupBy, fields []string) ([]string, error) {
	var out []string
	for _, g := range groupBy {
		if !slices.Contains(fields, g) {
			return nil, &ValidationError{Field: "group_by", Message: fmt.Sprintf("%q is not one of %s", truncate(g, 40), strings.Join(fields, ", "))}
		}
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	if len(out) > MaxGroupBy {
		return nil, &ValidationError{Field: "group_by", Message: fmt.Sprintf("names %d fields (%s), want at most %d", len(out), strings.Join(out, ","), MaxGroupBy)}
	}
	return out, nil
}

// Stats counts decisions and their contests, grouped by groupBy (repeated
// fields count once; at most MaxGroupBy distinct ones), over the index
// range whose logged_at lies in [f.From, f.To). Because log time is
// non-decreasing in index order, that range is contiguous, and anyone can
// recount it from the public tiles. Contests and resolutions are counted
// wherever they were logged up to the head.
//
// It reads the decisions' summaries and, in the same index order, their
// contest facts (see index.go), not the entries: its memory is bounded by
// MaxGroups (ErrTooManyGroups past it), its time by the window, and it
// stops with ctx's error once ctx is done.
func (b *Book) Stats(ctx context.Context, f Filter, groupBy []string) (*StatsResult, error) {
	groupBy, err := normalizeGroupBy(groupBy, GroupFields)
	if err != nil {
		return nil, err
	}
	if err := f.Check(); err != nil {
		return nil, err
	}
	head := b.cfg.Log.Head()
	from, to, err := b.window(f, head.Size)
	if err != nil {
		return nil, err
	}
	facts := b.newCursor(ctx, []byte(prefixContestFacts), to)
	facts.facts = true
	now := b.cfg.Now()
	groups := map[string]*Group{}
	var (
		perr error
		sv   summaryView
		keys keyBuilder
	)
	err = scanList(ctx, b.cfg.Index, []byte(prefixSummary), from, to, func(idx uint64, v []byte) bool {
		if err := sv.decode(v); err != nil {
			perr = fmt.Errorf("summary of entry %d: %w", idx, err)
			return false
		}
		if !f.matchesView(&sv) {
			return true
		}
		fs, err := facts.factsAt(idx)
		if err != nil {
			perr = err
			return false
		}
		var nContests, nOverturned, nOverdue int
		for _, c := range fs {
			nContests++
			switch {
			case c.resolved:
				if c.overturned {
					nOverturned++
				}
			case !now.Before(c.dueBy):
				nOverdue++
			}
		}
		if f.ContestStatus != "" && f.ContestStatus != contestStatus(fs, now) {
			return true
		}
		keys.each(&sv, groupBy, func(key []byte) {
			if perr != nil {
				return
			}
			g := groups[string(key)]
			if g == nil {
				if len(groups) == maxGroups {
					perr = tooManyGroups()
					return
				}
				g = &Group{Key: keys.fields(&sv)}
				groups[string(key)] = g
			}
			g.Count++
			g.Contests += nContests
			g.Overturned += nOverturned
			g.Overdue += nOverdue
		})
		return perr == nil
	})
	if err := errors.Join(err, perr); err != nil {
		return nil, err
	}
	return sortedGroups(groups, from, to, head), nil
}

func tooManyGroups() error {
	return fmt.Errorf("%w: the answer would hold more than %d groups; narrow the window (from, to), the filters or the group_by", ErrTooManyGroups, maxGroups)
}

// sortedGroups is the answer of groups, in key order.
func sortedGroups(groups map[string]*Group, from, to uint64, head ledger.Head) *StatsResult {
	out := &StatsResult{From: from, To: to, Head: head, Groups: make([]Group, 0, len(groups))}
	ids := make([]string, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		out.Groups = append(out.Groups, *groups[id])
	}
	return out
}

// contestStatus is a decision's contest status: open or overdue while a
// contest is unresolved (there is at most one), else resolved if it was
// ever contested, else none.
func contestStatus(facts []contestFacts, now time.Time) string {
	status := "none"
	for _, c := range facts {
		switch {
		case !c.resolved && !now.Before(c.dueBy):
			return "overdue"
		case !c.resolved:
			return "open"
		default:
			status = "resolved"
		}
	}
	return status
}

// summaryView is a decoded summary whose fields point into the stored
// value (valid during one Scan callback); decoding it allocates nothing in
// the steady state, which keeps stats over millions of decisions fast.
type summaryView struct {
	fields       [6][]byte // action, category, jurisdiction, model, operator, constitution
	rules, flags [][]byte
	locale       []byte
	refusing     [][]byte // the rules cited with effect refuse
}

func (s *summaryView) decode(b []byte) error {
	str := func() ([]byte, error) {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return nil, errBadSummary
		}
		v := b[k : k+int(n)]
		b = b[k+int(n):]
		return v, nil
	}
	var err error
	for i := range s.fields {
		if s.fields[i], err = str(); err != nil {
			return err
		}
	}
	list := func(list *[][]byte) error {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)) {
			return errBadSummary
		}
		b = b[k:]
		*list = (*list)[:0]
		for i := uint64(0); i < n; i++ {
			v, err := str()
			if err != nil {
				return err
			}
			*list = append(*list, v)
		}
		return nil
	}
	if err := list(&s.rules); err != nil {
		return err
	}
	if err := list(&s.flags); err != nil {
		return err
	}
	if s.locale, err = str(); err != nil {
		return err
	}
	if err := list(&s.refusing); err != nil {
		return err
	}
	if len(b) != 0 {
		return errBadSummary
	}
	return nil
}

func (f *Filter) matchesView(s *summaryView) bool {
	eq := func(want string, got []byte) bool { return want == "" || want == string(got) }
	has := func(want string, list [][]byte) bool {
		if want == "" {
			return true
		}
		for _, v := range list {
			if want == string(v) {
				return true
			}
		}
		return false
	}
	return eq(f.Action, s.fields[0]) && eq(f.Category, s.fields[1]) && eq(f.Jurisdiction, s.fields[2]) &&
		eq(f.Model, s.fields[3]) && eq(f.Operator, s.fields[4]) && has(f.Rule, s.rules) && has(f.Flag, s.flags)
}

// keyBuilder enumerates the group keys a decision counts under: one per
// combination of its values (a decision citing two rules counts for each;
// one without flags counts under flag ""). Grouped by rule, the key also
// names the constitution version, so that contests and overturns are
// counted per rule and version.
type keyBuilder struct {
	buf  []byte
	vals [][][2][]byte // per group_by field: its (name, value) pairs
	pick []int         // the combination being enumerated
}

// fields is the key of the combination each is calling fn with.
func (kb *keyBuilder) fields(s *summaryView) map[string]string {
	m := map[string]string{}
	for i, vs := range kb.vals {
		nv := vs[kb.pick[i]]
		m[string(nv[0])] = string(nv[1])
		if string(nv[0]) == "rule" {
			m["constitution"] = string(s.fields[5])
		}
	}
	return m
}

// groupName holds the group_by field names as bytes, made once.
var groupName = func() map[string][]byte {
	m := map[string][]byte{}
	for _, f := range []string{"outcome", "category", "jurisdiction", "model", "operator", "rule", "flag"} {
		m[f] = []byte(f)
	}
	return m
}()

func (kb *keyBuilder) each(s *summaryView, groupBy []string, fn func(key []byte)) {
	// The per-field lists are reused from decision to decision: a stats
	// scan allocates nothing per decision.
	for len(kb.vals) < len(groupBy) {
		kb.vals = append(kb.vals, nil)
	}
	kb.vals = kb.vals[:len(groupBy)]
	for gi, g := range groupBy {
		vs := kb.vals[gi][:0]
		switch g {
		case "outcome":
			vs = append(vs, [2][]byte{groupName["outcome"], s.fields[0]})
		case "category":
			vs = append(vs, [2][]byte{groupName["category"], s.fields[1]})
		case "jurisdiction":
			vs = append(vs, [2][]byte{groupName["jurisdiction"], s.fields[2]})
		case "model":
			vs = append(vs, [2][]byte{groupName["model"], s.fields[3]})
		case "operator":
			vs = append(vs, [2][]byte{groupName["operator"], s.fields[4]})
		case "rule":
			for i, r := range s.rules {
				if !seenBefore(s.rules[:i], r) {
					vs = append(vs, [2][]byte{groupName["rule"], r})
				}
			}
		case "flag":
			for i, fl := range s.flags {
				if !seenBefore(s.flags[:i], fl) {
					vs = append(vs, [2][]byte{groupName["flag"], fl})
				}
			}
			if len(vs) == 0 {
				vs = append(vs, [2][]byte{groupName["flag"], nil})
			}
		}
		kb.vals[gi] = vs
		if len(vs) == 0 {
			return // e.g. no rules: the decision has no key on this field
		}
	}
	kb.pick = kb.pick[:0]
	for range kb.vals {
		kb.pick = append(kb.pick, 0)
	}
	pick := kb.pick
	for {
		kb.buf = kb.buf[:0]
		for i, vs := range kb.vals {
			nv := vs[pick[i]]
			kb.buf = append(append(append(append(kb.buf, nv[0]...), 0), nv[1]...), 0)
			if string(nv[0]) == "rule" {
				kb.buf = append(append(kb.buf, s.fields[5]...), 0)
			}
		}
		fn(kb.buf)
		// next combination
		i := len(pick) - 1
		for ; i >= 0; i-- {
			pick[i]++
			if pick[i] < len(kb.vals[i]) {
				break
			}
			pick[i] = 0
		}
		if i < 0 {
			return
		}
	}
}

func seenBefore(list [][]byte, v []byte) bool {
	for _, x := range list {
		if string(x) == string(v) {
			return true
		}
	}
	return false
}

// window returns the index range [from, to) of entries whose logged_at lies
// in [f.From, f.To), by binary search: log time is non-decreasing in index
// order.
func (b *Book) window(f Filter, size uint64) (uint64, uint64, error) {
	first := func(t time.Time) (uint64, error) {
		if t.IsZero() {
			return 0, nil
		}
		lo, hi := uint64(0), size
		for lo < hi {
			mid := lo + (hi-lo)/2
			at, err := b.loggedAt(mid)
			if err != nil {
				return 0, err
			}
			if at.Before(t) {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		return lo, nil
	}
	from, err := first(f.From)
	if err != nil {
		return 0, 0, err
	}
	to := size
	if !f.To.IsZero() {
		if to, err = first(f.To); err != nil {
			return 0, 0, err
		}
	}
	return from, max(from, to), nil
}

func (b *Book) loggedAt(idx uint64) (time.Time, error) {
	es, err := b.cfg.Log.Entries(idx, 1)
	if err != nil {
		return time.Time{}, err
	}
	env, err := ParseEnvelope(es[0])
	if err != nil {
		return time.Time{}, fmt.Errorf("entry %d: %w", idx, err)
	}
	return time.Parse(time.RFC3339Nano, env.LoggedAt)
}
