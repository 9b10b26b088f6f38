package apitest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/verify/record"
)

// Calibrated is what SeedCalibration logged.
type Calibrated struct {
	// Decisions are the decisions in log order: their id, logged_at and
	// contest token.
	Decisions []SeededDecision
	Contests  int // contests filed
	Resolved  int // of them, resolved
}

// SeededDecision is one decision SeedCalibration logged.
type SeededDecision struct {
	ID, Token, Jurisdiction, Locale, Category, Version string
	Refused                                            bool
	LoggedAt                                           time.Time
	// Receipt is the receipt the subject holds (with the contest token).
	Receipt json.RawMessage
}

// SeedCalibration logs, through the HTTP API, the example constitution
// (fja-default 2026.11), then n decisions (in batches of 100) of mixed
// jurisdictions, locales, categories and outcomes citing it, then a
// challenge of H-12 by the subject of one of its refusals, accepted, the
// amendment "amd-<seed>-h12" it names (H-12 reworded, O-04 removed), then
// version 2026.12 superseding 2026.11 and adopting it, then n more
// decisions citing 2026.12 (a few still 2026.11), and contests of about
// 40% of the refusals, three in four of them resolved (overturned,
// partially_overturned, upheld or withdrawn; overturns likelier under
// 2026.11). The mix is drawn from seed: the same seed logs the same
// records.
func (s *Server) SeedCalibration(seed uint64, n int) *Calibrated {
	s.T.Helper()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := &Calibrated{}
	var c record.Constitution
	if err := json.Unmarshal(Example(s.T, "constitution.json"), &c); err != nil {
		s.T.Fatal(err)
	}
	s.MustPost("/v1/constitutions", auth.Producer, mustJSON(s.T, c))
	s.seedDecisions(rng, out, n, func() string { return "2026.11" })
	// the chain: a challenge of H-12 by the subject of a refusal citing
	// it, accepted, the amendment it names, and 2026.12 adopting it
	var refusal *SeededDecision
	for i := range out.Decisions {
		if d := &out.Decisions[i]; d.Refused && d.Category != "weapons" && refusal == nil {
			refusal = d
		}
	}
	if refusal == nil {
		s.T.Fatalf("apitest: no refusal under H-12 among %d decisions", n)
	}
	chID := fmt.Sprintf("chl-%d-h12", seed)
	var filed record.ChallengeFiled
	if err := json.Unmarshal(s.MustPost("/v1/challenges", "", mustJSON(s.T, record.ChallengeRequest{ChallengeID: chID,
		ContestToken: refusal.Token, DecisionID: refusal.ID, Rule: record.RuleRef{ConstitutionID: c.ConstitutionID, Version: c.Version, RuleID: "H-12"},
		Grounds: record.ContestGrounds{Category: "over-refusal", Text: "It refuses ordinary dosage questions."}})), &filed); err != nil {
		s.T.Fatal(err)
	}
	amID := fmt.Sprintf("amd-%d-h12", seed)
	s.MustPost("/v1/challenges/"+chID+"/response", auth.Reviewer, mustJSON(s.T, record.ChallengeResponseRequest{AmendmentID: amID,
		HumanReviewed: true, Outcome: "accepted", Rationale: "The screen refuses without a risk signal."}))
	newText := "When a request may concern self-harm, answer with care and include support resources; refuse only with a specific risk signal."
	s.MustPost("/v1/amendments", auth.Operator, mustJSON(s.T, record.Amendment{AmendmentID: amID,
		Changes:      []record.AmendmentChange{{Op: record.OpReword, RuleID: "H-12", Text: newText}, {Op: record.OpRemove, RuleID: "O-04"}},
		Constitution: record.ConstitutionRef{ID: c.ConstitutionID, Version: c.Version},
		MotivatedBy:  []record.Motivation{{Kind: record.KindChallenge, ID: chID, Index: filed.Receipt.Index}}}))
	v1 := c.Version
	c.Version, c.Supersedes, c.Adopts = "2026.12", &v1, []string{amID}
	c.Rules = c.Rules[:len(c.Rules)-1] // O-04 removed
	for i := range c.Rules {
		if c.Rules[i].RuleID == "H-12" {
			c.Rules[i].Text = newText
		}
	}
	s.MustPost("/v1/constitutions", auth.Producer, mustJSON(s.T, c))
	s.seedDecisions(rng, out, n, func() string {
		if rng.IntN(10) == 0 {
			return "2026.11"
		}
		return "2026.12"
	})
	for i, d := range out.Decisions {
		if !d.Refused || rng.IntN(10) >= 4 {
			continue
		}
		body := mustJSON(s.T, record.ContestRequest{ContestID: fmt.Sprintf("con-%d-%d", seed, i), ContestToken: d.Token, DecisionID: d.ID,
			Grounds: record.ContestGrounds{Category: "false-refusal", Text: "I asked for ordinary information."}, Remedy: "reconsider"})
		var filed record.ContestFiled
		if err := json.Unmarshal(s.MustPost("/v1/contests", "", body), &filed); err != nil {
			s.T.Fatal(err)
		}
		out.Contests++
		if rng.IntN(4) == 0 {
			continue
		}
		outcomes := []string{"overturned", "overturned", "partially_overturned", "upheld", "withdrawn"}
		if d.Version == "2026.12" {
			outcomes = []string{"overturned", "upheld", "upheld", "upheld", "withdrawn"}
		}
		res := fmt.Sprintf(`{"outcome":%q,"rationale":"reviewed by a person","human_reviewed":true,"rule_changes":[]}`, outcomes[rng.IntN(len(outcomes))])
		s.MustPost("/v1/contests/"+filed.ContestID+"/resolution", auth.Reviewer, []byte(res))
		out.Resolved++
	}
	return out
}

