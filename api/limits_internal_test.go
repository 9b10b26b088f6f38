package api

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/audit/vault"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
	"github.com/fjaledger/fja/ledger/signer"
)

// newTestServer starts a Server with a record book on a real Badger log
// and a regulator token (package apitest cannot be imported here: it
// imports this package). It returns the server, not yet serving (see
// serve), and the token.
func newTestServer(t *testing.T, edit func(*Config)) (*Server, string) {
	t.Helper()
	dir := t.TempDir()
	const origin = "limits.test.example.org/log"
	skey, _, err := signer.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "log.key")
	if err := signer.WriteKeyFile(keyFile, skey); err != nil {
		t.Fatal(err)
	}
	sg, err := signer.Load(context.Background(), origin, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	st, err := badgerstore.Open(badgerstore.Config{Dir: filepath.Join(dir, "badger")})
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(ledger.Config{Origin: origin, Signers: []note.Signer{sg}, Storage: st})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	v, err := vault.Open(filepath.Join(dir, "vault"))
	if err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	book, err := audit.Open(audit.Config{Log: l, Index: st, Vault: v, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { book.Close() })
	tok, e, err := auth.NewToken("test-regulator", auth.Regulator)
	if err != nil {
		t.Fatal(err)
	}
	tf, _ := json.Marshal([]auth.Entry{e})
	tokens, err := auth.Parse(tf)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Log: l, Book: book, Tokens: tokens, Origin: origin, VerifierKeys: []string{sg.VerifierKey()}}
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, tok
}

// serve starts s on loopback; call it after adding any test route.
func serve(t *testing.T, s *Server) string {
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return hs.URL
}

func getWith(t *testing.T, url, token string) (*http.Response, Error) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct{ Error Error }
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("GET %s: %d with body %q, want a JSON error", url, resp.StatusCode, b)
		}
	}
	return resp, e.Error
}

// TestExpensiveGateFull holds every slot of the expensive gate (no
// timing): /v1/query and /v1/stats are 503 overloaded with Retry-After, cheap
// routes are served, and a released slot serves again.
func TestExpensiveGateFull(t *testing.T) {
	s, tok := newTestServer(t, func(c *Config) { c.MaxExpensive = 2 })
	url := serve(t, s)
	if cap(s.limits.heavy) != 2 {
		t.Fatalf("gate of %d slots, want 2", cap(s.limits.heavy))
	}
	for _, p := range []string{"/v1/query", "/v1/stats"} {
		if resp, e := getWith(t, url+p, tok); resp.StatusCode != 200 {
			t.Fatalf("GET %s with a free gate: %d %+v", p, resp.StatusCode, e)
		}
	}
	s.limits.heavy <- struct{}{}
	s.limits.heavy <- struct{}{}
	for _, p := range []string{"/v1/query", "/v1/stats?group_by=rule"} {
		resp, e := getWith(t, url+p, tok)
		if resp.StatusCode != http.StatusServiceUnavailable || e.Code != "overloaded" || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("GET %s with a full gate: %d %+v Retry-After %q, want 503 overloaded with Retry-After", p, resp.StatusCode, e, resp.Header.Get("Retry-After"))
		}
	}
	if resp, e := getWith(t, url+"/checkpoint", ""); resp.StatusCode != 200 {
		t.Fatalf("GET /checkpoint with a full gate: %d %+v", resp.StatusCode, e)
	}
	<-s.limits.heavy
	if resp, e := getWith(t, url+"/v1/query", tok); resp.StatusCode != 200 {
		t.Fatalf("GET /v1/query after a slot was freed: %d %+v", resp.StatusCode, e)
	}
	if len(s.limits.heavy) != 1 {
		t.Fatalf("%d slots held after the requests, want the 1 the test holds", len(s.limits.heavy))
	}
}

// TestExpensiveDeadline: a handler behind the gate sees the server-side
// deadline on its context, and running past it is 503 timeout.
func TestExpensiveDeadline(t *testing.T) {
	s, _ := newTestServer(t, func(c *Config) { c.ExpensiveTimeout = 1 })
	s.echo.GET("/test/slow", func(c echo.Context) error {
		ctx := c.Request().Context()
		if _, ok := ctx.Deadline(); !ok {
			return errors.New("no deadline on the request context")
		}
		<-ctx.Done() // the deadline passes; no timing is asserted
		return fmt.Errorf("scanning: %w", ctx.Err())
	}, s.expensive)
	url := serve(t, s)
	resp, e := getWith(t, url+"/test/slow", "")
	if resp.StatusCode != http.StatusServiceUnavailable || e.Code != "query_timeout" {
		t.Fatalf("past the deadline: %d %+v, want 503 timeout", resp.StatusCode, e)
	}
	if len(s.limits.heavy) != 0 {
		t.Fatal("the slot was not released")
	}
}

