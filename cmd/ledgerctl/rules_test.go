package main

import (
	"strings"
	"testing"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
)

// TestAuditRules: 'audit-query --rules' recounts GET /v1/rules from the
// public tiles and finds it complete and correct, filtered or not; a
// filter GET /v1/rules does not take, or a malformed one, is a usage
// error naming the flag before anything is sent.
func TestAuditRules(t *testing.T) {
	s := apitest.New(t)
	s.SeedCalibration(5, 40)
	reg := []string{"--url", s.URL, "--token", s.Tokens[auth.Regulator], "audit-query", "--rules", "--key", s.VKey}
	for _, args := range [][]string{{}, {"--locale", "de-DE"}, {"--constitution", "fja-default@2026.11", "--rule", "H-12", "--min-n", "3"}} {
		code, out, errOut := ctl(t, "", append(reg, args...)...)
		if code != 0 || !strings.Contains(out, "rules answer complete and correct") {
			t.Fatalf("audit-query --rules %v: %d %q %q", args, code, out, errOut)
		}
	}
	for _, c := range []struct{ args []string }{{[]string{"--locale", "de_DE!"}}, {[]string{"--action", "refused"}}, {[]string{"--min-n", "-1"}}} {
		code, _, errOut := ctl(t, "", append(reg, c.args...)...)
		if code != 2 || !strings.Contains(errOut, c.args[0]) {
			t.Errorf("audit-query --rules %v: exit %d %q, want 2 naming %s", c.args, code, errOut, c.args[0])
		}
	}
}
