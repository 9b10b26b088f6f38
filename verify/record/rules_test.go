package record

import (
	"reflect"
	"testing"
)

func TestCheckDecision(t *testing.T) {
	published := func(ref string) (func(string) bool, bool) {
		if ref != "c@1" {
			return nil, false
		}
		return func(id string) bool { return id == "R-1" || id == "R-2" }, true
	}
	dec := func(ver, action string, rules ...AppliedRule) *Decision {
		return &Decision{Constitution: ConstitutionRef{ID: "c", Version: ver}, Outcome: Outcome{Action: action}, Rules: rules}
	}
	for _, c := range []struct {
		name string
		d    *Decision
		want []Violation
	}{
		{"ok", dec("1", "refused", AppliedRule{RuleID: "R-1", Effect: "refuse"}), nil},
		{"unpublished", dec("2", "answered", AppliedRule{RuleID: "X"}),
			[]Violation{{Rule: RuleConstitution, Field: "constitution", Ref: "c@2"}}},
		{"unknown rule and refusal", dec("1", "refused", AppliedRule{RuleID: "R-2", Effect: "warn"}, AppliedRule{RuleID: "X", Effect: "allow"}),
			[]Violation{{Rule: RuleRule, Field: "rules.1.rule_id", Ref: "c@1", RuleID: "X"}, {Rule: RuleRefusal, Field: "outcome.action", Ref: "c@1"}}},
	} {
		if got := CheckDecision(c.d, published); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestCheckPrivate(t *testing.T) {
	text := "x"
	com := &Commitment{Commitment: "sha256:00"}
	for _, c := range []struct {
		d     Decision
		p     *DecisionPrivate
		field string
	}{
		{Decision{Request: com}, nil, ""},
		{Decision{}, &DecisionPrivate{Request: &text}, ""},
		{Decision{}, nil, "request"},
		{Decision{Request: com}, &DecisionPrivate{Request: &text}, "request"},
		{Decision{Request: com, Response: com}, &DecisionPrivate{Response: &text}, "response"},
	} {
		if field, msg := CheckPrivate(&c.d, c.p); field != c.field || (field != "") != (msg != "") {
			t.Errorf("CheckPrivate(%+v, %+v) = %q, %q; want field %q", c.d, c.p, field, msg, c.field)
		}
	}
}
