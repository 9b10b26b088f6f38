// Package recount re-derives the answer to a ledger query or statistics
// request (DESIGN.md §6, GET /v1/query and GET /v1/stats) from the log's
// public tiles, and reports every way the server's answer differs.
//
// Invariants it relies on and checks:
//   - Log time (logged_at) is non-decreasing in index order, so a time
//     window [From, To) is one contiguous index range [from, to). An answer's
//     "scanned" range MUST be exactly that range: every entry in it has
//     logged_at in the window, entry from-1 (if any) is before From, and
//     entry to (if it is in the tree) is at or after To.
//   - Nothing is trusted until authenticated: entry bundles are checked
//     against the level-0 hashes of the tree, which tlog.TileHashReader
//     authenticates against the root of a checkpoint the caller opened with
//     the log's key.
//   - Contests and resolutions are counted up to the checkpoint's size.
//     Whether an unresolved contest is overdue depends on the clock, so the
//     recount is made at Now-Slack and Now+Slack and the server's figures
//     MUST lie between the two.
//
// It imports only verify, verify/tile, x/mod and the standard library.
package recount

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/calibration"
	"github.com/fjaledger/fja/verify/record"
	"github.com/fjaledger/fja/verify/tile"
)

// GroupFields are the group_by fields of GET /v1/stats.
var GroupFields = []string{"outcome", "category", "rule", "flag", "jurisdiction", "model", "operator"}

// AccessGroupFields are the group_by fields of GET /v1/stats?kind=access
// (reads of private content); grouped by actor, the key names the
// token's name (actor) and role.
var AccessGroupFields = []string{"actor", "route", "purpose"}

// MaxGroupBy is the most distinct group_by fields of one stats request.
const MaxGroupBy = 3

// Filter is the filter of a query or stats request. Empty fields match
// everything; fields other than Kind and the times apply to decisions, so
// setting any of them matches decisions only. From and To bound logged_at,
// To exclusive; zero means unbounded.
type Filter struct {
	Kind, Operator, Model, Action, Category, Rule, Flag, Jurisdiction string
	// ContestStatus is open, resolved, overdue or none: the status of the
	// decision's latest contest.
	ContestStatus string
	From, To      time.Time
}

func (f *Filter) decisionOnly() bool {
	return f.Operator != "" || f.Model != "" || f.Action != "" || f.Category != "" || f.Rule != "" ||
		f.Flag != "" || f.Jurisdiction != "" || f.ContestStatus != ""
}

// Range is an index range [From, To).
type Range = record.Range

// Record is one record of a query answer.
type Record struct {
	Index    uint64
	Entry    []byte
	LeafHash []byte
}

// Group is one row of a stats answer.
type Group = record.Group

// Problem is one way an answer differs from the recount. Index is set when
// the problem is about one entry.
type Problem struct {
	Kind    string  `json:"kind"` // missing, extra, window, entry, order, group
	Index   *uint64 `json:"index,omitempty"`
	Message string  `json:"message"`
}

func (p Problem) String() string { return p.Kind + ": " + p.Message }

// Report is the outcome of a recount.
type Report struct {
	Scanned  Range  `json:"scanned"`
	TreeSize uint64 `json:"tree_size"`
	// Read is the number of entries read and authenticated.
	Read uint64 `json:"read"`
	// Matched is the number of entries in the range that match the filter
	// (query), or the number of decisions counted (stats), at Now.
	Matched  int       `json:"matched"`
	Problems []Problem `json:"problems"`
	// Notes are differences tolerated because a contest deadline lies
	// within Slack of Now.
	Notes []string `json:"notes,omitempty"`
}

// OK reports whether the answer was complete and correct.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Auditor recounts answers against one tree.
type Auditor struct {
	// Reader fetches the log's tiles; Checkpoint MUST have been opened with
	// the log's key (verify.OpenCheckpoint). Every answered record must be
	// in the tree of Checkpoint.
	Reader     *tile.Reader
	Checkpoint *verify.Checkpoint
	// Now is the time overdue contests are judged at (default time.Now()),
	// Slack the clock difference tolerated (default one minute).
	Now   time.Time
	Slack time.Duration
	// Progress, if set, is called as entries are read.
	Progress func(done, total uint64)
	// Concurrency is the number of entry bundles fetched at once (default 8).
	Concurrency int
}

