package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/verify/monitor"
)

// monitorClient is a client as NewMonitor makes it: no retries,
// verification left to the monitor, hc from client.NewHTTPClient.
func monitorClient(t *testing.T, url string, hc *http.Client) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{URL: url, InsecureSkipVerify: true, HTTPClient: hc, MaxTries: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestMonitorSourceRefusesRedirects: the log, its tiles and gossip URLs
// are read where they are; a redirect is a *RedirectError naming the
// Location, and the target is never asked.
func TestMonitorSourceRefusesRedirects(t *testing.T) {
	var hits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("served by the target"))
	}))
	defer target.Close()
	redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/elsewhere"+r.URL.Path, http.StatusMovedPermanently)
	}))
	defer redir.Close()

	hc := client.NewHTTPClient(client.Timeouts{})
	src := monitorClient(t, redir.URL, hc).MonitorSource()
	ctx := context.Background()
	_, err1 := src.Checkpoint(ctx)
	_, err2 := src.ConsistencyProof(ctx, 1, 2)
	_, err3 := src.Fetcher()(ctx, "tile/0/000")
	_, err4 := client.GossipSource(redir.URL+"/gossip", hc).Read(ctx)
	for i, err := range []error{err1, err2, err3, err4} {
		var re *client.RedirectError
		if !errors.As(err, &re) || !strings.HasPrefix(re.Location, target.URL+"/elsewhere/") || re.Status != "301 Moved Permanently" {
			t.Fatalf("request %d: err %v, want a *RedirectError to %s/elsewhere/...", i+1, err, target.URL)
		}
		if !strings.Contains(err.Error(), "does not follow redirects") || !strings.Contains(err.Error(), re.Location) {
			t.Fatalf("request %d: %q does not say where it was redirected", i+1, err)
		}
		var mp *monitor.MalformedProofError
		if errors.As(err, &mp) {
			t.Fatalf("request %d: a redirect taken for the log's answer: %v", i+1, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the target was asked %d times", n)
	}
}

// hangingServer accepts requests and answers nothing (after the header if
// header is set) until the client goes away or the test ends.
func hangingServer(t *testing.T, header bool) string {
	t.Helper()
	release := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if header {
			w.WriteHeader(http.StatusOK)
			w.Write([]byte("{"))
			w.(http.Flusher).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hs.Close)
	t.Cleanup(func() { close(release) }) // runs before hs.Close
	return hs.URL
}

// TestNewHTTPClientTimesOut: a server that never sends the header, or
// never finishes the body, ends the request with an error.
func TestNewHTTPClientTimesOut(t *testing.T) {
	ctx := context.Background()
	noHeader := monitorClient(t, hangingServer(t, false), client.NewHTTPClient(client.Timeouts{Header: 50 * time.Millisecond}))
	if _, err := noHeader.MonitorSource().Checkpoint(ctx); err == nil || !strings.Contains(err.Error(), "timeout awaiting response headers") {
		t.Fatalf("no header: err %v, want a header timeout", err)
	}
	noBody := monitorClient(t, hangingServer(t, true), client.NewHTTPClient(client.Timeouts{Request: 100 * time.Millisecond}))
	_, err := noBody.MonitorSource().ConsistencyProof(ctx, 1, 2)
	if err == nil {
		t.Fatal("a body that never ends: no error")
	}
	var mp *monitor.MalformedProofError
	if errors.As(err, &mp) {
		t.Fatalf("a timed-out body taken for the log's answer: %v", err)
	}
	// defaults
	hc := client.NewHTTPClient(client.Timeouts{})
	if hc.Timeout != client.DefaultRequestTimeout || hc.Transport.(*http.Transport).ResponseHeaderTimeout != client.DefaultHeaderTimeout || hc.CheckRedirect == nil {
		t.Fatalf("default client: timeout %v, header %v", hc.Timeout, hc.Transport.(*http.Transport).ResponseHeaderTimeout)
	}
}

// TestConsistencyAnswers: a 200 answer that is not the proof asked for is
// a *monitor.MalformedProofError holding the answer; an HTTP error is not.
func TestConsistencyAnswers(t *testing.T) {
	answers := map[string]struct {
		code int
		body string
	}{
		"good":    {200, `{"from":3,"to":5,"hashes":["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]}`},
		"html":    {200, `<html>maintenance</html>`},
		"sizes":   {200, `{"from":2,"to":5,"hashes":[]}`},
		"base64":  {200, `{"from":3,"to":5,"hashes":["not base64!"]}`},
		"status":  {503, `{"error":{"code":"unavailable","message":"later"}}`},
		"missing": {404, `no such route`},
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := answers[r.Header.Get("X-Case")]
		w.WriteHeader(a.code)
		w.Write([]byte(a.body))
	}))
	defer hs.Close()
	for name, a := range answers {
		c := monitorClient(t, hs.URL, &http.Client{Transport: setHeader{"X-Case", name}})
		p, err := c.Consistency(context.Background(), 3, 5)
		var mp *monitor.MalformedProofError
		isMalformed := errors.As(err, &mp)
		switch {
		case name == "good":
			if err != nil || len(p) != 1 || len(p[0]) != 32 {
				t.Fatalf("good: %x %v", p, err)
			}
		case a.code != 200:
			if err == nil || isMalformed {
				t.Fatalf("%s: err %v, want a plain request error", name, err)
			}
		default:
			if !isMalformed || string(mp.Body) != a.body || mp.From != 3 || mp.To != 5 || mp.URL != hs.URL+"/v1/proofs/consistency?from=3&to=5" {
				t.Fatalf("%s: err %v, want a *MalformedProofError holding the answer", name, err)
			}
		}
	}
}

