package api_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/fjaledger/fja/api"
	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/verify/record"
)

// TestRulesAnswer: GET /v1/rules lists every rule of both versions with
// its history (H-12 reworded, O-04 removed in 2026.12), figures whose
// counts add up to what was logged, the sensitivity of each category and
// the change of H-12's overturn rate; the answer matches the OpenAPI
// schema. It needs the regulator role unless aggregates are public.
func TestRulesAnswer(t *testing.T) {
	s := newServer(t)
	seeded := s.SeedCalibration(7, 120)
	check := openAPIValidator(t)
	code, b := s.do("GET", "/v1/rules", auth.Regulator, nil)
	if code != 200 {
		t.Fatalf("GET /v1/rules: %d %s", code, b)
	}
	check("RulesAnswer", b)
	var ans record.RulesAnswer
	if err := json.Unmarshal(b, &ans); err != nil {
		t.Fatal(err)
	}
	if len(ans.Constitutions) != 2 || ans.Constitutions[1].Supersedes != "2026.11" || ans.Scanned.To != s.Log.Head().Size || ans.MinN != 20 {
		t.Fatalf("constitutions %d, scanned %+v, min_n %d: want both versions over the whole log, min_n 20", len(ans.Constitutions), ans.Scanned, ans.MinN)
	}
	history := map[string]string{}
	refusing, cited := 0, 0
	for _, c := range ans.Constitutions {
		for _, r := range c.Rules {
			var steps []string
			for _, h := range r.History {
				steps = append(steps, h.Version+":"+h.Change)
			}
			history[c.Version+"/"+r.RuleID] = strings.Join(steps, ",")
			if r.RuleID == "H-12" || r.RuleID == "H-07" {
				refusing += r.Calibration.Counts.Refusing
			}
			if r.RuleID == "A-03" {
				cited += r.Calibration.Counts.Cited
			}
		}
	}
	for k, want := range map[string]string{
		"2026.12/H-12": "2026.11:added,2026.12:reworded",
		"2026.11/O-04": "2026.11:added,2026.12:removed",
		"2026.12/A-03": "2026.11:added,2026.12:unchanged",
	} {
		if history[k] != want {
			t.Errorf("history of %s is %q, want %q", k, history[k], want)
		}
	}
	wantRefused := 0
	for _, d := range seeded.Decisions {
		if d.Refused {
			wantRefused++
		}
	}
	if refusing != wantRefused || cited != len(seeded.Decisions) {
		t.Errorf("refusing decisions under H-07 and H-12: %d, A-03 cited %d; logged %d refusals of %d decisions", refusing, cited, wantRefused, len(seeded.Decisions))
	}
	var change *record.VersionChange
	for i, c := range ans.Changes {
		if c.RuleID == "H-12" {
			change = &ans.Changes[i]
		}
	}
	if change == nil || change.From != "2026.11" || change.To != "2026.12" || !(change.Lo <= change.Difference && change.Difference <= change.Hi) ||
		len(change.Adopts) != 1 || change.Adopts[0] != "amd-7-h12" {
		t.Errorf("H-12 change %+v, want 2026.11 → 2026.12 adopting amd-7-h12, with its difference inside its interval", change)
	}
	// the chain behind 2026.12: H-12 of 2026.11 was challenged, the
	// challenge accepted, and the amendment it named adopted
	h12 := ans.Constitutions[0].Rules[1]
	if len(h12.Challenges) != 1 || h12.Challenges[0].ChallengeID != "chl-7-h12" || h12.Challenges[0].Status != "answered" ||
		h12.Challenges[0].Outcome != "accepted" || h12.Challenges[0].AmendmentID != "amd-7-h12" || h12.Challenges[0].DueBy == "" {
		t.Errorf("H-12 of 2026.11 challenges %+v, want chl-7-h12 answered, accepted, amd-7-h12", h12.Challenges)
	}
	if len(h12.Amendments) != 1 || h12.Amendments[0].Op != "reword" || h12.Amendments[0].AdoptedBy != "2026.12" {
		t.Errorf("H-12 of 2026.11 amendments %+v, want amd-7-h12 rewording it, adopted by 2026.12", h12.Amendments)
	}
	if o4 := ans.Constitutions[0].Rules[5]; o4.RuleID != "O-04" || len(o4.Amendments) != 1 || o4.Amendments[0].Op != "remove" {
		t.Errorf("O-04 of 2026.11: %+v, want removed by amd-7-h12", o4)
	}
	if a := ans.Constitutions[1].Adopts; len(a) != 1 || a[0] != "amd-7-h12" {
		t.Errorf("2026.12 adopts %v, want amd-7-h12", a)
	}
	if len(ans.Sensitivity) != 6 {
		t.Errorf("sensitivity of %d (category, dimension) pairs, want 3 categories × 2", len(ans.Sensitivity))
	}

	// min_n leaves small groups out of the ratio
	code, b = s.do("GET", "/v1/rules?min_n=1000", auth.Regulator, nil)
	if code != 200 {
		t.Fatalf("min_n=1000: %d %s", code, b)
	}
	var big record.RulesAnswer
	json.Unmarshal(b, &big)
	for _, x := range big.Sensitivity {
		if x.Ratio != nil || x.Max != "" {
			t.Errorf("min_n=1000: %s/%s has a ratio (max %q), want none (no group has 1000 decisions)", x.Category, x.By, x.Max)
		}
	}

	// access
	if code, b := s.do("GET", "/v1/rules", "", nil); code != 401 {
		t.Errorf("GET /v1/rules without a token: %d %s, want 401", code, b)
	}
	if code, b := s.do("GET", "/v1/rules", auth.Producer, nil); code != 403 {
		t.Errorf("GET /v1/rules as producer: %d %s, want 403", code, b)
	}
}

// TestRulesPublic: with PublicStats (ledgerd --public-stats) anyone reads
// GET /v1/rules.
func TestRulesPublic(t *testing.T) {
	s := newServer(t, apitest.WithAPI(func(c *api.Config) { c.PublicStats = true }))
	s.MustPost("/v1/constitutions", auth.Producer, apitest.Example(t, "constitution.json"))
	code, b := s.do("GET", "/v1/rules", "", nil)
	if code != 200 || !strings.Contains(string(b), `"rule_id":"H-12"`) {
		t.Fatalf("public GET /v1/rules: %d %s", code, b)
	}
}

// TestRulesBadParams: every malformed parameter is a 400 naming it, before
// any index is read.
func TestRulesBadParams(t *testing.T) {
	s := newServer(t)
	for _, c := range []struct{ query, field string }{
		{"locale=de_DE!", "locale"},
		{"constitution=fja-default", "constitution"},
		{"min_n=0", "min_n"},
		{"min_n=x", "min_n"},
		{"action=refused", "action"},
		{"contest_status=open", "contest_status"},
		{"group_by=rule", "group_by"},
		{"jurisdiction=de", "jurisdiction"},
		{"from=yesterday", "from"},
		{"rule=" + url.QueryEscape("H 12"), "rule"},
		{"locale=de-DE&locale=fr-FR", "locale"},
	} {
		code, b := s.do("GET", "/v1/rules?"+c.query, auth.Regulator, nil)
		var e struct {
			Error record.ErrorBody `json:"error"`
		}
		json.Unmarshal(b, &e)
		if code != 400 || e.Error.Field != c.field || e.Error.Message == "" {
			t.Errorf("GET /v1/rules?%s: %d %s, want 400 naming field %s", c.query, code, b, c.field)
		}
	}
}