func (a *Auditor) times() (lo, now, hi time.Time) {
	now = a.Now
	if now.IsZero() {
		now = time.Now()
	}
	s := a.Slack
	if s == 0 {
		s = time.Minute
	}
	return now.Add(-s), now, now.Add(s)
}

// Query recounts a query answer: the records answered for f over scanned.
// The records are those of every page. It returns an error only when the
// recount could not be made (a tile that cannot be fetched or does not
// authenticate against the checkpoint); differences are in the report.
func (a *Auditor) Query(ctx context.Context, f Filter, scanned Range, records []Record) (*Report, error) {
	rep, err := a.checkRange(scanned)
	if err != nil || !rep.OK() {
		return rep, err
	}
	answered := map[uint64]Record{}
	last := int64(-1)
	for _, r := range records {
		idx := r.Index
		if int64(idx) <= last {
			rep.problem("order", &idx, fmt.Sprintf("index %d answered after index %d: records must be in increasing index order, each once", idx, last))
		}
		last = max(last, int64(idx))
		if idx < scanned.From || idx >= scanned.To {
			rep.problem("extra", &idx, fmt.Sprintf("index %d is outside the scanned range [%d, %d)", idx, scanned.From, scanned.To))
			continue
		}
		answered[idx] = r
	}
	size := a.Checkpoint.Size
	end := min(scanned.To+1, size)
	if f.ContestStatus != "" {
		end = size
	}
	lo, now, hi := a.times()
	c := newCounter()
	must, may := map[uint64]bool{}, map[uint64]bool{}
	err = a.scan(ctx, rep, f, scanned, end, c, func(idx uint64, entry []byte, env *envelope) {
		if r, ok := answered[idx]; ok {
			if !bytes.Equal(r.Entry, entry) {
				rep.problem("entry", &idx, fmt.Sprintf("the answer's entry %d is not the logged entry (leaf hash %x, logged %x)", idx, verify.LeafHash(r.Entry), verify.LeafHash(entry)))
			} else if !bytes.Equal(r.LeafHash, verify.LeafHash(entry)) {
				rep.problem("entry", &idx, fmt.Sprintf("the answer's leaf hash of entry %d is %x, want %x", idx, r.LeafHash, verify.LeafHash(entry)))
			}
		}
	})
	if err != nil {
		return rep, err
	}
	for _, e := range c.inRange {
		base := f.matchEntry(e)
		if !base {
			continue
		}
		if f.ContestStatus == "" || e.dec == nil {
			must[e.idx] = true
			continue
		}
		a1, a2 := c.status(e.dec.DecisionID, lo) == f.ContestStatus, c.status(e.dec.DecisionID, hi) == f.ContestStatus
		switch {
		case a1 && a2:
			must[e.idx] = true
		case a1 || a2:
			may[e.idx] = true
		}
		if c.status(e.dec.DecisionID, now) == f.ContestStatus {
			rep.Matched++
		}
	}
	if f.ContestStatus == "" {
		rep.Matched = len(must)
	}
	for _, idx := range sortedKeys(must) {
		if _, ok := answered[idx]; !ok {
			rep.problem("missing", &idx, fmt.Sprintf("index %d matches the filter but is missing from the answer", idx))
		}
	}
	for _, idx := range sortedKeys(answered) {
		switch {
		case must[idx]:
		case may[idx]:
			rep.Notes = append(rep.Notes, fmt.Sprintf("index %d: its contest deadline is within the clock slack of now; answered either way is correct", idx))
		default:
			rep.problem("extra", &idx, fmt.Sprintf("index %d was answered but does not match the filter", idx))
		}
	}
	for _, idx := range sortedKeys(may) {
		if _, ok := answered[idx]; !ok {
			rep.Notes = append(rep.Notes, fmt.Sprintf("index %d: its contest deadline is within the clock slack of now; left out is correct too", idx))
		}
	}
	return rep, nil
}

