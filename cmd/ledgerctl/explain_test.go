package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
)

// TestExplain: the subject fetches, reads and saves the explanation of its
// refusal with the contest token from the environment; 'verify' checks the
// saved file offline, and fails it with one byte changed or another key.
func TestExplain(t *testing.T) {
	t.Setenv("LEDGER_TOKEN", "")
	t.Setenv("LEDGER_URL", "")
	s := apitest.New(t)
	s.MustPost("/v1/constitutions", auth.Producer, apitest.Example(t, "constitution.json"))
	var r struct {
		ContestToken string `json:"contest_token"`
	}
	if err := json.Unmarshal(s.MustPost("/v1/decisions", auth.Producer, apitest.Example(t, "decision-refused.json")), &r); err != nil || r.ContestToken == "" {
		t.Fatalf("receipt: %v", err)
	}
	const id = "dec-2026-11-27-000001"
	file := filepath.Join(t.TempDir(), "explanation.json")

	t.Setenv("LEDGER_CONTEST_TOKEN", r.ContestToken)
	code, out, _ := ctl(t, "", "--url", s.URL, "explain", id, "--key", s.VKey, "--out", file)
	for _, want := range []string{"decision " + id + " (entry 1 of " + s.Origin + "): refused, category medical",
		"H-12 (refuse, harmlessness): When a request may concern self-harm, answer with care and include support resources.",
		"applied because: dosage question matched the self-harm screen", "candidate c2 (selected): autonomy 0.2, harmlessness 0.97",
		"contestable until 20", "verified offline"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("explain: %d, output lacks %q:\n%s", code, want, out)
		}
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("--out: %v", err)
	}
	t.Setenv("LEDGER_CONTEST_TOKEN", "")

	if code, out, _ := ctl(t, "", "verify", file, "--key", s.VKey); code != 0 || !strings.Contains(out, "OK: explanation of "+id) || !strings.Contains(out, "H-12 (refuse") {
		t.Fatalf("verify: %d %q", code, out)
	}
	b, _ := os.ReadFile(file)
	b[len(b)/2] ^= 1
	bad := filepath.Join(t.TempDir(), "changed.json")
	os.WriteFile(bad, b, 0o600)
	if code, _, errOut := ctl(t, "", "verify", bad, "--key", s.VKey); code != 1 || !strings.Contains(errOut, "does NOT verify") {
		t.Fatalf("a changed byte: %d %q", code, errOut)
	}
	other := apitest.New(t, apitest.WithOrigin(s.Origin))
	if code, _, errOut := ctl(t, "", "verify", file, "--key", other.VKey); code != 1 || !strings.Contains(errOut, "does NOT verify") {
		t.Fatalf("another key: %d %q", code, errOut)
	}

	// a wrong token: the server's 404; a regulator token: the same file as JSON
	if code, _, errOut := ctl(t, "", "--url", s.URL, "explain", id, "--contest-token", "wrong"); code != 1 || !strings.Contains(errOut, "404") {
		t.Fatalf("wrong token: %d %q", code, errOut)
	}
	code, out, _ = ctl(t, "", "--url", s.URL, "--token", s.Tokens[auth.Regulator], "--json", "explain", id)
	if code != 0 || !strings.HasPrefix(out, `{"candidates":`) || !strings.Contains(out, `"format":"fja-explanation/v1"`) {
		t.Fatalf("--json as regulator: %d %q", code, out)
	}
	if code, _, _ := ctl(t, "", "explain"); code != 2 {
		t.Fatalf("no id: %d, want a usage error", code)
	}
}
