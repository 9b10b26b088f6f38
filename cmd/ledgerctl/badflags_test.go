package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestBadFiltersRefusedBeforeSending: every mistyped or invalid filter the
// server refuses (api/badparams_test.go), ledgerctl refuses first, naming
// the flag, with exit status 2, and sends nothing.
func TestBadFiltersRefusedBeforeSending(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "no request should reach the server", http.StatusTeapot)
	}))
	defer srv.Close()
	t.Setenv("LEDGER_URL", srv.URL)
	t.Setenv("LEDGER_TOKEN", "regulator-token")
	const win = "--from=2026-11-01T00:00:00Z"
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"query", "--action", "refussed"}, "--action"},
		{[]string{"query", "--action", "Refused"}, "--action"},
		{[]string{"query", "--kind", "decisions"}, "--kind"},
		{[]string{"query", "--contest-status", "closed"}, "--contest-status"},
		{[]string{"query", "--limit", "100000000"}, "--limit"},
		{[]string{"query", "--limit", "0"}, "--limit"},
		{[]string{"query", "--cursor", "abc"}, "--cursor"},
		{[]string{"query", "--cursor", "-1"}, "--cursor"},
		{[]string{"query", "--from", "2026-11-01"}, "--from"},
		{[]string{"query", "--to", "yesterday"}, "--to"},
		{[]string{"query", "--from", "2026-12-01T00:00:00Z", "--to", "2026-11-01T00:00:00Z"}, "--to"},
		{[]string{"query", "--jurisdiction", "de"}, "--jurisdiction"},
		{[]string{"query", "--jurisdiction", "Germany"}, "--jurisdiction"},
		{[]string{"query", "--rule", "H 12"}, "--rule"},
		{[]string{"query", "--flag", "western/sources"}, "--flag"},
		{[]string{"query", "--category", "medical advice"}, "--category"},
		{[]string{"query", "--model", strings.Repeat("m", 257)}, "--model"},
		{[]string{"stats", "--action", "refussed"}, "--action"},
		{[]string{"stats", "--group-by", "rules"}, "--group-by"},
		{[]string{"stats", "--group-by", "rule,rule"}, "--group-by"},
		{[]string{"stats", "--group-by", "rule,flag,model,operator"}, "--group-by"},
		{[]string{"stats", "--group-by", "actor"}, "--group-by"},
		{[]string{"stats", "--kind", "access", "--group-by", "rule"}, "--group-by"},
		{[]string{"stats", "--kind", "contest"}, "--kind"},
		{[]string{"stats", "--contest-status", "late"}, "--contest-status"},
		{[]string{"audit-query", "--action", "refussed", "--key", "x"}, "--action"},
		{[]string{"audit-query", "--stats", "--kind", "contest", "--key", "x"}, "--kind"},
		{[]string{"report", win, "--to", "2026-12-01", "--out", "r.html"}, "--to"},
		{[]string{"export", win, "--to=2026-12-01T00:00:00Z", "--action", "refussed"}, "--action"},
		{[]string{"export", win, "--to=2026-12-01T00:00:00Z", "--kind", "decisions"}, "--kind"},
	} {
		code, _, stderr := ctl(t, "", tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.flag) {
			t.Errorf("ledgerctl %s: exit %d, stderr %q; want exit 2 naming %s", strings.Join(tc.args, " "), code, stderr, tc.flag)
		}
		if n := hits.Swap(0); n != 0 {
			t.Errorf("ledgerctl %s sent %d requests; a bad filter must be refused before any", strings.Join(tc.args, " "), n)
		}
	}
}
