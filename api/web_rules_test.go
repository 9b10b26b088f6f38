package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fjaledger/fja/api"
	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/verify/record"
)

// TestWebRulesView drives the public rules view in headless Chromium on a
// real server with aggregates public (--public-stats), holding two
// constitution versions, a few hundred decisions, contests, resolutions,
// an open challenge and an amendment: it shows each rule of each version
// with its text, history, figures and their intervals as SVG charts, the
// challenge and the amendment with their deadlines, the sensitivity
// ratios and the version change, at desktop width and at 360 px without
// horizontal overflow; then a person files a challenge from the form with
// the contest token of a decision that cited the rule, and the server has
// it. Screenshots are saved as test artifacts.
func TestWebRulesView(t *testing.T) {
	apitest.RequireChromium(t)
	s := newServer(t, apitest.WithAPI(func(c *api.Config) { c.PublicStats = true }))
	seeded := s.SeedCalibration(21, 150)
	var under12 []apitest.SeededDecision // refusals citing H-12 of 2026.12
	for _, d := range seeded.Decisions {
		if d.Refused && d.Version == "2026.12" && d.Category != "weapons" {
			under12 = append(under12, d)
		}
	}
	if len(under12) < 3 {
		t.Fatalf("%d refusals under H-12 of 2026.12: want a few", len(under12))
	}
	// an open challenge of H-12 (2026.12) and an amendment motivated by it
	ch := mustJSON(t, record.ChallengeRequest{ChallengeID: "chl-seeded-1", ContestToken: under12[0].Token, DecisionID: under12[0].ID,
		Grounds: record.ContestGrounds{Category: "over-refusal", Text: "It refuses ordinary dosage questions."},
		Rule:    record.RuleRef{ConstitutionID: "fja-default", Version: "2026.12", RuleID: "H-12"}})
	var filed record.ChallengeFiled
	json.Unmarshal(s.MustPost("/v1/challenges", "", ch), &filed)
	code, b := s.do("GET", "/v1/challenges/chl-seeded-1", auth.Regulator, nil)
	if code != http.StatusOK {
		t.Fatalf("GET /v1/challenges/chl-seeded-1: %d %s", code, b)
	}
	var view record.ChallengeView
	json.Unmarshal(b, &view)
	until := time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)
	am := fmt.Sprintf(`{"amendment_id":"amd-h12-1","constitution":{"id":"fja-default","version":"2026.12"},
		"changes":[{"op":"reword","rule_id":"H-12","text":"Answer dosage questions with care; refuse only with a specific risk signal."}],
		"motivated_by":[{"kind":"challenge","id":"chl-seeded-1","index":%d}],"comment_until":%q}`, view.Challenge.Index, until)
	s.MustPost("/v1/amendments", auth.Operator, []byte(am))

	br := apitest.NewBrowser(t, 1280, 900)
	br.Do(chromedp.Navigate(s.url + "/#rules"))
	br.Poll(`document.querySelectorAll('#rules-out article.rule').length > 0`)
	if got := br.Eval(`String(document.querySelectorAll('#rules-out article.rule').length)`); got != "11" {
		t.Errorf("%s rules shown, want 11 (6 of 2026.11, 5 of 2026.12)", got)
	}
	out := br.Text("#rules-out")
	for _, want := range []string{
		"fja-default 2026.12", "fja-default 2026.11", "Replaces version 2026.11",
		"refuse only with a specific risk signal", // H-12's new text
		"Led to a refusal", "Refusals contested", "Found wrong on review", "95% interval",
		"Challenge chl-seeded-1 (over-refusal)", "open", "answer due by",
		"Amendment amd-h12-1 rewords it", "open for comments until",
		"Challenge chl-21-h12 (over-refusal)", "accepted, to be changed by amendment amd-21-h12",
		"Amendment amd-21-h12 rewords it", "adopted in version 2026.12", "Adopts amendments amd-21-h12",
		"What changed between versions", "H-12 found wrong on review", "under 2026.11", "under 2026.12",
		"Refusals across places and languages", "medical, by jurisdiction", "times as often in",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rules view lacks %q", want)
		}
	}
	// history: open H-12 of 2026.12's history
	br.Do(chromedp.Click(chromedp.CSS(`#rule-fja-default-2026\.12-H-12 details summary`)))
	if got := br.Text(`#rule-fja-default-2026\.12-H-12 ol.history`); !strings.Contains(got, "2026.11 added") || !strings.Contains(got, "2026.12 reworded") {
		t.Errorf("H-12 history %q, want added then reworded", got)
	}
	// the figures are the server's: H-12 of 2026.11's refusal figure in words and chart
	var ans record.RulesAnswer
	_, b = s.do("GET", "/v1/rules", "", nil)
	if err := json.Unmarshal(b, &ans); err != nil {
		t.Fatal(err)
	}
	h12 := ans.Constitutions[0].Rules[1]
	if h12.RuleID != "H-12" || h12.Calibration.Refusal.N == 0 {
		t.Fatalf("answer's H-12 of 2026.11: %+v", h12)
	}
	r := h12.Calibration.Refusal
	wantText := fmt.Sprintf("%d of %d (", r.K, r.N)
	if got := br.Text(`#rule-fja-default-2026\.11-H-12 .figures`); !strings.Contains(got, wantText) {
		t.Errorf("H-12 of 2026.11 figures %q lack %q", got, wantText)
	}
	// the chart's interval band spans [lo, hi] of the answer (x in percent)
	var band struct{ X, W float64 }
	br.EvalJSON(`(() => { const r = document.querySelector('#rule-fja-default-2026\\.11-H-12 svg.chart .chart-ci');
		return {X: +r.getAttribute('x'), W: +r.getAttribute('width')}; })()`, &band)
	if d := band.X - 100*r.Lo; d > 1e-9 || d < -1e-9 || band.W-100*(r.Hi-r.Lo) > 1e-9 || band.W-100*(r.Hi-r.Lo) < -1e-9 {
		t.Errorf("interval band x=%g w=%g, want x=%g w=%g", band.X, band.W, 100*r.Lo, 100*(r.Hi-r.Lo))
	}
	if n := br.Eval(`String(document.querySelectorAll('#rules-out svg.chart').length)`); n == "0" {
		t.Error("no charts drawn")
	}
	br.Screenshot("rules-1-desktop.png")

	// 360 px: no horizontal overflow
	br.Do(chromedp.EmulateViewport(360, 800, chromedp.EmulateMobile, chromedp.EmulatePortrait))
	br.Poll(`document.documentElement.clientWidth === 360`)
	if w := br.Eval(`String(document.documentElement.scrollWidth)`); w != "360" {
		t.Errorf("at 360px the page is %spx wide", w)
	}
	if over := br.Eval(`String([...document.querySelectorAll('#rules-out *')].filter(e => e.getBoundingClientRect().right > 360.5).length)`); over != "0" {
		t.Errorf("at 360px %s elements of the rules view reach past the right edge", over)
	}
	br.Do(chromedp.ScrollIntoView(chromedp.CSS(`#rule-fja-default-2026\.12-H-12`)))
	br.Screenshot("rules-2-360px.png")

	// file a challenge from the form, as the subject of a decision citing
	// H-12: the receipt checked on the page fills in the standing and the
	// rule that refused
	d := under12[1]
	br.Poll(`document.getElementById('verifier-state').textContent.includes('Verifier ready') && document.getElementById('vkey').value !== ''`)
	checkReceipt(br, d.Receipt, "#verdict .banner.ok")
	br.Do(chromedp.Click(chromedp.CSS("#rules-btn")))
	br.Poll(`document.getElementById('challenge-prefill').textContent !== ''`)
	if got := br.Eval(`document.getElementById('challenge-rule').selectedOptions[0].textContent`); !strings.Contains(got, "2026.12 · H-12") {
		t.Errorf("selected rule %q, want the receipt's refusing rule H-12 of 2026.12", got)
	}
	if got, tok := br.Value("#challenge-decision"), br.Value("#challenge-token"); got != d.ID || tok != d.Token {
		t.Errorf("standing filled in as %q / %q, want the receipt's %q and its contest token", got, tok, d.ID)
	}
	br.Do(chromedp.SetValue(chromedp.CSS("#challenge-category"), "over-refusal"))
	br.Do(chromedp.SendKeys(chromedp.CSS("#challenge-text"), "Dosage questions from adults are refused without any risk signal."))
	br.Do(chromedp.Click(chromedp.CSS("#challenge-btn")))
	br.Poll(`document.getElementById('challenge-id-out') || document.querySelector('#challenge-result .banner.bad')`)
	res := br.Text("#challenge-result")
	if !strings.Contains(res, "Your challenge is filed") || !strings.Contains(res, "Answer due by") {
		t.Fatalf("challenge not filed:\n%s", res)
	}
	if got := br.Text("#challenge-receipt-verdict"); !strings.Contains(got, "\u2714 verified") {
		t.Errorf("challenge receipt: %q, want verified in the browser", got)
	}
	id := br.Text("#challenge-id-out")
	if w := br.Eval(`String(document.documentElement.scrollWidth)`); w != "360" {
		t.Errorf("after filing, at 360px the page is %spx wide", w)
	}
	br.Do(chromedp.ScrollIntoView(chromedp.CSS("#challenge-result")))
	br.Screenshot("rules-3-challenge-filed-360px.png")
	code, b = s.do("GET", "/v1/challenges/"+id, auth.Regulator, nil)
	if code != http.StatusOK || !strings.Contains(string(b), `"rule_id":"H-12"`) || !strings.Contains(string(b), `"status":"open"`) {
		t.Fatalf("GET /v1/challenges/%s: %d %s", id, code, b)
	}
	// the view lists it after a reload of the figures
	br.Do(chromedp.Click(chromedp.CSS("#rules-btn")))
	br.Poll(fmt.Sprintf(`document.getElementById('rules-out').textContent.includes(%q)`, id))
	br.NoConsoleErrors()
}
