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
	files, _ := filepath.Glob("../schemas/examples/decision-*.json")
	if len(files) == 0 {
		t.Fatal("no example decisions found")
	}
	var base DecisionRequest
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var req DecisionRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			t.Fatal(err)
		}
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
