package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
)

// TestChallengeRespondAmend: the subject challenges H-12 with its decision
// receipt and the decision as evidence, a reviewer accepts, a stakeholder
// proposes the amendment; every receipt verified with --key. Usage errors
// exit 2 and a refused request exits 1.
func TestChallengeRespondAmend(t *testing.T) {
	t.Setenv("LEDGER_TOKEN", "")
	t.Setenv("LEDGER_URL", "")
	s := apitest.New(t)
	u := []string{"--url", s.URL}
	as := func(r auth.Role) []string { return append(u[:len(u):len(u)], "--token", s.Tokens[r]) }
	dir := t.TempDir()
	if code, _, stderr := ctl(t, "", append(as(auth.Producer), "append", apitest.ExamplePath(t, "constitution.json"), "--kind", "constitution")...); code != 0 {
		t.Fatalf("constitution: %d %s", code, stderr)
	}
	if code, _, stderr := ctl(t, "", append(as(auth.Producer), "append", apitest.ExamplePath(t, "decision-refused.json"), "--receipts", dir, "--key", s.VKey)...); code != 0 {
		t.Fatalf("decision: %d %s", code, stderr)
	}
	receipt := filepath.Join(dir, "dec-2026-11-27-000001.receipt.json")
	out := filepath.Join(dir, "ch-1.challenge.json")
	args := append(u, "challenge", "--rule", "fja-default@2026.11/H-12", "--category", "over-refusal", "--grounds", "adults are refused",
		"--challenge-id", "ch-1", "--receipt", receipt, "--evidence", "1", "--key", s.VKey, "--out", out)
	code, stdout, stderr := ctl(t, "", args...)
	if code != 0 || !strings.Contains(stdout, "challenge ch-1 of fja-default@2026.11/H-12 filed, due by") || !strings.Contains(stdout, "verified offline") {
		t.Fatalf("challenge: %d\n%s\n%s", code, stdout, stderr)
	}
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), `"leaf_hash"`) {
		t.Fatalf("challenge receipt: %v %s", err, b)
	}
	if code, _, _ := ctl(t, "", append(u, "challenge", "--rule", "H-12", "--category", "c", "--grounds", "g", "--challenge-id", "ch-2")...); code != 2 {
		t.Fatalf("a rule without its constitution: exit %d, want 2", code)
	}
	code, stdout, stderr = ctl(t, "", append(as(auth.Reviewer), "challenge", "respond", "ch-1", "--outcome", "accepted", "--amendment-id", "am-1",
		"--rationale", "overturned refusals", "--human-reviewed", "--key", s.VKey)...)
	if code != 0 || !strings.Contains(stdout, "challenge ch-1 answered: accepted am-1") {
		t.Fatalf("respond: %d\n%s\n%s", code, stdout, stderr)
	}
	am := filepath.Join(dir, "am-1.json")
	os.WriteFile(am, []byte(`{"amendment_id":"am-1","constitution":{"id":"fja-default","version":"2026.11"},
		"changes":[{"op":"reword","rule_id":"H-12","text":"Answer adults' medication questions with care."}],
		"motivated_by":[{"kind":"challenge","id":"ch-1","index":2}]}`), 0o600)
	code, stdout, stderr = ctl(t, "", append(as(auth.Stakeholder), "amend", am, "--key", s.VKey)...)
	if code != 0 || !strings.Contains(stdout, "amendment am-1 of fja-default@2026.11 logged at entry 4") {
		t.Fatalf("amend: %d\n%s\n%s", code, stdout, stderr)
	}
	if code, _, stderr := ctl(t, "", append(as(auth.Reviewer), "amend", am)...); code != 1 || !strings.Contains(stderr, "forbidden") {
		t.Fatalf("amend as a reviewer: exit %d, %s", code, stderr)
	}
}
