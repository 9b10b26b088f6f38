package calibration

import (
	"math"
	"math/big"
	"testing"

	"github.com/fjaledger/fja/verify/record"
)

// wilsonRef is the textbook form of the Wilson interval (Wilson 1927;
// Agresti and Coull 1998), in 256-bit big.Float arithmetic, written apart
// from Wilson's rearranged form:
//
//	(p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n)
func wilsonRef(k, n int) (lo, hi float64) {
	const prec = 256
	f := func(x float64) *big.Float { return new(big.Float).SetPrec(prec).SetFloat64(x) }
	z, _ := new(big.Float).SetPrec(prec).SetString("1.959963984540054")
	bn := f(float64(n))
	p := new(big.Float).SetPrec(prec).Quo(f(float64(k)), bn)
	z2 := new(big.Float).SetPrec(prec).Mul(z, z)
	z2n := new(big.Float).SetPrec(prec).Quo(z2, bn)                     // z²/n
	q := new(big.Float).SetPrec(prec).Sub(f(1), p)                      // 1−p̂
	v := new(big.Float).SetPrec(prec).Quo(new(big.Float).Mul(p, q), bn) // p̂(1−p̂)/n
	v.Add(v, new(big.Float).SetPrec(prec).Quo(z2n, new(big.Float).Mul(f(4), bn)))
	root := new(big.Float).SetPrec(prec).Sqrt(v)
	root.Mul(root, z)
	mid := new(big.Float).SetPrec(prec).Add(p, new(big.Float).Quo(z2n, f(2)))
	den := new(big.Float).SetPrec(prec).Add(f(1), z2n)
	l := new(big.Float).SetPrec(prec).Quo(new(big.Float).Sub(mid, root), den)
	h := new(big.Float).SetPrec(prec).Quo(new(big.Float).Add(mid, root), den)
	lo, _ = l.Float64()
	hi, _ = h.Float64()
	return max(lo, 0), min(hi, 1)
}

// TestWilsonReference: for every k of every n up to 60, and for large n,
// Wilson agrees with the textbook formula computed in 256-bit arithmetic
// to within 1e-12.
func TestWilsonReference(t *testing.T) {
	check := func(k, n int) {
		lo, hi := Wilson(k, n)
		rlo, rhi := wilsonRef(k, n)
		if math.Abs(lo-rlo) > 1e-12 || math.Abs(hi-rhi) > 1e-12 {
			t.Errorf("Wilson(%d, %d) = [%.15f, %.15f], reference [%.15f, %.15f]", k, n, lo, hi, rlo, rhi)
		}
		if !(lo <= float64(k)/float64(n) && float64(k)/float64(n) <= hi) {
			t.Errorf("Wilson(%d, %d) = [%g, %g] does not hold the rate %g", k, n, lo, hi, float64(k)/float64(n))
		}
	}
	for n := 1; n <= 60; n++ {
		for k := 0; k <= n; k++ {
			check(k, n)
		}
	}
	for _, kn := range [][2]int{{0, 100000}, {1, 100000}, {49999, 100000}, {99999, 100000}, {123456, 1000003}} {
		check(kn[0], kn[1])
	}
}

// TestWilsonPublished: the Wilson (score) intervals that Newcombe (1998),
// "Two-sided confidence intervals for the single proportion", Statistics
// in Medicine 17:857–872, Table II (method 3) publishes, to 4 decimals.
func TestWilsonPublished(t *testing.T) {
	for _, c := range []struct {
		k, n   int
		lo, hi float64
	}{
		{81, 263, 0.2553, 0.3662},
		{15, 148, 0.0624, 0.1605},
		{0, 20, 0.0000, 0.1611},
		{1, 29, 0.0061, 0.1718},
	} {
		lo, hi := Wilson(c.k, c.n)
		if math.Abs(lo-c.lo) > 0.00005 || math.Abs(hi-c.hi) > 0.00005 {
			t.Errorf("Wilson(%d, %d) = [%.4f, %.4f], published [%.4f, %.4f]", c.k, c.n, lo, hi, c.lo, c.hi)
		}
	}
}