// checkGroupBy checks groupBy as the server does and drops repeated
// fields (the server counts a repeated field once).
func checkGroupBy(f Filter, groupBy []string) ([]string, error) {
	fields := GroupFields
	if f.Kind == "access" {
		fields = AccessGroupFields
	} else if f.Kind != "" && f.Kind != "decision" {
		return nil, fmt.Errorf("statistics count decisions (kind decision) or reads of private content (kind access), not kind %q", f.Kind)
	}
	var out []string
	for _, g := range groupBy {
		if !slices.Contains(fields, g) {
			return nil, fmt.Errorf("group_by %q is not one of %s", g, strings.Join(fields, ", "))
		}
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	if len(out) > MaxGroupBy {
		return nil, fmt.Errorf("group_by names %d fields, at most %d are allowed", len(out), MaxGroupBy)
	}
	return out, nil
}

// Stats recounts a stats answer for f grouped by groupBy over scanned.
// With f.Kind "access" it recounts the reads of private content (access
// records) instead of decisions.
func (a *Auditor) Stats(ctx context.Context, f Filter, groupBy []string, scanned Range, groups []Group) (*Report, error) {
	groupBy, err := checkGroupBy(f, groupBy)
	if err != nil {
		return nil, err
	}
	rep, err := a.checkRange(scanned)
	if err != nil || !rep.OK() {
		return rep, err
	}
	c := newCounter()
	if err := a.scan(ctx, rep, f, scanned, a.Checkpoint.Size, c, nil); err != nil {
		return rep, err
	}
	lo, now, hi := a.times()
	gLo, gHi := c.groups(f, groupBy, lo), c.groups(f, groupBy, hi)
	for _, e := range c.inRange {
		if f.Kind == "access" {
			if e.acc != nil {
				rep.Matched++
			}
			continue
		}
		if e.dec != nil && f.matchEntry(e) && (f.ContestStatus == "" || c.status(e.dec.DecisionID, now) == f.ContestStatus) {
			rep.Matched++
		}
	}
	served := map[string]Group{}
	for _, g := range groups {
		k := keyString(g.Key)
		if _, dup := served[k]; dup {
			rep.problem("group", nil, fmt.Sprintf("group %s appears more than once in the answer", k))
		}
		served[k] = g
		if g.Count == 0 {
			rep.problem("group", nil, fmt.Sprintf("group %s has count 0: no decision counts under it", k))
		}
	}
	keys := map[string]bool{}
	for _, m := range []map[string]Group{gLo, gHi, served} {
		for k := range m {
			keys[k] = true
		}
	}
	for _, k := range sortedKeys(keys) {
		s, l, h := served[k], gLo[k], gHi[k]
		_, inAnswer := served[k]
		_, inLo := gLo[k]
		_, inHi := gHi[k]
		if !inAnswer && !inLo && !inHi {
			continue
		}
		if !inAnswer && inLo && inHi {
			rep.problem("group", nil, fmt.Sprintf("group %s (count %d) is missing from the answer", k, l.Count))
			continue
		}
		if inAnswer && !inLo && !inHi {
			rep.problem("group", nil, fmt.Sprintf("group %s (count %d) is in the answer but no decision in the range counts under it", k, s.Count))
			continue
		}
		tolerated := false
		for _, fd := range []struct {
			name        string
			got, lo, hi int
		}{
			{"count", s.Count, l.Count, h.Count},
			{"contests", s.Contests, l.Contests, h.Contests},
			{"overturned", s.Overturned, l.Overturned, h.Overturned},
			{"overdue", s.Overdue, l.Overdue, h.Overdue},
			{"records", s.Records, l.Records, h.Records},
		} {
			a, b := min(fd.lo, fd.hi), max(fd.lo, fd.hi)
			switch {
			case fd.got < a || fd.got > b:
				want := fmt.Sprint(a)
				if a != b {
					want = fmt.Sprintf("between %d and %d (a contest deadline is near)", a, b)
				}
				rep.problem("group", nil, fmt.Sprintf("group %s: %s is %d, recount gives %s", k, fd.name, fd.got, want))
			case a != b:
				tolerated = true
			}
		}
		if tolerated {
			rep.Notes = append(rep.Notes, fmt.Sprintf("group %s: a contest deadline lies within the clock slack of now; its figures may be either side of it", k))
		}
	}
	return rep, nil
}

// Groups recounts the stats groups at the given time, without comparing
// them to an answer: for reports that publish figures with their range.
func (a *Auditor) Groups(ctx context.Context, f Filter, groupBy []string, scanned Range, at time.Time) ([]Group, *Report, error) {
	groupBy, err := checkGroupBy(f, groupBy)
	if err != nil {
		return nil, nil, err
	}
	rep, err := a.checkRange(scanned)
	if err != nil || !rep.OK() {
		return nil, rep, err
	}
	c := newCounter()
	if err := a.scan(ctx, rep, f, scanned, a.Checkpoint.Size, c, nil); err != nil {
		return nil, rep, err
	}
	m := c.groups(f, groupBy, at)
	out := make([]Group, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, m[k])
	}
	return out, rep, nil
}

