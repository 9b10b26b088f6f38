package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/verify/calibration"
)

// TestAuditRulesRecount: on a real server holding two constitution
// versions and a few hundred mixed decisions, contests and resolutions,
// the calibration figures of GET /v1/rules equal, bit for bit, those
// recounted from the public tiles, for 16 filter combinations (rule,
// version, jurisdiction, locale, category, operator, flag, min_n, time
// window). The recount's own counts are checked against what the test
// logged, so that a recount agreeing with a wrong server cannot pass.
func TestAuditRulesRecount(t *testing.T) {
	s := apitest.New(t)
	seeded := s.SeedCalibration(13, 150)
	if seeded.Contests < 20 || seeded.Resolved < 10 {
		t.Fatalf("seeded %d contests, %d resolved: want a mix", seeded.Contests, seeded.Resolved)
	}
	c, err := client.New(client.Config{URL: s.URL, Token: s.Tokens[auth.Regulator], VerifierKey: s.VKey})
	if err != nil {
		t.Fatal(err)
	}
	ds := seeded.Decisions
	mid, late := ds[len(ds)/3].LoggedAt.Format(time.RFC3339Nano), ds[2*len(ds)/3].LoggedAt.Format(time.RFC3339Nano)
	filters := []client.RulesFilter{
		{},
		{Filter: client.Filter{Rule: "H-12"}},
		{Filter: client.Filter{Rule: "H-07"}},
		{Constitution: "fja-default@2026.11"},
		{Constitution: "fja-default@2026.12"},
		{Filter: client.Filter{Jurisdiction: "DE"}},
		{Filter: client.Filter{Jurisdiction: "KE"}, Locale: "sw-KE"},
		{Locale: "en-US"},
		{Filter: client.Filter{Category: "medical"}},
		{Filter: client.Filter{Category: "weapons", Rule: "H-07"}, Constitution: "fja-default@2026.12"},
		{Filter: client.Filter{From: mid}},
		{Filter: client.Filter{To: late}},
		{Filter: client.Filter{From: mid, To: late, Jurisdiction: "FR"}},
		{Filter: client.Filter{Rule: "H-12", Category: "self-harm", From: mid}, Constitution: "fja-default@2026.11"},
		{Filter: client.Filter{Operator: "example-ai", Model: "example-chat"}, MinN: 5},
		{Filter: client.Filter{Jurisdiction: "US-CA", Category: "medical"}, Locale: "es-US", MinN: 1},
	}
	ctx := context.Background()
	for i, f := range filters {
		a, err := c.AuditRules(ctx, f, client.AuditConfig{})
		if err != nil {
			t.Fatalf("filter %d %+v: %v", i, f, err)
		}
		if !a.Report.OK() {
			t.Errorf("filter %d %+v: the server's figures differ from the recount: %v", i, f, a.Report.Problems)
		}
		// The recount's counts against what was logged.
		ans, _, err := c.Rules(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		want := map[calibration.RuleKey]int{}
		matched := 0
		for _, d := range ds {
			if (f.To != "" && !d.LoggedAt.Before(parseTime(t, f.To))) || (f.From != "" && d.LoggedAt.Before(parseTime(t, f.From))) ||
				(f.Jurisdiction != "" && d.Jurisdiction != f.Jurisdiction) || (f.Locale != "" && d.Locale != f.Locale) ||
				(f.Category != "" && d.Category != f.Category) || (f.Constitution != "" && "fja-default@"+d.Version != f.Constitution) {
				continue
			}
			cited := "H-12"
			if d.Category == "weapons" {
				cited = "H-07"
			}
			if f.Rule != "" && f.Rule != cited && f.Rule != "A-03" {
				continue
			}
			matched++
			if d.Refused {
				want[calibration.RuleKey{Constitution: "fja-default@" + d.Version, RuleID: cited}]++
			}
		}
		if f.Rule == "" && a.Report.Matched != matched {
			t.Errorf("filter %d: the recount counted %d decisions, %d were logged matching it", i, a.Report.Matched, matched)
		}
		for _, k := range ans.Constitutions {
			for _, r := range k.Rules {
				if r.RuleID == "A-03" || r.RuleID == "J-01" {
					continue
				}
				if got := r.Calibration.Counts.Refusing; got != want[calibration.RuleKey{Constitution: k.ConstitutionID + "@" + k.Version, RuleID: r.RuleID}] {
					t.Errorf("filter %d: %s@%s refusing %d, logged %d", i, r.RuleID, k.Version, got, want[calibration.RuleKey{Constitution: k.ConstitutionID + "@" + k.Version, RuleID: r.RuleID}])
				}
			}
		}
	}
}

func parseTime(t *testing.T, s string) time.Time {
	x, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return x
}
