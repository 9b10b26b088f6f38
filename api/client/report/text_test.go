package report_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/api/client/report"
	"github.com/fjaledger/fja/verify/record"
)

func TestParseWindow(t *testing.T) {
	from, to, err := report.ParseWindow("2026-11-01T01:00:00+01:00", "2026-11-02T00:00:00Z")
	if err != nil || !from.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) || from.Location() != time.UTC || to.Sub(from) != 24*time.Hour {
		t.Fatalf("%v %v %v", from, to, err)
	}
	for _, w := range [][2]string{{"", "2026-11-02T00:00:00Z"}, {"yesterday", "2026-11-02T00:00:00Z"}, {"2026-11-02T00:00:00Z", "2026-11-01T00:00:00Z"}} {
		if _, _, err := report.ParseWindow(w[0], w[1]); err == nil {
			t.Errorf("window %q accepted", w)
		}
	}
}

func TestWriteContest(t *testing.T) {
	v := &record.ContestView{ContestID: "con-1", DecisionID: "dec-1", Status: "resolved", DueBy: "2026-12-01T00:00:00Z",
		Contest: &record.RecordProof{Index: 4}, Resolution: &record.RecordProof{Index: 5}}
	recs := &client.ContestRecords{
		Contest: &record.Contest{FiledAt: "2026-11-01T00:00:00Z", Remedy: "reconsider", Grounds: record.Grounds{Category: "false-refusal", Commitment: "c0mm"}},
		Resolution: &record.Resolution{Outcome: "overturned", Rationale: "r", HumanReviewed: true,
			RuleChanges: []record.RuleChange{{RuleID: "H-12", Change: "amend", ConstitutionVersion: "2026.12"}}},
	}
	var b bytes.Buffer
	if err := report.WriteContest(&b, v, recs, "example.org/log"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"contest con-1 against dec-1: resolved\n", "  filed:       2026-11-01T00:00:00Z\n", "  grounds:     false-refusal (commitment c0mm)\n",
		"  resolution:  overturned (human reviewed), entry 5\n", "  rule change: H-12 amend in constitution version 2026.12\n", "verified: the records are in example.org/log"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in\n%s", want, b.String())
		}
	}
	b.Reset()
	v.Resolution, recs.Resolution = nil, nil
	if err := report.WriteContest(&b, v, recs, ""); err != nil || !strings.Contains(b.String(), "  resolution:  none yet\n") || strings.Contains(b.String(), "verified") {
		t.Fatalf("unresolved, unverified:\n%s", b.String())
	}
}

func TestWriteStats(t *testing.T) {
	ans := &record.StatsAnswer{Groups: []record.Group{{Key: map[string]string{"rule": "H-1", "constitution": "c@1"}, Count: 3, Contests: 1}},
		Checkpoint: "example.org/log\n9\nq9LiH/uhLIwj2a4RZaptk/ubJTohqZqo2QzRpNmiptM=\n\n\u2014 example.org/log AAAA\n", Scanned: record.Range{From: 2, To: 9}}
	var b bytes.Buffer
	if err := report.WriteStats(&b, []string{"rule"}, ans, false, true); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(b.String(), "1 groups; scanned entries [2, 9) of tree size 9; checkpoint verified\n") || !strings.Contains(b.String(), "H-1") {
		t.Fatalf("%s", b.String())
	}
}