// TestWilsonEdges: n = 0 is [0, 1] with rate 0; k = 0 starts at 0 and
// k = n ends at 1; out-of-range k is clamped.
func TestWilsonEdges(t *testing.T) {
	if lo, hi := Wilson(0, 0); lo != 0 || hi != 1 {
		t.Errorf("Wilson(0, 0) = [%g, %g], want [0, 1]", lo, hi)
	}
	if r := NewRate(0, 0); r.Rate != 0 || r.Lo != 0 || r.Hi != 1 {
		t.Errorf("NewRate(0, 0) = %+v, want rate 0 in [0, 1]", r)
	}
	if lo, _ := Wilson(0, 7); lo != 0 {
		t.Errorf("Wilson(0, 7) starts at %g, want 0", lo)
	}
	if _, hi := Wilson(7, 7); hi != 1 {
		t.Errorf("Wilson(7, 7) ends at %g, want 1", hi)
	}
	lo1, hi1 := Wilson(9, 7)
	lo2, hi2 := Wilson(7, 7)
	if lo1 != lo2 || hi1 != hi2 {
		t.Errorf("Wilson(9, 7) = [%g, %g], want Wilson(7, 7) = [%g, %g]", lo1, hi1, lo2, hi2)
	}
}

// TestDifferencePublished: Newcombe's hybrid score interval for a
// difference of independent proportions, as Newcombe (1998), "Interval
// estimation for the difference between independent proportions",
// Statistics in Medicine 17:873–890, Table II (method 10) publishes it.
func TestDifferencePublished(t *testing.T) {
	for _, c := range []struct {
		k1, n1, k2, n2 int // difference k1/n1 − k2/n2, as the paper writes it
		lo, hi         float64
	}{
		{56, 70, 48, 80, 0.0524, 0.3339},
		{9, 10, 3, 10, 0.1705, 0.8090},
		{6, 7, 2, 7, 0.0582, 0.8062},
		{5, 56, 0, 29, -0.0381, 0.1926},
		{0, 10, 0, 20, -0.1611, 0.2775},
		{0, 10, 0, 10, -0.2775, 0.2775},
		{10, 10, 0, 20, 0.6791, 1.0000},
	} {
		// Difference is after − before: after = k1/n1, before = k2/n2.
		d, lo, hi := Difference(NewRate(c.k2, c.n2), NewRate(c.k1, c.n1))
		want := float64(c.k1)/float64(c.n1) - float64(c.k2)/float64(c.n2)
		if math.Abs(d-want) > 1e-15 || math.Abs(lo-c.lo) > 0.00005 || math.Abs(hi-c.hi) > 0.00005 {
			t.Errorf("%d/%d − %d/%d = %.4f [%.4f, %.4f], published %.4f [%.4f, %.4f]", c.k1, c.n1, c.k2, c.n2, d, lo, hi, want, c.lo, c.hi)
		}
	}
}

// TestRatio: the ratio and its bounds from the Wilson bounds; a zero
// lowest rate leaves the ratio undefined and a zero lower bound the upper
// bound unbounded.
func TestRatio(t *testing.T) {
	hi, lo := NewRate(30, 100), NewRate(10, 100)
	r, l, u := Ratio(hi, lo)
	if r == nil || l == nil || u == nil || math.Abs(*r-3) > 1e-15 || *l != hi.Lo/lo.Hi || *u != hi.Hi/lo.Lo || !(*l < 3 && 3 < *u) {
		t.Fatalf("Ratio(30/100, 10/100) = %v [%v, %v], want 3 within its bounds", r, l, u)
	}
	r, l, u = Ratio(hi, NewRate(0, 50))
	if r != nil || u != nil || l == nil || *l != hi.Lo/NewRate(0, 50).Hi {
		t.Fatalf("Ratio(30/100, 0/50) = %v [%v, %v], want no ratio, a lower bound and no upper bound", r, l, u)
	}
}