func (a *Auditor) checkRange(s Range) (*Report, error) {
	if a.Reader == nil || a.Checkpoint == nil {
		return nil, fmt.Errorf("recount: Auditor needs a Reader and an opened Checkpoint")
	}
	rep := &Report{Scanned: s, TreeSize: a.Checkpoint.Size, Problems: []Problem{}}
	if s.From > s.To || s.To > a.Checkpoint.Size {
		rep.problem("window", nil, fmt.Sprintf("scanned range [%d, %d) is not a range within the tree of size %d", s.From, s.To, a.Checkpoint.Size))
	}
	return rep, nil
}

func (r *Report) problem(kind string, idx *uint64, msg string) {
	var p *uint64
	if idx != nil {
		v := *idx
		p = &v
	}
	r.Problems = append(r.Problems, Problem{Kind: kind, Index: p, Message: msg})
}

// scan reads and authenticates entries [scanned.From-1, end), checks the
// window, and feeds the counter. visit, if set, sees every entry in the
// scanned range.
func (a *Auditor) scan(ctx context.Context, rep *Report, f Filter, s Range, end uint64, c *counter, visit func(uint64, []byte, *envelope)) error {
	start := s.From
	if start > 0 {
		start--
	}
	end = max(end, min(s.To+1, a.Checkpoint.Size))
	var lastTime time.Time
	err := a.entries(ctx, start, end, func(idx uint64, entry []byte) error {
		rep.Read++
		env, err := parseEnvelope(entry)
		if err != nil {
			rep.problem("entry", &idx, fmt.Sprintf("entry %d is not a record envelope: %v", idx, err))
			return nil
		}
		if !lastTime.IsZero() && env.loggedAt.Before(lastTime) {
			rep.problem("window", &idx, fmt.Sprintf("entry %d has logged_at %s, before the previous entry's %s: log time goes backwards", idx, env.LoggedAt, lastTime.Format(time.RFC3339Nano)))
		}
		lastTime = env.loggedAt
		in := idx >= s.From && idx < s.To
		switch {
		case idx+1 == s.From:
			if f.From.IsZero() || !env.loggedAt.Before(f.From) {
				rep.problem("window", &idx, fmt.Sprintf("entry %d (logged_at %s) is in the window but before the scanned range [%d, %d)", idx, env.LoggedAt, s.From, s.To))
			}
		case idx == s.To:
			if f.To.IsZero() || env.loggedAt.Before(f.To) {
				rep.problem("window", &idx, fmt.Sprintf("entry %d (logged_at %s) is in the window but after the scanned range [%d, %d)", idx, env.LoggedAt, s.From, s.To))
			}
		case in:
			if (!f.From.IsZero() && env.loggedAt.Before(f.From)) || (!f.To.IsZero() && !env.loggedAt.Before(f.To)) {
				rep.problem("window", &idx, fmt.Sprintf("entry %d (logged_at %s) is in the scanned range but outside the window", idx, env.LoggedAt))
			}
		}
		c.add(idx, env, in)
		if in && visit != nil {
			visit(idx, entry, env)
		}
		return nil
	})
	return err
}

