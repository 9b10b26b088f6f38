// Package calibration turns counts of decisions, contests and resolutions
// into the calibration and pluralism figures of GET /v1/rules (DESIGN.md
// §6): rates with Wilson score 95% intervals, max/min ratios of refusal
// rates across jurisdictions and locales, and differences of overturn
// rates across constitution versions with Newcombe's interval.
//
// It is pure (no I/O, only the standard library and verify/record), so
// that the server and an auditor's recount (verify/recount) make the same
// figures from the same counts: figures MUST be compared exactly, and any
// difference in an answer is a difference in its counts or a wrong figure.
// Every function is deterministic; maps are read in sorted key order.
package calibration

import (
	"math"
	"slices"
	"sort"

	"github.com/fjaledger/fja/verify/record"
)

// Z95 is the standard normal quantile of 0.975: the z of a two-sided 95%
// interval.
const Z95 = 1.959963984540054

// Wilson is the Wilson score interval at z = Z95 of k successes in n
// trials:
//
//	centre = (k + z²/2) / (n + z²)
//	half   = z·√(k(n−k)/n + z²/4) / (n + z²)
//
// clamped to [0, 1]. For n = 0 it is [0, 1]: no observation constrains the
// rate. k is clamped to [0, n].
func Wilson(k, n int) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	k = min(max(k, 0), n)
	z2 := Z95 * Z95
	fn, fk := float64(n), float64(k)
	centre := (fk + z2/2) / (fn + z2)
	half := Z95 * math.Sqrt(fk*(fn-fk)/fn+z2/4) / (fn + z2)
	lo, hi = max(0, centre-half), min(1, centre+half)
	// At the edges the interval touches 0 or 1 exactly.
	if k == 0 {
		lo = 0
	}
	if k == n {
		hi = 1
	}
	return lo, hi
}

// NewRate is k of n with its Wilson interval; n = 0 gives rate 0 and
// [0, 1].
func NewRate(k, n int) record.Rate {
	lo, hi := Wilson(k, n)
	r := record.Rate{K: k, N: n, Lo: lo, Hi: hi}
	if n > 0 {
		r.Rate = float64(k) / float64(n)
	}
	return r
}

// Figures are a rule's calibration figures from its counts.
func Figures(c record.RuleCounts) record.Calibration {
	return record.Calibration{Counts: c,
		Refusal:  NewRate(c.Refusing, c.Cited),
		Contest:  NewRate(c.Contested, c.Refusing),
		Overturn: NewRate(c.Overturned, c.Resolved)}
}

// Ratio is hi.Rate/lo.Rate with bounds from the two Wilson intervals:
// [hi.Lo/lo.Hi, hi.Hi/lo.Lo]. This is conservative for the ratio of two
// independent rates (each bound uses the extreme of both intervals) and
// is not adjusted for having picked the highest and the lowest of several
// groups. ratio is nil when lo.Rate is 0, upper nil (unbounded) when lo.Lo
// is 0; lower is nil only when lo.Hi is 0, which a Wilson bound never is
// for n > 0.
func Ratio(hi, lo record.Rate) (ratio, lower, upper *float64) {
	div := func(a, b float64) *float64 {
		if b <= 0 {
			return nil
		}
		v := a / b
		return &v
	}
	return div(hi.Rate, lo.Rate), div(hi.Lo, lo.Hi), div(hi.Hi, lo.Lo)
}

// Difference is after.Rate − before.Rate with Newcombe's hybrid score
// interval (Newcombe 1998, method 10) built from the two Wilson intervals:
//
//	lo = d − √((p₂ − l₂)² + (u₁ − p₁)²)
//	hi = d + √((u₂ − p₂)² + (p₁ − l₁)²)
//
// where p₁ [l₁, u₁] is before and p₂ [l₂, u₂] after.
func Difference(before, after record.Rate) (d, lo, hi float64) {
	d = after.Rate - before.Rate
	lo = d - math.Sqrt(sq(after.Rate-after.Lo)+sq(before.Hi-before.Rate))
	hi = d + math.Sqrt(sq(after.Hi-after.Rate)+sq(before.Rate-before.Lo))
	return d, lo, hi
}

func sq(x float64) float64 { return x * x }

// RuleKey names a rule of one constitution version: Constitution is
// "id@version".
type RuleKey struct {
	Constitution string
	RuleID       string
}

// GroupKey names the decisions of one outcome category in one
// jurisdiction (By "jurisdiction") or locale (By "locale").
type GroupKey struct {
	Category, By, Value string
}

// Tally counts decisions and, of them, refusals (outcome action refused).
type Tally struct {
	Decisions, Refused int
}

