package audit

import (
	"encoding/json"
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

type contestFacts struct {
	decision   string
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
// It reads the log from the start of the window to the head: a linear scan
// until query indexes exist.
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
	now := b.cfg.Now()
	type dec struct {
		keys []map[string]string
		id   string
	}
	var decisions []dec
	contests := map[string]*contestFacts{} // contest id -> facts
	byDecision := map[string][]string{}    // decision id -> contest ids
	err = b.scan(from, head.Size, func(idx uint64, env *Envelope) error {
		switch env.Kind {
		case KindDecision:
			if idx >= to {
				return nil
			}
			var d Decision
			if err := json.Unmarshal(env.Body, &d); err != nil {
				return fmt.Errorf("entry %d: %w", idx, err)
			}
			if !f.matches(&d) {
				return nil
			}
			decisions = append(decisions, dec{keys: groupKeys(&d, groupBy), id: d.DecisionID})
		case KindContest:
			var c Contest
			if err := json.Unmarshal(env.Body, &c); err != nil {
				return fmt.Errorf("entry %d: %w", idx, err)
			}
			due, _ := time.Parse(time.RFC3339Nano, c.DueBy)
			contests[c.ContestID] = &contestFacts{decision: c.Decision.DecisionID, dueBy: due}
			byDecision[c.Decision.DecisionID] = append(byDecision[c.Decision.DecisionID], c.ContestID)
		case KindResolution:
			var r Resolution
			if err := json.Unmarshal(env.Body, &r); err != nil {
				return fmt.Errorf("entry %d: %w", idx, err)
			}
			if c := contests[r.ContestID]; c != nil {
				c.resolved = true
				c.overturned = r.Outcome == "overturned" || r.Outcome == "partially_overturned"
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	groups := map[string]*Group{}
	for _, d := range decisions {
		var nContests, nOverturned, nOverdue int
		status := "none"
		for _, cid := range byDecision[d.id] {
			c := contests[cid]
			nContests++
			switch {
			case c.resolved:
				status = "resolved"
				if c.overturned {
					nOverturned++
				}
			case !now.Before(c.dueBy):
				status = "overdue"
				nOverdue++
			default:
				status = "open"
			}
		}
		if f.ContestStatus != "" && f.ContestStatus != status {
			continue
		}
		for _, k := range d.keys {
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

func (f *Filter) matches(d *Decision) bool {
	if (f.Operator != "" && d.System.Operator != f.Operator) || (f.Model != "" && d.System.Model != f.Model) ||
		(f.Action != "" && d.Outcome.Action != f.Action) || (f.Category != "" && d.Outcome.Category != f.Category) ||
		(f.Jurisdiction != "" && d.Subject.Jurisdiction != f.Jurisdiction) {
		return false
	}
	if f.Rule != "" && !anyOf(len(d.Rules), func(i int) bool { return d.Rules[i].RuleID == f.Rule }) {
		return false
	}
	if f.Flag != "" && !anyOf(len(d.ProvenanceFlags), func(i int) bool { return d.ProvenanceFlags[i].Code == f.Flag }) {
		return false
	}
	return true
}

// groupKeys returns the group keys a decision counts under: one per
// combination of its values (a decision citing two rules counts for each).
// Grouped by rule, the key also names the constitution version, so that
// contests and overturns are counted per rule and version.
func groupKeys(d *Decision, groupBy []string) []map[string]string {
	keys := []map[string]string{{}}
	for _, g := range groupBy {
		var vals []map[string]string
		switch g {
		case "outcome":
			vals = []map[string]string{{"outcome": d.Outcome.Action}}
		case "category":
			vals = []map[string]string{{"category": d.Outcome.Category}}
		case "jurisdiction":
			vals = []map[string]string{{"jurisdiction": d.Subject.Jurisdiction}}
		case "model":
			vals = []map[string]string{{"model": d.System.Model}}
		case "operator":
			vals = []map[string]string{{"operator": d.System.Operator}}
		case "rule":
			for _, r := range d.Rules {
				vals = append(vals, map[string]string{"rule": r.RuleID, "constitution": d.Constitution.ID + "@" + d.Constitution.Version})
			}
		case "flag":
			for _, fl := range d.ProvenanceFlags {
				vals = append(vals, map[string]string{"flag": fl.Code})
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

func anyOf(n int, f func(int) bool) bool {
	for i := 0; i < n; i++ {
		if f(i) {
			return true
		}
	}
	return false
}
