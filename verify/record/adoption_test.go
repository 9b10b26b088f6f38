package record

import "testing"

func TestApplyChangesAndCheckAdoption(t *testing.T) {
	prev := &Constitution{ConstitutionID: "c", Version: "1", Rules: []ConstitutionRule{
		{RuleID: "H-12", Text: "old", Pillar: "harmlessness"}, {RuleID: "F-02", Text: "f", Pillar: "flourishing"}, {RuleID: "J-01", Text: "j", Pillar: "justice"}}}
	am := Amendment{AmendmentID: "am-1", Constitution: ConstitutionRef{ID: "c", Version: "1"}, Changes: []AmendmentChange{
		{Op: OpReword, RuleID: "H-12", Text: "new"}, {Op: OpRemove, RuleID: "F-02"},
		{Op: OpChangeEffect, RuleID: "J-01", Pillar: "autonomy"}, {Op: OpAdd, RuleID: "A-09", Text: "a", Pillar: "autonomy"}}}
	good := []ConstitutionRule{{RuleID: "A-09", Text: "a", Pillar: "autonomy"}, {RuleID: "J-01", Text: "j", Pillar: "autonomy"}, {RuleID: "H-12", Text: "new", Pillar: "harmlessness"}}
	next := &Constitution{ConstitutionID: "c", Version: "2", Rules: good, Adopts: []string{"am-1"}}
	if m := CheckAdoption(prev, next, []Amendment{am}); m != nil {
		t.Fatalf("matching version: %v", m)
	}
	for _, tc := range []struct {
		name  string
		edit  func(r []ConstitutionRule) []ConstitutionRule
		field string
	}{
		{"old text kept", func(r []ConstitutionRule) []ConstitutionRule { r[2].Text = "old"; return r }, "rules.2.text"},
		{"pillar not changed", func(r []ConstitutionRule) []ConstitutionRule { r[1].Pillar = "justice"; return r }, "rules.1.pillar"},
		{"removed rule kept", func(r []ConstitutionRule) []ConstitutionRule {
			return append(r, ConstitutionRule{RuleID: "F-02", Text: "f", Pillar: "flourishing"})
		}, "rules.3.rule_id"},
		{"added rule missing", func(r []ConstitutionRule) []ConstitutionRule { return r[1:] }, "rules"},
	} {
		bad := *next
		bad.Rules = tc.edit(append([]ConstitutionRule(nil), good...))
		if m := CheckAdoption(prev, &bad, []Amendment{am}); m == nil || m.Field != tc.field {
			t.Errorf("%s: got %v, want a mismatch at %s", tc.name, m, tc.field)
		}
	}
	other := am
	other.Constitution.Version = "0"
	if m := CheckAdoption(prev, next, []Amendment{other}); m == nil || m.Field != "adopts.0" {
		t.Errorf("amendment of another version: %v", m)
	}
	for _, c := range []AmendmentChange{
		{Op: OpAdd, RuleID: "H-12", Text: "x", Pillar: "honesty"}, {Op: OpReword, RuleID: "H-12", Text: "old"},
		{Op: OpReword, RuleID: "H-12", Text: "x", Pillar: "honesty"}, {Op: OpRemove, RuleID: "H-12", Text: "x"},
		{Op: OpChangeEffect, RuleID: "H-12", Pillar: "harmlessness"}, {Op: OpRemove, RuleID: "Z-1"},
	} {
		if _, err := ApplyChanges(prev.Rules, []AmendmentChange{c}); err == nil {
			t.Errorf("change %+v applied", c)
		}
	}
	if prev.Rules[0].Text != "old" || len(prev.Rules) != 3 {
		t.Fatalf("ApplyChanges modified its input: %+v", prev.Rules)
	}
}