// TestBuild: history across versions, figures from counts, sensitivity
// with a group below min_n left out of the ratio, and the change in
// overturn rate between a version and the one it supersedes.
func TestBuild(t *testing.T) {
	v1 := "2026.11"
	cs := []Published{
		{Index: 9, Constitution: record.Constitution{ConstitutionID: "c", Version: "2026.12", Supersedes: &v1, Rules: []record.ConstitutionRule{
			{RuleID: "H-12", Pillar: "harmlessness", Text: "new words"}, {RuleID: "A-03", Pillar: "autonomy", Text: "same"}}}},
		{Index: 2, Constitution: record.Constitution{ConstitutionID: "c", Version: "2026.11", Rules: []record.ConstitutionRule{
			{RuleID: "H-12", Pillar: "harmlessness", Text: "old words"}, {RuleID: "A-03", Pillar: "autonomy", Text: "same"}, {RuleID: "X-1", Pillar: "honesty", Text: "gone"}}}},
	}
	c := NewCounts()
	c.Rules[RuleKey{"c@2026.11", "H-12"}] = record.RuleCounts{Cited: 40, Refusing: 30, Contested: 12, Resolved: 10, Overturned: 6}
	c.Rules[RuleKey{"c@2026.12", "H-12"}] = record.RuleCounts{Cited: 50, Refusing: 20, Contested: 5, Resolved: 5, Overturned: 1}
	c.Groups[GroupKey{"medical", "jurisdiction", "DE"}] = Tally{Decisions: 40, Refused: 20}
	c.Groups[GroupKey{"medical", "jurisdiction", "FR"}] = Tally{Decisions: 50, Refused: 10}
	c.Groups[GroupKey{"medical", "jurisdiction", "MT"}] = Tally{Decisions: 3, Refused: 3}
	a := Build(Records{Constitutions: cs}, c, 20)
	if len(a.Constitutions) != 2 || a.Constitutions[0].Version != "2026.11" || a.Constitutions[1].Supersedes != "2026.11" {
		t.Fatalf("constitutions %+v, want 2026.11 then 2026.12 superseding it", a.Constitutions)
	}
	h := a.Constitutions[1].Rules[0].History
	if len(h) != 2 || h[0].Change != "added" || h[1].Change != "reworded" || h[1].Text != "new words" {
		t.Errorf("H-12 history %+v, want added then reworded", h)
	}
	if h := a.Constitutions[0].Rules[2].History; len(h) != 2 || h[1].Change != "removed" || h[1].Version != "2026.12" {
		t.Errorf("X-1 history %+v, want added then removed in 2026.12", h)
	}
	if h := a.Constitutions[1].Rules[1].History; len(h) != 2 || h[1].Change != "unchanged" {
		t.Errorf("A-03 history %+v, want added then unchanged", h)
	}
	f := a.Constitutions[0].Rules[0].Calibration
	if f.Refusal.K != 30 || f.Refusal.N != 40 || f.Contest.K != 12 || f.Contest.N != 30 || f.Overturn.K != 6 || f.Overturn.N != 10 {
		t.Errorf("H-12@2026.11 figures %+v, want refusal 30/40, contest 12/30, overturn 6/10", f)
	}
	if len(a.Changes) != 2 || a.Changes[0].RuleID != "H-12" || a.Changes[0].Before.K != 6 || a.Changes[0].After.K != 1 ||
		math.Abs(a.Changes[0].Difference-(0.2-0.6)) > 1e-15 || !(a.Changes[0].Lo < a.Changes[0].Difference && a.Changes[0].Difference < a.Changes[0].Hi) {
		t.Errorf("changes %+v, want H-12 from 6/10 to 1/5 and A-03 (no data)", a.Changes)
	}
	if len(a.Sensitivity) != 1 {
		t.Fatalf("sensitivity %+v, want one category and dimension", a.Sensitivity)
	}
	s := a.Sensitivity[0]
	if s.Max != "DE" || s.Min != "FR" || s.Ratio == nil || math.Abs(*s.Ratio-2.5) > 1e-15 || s.Groups[2].Included || !s.Groups[0].Included {
		t.Errorf("sensitivity %+v, want DE/FR = 2.5 with MT (n = 3) left out", s)
	}
}

