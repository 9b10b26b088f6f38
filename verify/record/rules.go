package record

import "fmt"

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
