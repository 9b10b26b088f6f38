package audit

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCanonicalRecordMatchesJCS holds the fast canonical encoder of records
// to the JCS library, on the examples and on random decisions with awkward
// numbers and strings.
func TestCanonicalRecordMatchesJCS(t *testing.T) {
	check := func(v any) {
		t.Helper()
		fast, err := canonicalRecord(v)
		if err != nil {
			t.Fatal(err)
		}
		slow, err := Canonical(v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fast, slow) {
			t.Fatalf("fast canonical form differs from JCS:\nfast: %s\njcs:  %s", fast, slow)
		}
	}
	var base DecisionRequest
	for _, req := range exampleDecisions(t) {
		check(req.Decision)
		check(req.Private)
		base = req
	}
	check(Decision{}) // nil slices and maps: null
	// The kinds of participatory constitutions, every field set.
	sup := "2026.11"
	check(Constitution{ConstitutionID: "c", Version: "2026.12", Supersedes: &sup, Adopts: []string{"am-1"}, Process: json.RawMessage(`{"b":1,"a":2}`),
		Rules: []ConstitutionRule{{RuleID: "H-12", Text: "é \u2028", Pillar: "harmlessness"}}})
	check(Challenge{ChallengeID: "ch", DueBy: "2026-12-01T00:00:00Z", Evidence: []Evidence{{Index: 3, LeafHash: []byte{1, 2}}},
		Grounds: Grounds{Category: "c", Commitment: "sha256:00"}, Rule: RuleRef{ConstitutionID: "c", Version: "v", RuleID: "r"},
		Standing: ChallengeStanding{Basis: "contest_token", Decision: &ContestedDecision{DecisionID: "d", Index: 1, LeafHash: []byte{3}}, Stakeholder: "s"}})
	check(ChallengeResponse{AmendmentID: "am", ChallengeID: "ch", HumanReviewed: true, Outcome: "accepted", Rationale: "<&>"})
	check(Amendment{AmendmentID: "am", Changes: []AmendmentChange{{Op: "change_effect", Pillar: "autonomy", RuleID: "r", Text: "t"}},
		CommentUntil: "2026-12-01T00:00:00Z", Constitution: ConstitutionRef{ID: "c", Version: "v"},
		MotivatedBy: []Motivation{{ID: "ch", Index: 2, Kind: KindChallenge}}, Rationale: "why"})
	check(&base.Decision)
	r := rand.New(rand.NewPCG(1, 2))
	nums := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 1e-7, 1e21, 1e-6, 123456789012345680000, 5e-324, math.MaxFloat64, 0.30000000000000004, 1.5e300, -2.5e-10}
	strs := []string{"plain", "\x1b\x1f\x7f", "bad \xff UTF-8", "<&>", "\u2028\u2029", "é", "😀", "\x01\b\f\n\r\t\"\\", "日本", "\ue000", "a/b"}
	for i := 0; i < 3000; i++ {
		d := base.Decision
		d.Weights = map[string]float64{}
		for j := 0; j < 1+r.IntN(4); j++ {
			n := nums[r.IntN(len(nums))]
			if r.IntN(2) == 0 {
				n = (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(40)-20))
			}
			key := []string{"a", "b", "z", "é", "😀", "\ue000", "A"}[r.IntN(7)] + strings.Repeat("x", r.IntN(3))
			d.Weights[key] = n
		}
		d.Outcome.Explanation = strs[r.IntN(len(strs))] + strs[r.IntN(len(strs))]
		d.DecisionID = strs[r.IntN(len(strs))]
		check(d)
	}
}

// TestResplicedDecision holds respliceDecisionJCS to a fresh write: for
// decisions sent with and without a contest and commitments, the logged
// form made from the sent one's bytes equals canonicalRecord of the logged
// decision, whatever the ledger filled in.
func TestResplicedDecision(t *testing.T) {
	var bases []Decision
	for _, req := range exampleDecisions(t) {
		bases = append(bases, req.Decision)
	}
	bases = append(bases, Decision{}) // nil slices and maps: null
	strs := []string{"", "plain", "bad \xff UTF-8", "\"\\\n", "😀", "\ue000", "sha256:" + strings.Repeat("ab", 32)}
	r := rand.New(rand.NewPCG(3, 4))
	commitment := func() *Commitment {
		if r.IntN(3) == 0 {
			return nil
		}
		return &Commitment{Commitment: strs[r.IntN(len(strs))]}
	}
	contest := func() *ContestStanding {
		if r.IntN(3) == 0 {
			return nil
		}
		return &ContestStanding{TokenSHA256: strs[r.IntN(len(strs))]}
	}
	checked := map[[3]bool]int{} // the logged decision's contest, request, response set
	for i := 0; i < 4000; i++ {
		sent := bases[r.IntN(len(bases))]
		sent.DecisionID = strs[r.IntN(len(strs))]
		sent.Contest, sent.Request, sent.Response = contest(), commitment(), commitment()
		var sp decisionSpans
		sentJCS, err := appendDecisionJCSSpans(nil, &sent, &sp)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := canonicalRecord(&sent); !bytes.Equal(sentJCS, want) {
			t.Fatalf("appendDecisionJCSSpans differs from canonicalRecord:\n got: %s\nwant: %s", sentJCS, want)
		}
		logged := sent
		if r.IntN(2) == 0 || logged.Contest == nil {
			logged.Contest = contest()
		}
		if r.IntN(2) == 0 {
			logged.Request, logged.Response = commitment(), commitment()
		}
		got := respliceDecisionJCS(sentJCS, &sp, &logged)
		want, err := canonicalRecord(&logged)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("respliced form differs from a fresh write:\nsent:      %s\nrespliced: %s\nwant:      %s", sentJCS, got, want)
		}
		checked[[3]bool{logged.Contest != nil, logged.Request != nil, logged.Response != nil}]++
	}
	if len(checked) != 8 {
		t.Fatalf("checked %d of the 8 combinations of contest, request and response: %v", len(checked), checked)
	}
}

// exampleDecisions reads the example decision requests of the schemas.
func exampleDecisions(t *testing.T) []DecisionRequest {
	t.Helper()
	files, _ := filepath.Glob("../schemas/examples/decision-*.json")
	if len(files) == 0 {
		t.Fatal("no example decisions found")
	}
	var out []DecisionRequest
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var req DecisionRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			t.Fatal(err)
		}
		out = append(out, req)
	}
	return out
}