// entries calls fn, in index order, for every entry in [from, to) after
// checking its leaf hash against the authenticated level-0 hashes.
func (a *Auditor) entries(ctx context.Context, from, to uint64, fn func(uint64, []byte) error) error {
	size := a.Checkpoint.Size
	if to > size {
		return fmt.Errorf("recount: entries [%d, %d) beyond the tree of size %d", from, to, size)
	}
	if from >= to {
		return nil
	}
	hr := a.Reader.HashReader(size, a.Checkpoint.Hash)
	conc := a.Concurrency
	if conc <= 0 {
		conc = 8
	}
	first, last := from/tile.Width, (to-1)/tile.Width
	total := to - from
	var done uint64
	type result struct {
		entries [][]byte
		err     error
	}
	for n := first; n <= last; n += uint64(conc) {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch := make([]result, min(uint64(conc), last-n+1))
		ch := make(chan struct{}, len(batch))
		for i := range batch {
			go func() {
				batch[i].entries, batch[i].err = a.Reader.AuthenticatedBundle(hr, n+uint64(i), size)
				ch <- struct{}{}
			}()
		}
		for range batch {
			<-ch
		}
		for i, r := range batch {
			if r.err != nil {
				return r.err
			}
			base := (n + uint64(i)) * tile.Width
			for j, e := range r.entries {
				idx := base + uint64(j)
				if idx < from || idx >= to {
					continue
				}
				if err := fn(idx, e); err != nil {
					return err
				}
				done++
			}
			if a.Progress != nil {
				a.Progress(done, total)
			}
		}
	}
	return nil
}

// envelope is a record envelope with its log time parsed.
type envelope struct {
	record.Envelope
	loggedAt time.Time
}

func parseEnvelope(b []byte) (*envelope, error) {
	var e envelope
	if err := json.Unmarshal(b, &e.Envelope); err != nil {
		return nil, err
	}
	t, err := time.Parse(time.RFC3339Nano, e.LoggedAt)
	if err != nil {
		return nil, fmt.Errorf("logged_at %q: %v", e.LoggedAt, err)
	}
	e.loggedAt = t
	return &e, nil
}

// contest is a logged contest and what the scan learnt of it.
type contest struct {
	record.Contest
	due time.Time
	// set by a later resolution
	resolved, overturned bool
}

type inEntry struct {
	idx  uint64
	kind string
	dec  *record.Decision
	acc  *record.Access
}

// counter gathers the entries of the range and every contest and
// resolution up to the end of the scan.
type counter struct {
	inRange    []inEntry
	contests   map[string]*contest
	byDecision map[string][]string
	// rules are the constitutions, challenges (with their responses) and
	// amendments read, in log order.
	rules calibration.Records
}

func newCounter() *counter {
	return &counter{contests: map[string]*contest{}, byDecision: map[string][]string{}}
}

func (c *counter) add(idx uint64, env *envelope, in bool) {
	switch env.Kind {
	case "decision":
		if in {
			var d record.Decision
			if json.Unmarshal(env.Body, &d) == nil {
				c.inRange = append(c.inRange, inEntry{idx: idx, kind: string(env.Kind), dec: &d})
				return
			}
		}
	case "contest":
		var k contest
		if json.Unmarshal(env.Body, &k.Contest) == nil {
			k.due, _ = time.Parse(time.RFC3339Nano, k.DueBy)
			c.contests[k.ContestID] = &k
			c.byDecision[k.Decision.DecisionID] = append(c.byDecision[k.Decision.DecisionID], k.ContestID)
		}
	case "constitution":
		var k record.Constitution
		if json.Unmarshal(env.Body, &k) == nil {
			c.rules.Constitutions = append(c.rules.Constitutions, calibration.Published{Index: idx, Constitution: k})
		}
	case "challenge":
		var k record.Challenge
		if json.Unmarshal(env.Body, &k) == nil {
			c.rules.Challenges = append(c.rules.Challenges, calibration.Filed{Index: idx, Challenge: k})
		}
	case "challenge_response":
		var r record.ChallengeResponse
		if json.Unmarshal(env.Body, &r) == nil {
			for i := range c.rules.Challenges {
				if f := &c.rules.Challenges[i]; f.Challenge.ChallengeID == r.ChallengeID && f.Response == nil {
					f.Response = &r
				}
			}
		}
	case "amendment":
		var a record.Amendment
		if json.Unmarshal(env.Body, &a) == nil {
			c.rules.Amendments = append(c.rules.Amendments, calibration.Proposed{Index: idx, Amendment: a})
		}
	case "access":
		if in {
			var x record.Access
			if json.Unmarshal(env.Body, &x) == nil {
				c.inRange = append(c.inRange, inEntry{idx: idx, kind: string(env.Kind), acc: &x})
				return
			}
		}
	case "resolution":
		var r record.Resolution
		if json.Unmarshal(env.Body, &r) == nil {
			if k := c.contests[r.ContestID]; k != nil {
				k.resolved = true
				k.overturned = r.Outcome == "overturned" || r.Outcome == "partially_overturned"
			}
		}
	}
	if in {
		c.inRange = append(c.inRange, inEntry{idx: idx, kind: string(env.Kind)})
	}
}

