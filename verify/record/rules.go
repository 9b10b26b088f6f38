package record

import (
	"fmt"
	"slices"
)

// The names of the decision rules beyond the schema (DESIGN.md §4), as a
// Violation carries them.
const (
	// RuleConstitution: a decision MUST cite a constitution version
	// published (earlier) in the log.
	RuleConstitution = "constitution"
	// RuleRule: every rule a decision cites MUST exist in that version.
	RuleRule = "rule"
	// RuleRefusal: a refusal MUST cite at least one rule whose effect is
	// refuse.
	RuleRefusal = "refusal"
)

// Violation is one decision rule a decision breaks. Field is the failing
// field in the API's dotted form (constitution, rules.2.rule_id,
// outcome.action); Ref is the cited constitution as "id@version"; RuleID
// is set for RuleRule.
type Violation struct {
	Rule   string
	Field  string
	Ref    string
	RuleID string
}

// Message says what is wrong in the words of the API's 400 answers.
func (v Violation) Message() string {
	switch v.Rule {
	case RuleConstitution:
		return fmt.Sprintf("constitution %s is not published in this log; publish it first (POST /v1/constitutions)", v.Ref)
	case RuleRule:
		return fmt.Sprintf("rule %q does not exist in constitution %s", v.RuleID, v.Ref)
	default:
		return "a refusal must cite at least one rule whose effect is refuse"
	}
}

// Ref is the "id@version" a decision's constitution is known by.
func (c ConstitutionRef) Ref() string { return c.ID + "@" + c.Version }

// Ref is the "id@version" a constitution is known by.
func (c *Constitution) Ref() string { return c.ConstitutionID + "@" + c.Version }

// Published tells what the log holds of a constitution: ok is false when
// ref ("id@version") was not published; otherwise has reports whether a
// rule id exists in it.
type Published func(ref string) (has func(ruleID string) bool, ok bool)

// CheckDecision applies the decision rules beyond the JSON Schema to d,
// given the constitutions published before it, and returns every rule it
// breaks, in field order: the constitution first, then each cited rule
// that does not exist (only when the constitution is published), then the
// refusal rule. None when d keeps them all. The ledger refuses a decision
// with the first; a monitor reports each of a logged one.
func CheckDecision(d *Decision, published Published) []Violation {
	var out []Violation
	ref := d.Constitution.Ref()
	has, ok := published(ref)
	if !ok {
		out = append(out, Violation{Rule: RuleConstitution, Field: "constitution", Ref: ref})
	}
	refuses := false
	for i, r := range d.Rules {
		if ok && !has(r.RuleID) {
			out = append(out, Violation{Rule: RuleRule, Field: fmt.Sprintf("rules.%d.rule_id", i), Ref: ref, RuleID: r.RuleID})
		}
		refuses = refuses || r.Effect == "refuse"
	}
	if d.Outcome.Action == "refused" && !refuses {
		out = append(out, Violation{Rule: RuleRefusal, Field: "outcome.action", Ref: ref})
	}
	return out
}

// CheckPrivate applies the rules of a decision request's private section:
// each of request and response comes either as a commitment or as private
// content, not both, and the request is required. It returns the failing
// field and why, or "" when the request keeps them.
func CheckPrivate(d *Decision, p *DecisionPrivate) (field, msg string) {
	switch {
	case p != nil && p.Request != nil && d.Request != nil:
		return "request", "give either request.commitment or private.request, not both"
	case p != nil && p.Response != nil && d.Response != nil:
		return "response", "give either response.commitment or private.response, not both"
	case d.Request == nil && (p == nil || p.Request == nil):
		return "request", "is required (or private.request)"
	}
	return "", ""
}

// ChangeError says why a change of an amendment cannot be applied to the
// rules it amends: Change is its position in the amendment's changes.
type ChangeError struct {
	Change  int
	RuleID  string
	Message string
}

func (e *ChangeError) Error() string {
	return fmt.Sprintf("changes.%d (rule %s): %s", e.Change, e.RuleID, e.Message)
}