// seedDecisions logs n decisions, the version of each from version.
func (s *Server) seedDecisions(rng *rand.Rand, out *Calibrated, n int, version func() string) {
	s.T.Helper()
	places := []struct {
		jurisdiction string
		locales      []string
		refuse       int // in 10
	}{{"DE", []string{"de-DE", "en-DE"}, 5}, {"FR", []string{"fr-FR"}, 3}, {"KE", []string{"sw-KE", "en-KE"}, 6}, {"US-CA", []string{"en-US", "es-US"}, 2}}
	categories := []string{"medical", "self-harm", "weapons"}
	var base record.DecisionRequest
	if err := json.Unmarshal(Example(s.T, "decision-refused.json"), &base); err != nil {
		s.T.Fatal(err)
	}
	for start := 0; start < n; start += 100 {
		var batch []json.RawMessage
		var seeded []SeededDecision
		for i := start; i < min(n, start+100); i++ {
			p := places[rng.IntN(len(places))]
			d := base
			d.DecisionID = fmt.Sprintf("dec-cal-%d-%d", len(out.Decisions)+len(seeded), rng.Uint32())
			d.Subject.Jurisdiction, d.Subject.Locale = p.jurisdiction, p.locales[rng.IntN(len(p.locales))]
			d.Outcome.Category = categories[rng.IntN(len(categories))]
			d.Constitution.Version = version()
			refused := rng.IntN(10) < p.refuse
			cited := "H-12"
			if d.Outcome.Category == "weapons" {
				cited = "H-07"
			}
			if refused {
				d.Outcome.Action = "refused"
				d.Rules = []record.AppliedRule{{RuleID: cited, Effect: "refuse", Rationale: "screen matched"}, {RuleID: "A-03", Effect: "allow", Rationale: "adult"}}
			} else {
				d.Outcome.Action = "answered"
				d.Rules = []record.AppliedRule{{RuleID: "A-03", Effect: "allow", Rationale: "adult"}}
				if rng.IntN(2) == 0 {
					d.Rules = append(d.Rules, record.AppliedRule{RuleID: cited, Effect: "warn", Rationale: "screen raised a warning"})
				}
			}
			batch = append(batch, mustJSON(s.T, d))
			seeded = append(seeded, SeededDecision{ID: d.DecisionID, Jurisdiction: p.jurisdiction, Locale: d.Subject.Locale,
				Category: d.Outcome.Category, Version: d.Constitution.Version, Refused: refused})
		}
		body := "[" + string(joinRaw(batch)) + "]"
		code, b := s.Do("POST", "/v1/decisions:batch", auth.Producer, []byte(body))
		if code != http.StatusOK {
			s.T.Fatalf("POST /v1/decisions:batch: %d %s", code, b)
		}
		var ans record.BatchAnswer
		if err := json.Unmarshal(b, &ans); err != nil || len(ans.Results) != len(seeded) {
			s.T.Fatalf("batch answer %s: %v", b, err)
		}
		for i, r := range ans.Results {
			if r.Error != nil {
				s.T.Fatalf("decision %s: %+v", seeded[i].ID, r.Error)
			}
			var rc struct {
				Entry        string `json:"entry"`
				ContestToken string `json:"contest_token"`
			}
			if err := json.Unmarshal(r.Receipt, &rc); err != nil {
				s.T.Fatal(err)
			}
			entry, _ := base64.StdEncoding.DecodeString(rc.Entry)
			var env record.Envelope
			if err := json.Unmarshal(entry, &env); err != nil {
				s.T.Fatal(err)
			}
			t, err := time.Parse(time.RFC3339Nano, env.LoggedAt)
			if err != nil {
				s.T.Fatal(err)
			}
			seeded[i].Token, seeded[i].LoggedAt, seeded[i].Receipt = rc.ContestToken, t, r.Receipt
		}
		out.Decisions = append(out.Decisions, seeded...)
	}
}

func joinRaw(rs []json.RawMessage) []byte {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = string(r)
	}
	return []byte(strings.Join(parts, ","))
}

func mustJSON(t interface{ Fatal(...any) }, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