// status is the status of the decision's latest contest at now: open,
// resolved, overdue or none.
func (c *counter) status(decisionID string, now time.Time) string {
	st := "none"
	for _, id := range c.byDecision[decisionID] {
		k := c.contests[id]
		switch {
		case k.resolved:
			st = "resolved"
		case !now.Before(k.due):
			st = "overdue"
		default:
			st = "open"
		}
	}
	return st
}

// matchEntry applies every filter but the times (the range is the window)
// and the contest status.
func (f *Filter) matchEntry(e inEntry) bool {
	if f.Kind != "" && e.kind != f.Kind {
		return false
	}
	if e.dec == nil {
		return !f.decisionOnly()
	}
	d := e.dec
	if (f.Operator != "" && d.System.Operator != f.Operator) || (f.Model != "" && d.System.Model != f.Model) ||
		(f.Action != "" && d.Outcome.Action != f.Action) || (f.Category != "" && d.Outcome.Category != f.Category) ||
		(f.Jurisdiction != "" && d.Subject.Jurisdiction != f.Jurisdiction) {
		return false
	}
	if f.Rule != "" && !slices.ContainsFunc(d.Rules, func(r record.AppliedRule) bool {
		return r.RuleID == f.Rule
	}) {
		return false
	}
	if f.Flag != "" && !slices.ContainsFunc(d.ProvenanceFlags, func(p record.ProvenanceFlag) bool {
		return p.Code == f.Flag
	}) {
		return false
	}
	return true
}

// groups counts the decisions of the range matching f at time now (with
// f.Kind "access", the access records of the range).
func (c *counter) groups(f Filter, groupBy []string, now time.Time) map[string]Group {
	out := map[string]Group{}
	if f.Kind == "access" {
		for _, e := range c.inRange {
			if e.acc == nil {
				continue
			}
			key := map[string]string{}
			for _, g := range groupBy {
				switch g {
				case "actor":
					key["actor"], key["role"] = e.acc.Actor.Name, e.acc.Actor.Role
				case "route":
					key["route"] = e.acc.Route
				case "purpose":
					key["purpose"] = e.acc.Purpose
				}
			}
			id := keyString(key)
			gr, ok := out[id]
			if !ok {
				gr = Group{Key: key}
			}
			gr.Count++
			gr.Records += len(e.acc.Records)
			out[id] = gr
		}
		return out
	}
	for _, e := range c.inRange {
		if e.dec == nil || !f.matchEntry(e) {
			continue
		}
		if f.ContestStatus != "" && c.status(e.dec.DecisionID, now) != f.ContestStatus {
			continue
		}
		var nC, nO, nD int
		for _, id := range c.byDecision[e.dec.DecisionID] {
			k := c.contests[id]
			nC++
			switch {
			case k.resolved:
				if k.overturned {
					nO++
				}
			case !now.Before(k.due):
				nD++
			}
		}
		for _, key := range groupKeys(e.dec, groupBy) {
			id := keyString(key)
			g, ok := out[id]
			if !ok {
				g = Group{Key: key}
			}
			g.Count++
			g.Contests += nC
			g.Overturned += nO
			g.Overdue += nD
			out[id] = g
		}
	}
	return out
}

// groupKeys returns the keys a decision counts under: one per combination
// of its values. Grouped by rule, the key also names the constitution
// version ("id@version"); grouped by flag, a decision without flags counts
// under the flag "".
func groupKeys(d *record.Decision, groupBy []string) []map[string]string {
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
			// a rule cited twice by one decision counts once, as a flag raised twice
			seen := map[string]bool{}
			for _, r := range d.Rules {
				if !seen[r.RuleID] {
					seen[r.RuleID] = true
					vals = append(vals, map[string]string{"rule": r.RuleID, "constitution": d.Constitution.ID + "@" + d.Constitution.Version})
				}
			}
		case "flag":
			seen := map[string]bool{}
			for _, fl := range d.ProvenanceFlags {
				if !seen[fl.Code] {
					seen[fl.Code] = true
					vals = append(vals, map[string]string{"flag": fl.Code})
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

func sortedKeys[K uint64 | string, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