// ApplyChanges returns rules with changes applied in order, as a new
// slice (rules is not modified), or the first change that does not apply.
// What each op means for a constitution rule {rule_id, text, pillar}:
//
//   - add: a rule that does not exist yet, with text and pillar, appended;
//   - reword: an existing rule gets a new text (different from its
//     current one); pillar, if given, MUST be its current pillar;
//   - remove: an existing rule is dropped; text and pillar MUST be absent;
//   - change_effect: an existing rule protects another pillar (the value
//     it weighs for, which is what its effect on answers follows): pillar
//     is required and MUST differ from its current one; text, if given,
//     replaces its text too.
func ApplyChanges(rules []ConstitutionRule, changes []AmendmentChange) ([]ConstitutionRule, *ChangeError) {
	out := slices.Clone(rules)
	for i, c := range changes {
		fail := func(format string, a ...any) ([]ConstitutionRule, *ChangeError) {
			return nil, &ChangeError{Change: i, RuleID: c.RuleID, Message: fmt.Sprintf(format, a...)}
		}
		at := slices.IndexFunc(out, func(r ConstitutionRule) bool { return r.RuleID == c.RuleID })
		if c.Op != OpAdd && at < 0 {
			return fail("%s of a rule that does not exist", c.Op)
		}
		switch c.Op {
		case OpAdd:
			if at >= 0 {
				return fail("add of a rule that exists already")
			}
			if c.Text == "" || c.Pillar == "" {
				return fail("add needs text and pillar")
			}
			out = append(out, ConstitutionRule{RuleID: c.RuleID, Text: c.Text, Pillar: c.Pillar})
		case OpReword:
			switch {
			case c.Text == "" || c.Text == out[at].Text:
				return fail("reword needs a text different from the rule's current one")
			case c.Pillar != "" && c.Pillar != out[at].Pillar:
				return fail("reword keeps the pillar (%s, not %s); use change_effect to change it", out[at].Pillar, c.Pillar)
			}
			out[at].Text = c.Text
		case OpRemove:
			if c.Text != "" || c.Pillar != "" {
				return fail("remove takes neither text nor pillar")
			}
			out = slices.Delete(out, at, at+1)
		case OpChangeEffect:
			if c.Pillar == "" || c.Pillar == out[at].Pillar {
				return fail("change_effect needs a pillar different from the rule's current one (%s)", out[at].Pillar)
			}
			out[at].Pillar = c.Pillar
			if c.Text != "" {
				out[at].Text = c.Text
			}
		default:
			return fail("op %q is not one of %v", c.Op, AmendmentOps)
		}
	}
	return out, nil
}

// AdoptionMismatch says how a constitution version that adopts amendments
// differs from its superseded version with their changes applied: Field is
// the failing field of the new version ("adopts.1", "rules.3.text",
// "rules" for a rule it lacks), RuleID the first differing rule.
type AdoptionMismatch struct {
	Field   string
	RuleID  string
	Message string
}

func (m *AdoptionMismatch) Error() string { return m.Field + ": " + m.Message }

// CheckAdoption checks that next, which supersedes prev and adopts the
// amendments adopted (in the order of next.Adopts), has exactly prev's
// rules with the adopted changes applied, and that every adopted amendment
// amends prev. Rules are compared by rule id (their order carries no
// meaning): first each rule of next in its order, then each expected rule
// next lacks. It returns nil when they match. The ledger refuses a
// mismatch at append; a monitor flags a logged one.
func CheckAdoption(prev, next *Constitution, adopted []Amendment) *AdoptionMismatch {
	rules := prev.Rules
	for i, a := range adopted {
		field := fmt.Sprintf("adopts.%d", i)
		if a.Constitution.ID != prev.ConstitutionID || a.Constitution.Version != prev.Version {
			return &AdoptionMismatch{Field: field, Message: fmt.Sprintf("amendment %s amends %s, not the superseded version %s", a.AmendmentID, a.Constitution.Ref(), prev.Ref())}
		}
		var err *ChangeError
		if rules, err = ApplyChanges(rules, a.Changes); err != nil {
			return &AdoptionMismatch{Field: field, RuleID: err.RuleID, Message: fmt.Sprintf("amendment %s does not apply: %s", a.AmendmentID, err)}
		}
	}
	want := make(map[string]ConstitutionRule, len(rules))
	for _, r := range rules {
		want[r.RuleID] = r
	}
	applied := fmt.Sprintf("%s with the changes of %v", prev.Ref(), next.Adopts)
	got := make(map[string]bool, len(next.Rules))
	for i, r := range next.Rules {
		got[r.RuleID] = true
		w, ok := want[r.RuleID]
		switch {
		case !ok:
			return &AdoptionMismatch{Field: fmt.Sprintf("rules.%d.rule_id", i), RuleID: r.RuleID,
				Message: fmt.Sprintf("rule %s is not in %s", r.RuleID, applied)}
		case r.Text != w.Text:
			return &AdoptionMismatch{Field: fmt.Sprintf("rules.%d.text", i), RuleID: r.RuleID,
				Message: fmt.Sprintf("rule %s has text %q, but %s gives %q", r.RuleID, r.Text, applied, w.Text)}
		case r.Pillar != w.Pillar:
			return &AdoptionMismatch{Field: fmt.Sprintf("rules.%d.pillar", i), RuleID: r.RuleID,
				Message: fmt.Sprintf("rule %s has pillar %s, but %s gives %s", r.RuleID, r.Pillar, applied, w.Pillar)}
		}
	}
	for _, r := range rules {
		if !got[r.RuleID] {
			return &AdoptionMismatch{Field: "rules", RuleID: r.RuleID,
				Message: fmt.Sprintf("rule %s of %s is missing", r.RuleID, applied)}
		}
	}
	return nil
}