// Counts are what the figures of a rules answer are made of, over the
// decisions of a window matching a filter.
type Counts struct {
	Rules  map[RuleKey]record.RuleCounts
	Groups map[GroupKey]Tally
}

// NewCounts returns empty counts.
func NewCounts() *Counts {
	return &Counts{Rules: map[RuleKey]record.RuleCounts{}, Groups: map[GroupKey]Tally{}}
}

// Published is a logged constitution version and its log index.
type Published struct {
	Index        uint64
	Constitution record.Constitution
}

// Filed is a logged challenge, its index, and its response (nil while
// none is logged).
type Filed struct {
	Index     uint64
	Challenge record.Challenge
	Response  *record.ChallengeResponse
}

// Proposed is a logged amendment and its index.
type Proposed struct {
	Index     uint64
	Amendment record.Amendment
}

// Records are the records of the log, up to a checkpoint, that a rules
// answer lists (any order: Build sorts them by index).
type Records struct {
	Constitutions []Published
	Challenges    []Filed
	Amendments    []Proposed
}

// Build is the rules answer (without checkpoint and range) for the
// records and the counts: every rule of every version with its history,
// figures, challenges and amendments, the sensitivity of every category
// along jurisdiction and locale (groups below minN shown, not in the
// ratio), and, for every version that supersedes another of the same
// constitution, the change in overturn rate of each rule both hold.
func Build(recs Records, c *Counts, minN int) record.RulesAnswer {
	cs := recs.Constitutions
	ans := record.RulesAnswer{MinN: minN, Constitutions: []record.ConstitutionView{},
		Sensitivity: []record.Sensitivity{}, Changes: []record.VersionChange{}}
	cs = slices.Clone(cs)
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].Index < cs[j].Index })
	challenges, amendments := ruleRecords(recs)
	versions := map[string][]Published{} // constitution id -> versions in log order
	for _, p := range cs {
		versions[p.Constitution.ConstitutionID] = append(versions[p.Constitution.ConstitutionID], p)
	}
	for _, p := range cs {
		k := p.Constitution
		v := record.ConstitutionView{ConstitutionID: k.ConstitutionID, Version: k.Version, Index: p.Index, Rules: []record.RuleView{}}
		if k.Supersedes != nil {
			v.Supersedes = *k.Supersedes
		}
		v.Adopts = k.Adopts
		for _, r := range k.Rules {
			key := RuleKey{k.ConstitutionID + "@" + k.Version, r.RuleID}
			rv := record.RuleView{RuleID: r.RuleID, Text: r.Text, Pillar: r.Pillar,
				History:     History(versions[k.ConstitutionID], r.RuleID),
				Calibration: Figures(c.Rules[key]),
				Challenges:  challenges[key], Amendments: amendments[key]}
			if rv.Challenges == nil {
				rv.Challenges = []record.RuleChallenge{}
			}
			if rv.Amendments == nil {
				rv.Amendments = []record.RuleAmendment{}
			}
			v.Rules = append(v.Rules, rv)
		}
		for key, as := range amendments {
			if key.Constitution == k.ConstitutionID+"@"+k.Version &&
				!slices.ContainsFunc(k.Rules, func(r record.ConstitutionRule) bool { return r.RuleID == key.RuleID }) {
				v.Additions = append(v.Additions, as...)
			}
		}
		sort.Slice(v.Additions, func(i, j int) bool {
			a, b := v.Additions[i], v.Additions[j]
			return a.Index < b.Index || (a.Index == b.Index && a.RuleID < b.RuleID)
		})
		ans.Constitutions = append(ans.Constitutions, v)
		if k.Supersedes == nil {
			continue
		}
		var prev *record.Constitution
		for _, q := range versions[k.ConstitutionID] {
			if q.Constitution.Version == *k.Supersedes && q.Index < p.Index {
				prev = &q.Constitution
			}
		}
		if prev == nil {
			continue
		}
		for _, r := range k.Rules {
			if !slices.ContainsFunc(prev.Rules, func(x record.ConstitutionRule) bool { return x.RuleID == r.RuleID }) {
				continue
			}
			before := Figures(c.Rules[RuleKey{k.ConstitutionID + "@" + prev.Version, r.RuleID}]).Overturn
			after := Figures(c.Rules[RuleKey{k.ConstitutionID + "@" + k.Version, r.RuleID}]).Overturn
			d, lo, hi := Difference(before, after)
			ans.Changes = append(ans.Changes, record.VersionChange{ConstitutionID: k.ConstitutionID, From: prev.Version,
				To: k.Version, Adopts: k.Adopts, RuleID: r.RuleID, Before: before, After: after, Difference: d, Lo: lo, Hi: hi})
		}
	}
	ans.Sensitivity = sensitivity(c.Groups, minN)
	return ans
}

