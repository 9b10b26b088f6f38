package audit_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/verify/calibration"
)

// TestRulesCounts: Rules counts, from the summaries and contest facts,
// the decisions citing each rule and those refusing under it, and each
// category's decisions and refusals per jurisdiction and locale, as the
// fixture logged them; filters narrow the counts; more groups than the
// cap is ErrTooManyGroups; action and contest_status are refused naming
// themselves.
func TestRulesCounts(t *testing.T) {
	fx := newStreamFixture(t, 300)
	ctx := context.Background()
	res, err := fx.book.Rules(ctx, audit.RulesFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if res.From != 0 || res.To != fx.size || len(res.Records.Constitutions) != 1 {
		t.Fatalf("range [%d, %d), %d constitutions: want [0, %d) and the example's", res.From, res.To, len(res.Records.Constitutions), fx.size)
	}
	cited := map[string]int{}
	refused := map[[2]string]int{}
	decisions := map[[2]string]int{}
	for _, d := range fx.decs {
		for _, r := range d["rule"] {
			cited[r]++
		}
		k := [2]string{d["category"][0], d["jurisdiction"][0]}
		decisions[k]++
		if d["action"][0] == "refused" {
			refused[k]++
		}
	}
	for _, rule := range []string{"H-12", "A-03"} {
		got := res.Counts.Rules[calibration.RuleKey{Constitution: "fja-default@2026.11", RuleID: rule}]
		want := cited[rule]
		wantRefusing := 0
		if rule == "H-12" {
			wantRefusing = want // the example cites H-12 with effect refuse
		}
		if got.Cited != want || got.Refusing != wantRefusing || got.Contested != 0 {
			t.Errorf("%s: %+v, want cited %d, refusing %d", rule, got, want, wantRefusing)
		}
	}
	for k, n := range decisions {
		got := res.Counts.Groups[calibration.GroupKey{Category: k[0], By: "jurisdiction", Value: k[1]}]
		if got.Decisions != n || got.Refused != refused[k] {
			t.Errorf("%s in %s: %+v, want %d decisions, %d refused", k[0], k[1], got, n, refused[k])
		}
	}
	if loc := res.Counts.Groups[calibration.GroupKey{Category: "medical", By: "locale", Value: "de-DE"}]; loc.Decisions == 0 {
		t.Errorf("medical in de-DE: %+v, want the example's locale counted", loc)
	}

	// filters
	res, err = fx.book.Rules(ctx, audit.RulesFilter{Filter: audit.Filter{Jurisdiction: "FR"}, Locale: "de-DE", Constitution: "fja-default@2026.11"})
	if err != nil {
		t.Fatal(err)
	}
	frDecisions := 0
	for k, n := range decisions {
		if k[1] == "FR" {
			frDecisions += n
		}
	}
	if got := res.Counts.Rules[calibration.RuleKey{Constitution: "fja-default@2026.11", RuleID: "A-03"}].Cited; got != frDecisions || frDecisions == 0 {
		t.Errorf("FR, de-DE: A-03 cited by %d, want the %d decisions of FR (all de-DE)", got, frDecisions)
	}
	if res, err := fx.book.Rules(ctx, audit.RulesFilter{Locale: "sw-KE"}); err != nil || len(res.Counts.Rules) != 0 {
		t.Errorf("sw-KE: %v %v, want nothing counted", err, res.Counts.Rules)
	}

	for _, f := range []audit.RulesFilter{{Filter: audit.Filter{Action: "refused"}}, {Filter: audit.Filter{ContestStatus: "open"}}} {
		var ve *audit.ValidationError
		_, err := fx.book.Rules(ctx, f)
		if !errors.As(err, &ve) || !slices.Contains([]string{"action", "contest_status"}, ve.Field) || (f.Action != "") != (ve.Field == "action") {
			t.Errorf("Rules(%+v): %v, want a ValidationError naming the filter", f, err)
		}
	}
	restore := audit.SetSmallLimits(64, 4096, 3)
	defer restore()
	if _, err := fx.book.Rules(ctx, audit.RulesFilter{}); !errors.Is(err, audit.ErrTooManyGroups) {
		t.Errorf("Rules over a cap of 3 groups: %v, want ErrTooManyGroups", err)
	}
}
