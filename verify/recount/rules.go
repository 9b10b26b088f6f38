package recount

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/fjaledger/fja/verify/calibration"
	"github.com/fjaledger/fja/verify/record"
)

// RulesFilter is the filter of GET /v1/rules: Filter's decision fields
// (Kind, Action and ContestStatus must be empty), the subject's Locale and
// the cited Constitution ("id@version").
type RulesFilter struct {
	Filter
	Locale, Constitution string
}

// Rules recounts a GET /v1/rules answer from the tiles: it reads every
// entry of the tree (constitutions, contests and resolutions count
// wherever they are logged up to the checkpoint), counts the decisions of
// the answer's scanned range that match f, makes the figures from those
// counts (calibration.Build, with the answer's min_n) and compares them
// with the answer's, rule by rule and group by group. The counts do not
// depend on the clock, so every figure MUST be equal, bit for bit.
func (a *Auditor) Rules(ctx context.Context, f RulesFilter, ans *record.RulesAnswer) (*Report, error) {
	want, rep, err := a.RulesAnswer(ctx, f, ans.Scanned, ans.MinN)
	if err != nil || !rep.OK() {
		return rep, err
	}
	compareRules(rep, want, ans)
	return rep, nil
}

// RulesAnswer recounts the figures of GET /v1/rules for f over scanned
// (the range of an answer) with minN, without comparing them to an answer.
func (a *Auditor) RulesAnswer(ctx context.Context, f RulesFilter, scanned Range, minN int) (*record.RulesAnswer, *Report, error) {
	if f.Kind != "" || f.Action != "" || f.ContestStatus != "" {
		return nil, nil, fmt.Errorf("recount: kind, action and contest_status are not filters of GET /v1/rules")
	}
	rep, err := a.checkRange(scanned)
	if err != nil || !rep.OK() {
		return nil, rep, err
	}
	c := newCounter()
	start := scanned.From
	if start > 0 {
		start--
	}
	// the constitutions logged before the range
	err = a.entries(ctx, 0, start, func(idx uint64, entry []byte) error {
		rep.Read++
		env, err := parseEnvelope(entry)
		if err != nil {
			rep.problem("entry", &idx, fmt.Sprintf("entry %d is not a record envelope: %v", idx, err))
			return nil
		}
		c.add(idx, env, false)
		return nil
	})
	if err != nil {
		return nil, rep, err
	}
	if err := a.scan(ctx, rep, f.Filter, scanned, a.Checkpoint.Size, c, nil); err != nil {
		return nil, rep, err
	}
	counts := calibration.NewCounts()
	for _, e := range c.inRange {
		if e.dec == nil || !f.matchEntry(e) {
			continue
		}
		d := e.dec
		if (f.Locale != "" && d.Subject.Locale != f.Locale) || (f.Constitution != "" && d.Constitution.ID+"@"+d.Constitution.Version != f.Constitution) {
			continue
		}
		rep.Matched++
		for _, by := range []struct{ name, value string }{{"jurisdiction", d.Subject.Jurisdiction}, {"locale", d.Subject.Locale}} {
			k := calibration.GroupKey{Category: d.Outcome.Category, By: by.name, Value: by.value}
			t := counts.Groups[k]
			t.Decisions++
			if d.Outcome.Action == "refused" {
				t.Refused++
			}
			counts.Groups[k] = t
		}
		contests := c.byDecision[d.DecisionID]
		for i, r := range d.Rules {
			if slices.ContainsFunc(d.Rules[:i], func(x record.AppliedRule) bool { return x.RuleID == r.RuleID }) {
				continue // a rule cited twice counts once
			}
			k := calibration.RuleKey{Constitution: d.Constitution.ID + "@" + d.Constitution.Version, RuleID: r.RuleID}
			rc := counts.Rules[k]
			rc.Cited++
			if slices.ContainsFunc(d.Rules, func(x record.AppliedRule) bool { return x.RuleID == r.RuleID && x.Effect == "refuse" }) {
				rc.Refusing++
				if len(contests) > 0 {
					rc.Contested++
				}
				for _, id := range contests {
					if k := c.contests[id]; k.resolved {
						rc.Resolved++
						if k.overturned {
							rc.Overturned++
						}
					}
				}
			}
			counts.Rules[k] = rc
		}
	}
	ans := calibration.Build(c.rules, counts, minN)
	ans.Scanned = scanned
	return &ans, rep, nil
}

// compareRules reports every rule, sensitivity group and version change
// whose figures differ between the recount (want) and the answer (got).
func compareRules(rep *Report, want, got *record.RulesAnswer) {
	js := func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	}
	type rk struct{ ref, rule string }
	served := map[rk]record.RuleView{}
	for _, c := range got.Constitutions {
		for _, r := range c.Rules {
			served[rk{c.ConstitutionID + "@" + c.Version, r.RuleID}] = r
		}
	}
	for _, c := range want.Constitutions {
		for _, r := range c.Rules {
			k := rk{c.ConstitutionID + "@" + c.Version, r.RuleID}
			s, ok := served[k]
			switch {
			case !ok:
				rep.problem("rule", nil, fmt.Sprintf("rule %s of %s is missing from the answer", k.rule, k.ref))
			case s.Calibration.Counts != r.Calibration.Counts:
				rep.problem("rule", nil, fmt.Sprintf("rule %s of %s: counts are %s, recount gives %s", k.rule, k.ref, js(s.Calibration.Counts), js(r.Calibration.Counts)))
			case js(s) != js(r):
				rep.problem("rule", nil, fmt.Sprintf("rule %s of %s: answered %s, recount gives %s", k.rule, k.ref, js(s), js(r)))
			}
			delete(served, k)
		}
	}
	for k := range served {
		rep.problem("rule", nil, fmt.Sprintf("rule %s of %s is in the answer but in no logged constitution", k.rule, k.ref))
	}
	if js(got.Sensitivity) != js(want.Sensitivity) {
		rep.problem("sensitivity", nil, fmt.Sprintf("sensitivity is %s, recount gives %s", js(got.Sensitivity), js(want.Sensitivity)))
	}
	if js(got.Changes) != js(want.Changes) {
		rep.problem("changes", nil, fmt.Sprintf("version changes are %s, recount gives %s", js(got.Changes), js(want.Changes)))
	}
	if js(got.Constitutions) != js(want.Constitutions) && rep.OK() {
		rep.problem("rule", nil, "the constitutions (order, versions, indices or texts) differ from the logged ones")
	}
}