// History is the history of ruleID across versions (one constitution's,
// in log order), from its first appearance on.
func History(versions []Published, ruleID string) []record.RuleVersion {
	out := []record.RuleVersion{}
	var last *record.ConstitutionRule
	for _, p := range versions {
		i := slices.IndexFunc(p.Constitution.Rules, func(r record.ConstitutionRule) bool { return r.RuleID == ruleID })
		switch {
		case i < 0 && last != nil:
			out = append(out, record.RuleVersion{Version: p.Constitution.Version, Change: "removed"})
			last = nil
		case i < 0:
		default:
			r := p.Constitution.Rules[i]
			change := "added"
			if last != nil {
				change = "unchanged"
				if last.Text != r.Text || last.Pillar != r.Pillar {
					change = "reworded"
				}
			}
			out = append(out, record.RuleVersion{Version: p.Constitution.Version, Change: change, Text: r.Text, Pillar: r.Pillar})
			last = &r
		}
	}
	return out
}

func sensitivity(groups map[GroupKey]Tally, minN int) []record.Sensitivity {
	keys := make([]GroupKey, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.Category != b.Category {
			return a.Category < b.Category
		}
		if a.By != b.By {
			return a.By < b.By
		}
		return a.Value < b.Value
	})
	out := []record.Sensitivity{}
	for i := 0; i < len(keys); {
		j := i
		s := record.Sensitivity{Category: keys[i].Category, By: keys[i].By}
		var hi, lo *record.SensitivityGroup
		for ; j < len(keys) && keys[j].Category == s.Category && keys[j].By == s.By; j++ {
			t := groups[keys[j]]
			s.Groups = append(s.Groups, record.SensitivityGroup{Value: keys[j].Value, Refusal: NewRate(t.Refused, t.Decisions), Included: t.Decisions >= minN && t.Decisions > 0})
		}
		for g := range s.Groups {
			x := &s.Groups[g]
			if !x.Included {
				continue
			}
			if hi == nil || x.Refusal.Rate > hi.Refusal.Rate {
				hi = x
			}
			if lo == nil || x.Refusal.Rate < lo.Refusal.Rate {
				lo = x
			}
		}
		if hi != nil && lo != nil && hi != lo {
			s.Max, s.Min = hi.Value, lo.Value
			s.Ratio, s.RatioLo, s.RatioHi = Ratio(hi.Refusal, lo.Refusal)
		}
		out = append(out, s)
		i = j
	}
	return out
}

// ruleRecords files the challenges and amendments under the rules they
// concern, in index order; an amendment is adopted by the first version
// (in log order) whose adopts names it.
func ruleRecords(recs Records) (map[RuleKey][]record.RuleChallenge, map[RuleKey][]record.RuleAmendment) {
	chs := slices.Clone(recs.Challenges)
	sort.SliceStable(chs, func(i, j int) bool { return chs[i].Index < chs[j].Index })
	challenges := map[RuleKey][]record.RuleChallenge{}
	for _, f := range chs {
		x := record.RuleChallenge{ChallengeID: f.Challenge.ChallengeID, Index: f.Index, Category: f.Challenge.Grounds.Category,
			DueBy: f.Challenge.DueBy, Status: "open"}
		if f.Response != nil {
			x.Status, x.Outcome, x.AmendmentID = "answered", f.Response.Outcome, f.Response.AmendmentID
		}
		k := RuleKey{f.Challenge.Rule.Ref(), f.Challenge.Rule.RuleID}
		challenges[k] = append(challenges[k], x)
	}
	adopted := map[string]string{}
	cs := slices.Clone(recs.Constitutions)
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].Index < cs[j].Index })
	for _, p := range cs {
		for _, id := range p.Constitution.Adopts {
			if _, ok := adopted[id]; !ok {
				adopted[id] = p.Constitution.Version
			}
		}
	}
	ams := slices.Clone(recs.Amendments)
	sort.SliceStable(ams, func(i, j int) bool { return ams[i].Index < ams[j].Index })
	amendments := map[RuleKey][]record.RuleAmendment{}
	for _, p := range ams {
		a := p.Amendment
		for _, ch := range a.Changes {
			k := RuleKey{a.Constitution.ID + "@" + a.Constitution.Version, ch.RuleID}
			amendments[k] = append(amendments[k], record.RuleAmendment{AmendmentID: a.AmendmentID, Index: p.Index, RuleID: ch.RuleID, Op: ch.Op,
				Text: ch.Text, CommentUntil: a.CommentUntil, AdoptedBy: adopted[a.AmendmentID]})
		}
	}
	return challenges, amendments
}