// TestStoppedMapsTo503: the stop error of a log is 503 log_stopped naming
// the cause, without Retry-After (a retry cannot help).
func TestStoppedMapsTo503(t *testing.T) {
	stop := fmt.Errorf("ledger: commit of 3 entries at index 7 failed, the log stopped: %w: %w", ledger.ErrStopped, errors.New("no space left on device"))
	e, internal := toError(fmt.Errorf("appending: %w", stop))
	if internal || e.Status != http.StatusServiceUnavailable || e.Code != "log_stopped" || e.Message != "appending: "+stop.Error() {
		t.Fatalf("toError(stop) = %+v, internal %v", e, internal)
	}
	s, _ := newTestServer(t, nil)
	s.echo.GET("/test/stopped", func(echo.Context) error { return stop })
	url := serve(t, s)
	resp, got := getWith(t, url+"/test/stopped", "")
	if resp.StatusCode != http.StatusServiceUnavailable || got.Code != "log_stopped" || resp.Header.Get("Retry-After") != "" {
		t.Fatalf("answer: %d %+v Retry-After %q", resp.StatusCode, got, resp.Header.Get("Retry-After"))
	}
}

func TestTileCacheLRU(t *testing.T) {
	c := newTileCache(8 * 100)
	k := func(i uint64) tileKey { return tileKey{index: i} }
	for i := range uint64(8) {
		c.put(k(i), make([]byte, 100))
	}
	if _, ok := c.get(k(0)); !ok { // 0 becomes the most recent
		t.Fatal("0 not cached")
	}
	c.put(k(8), make([]byte, 100)) // evicts 1, the least recent
	if _, ok := c.get(k(1)); ok {
		t.Error("1 not evicted")
	}
	for _, i := range []uint64{0, 2, 8} {
		if _, ok := c.get(k(i)); !ok {
			t.Errorf("%d evicted", i)
		}
	}
	if c.bytes() != 800 {
		t.Errorf("holds %d bytes, want 800", c.bytes())
	}
	c.put(k(9), make([]byte, 101)) // over an eighth: not kept
	if _, ok := c.get(k(9)); ok || c.bytes() != 800 {
		t.Errorf("an item over an eighth of the bound was kept (%d bytes held)", c.bytes())
	}
	c.put(tileKey{entries: true, index: 0}, []byte("bundle"))
	if b, ok := c.get(tileKey{entries: true, index: 0}); !ok || string(b) != "bundle" {
		t.Error("a bundle and the tile of the same index share a key")
	}
	var none *tileCache
	none.put(k(1), []byte("x"))
	if _, ok := none.get(k(1)); ok {
		t.Error("the nil cache kept something")
	}
}

func TestKeyedLimiter(t *testing.T) {
	k := newKeyedLimiter(1e-6, 3)
	for i := range 3 {
		if _, ok := k.allow("a"); !ok {
			t.Fatalf("request %d within the burst refused", i)
		}
	}
	wait, ok := k.allow("a")
	if ok || wait <= 0 {
		t.Fatalf("past the burst: ok %v wait %v", ok, wait)
	}
	if _, ok := k.allow("b"); !ok {
		t.Fatal("another key shares the bucket")
	}
	if _, over := k.exhausted("c"); over {
		t.Fatal("a fresh key is exhausted")
	}
	for range 3 {
		k.spend("c")
	}
	if _, over := k.exhausted("c"); !over {
		t.Fatal("spent key not exhausted")
	}
	// A sweep drops only full buckets: "a" and "c" stay empty.
	k.mu.Lock()
	k.sweep(time.Now())
	n := len(k.buckets)
	k.mu.Unlock()
	if n != 3 {
		// b holds 2 of 3 tokens and stays too.
		t.Fatalf("%d buckets after a sweep, want 3", n)
	}
	if _, ok := k.allow("a"); ok {
		t.Fatal("a sweep refilled an empty bucket")
	}
	full := newKeyedLimiter(1e-6, 3)
	full.exhausted("x") // creates a full bucket
	full.mu.Lock()
	full.sweep(time.Now())
	n = len(full.buckets)
	full.mu.Unlock()
	if n != 0 {
		t.Fatalf("a full bucket survived the sweep")
	}
}