// TestBuildRecords: challenges sit under the rule and version they
// challenge (answered once a response is logged), amendments under each
// rule they change with the version that adopts them, and an amendment
// adding a rule the version lacks under the version's additions.
func TestBuildRecords(t *testing.T) {
	v1 := "1"
	recs := Records{
		Constitutions: []Published{
			{Index: 0, Constitution: record.Constitution{ConstitutionID: "c", Version: "1", Rules: []record.ConstitutionRule{{RuleID: "R", Pillar: "justice", Text: "old"}}}},
			{Index: 9, Constitution: record.Constitution{ConstitutionID: "c", Version: "2", Supersedes: &v1, Adopts: []string{"a1"},
				Rules: []record.ConstitutionRule{{RuleID: "R", Pillar: "justice", Text: "new"}, {RuleID: "N", Pillar: "honesty", Text: "added"}}}},
		},
		Challenges: []Filed{
			{Index: 5, Challenge: record.Challenge{ChallengeID: "ch2", DueBy: "2027-01-01T00:00:00Z", Grounds: record.Grounds{Category: "unclear"}, Rule: record.RuleRef{ConstitutionID: "c", Version: "1", RuleID: "R"}}},
			{Index: 3, Challenge: record.Challenge{ChallengeID: "ch1", DueBy: "2026-12-01T00:00:00Z", Grounds: record.Grounds{Category: "over-refusal"}, Rule: record.RuleRef{ConstitutionID: "c", Version: "1", RuleID: "R"}},
				Response: &record.ChallengeResponse{ChallengeID: "ch1", Outcome: "accepted", AmendmentID: "a1"}},
		},
		Amendments: []Proposed{{Index: 6, Amendment: record.Amendment{AmendmentID: "a1", Constitution: record.ConstitutionRef{ID: "c", Version: "1"},
			Changes: []record.AmendmentChange{{Op: "reword", RuleID: "R", Text: "new"}, {Op: "add", RuleID: "N", Text: "added", Pillar: "honesty"}}, CommentUntil: "2026-12-05T00:00:00Z"}}},
	}
	a := Build(recs, NewCounts(), 20)
	r := a.Constitutions[0].Rules[0]
	if len(r.Challenges) != 2 || r.Challenges[0].ChallengeID != "ch1" || r.Challenges[0].Status != "answered" || r.Challenges[0].AmendmentID != "a1" ||
		r.Challenges[1].Status != "open" || r.Challenges[1].DueBy != "2027-01-01T00:00:00Z" || r.Challenges[1].Category != "unclear" {
		t.Errorf("challenges of R@1: %+v, want ch1 answered (a1), then ch2 open", r.Challenges)
	}
	if len(r.Amendments) != 1 || r.Amendments[0].AdoptedBy != "2" || r.Amendments[0].Op != "reword" || r.Amendments[0].CommentUntil == "" {
		t.Errorf("amendments of R@1: %+v, want a1 rewording it, adopted by 2", r.Amendments)
	}
	if ad := a.Constitutions[0].Additions; len(ad) != 1 || ad[0].RuleID != "N" || ad[0].Op != "add" {
		t.Errorf("additions of version 1: %+v, want a1 adding N", ad)
	}
	if r2 := a.Constitutions[1].Rules[0]; len(r2.Challenges) != 0 || len(r2.Amendments) != 0 || r2.Challenges == nil {
		t.Errorf("R@2: %+v, want no challenges nor amendments (empty lists)", r2)
	}
	if len(a.Changes) != 1 || a.Changes[0].RuleID != "R" || len(a.Changes[0].Adopts) != 1 || a.Changes[0].Before.N != 0 {
		t.Errorf("changes %+v, want R from 1 to 2 adopting a1, with no reviews", a.Changes)
	}
}
