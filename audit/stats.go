package audit

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
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

// Group is one row of a stats answer.
type Group struct {
	Key        map[string]string `json:"key"`
	Count      int               `json:"count"`
	Contests   int               `json:"contests"`
	Overturned int               `json:"overturned"`
	Overdue    int               `json:"overdue"`
}

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

// Stats counts decisions and their contests, grouped by groupBy, over the
// index range whose logged_at lies in [f.From, f.To). Because log time is
// non-decreasing in index order, that range is contiguous, and anyone can
// recount it from the public tiles. Contests and resolutions are counted
// wherever they were logged up to the head.
//
// It reads the decisions' summaries and contest facts (see index.go), not
// the entries.
func (b *Book) Stats(f Filter, groupBy []string) (*StatsResult, error) {
	for _, g := range groupBy {
		if !contains(GroupFields, g) {
			return nil, &ValidationError{Field: "group_by", Message: fmt.Sprintf("%q is not one of %s", g, strings.Join(GroupFields, ", "))}
		}
	}
	head := b.cfg.Log.Head()
	from, to, err := b.window(f, head.Size)
	if err != nil {
		return nil, err
	}
	facts, err := b.contestFactsIn(from, to)
	if err != nil {
		return nil, err
	}
	now := b.cfg.Now()
	groups := map[string]*Group{}
	var perr error
	err = b.cfg.Log.ScanFrom([]byte(prefixSummary), summaryKey(from), func(k, v []byte) bool {
		idx := binary.BigEndian.Uint64(k[len(prefixSummary):])
		if idx >= to {
			return false
		}
		sm, err := decodeSummary(v)
		if err != nil {
			perr = fmt.Errorf("summary of entry %d: %w", idx, err)
			return false
		}
		if !f.matchesSummary(&sm) {
			return true
		}
		var nContests, nOverturned, nOverdue int
		for _, c := range facts[idx] {
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
		if f.ContestStatus != "" && f.ContestStatus != contestStatus(facts[idx], now) {
			return true
		}
		for _, k := range groupKeys(&sm, groupBy) {
			id := keyString(k)
			g := groups[id]
			if g == nil {
				g = &Group{Key: k}
				groups[id] = g
			}
			g.Count++
			g.Contests += nContests
			g.Overturned += nOverturned
			g.Overdue += nOverdue
		}
		return true
	})
	if err := errors.Join(err, perr); err != nil {
		return nil, err
	}
	out := &StatsResult{From: from, To: to, Head: head, Groups: make([]Group, 0, len(groups))}
	ids := make([]string, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		out.Groups = append(out.Groups, *groups[id])
	}
	return out, nil
}

// contestFactsIn returns the contest facts of the decisions in [from, to).
func (b *Book) contestFactsIn(from, to uint64) (map[uint64][]contestFacts, error) {
	facts := map[uint64][]contestFacts{}
	var perr error
	err := b.cfg.Log.ScanFrom([]byte(prefixContestFacts), binary.BigEndian.AppendUint64([]byte(prefixContestFacts), from), func(k, v []byte) bool {
		idx := binary.BigEndian.Uint64(k[len(prefixContestFacts):])
		if idx >= to {
			return false
		}
		c, err := decodeFacts(v)
		if err != nil {
			perr = err
			return false
		}
		facts[idx] = append(facts[idx], c)
		return true
	})
	return facts, errors.Join(err, perr)
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

func (f *Filter) matchesSummary(s *summary) bool {
	if (f.Operator != "" && s.operator != f.Operator) || (f.Model != "" && s.model != f.Model) ||
		(f.Action != "" && s.action != f.Action) || (f.Category != "" && s.category != f.Category) ||
		(f.Jurisdiction != "" && s.jurisdiction != f.Jurisdiction) {
		return false
	}
	return (f.Rule == "" || contains(s.rules, f.Rule)) && (f.Flag == "" || contains(s.flags, f.Flag))
}

// groupKeys returns the group keys a decision counts under: one per
// combination of its values (a decision citing two rules counts for each).
// Grouped by rule, the key also names the constitution version, so that
// contests and overturns are counted per rule and version.
func groupKeys(s *summary, groupBy []string) []map[string]string {
	keys := []map[string]string{{}}
	for _, g := range groupBy {
		var vals []map[string]string
		switch g {
		case "outcome":
			vals = []map[string]string{{"outcome": s.action}}
		case "category":
			vals = []map[string]string{{"category": s.category}}
		case "jurisdiction":
			vals = []map[string]string{{"jurisdiction": s.jurisdiction}}
		case "model":
			vals = []map[string]string{{"model": s.model}}
		case "operator":
			vals = []map[string]string{{"operator": s.operator}}
		case "rule":
			seen := map[string]bool{}
			for _, r := range s.rules {
				if !seen[r] {
					seen[r] = true
					vals = append(vals, map[string]string{"rule": r, "constitution": s.constitution})
				}
			}
		case "flag":
			seen := map[string]bool{}
			for _, fl := range s.flags {
				if !seen[fl] {
					seen[fl] = true
					vals = append(vals, map[string]string{"flag": fl})
				}
			}
			if len(vals) == 0 {
				vals = []map[string]string{{"flag": ""}}
			}
		}
		var next []map[string]string
		for _, k := range keys {
			for _, v := range vals {
				m := make(map[string]string, len(k)+len(v))
				for a, b := range k {
					m[a] = b
				}
				for a, b := range v {
					m[a] = b
				}
				next = append(next, m)
			}
		}
		keys = next
	}
	return keys
}

func keyString(k map[string]string) string {
	b, _ := json.Marshal(k) // map keys marshal sorted
	return string(b)
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

// scan calls fn for every entry in [from, to), read in chunks.
func (b *Book) scan(from, to uint64, fn func(uint64, *Envelope) error) error {
	const chunk = 1024
	for i := from; i < to; i += chunk {
		es, err := b.cfg.Log.Entries(i, int(min(chunk, to-i)))
		if err != nil {
			return err
		}
		for j, e := range es {
			env, err := ParseEnvelope(e)
			if err != nil {
				return fmt.Errorf("entry %d: %w", i+uint64(j), err)
			}
			if err := fn(i+uint64(j), env); err != nil {
				return err
			}
		}
	}
	return nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
