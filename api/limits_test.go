package api_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fjaledger/fja/api"
	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/ledger"
)

// A rate this low never refills during a test: every bucket holds exactly
// its burst, so the answers below do not depend on timing.
const frozen = 1e-6

// send sends a request with the headers hdr (name, value pairs) and
// returns the answer with its body read.
func send(t *testing.T, method, url string, body []byte, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// wantStatus fails t unless resp has status want and, for an error, the
// JSON error code.
func wantStatus(t *testing.T, what string, resp *http.Response, b []byte, want int, code string) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("%s: %d %s, want %d", what, resp.StatusCode, b, want)
	}
	if code == "" {
		return
	}
	var e struct{ Error api.Error }
	if err := json.Unmarshal(b, &e); err != nil || e.Error.Code != code {
		t.Fatalf("%s: body %s, want a JSON error with code %q", what, b, code)
	}
	if want == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
		t.Fatalf("%s: 429 without Retry-After", what)
	}
}

// TestForgedForwardedForIgnored: without trusted proxies, X-Forwarded-For
// and X-Real-IP do not change the rate key, on public reads and on
// anonymous requests to token routes alike.
func TestForgedForwardedForIgnored(t *testing.T) {
	s := apitest.New(t, apitest.WithAPI(func(c *api.Config) {
		c.ReadRatePerAddr, c.ReadBurst = frozen, 3
		c.RatePerAddr, c.AddrBurst = frozen, 2
	}))
	for i := range 3 {
		resp, b := send(t, "GET", s.URL+"/checkpoint", nil, "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i), "X-Real-IP", fmt.Sprintf("198.51.100.%d", i))
		wantStatus(t, "read within burst", resp, b, 200, "")
	}
	resp, b := send(t, "GET", s.URL+"/checkpoint", nil, "X-Forwarded-For", "203.0.113.77")
	wantStatus(t, "read past burst with a fresh forged X-Forwarded-For", resp, b, 429, "rate_limited")
	if !strings.Contains(string(b), "127.0.0.1") {
		t.Errorf("429 does not name the connection's address: %s", b)
	}
	// Anonymous requests to a token route have their own bucket.
	for i := range 2 {
		resp, b := send(t, "GET", s.URL+"/v1/contests/ct-none", nil, "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i))
		wantStatus(t, "anonymous within burst", resp, b, 401, "unauthorized")
	}
	resp, b = send(t, "GET", s.URL+"/v1/contests/ct-none", nil, "X-Forwarded-For", "203.0.113.78")
	wantStatus(t, "anonymous past burst", resp, b, 429, "rate_limited")
	// A token's requests count against the token, not the address.
	code, b := s.Do("GET", "/v1/contests/ct-none", auth.Reviewer, nil)
	if code != http.StatusNotFound {
		t.Fatalf("reviewer after the address's anonymous burst: %d %s, want 404", code, b)
	}
}

// TestTrustedProxies: X-Forwarded-For sets the client address only when
// the connection comes from a trusted proxy.
func TestTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted string
		honour  bool
	}{
		{"peer trusted", "127.0.0.0/8", true},
		{"peer not trusted", "10.0.0.0/8", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := apitest.New(t, apitest.ReadOnly(), apitest.WithAPI(func(c *api.Config) {
				c.ReadRatePerAddr, c.ReadBurst = frozen, 2
				c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix(tc.trusted)}
			}))
			for range 2 {
				resp, b := send(t, "GET", s.URL+"/checkpoint", nil, "X-Forwarded-For", "198.51.100.1")
				wantStatus(t, "within burst", resp, b, 200, "")
			}
			resp, b := send(t, "GET", s.URL+"/checkpoint", nil, "X-Forwarded-For", "198.51.100.1")
			wantStatus(t, "same client past burst", resp, b, 429, "rate_limited")
			resp, b = send(t, "GET", s.URL+"/checkpoint", nil, "X-Forwarded-For", "198.51.100.2")
			if tc.honour {
				wantStatus(t, "another client behind the trusted proxy", resp, b, 200, "")
				// A client cannot get past its proxy-reported address by
				// prepending addresses of its own.
				resp, b = send(t, "GET", s.URL+"/checkpoint", nil, "X-Forwarded-For", "203.0.113.9, 198.51.100.1")
				wantStatus(t, "forged prefix before the proxy's entry", resp, b, 429, "rate_limited")
			} else {
				wantStatus(t, "X-Forwarded-For from an untrusted peer", resp, b, 429, "rate_limited")
			}
		})
	}
}

