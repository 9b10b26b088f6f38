package recount

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fjaledger/fja/verify/record"
)

// rulesLog is a constitution (H-12, F-02), then 140 decisions one a
// second: every 4th refused under H-12 (effect refuse) in DE/de-DE, the
// rest answered citing F-02 (and H-12 as a warning every 3rd) in
// FR/fr-FR; contests of decisions 4 and 8, the first resolved overturned.
func rulesLog() [][]byte {
	at := func(i int) string { return t0.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano) }
	leaves := [][]byte{fmt.Appendf(nil, `{"body":{"constitution_id":"c","version":"1","rules":[{"rule_id":"H-12","pillar":"harmlessness","text":"care"},{"rule_id":"F-02","pillar":"flourishing","text":"grow"}]},"kind":"constitution","logged_at":%q,"v":1}`, at(0))}
	for i := 1; i <= 140; i++ {
		var body string
		if i%4 == 0 {
			body = fmt.Sprintf(`{"decision_id":"d%d","outcome":{"action":"refused","category":"medical"},"subject":{"jurisdiction":"DE","locale":"de-DE"},"rules":[{"rule_id":"H-12","effect":"refuse"}],"constitution":{"id":"c","version":"1"}}`, i)
		} else {
			warn := ""
			if i%3 == 0 {
				warn = `,{"rule_id":"H-12","effect":"warn"}`
			}
			body = fmt.Sprintf(`{"decision_id":"d%d","outcome":{"action":"answered","category":"medical"},"subject":{"jurisdiction":"FR","locale":"fr-FR"},"rules":[{"rule_id":"F-02","effect":"allow"}%s],"constitution":{"id":"c","version":"1"}}`, i, warn)
		}
		leaves = append(leaves, fmt.Appendf(nil, `{"body":%s,"kind":"decision","logged_at":%q,"v":1}`, body, at(i)))
	}
	for j, d := range []int{4, 8} {
		leaves = append(leaves, fmt.Appendf(nil, `{"body":{"contest_id":"c%d","decision":{"decision_id":"d%d","index":%d},"due_by":%q},"kind":"contest","logged_at":%q,"v":1}`,
			j, d, d, at(1000), at(141+j)))
	}
	leaves = append(leaves, fmt.Appendf(nil, `{"body":{"contest_id":"c0","outcome":"overturned"},"kind":"resolution","logged_at":%q,"v":1}`, at(143)))
	return leaves
}

// TestRules: the recount counts what the log holds; an answer equal to it
// passes, one count or one sensitivity figure changed fails naming it,
// and a tampered entry does not authenticate.
func TestRules(t *testing.T) {
	leaves := rulesLog()
	a := auditor(leaves, -1, t0)
	ctx := context.Background()
	want, rep, err := a.RulesAnswer(ctx, RulesFilter{}, Range{From: 0, To: uint64(len(leaves))}, 20)
	if err != nil || !rep.OK() {
		t.Fatalf("RulesAnswer: %v %v", err, rep)
	}
	h12 := want.Constitutions[0].Rules[0].Calibration.Counts
	// 35 refusals, 35 warnings of 105 answers (i%3 == 0 among i%4 != 0)
	if h12.Cited != 35+35 || h12.Refusing != 35 || h12.Contested != 2 || h12.Resolved != 1 || h12.Overturned != 1 {
		t.Fatalf("H-12 counts %+v, want cited 70, refusing 35, contested 2, resolved 1, overturned 1", h12)
	}
	if rep, err := a.Rules(ctx, RulesFilter{}, want); err != nil || !rep.OK() {
		t.Fatalf("the recount's own answer: %v %v", err, rep.Problems)
	}
	bad := *want
	bad.Constitutions = append(bad.Constitutions[:0:0], want.Constitutions...)
	bad.Constitutions[0].Rules = append(want.Constitutions[0].Rules[:0:0], want.Constitutions[0].Rules...)
	bad.Constitutions[0].Rules[0].Calibration.Counts.Overturned = 0
	if rep, err := a.Rules(ctx, RulesFilter{}, &bad); err != nil || rep.OK() || !strings.Contains(rep.Problems[0].Message, "rule H-12 of c@1: counts") {
		t.Fatalf("an answer with a wrong count: %v %+v", err, rep)
	}
	bad = *want
	bad.Sensitivity = append(want.Sensitivity[:0:0], want.Sensitivity...)
	bad.Sensitivity[0].Groups = append(want.Sensitivity[0].Groups[:0:0], want.Sensitivity[0].Groups...)
	bad.Sensitivity[0].Groups[0].Refusal.Hi += 1e-12
	if rep, err := a.Rules(ctx, RulesFilter{}, &bad); err != nil || rep.OK() || rep.Problems[0].Kind != "sensitivity" {
		t.Fatalf("an answer with a figure off by 1e-12: %v %+v", err, rep)
	}
	// filtered: locale fr-FR has no refusals
	fr, _, err := a.RulesAnswer(ctx, RulesFilter{Locale: "fr-FR"}, Range{From: 0, To: uint64(len(leaves))}, 20)
	if err != nil || fr.Constitutions[0].Rules[0].Calibration.Counts != (record.RuleCounts{Cited: 35}) {
		t.Fatalf("fr-FR: %v %+v", err, fr.Constitutions[0].Rules[0].Calibration.Counts)
	}
	if _, _, err := auditor(leaves, 5, t0).RulesAnswer(ctx, RulesFilter{}, Range{From: 0, To: uint64(len(leaves))}, 20); err == nil {
		t.Fatal("a tampered entry bundle authenticated")
	}
}