type setHeader struct{ k, v string }

func (s setHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(s.k, s.v)
	return http.DefaultTransport.RoundTrip(r)
}

// TestMonitorSourceBoundsTheCheckpoint: a log answering GET /checkpoint
// with an endless body costs a monitor an error after 1 MiB, not its
// memory; a body of exactly the bound is still read.
func TestMonitorSourceBoundsTheCheckpoint(t *testing.T) {
	var size atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := size.Load()
		if n < 0 { // endless: stop only when the client hangs up
			chunk := []byte(strings.Repeat("x", 64<<10))
			for {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}
		w.Write([]byte(strings.Repeat("y", int(n))))
	}))
	defer srv.Close()
	src := monitorClient(t, srv.URL, client.NewHTTPClient(client.Timeouts{})).MonitorSource()

	size.Store(-1)
	_, err := src.Checkpoint(context.Background())
	if err == nil || !strings.Contains(err.Error(), "exceeds 1048576 bytes") {
		t.Fatalf("endless checkpoint body: err = %v, want one saying it exceeds 1048576 bytes", err)
	}
	size.Store(1 << 20)
	b, err := src.Checkpoint(context.Background())
	if err != nil || len(b) != 1<<20 {
		t.Fatalf("checkpoint body of exactly 1 MiB: %d bytes, err %v; want it read whole", len(b), err)
	}
}

// TestNewMonitor: the monitor NewMonitor makes reads the log and its
// gossip URLs where they are (a redirect fails the round) within the
// timeout, and refuses a URL that is not http(s).
func TestNewMonitor(t *testing.T) {
	if _, err := client.NewMonitor("ftp://log", "o", "k", time.Second, nil, false); err == nil {
		t.Fatal("NewMonitor accepted an ftp:// URL")
	}
	redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer redir.Close()
	m, err := client.NewMonitor(redir.URL, "o", "k", time.Second, []string{"gossip.txt", redir.URL + "/gossip"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Gossip) != 2 || m.Gossip[0].Name != "gossip.txt" || m.Gossip[1].Name != redir.URL+"/gossip" {
		t.Fatalf("gossip sources %+v", m.Gossip)
	}
	var re *client.RedirectError
	if _, err := m.Client.Checkpoint(context.Background()); !errors.As(err, &re) {
		t.Fatalf("the log redirected: err %v, want a *RedirectError", err)
	}
	if _, err := m.Gossip[1].Read(context.Background()); !errors.As(err, &re) {
		t.Fatalf("a gossip URL redirected: err %v, want a *RedirectError", err)
	}
	slow, err := client.NewMonitor(hangingServer(t, false), "o", "k", 50*time.Millisecond, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := slow.Client.Checkpoint(context.Background()); err == nil {
		t.Fatal("a log that never answers: no error within the timeout")
	}
}