// TestBadTokensLimitedPerAddress: unknown bearer tokens are 401 up to the
// failure burst, then 429 for every request with a token from that
// address, while requests without one are still served.
func TestBadTokensLimitedPerAddress(t *testing.T) {
	s := apitest.New(t, apitest.WithAPI(func(c *api.Config) {
		c.AuthFailRate, c.AuthFailBurst = frozen, 5
	}))
	body := apitest.Example(t, "decision-refused.json")
	for i := range 5 {
		resp, b := send(t, "POST", s.URL+"/v1/decisions", body, "Authorization", fmt.Sprintf("Bearer bad-token-%d", i))
		wantStatus(t, fmt.Sprintf("bad token %d", i), resp, b, 401, "unauthorized")
	}
	for _, path := range []string{"/v1/decisions", "/v1/query", "/metrics", "/v1/contests/ct-x"} {
		method := "GET"
		if path == "/v1/decisions" {
			method = "POST"
		}
		resp, b := send(t, method, s.URL+path, body, "Authorization", "Bearer bad-token-more", "X-Forwarded-For", "198.51.100.3")
		wantStatus(t, "bad token past the burst on "+path, resp, b, 429, "rate_limited")
	}
	// Past the burst even a valid token from this address waits: the
	// token is not hashed at all.
	code, b := s.Do("GET", "/v1/query", auth.Regulator, nil)
	if code != http.StatusTooManyRequests {
		t.Fatalf("valid token from a blocked address: %d %s, want 429", code, b)
	}
	resp, b := send(t, "GET", s.URL+"/checkpoint", nil)
	wantStatus(t, "public read without a token", resp, b, 200, "")
}

// TestTokenRateIsPerToken: a token over its rate is 429; another token
// from the same address is not.
func TestTokenRateIsPerToken(t *testing.T) {
	s := apitest.New(t, apitest.WithAPI(func(c *api.Config) {
		c.RatePerToken, c.RateBurst = frozen, 2
	}))
	for range 2 {
		if code, b := s.Do("GET", "/v1/query", auth.Regulator, nil); code != 200 {
			t.Fatalf("regulator within burst: %d %s", code, b)
		}
	}
	code, b := s.Do("GET", "/v1/query", auth.Regulator, nil, "X-Forwarded-For", "198.51.100.4")
	if code != http.StatusTooManyRequests || !strings.Contains(string(b), "test-regulator") {
		t.Fatalf("regulator past burst: %d %s, want 429 naming the token", code, b)
	}
	if code, b := s.Do("GET", "/metrics", auth.Operator, nil); code != 200 {
		t.Fatalf("operator from the same address: %d %s", code, b)
	}
}

// TestTileCacheServesWhatTheLogHas: full tiles and bundles served twice
// (the second time from the cache) are the log's bytes; partial ones are
// not cached.
func TestTileCacheServesWhatTheLogHas(t *testing.T) {
	f := newFixture(t)
	f.appendN(t, 0, 300)
	paths := map[string]func() ([]byte, error){
		"/tile/0/000":            func() ([]byte, error) { return f.Log.Tile(0, 0, 256) },
		"/tile/entries/000":      func() ([]byte, error) { return f.Log.EntryBundle(0, 256) },
		"/tile/0/001.p/44":       func() ([]byte, error) { return f.Log.Tile(0, 1, 44) },
		"/tile/entries/001.p/44": func() ([]byte, error) { return f.Log.EntryBundle(1, 44) },
	}
	for path, direct := range paths {
		want, err := direct()
		if err != nil {
			t.Fatalf("%s from the log: %v", path, err)
		}
		for i := range 3 {
			resp, b := f.get(t, path)
			if resp.StatusCode != 200 || !bytes.Equal(b, want) {
				t.Fatalf("GET %s (read %d): %d, %d bytes, want the log's %d bytes", path, i, resp.StatusCode, len(b), len(want))
			}
			full := !strings.Contains(path, ".p/")
			if cc := resp.Header.Get("Cache-Control"); strings.Contains(cc, "immutable") != full {
				t.Fatalf("GET %s: Cache-Control %q", path, cc)
			}
		}
	}
}

