package main

import (
	"strings"
	"testing"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
)

// TestAccessReadsCounted: a regulator's read of private content needs
// --purpose; the reads are counted per regulator by 'stats --kind access'
// and the count recounts from the public tiles ('audit-query --stats
// --kind access').
func TestAccessReadsCounted(t *testing.T) {
	s := apitest.New(t)
	s.MustPost("/v1/constitutions", auth.Producer, apitest.Example(t, "constitution.json"))
	s.MustPost("/v1/decisions", auth.Producer, apitest.Example(t, "decision-modified-private.json"))
	reg := []string{"--url", s.URL, "--token", s.Tokens[auth.Regulator]}
	const id = "dec-2026-11-27-000003"
	if code, _, errOut := ctl(t, "", append(reg, "get", id)...); code == 0 || !strings.Contains(errOut, "X-Access-Purpose") {
		t.Fatalf("get without --purpose: %d %q", code, errOut)
	}
	for range 2 {
		if code, out, _ := ctl(t, "", append(reg, "get", id, "--purpose", "case 17", "--key", s.VKey)...); code != 0 || !strings.Contains(out, "रिटायरमेंट") {
			t.Fatalf("get --purpose: %d %q", code, out)
		}
	}
	code, out, _ := ctl(t, "", append(reg, "stats", "--kind", "access", "--group-by", "actor", "--key", s.VKey)...)
	if code != 0 || !regexpLine(out, `test-regulator\s+regulator\s+2\s+2`) {
		t.Fatalf("stats --kind access: %d %q", code, out)
	}
	for _, args := range [][]string{{"--group-by", "actor"}, {"--group-by", "route,purpose"}, {}} {
		code, out, _ = ctl(t, "", append(append(reg, "audit-query", "--stats", "--kind", "access", "--key", s.VKey), args...)...)
		if code != 0 || !strings.Contains(out, "answer complete and correct") {
			t.Fatalf("audit-query --stats --kind access %v: %d %q", args, code, out)
		}
	}
	if code, _, _ := ctl(t, "", append(reg, "stats", "--kind", "access", "--group-by", "rule")...); code != 2 {
		t.Fatalf("stats --kind access --group-by rule: exit %d, want 2", code)
	}
}
