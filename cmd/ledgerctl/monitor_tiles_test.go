package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/verify/monitor"
)

// tilesOnly serves target's /checkpoint and /tile/... and answers 404 to
// everything else, as a bucket or a CDN holding the C2SP tlog-tiles log
// does. (ledger/publish's tests follow a real S3 bucket.)
func tilesOnly(t *testing.T, target string) string {
	t.Helper()
	u, _ := url.Parse(target)
	p := httputil.NewSingleHostReverseProxy(u)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/checkpoint" && !strings.HasPrefix(r.URL.Path, "/tile/") {
			http.NotFound(w, r)
			return
		}
		p.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	return hs.URL
}

// TestMonitorTilesOnly: --tiles-only follows a log that serves only its
// tiles, proofs computed from them; without it the round that needs a
// proof fails and says to use it.
func TestMonitorTilesOnly(t *testing.T) {
	t.Setenv("LEDGER_URL", "")
	s := apitest.New(t)
	publishExamples(t, s, true)
	tiles := tilesOnly(t, s.URL)
	state, plain := t.TempDir(), t.TempDir()
	args := func(state string, extra ...string) []string {
		return append([]string{"--url", tiles, "monitor", "--state", state, "--key", s.VKey, "--once"}, extra...)
	}
	if code, out, _ := ctl(t, "", args(state, "--tiles-only")...); code != 0 || !strings.Contains(out, "at size 6 (was 0): checked entries [0, 6)") {
		t.Fatalf("first round: %d %q", code, out)
	}
	if code, _, _ := ctl(t, "", args(plain)...); code != 0 {
		t.Fatalf("first round without --tiles-only (no proof needed): %d", code)
	}
	post(t, s, "/v1/decisions", auth.Producer, withID(t, "decision-answered.json", "dec-tiles-1"))
	post(t, s, "/v1/decisions", auth.Producer, withID(t, "decision-answered.json", "dec-tiles-2"))
	if code, out, _ := ctl(t, "", args(state, "--tiles-only")...); code != 0 || !strings.Contains(out, "at size 8 (was 6): checked entries [6, 8)") {
		t.Fatalf("second round: %d %q", code, out)
	}
	if st, err := monitor.LoadState(state, s.Origin, s.VKey); err != nil || st.Checked != 8 {
		t.Fatalf("state: %+v %v", st, err)
	}
	code, _, errOut := ctl(t, "", args(plain)...)
	if code != 1 || !strings.Contains(errOut, "404") || !strings.Contains(errOut, "--tiles-only") {
		t.Fatalf("second round without --tiles-only: %d %q; want a failure suggesting --tiles-only", code, errOut)
	}
}