// TestTileCacheHits counts the cache's hits and misses in /metrics.
func TestTileCacheHits(t *testing.T) {
	s := apitest.New(t)
	for i := range 256 {
		if _, err := s.Log.Append(t.Context(), []byte(fmt.Sprintf("entry %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		for _, p := range []string{"/tile/0/000", "/tile/entries/000", "/tile/1/000.p/1"} {
			if resp, b := send(t, "GET", s.URL+p, nil); resp.StatusCode != 200 {
				t.Fatalf("GET %s: %d %s", p, resp.StatusCode, b)
			}
		}
	}
	code, b := s.Do("GET", "/metrics", auth.Operator, nil)
	if code != 200 {
		t.Fatalf("metrics: %d", code)
	}
	for _, want := range []string{"fja_tile_cache_hits_total 4", "fja_tile_cache_misses_total 2"} {
		if !strings.Contains(string(b), want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// failingStorage fails every commit once fail is set.
type failingStorage struct {
	ledger.Storage
	fail atomic.Bool
}

var errInjected = errors.New("injected: the disk is on fire")

func (f *failingStorage) Commit(b *ledger.Batch) error {
	if f.fail.Load() {
		return errInjected
	}
	return f.Storage.Commit(b)
}

// TestHealthzAfterStop: once a commit fails, /healthz is 503 with the
// reason, the append that met the failure is 503 log_stopped naming the
// cause, and fja_log_failed is 1.
func TestHealthzAfterStop(t *testing.T) {
	var fs *failingStorage
	s := apitest.New(t, apitest.WithLedger(func(c *ledger.Config) {
		fs = &failingStorage{Storage: c.Storage}
		c.Storage = fs
	}))
	resp, b := send(t, "GET", s.URL+"/healthz", nil)
	wantStatus(t, "healthz before", resp, b, 200, "")
	s.MustPost("/v1/constitutions", auth.Producer, apitest.Example(t, "constitution.json"))

	fs.fail.Store(true)
	code, b := s.Do("POST", "/v1/decisions", auth.Producer, apitest.Example(t, "decision-refused.json"))
	_, aerr := s.Log.Append(t.Context(), []byte("after the stop"))
	if !errors.Is(aerr, errInjected) {
		t.Fatalf("append after the failed commit: %v, want the injected error", aerr)
	}
	if !errors.Is(aerr, ledger.ErrStopped) {
		t.Fatalf("append after the failed commit: %v, want it to wrap ledger.ErrStopped", aerr)
	}
	if code != http.StatusServiceUnavailable || !strings.Contains(string(b), `"log_stopped"`) || !strings.Contains(string(b), errInjected.Error()) {
		t.Fatalf("append meeting the failed commit: %d %s, want 503 log_stopped naming the cause", code, b)
	}

	resp, b = send(t, "GET", s.URL+"/healthz", nil)
	var h struct{ Status, Reason string }
	if resp.StatusCode != http.StatusServiceUnavailable || json.Unmarshal(b, &h) != nil || h.Status != "stopped" || h.Reason == "" {
		t.Fatalf("healthz after the stop: %d %s, want 503 {status: stopped, reason}", resp.StatusCode, b)
	}
	if !strings.Contains(h.Reason, errInjected.Error()) {
		t.Errorf("healthz reason %q does not name the cause %q", h.Reason, errInjected)
	}
	code, b = s.Do("GET", "/metrics", auth.Operator, nil)
	if code != 200 || !strings.Contains(string(b), "\nfja_log_failed 1\n") {
		t.Fatalf("metrics after the stop: %d, want fja_log_failed 1", code)
	}
}
