package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/verify/record"
)

// proxy forwards to the examples' server; edit may change each answer
// (n counts the requests so far, from 1). Returning drop=true cuts the
// connection after the server has acted, so the answer is lost.
func proxy(t *testing.T, edit func(n int64, r *http.Request, body []byte) (out []byte, drop bool)) *httptest.Server {
	var n atomic.Int64
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, _ := io.ReadAll(r.Body)
		req, _ := http.NewRequest(r.Method, server.URL+r.URL.RequestURI(), bytes.NewReader(in))
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("proxy: %v", err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out, drop := edit(n.Add(1), r, body)
		if drop {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(resp.StatusCode)
		w.Write(out)
	}))
	t.Cleanup(p.Close)
	return p
}

func producer(t *testing.T, url string, mod func(*client.Config)) *client.Client {
	cfg := client.Config{URL: url, Token: server.Tokens[auth.Producer], VerifierKey: server.VKey, MaxBackoff: 10 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The answer to the first POST is lost after the server logged the
// decision; the client sends it again and recovers the same receipt and
// contest token (the server's delivery window).
func TestLostAnswerKeepsContestToken(t *testing.T) {
	var first []byte
	p := proxy(t, func(n int64, r *http.Request, body []byte) ([]byte, bool) {
		if n == 1 {
			first = body
			return nil, true
		}
		return body, false
	})
	a, err := producer(t, p.URL, nil).AppendDecision(context.Background(), decision("dec-lost-answer"))
	if err != nil {
		t.Fatalf("AppendDecision after a lost answer: %v", err)
	}
	var lost struct {
		ContestToken string `json:"contest_token"`
		Index        uint64 `json:"index"`
	}
	if err := jsonUnmarshal(first, &lost); err != nil || lost.ContestToken == "" {
		t.Fatalf("the lost answer was not a receipt with a token (%v): %s", err, first)
	}
	if a.ContestToken() != lost.ContestToken || a.Index() != lost.Index {
		t.Errorf("after the retry: token %q index %d, want the lost answer's %q index %d", a.ContestToken(), a.Index(), lost.ContestToken, lost.Index)
	}
	if !a.Duplicate {
		t.Errorf("the resend was answered as a new record, want the first receipt (duplicate)")
	}
}

// A contest is not resent after a lost answer: its error is returned.
func TestLostContestAnswerIsNotResent(t *testing.T) {
	var posts atomic.Int64
	p := proxy(t, func(n int64, r *http.Request, body []byte) ([]byte, bool) {
		posts.Add(1)
		return nil, true
	})
	_, _, err := producer(t, p.URL, nil).FileContest(context.Background(), &record.ContestRequest{ContestID: "con-x", DecisionID: "dec-x", ContestToken: "t"})
	if err == nil {
		t.Fatal("FileContest succeeded through a proxy that drops every answer")
	}
	if got := posts.Load(); got != 1 {
		t.Errorf("the contest was sent %d times, want 1", got)
	}
}

// A receipt whose checkpoint signature is broken is an error, not a
// receipt; InsecureSkipVerify (explicit) takes it.
func TestTamperedReceiptFails(t *testing.T) {
	p := proxy(t, func(n int64, r *http.Request, body []byte) ([]byte, bool) {
		// change a digit of the tree root's base64 in the checkpoint text
		i := bytes.Index(body, []byte(`\n\n`))
		if r.Method == http.MethodPost && i > 2 {
			b := bytes.Clone(body)
			b[i-2] ^= 1
			return b, false
		}
		return body, false
	})
	_, err := producer(t, p.URL, nil).AppendDecision(context.Background(), decision("dec-tampered"))
	if !errors.Is(err, client.ErrReceipt) {
		t.Fatalf("AppendDecision with a tampered receipt: err %v, want ErrReceipt", err)
	}
	a, err := producer(t, p.URL, func(c *client.Config) { c.VerifierKey, c.InsecureSkipVerify = "", true }).AppendDecision(context.Background(), decision("dec-tampered"))
	if err != nil || a.Checkpoint != nil {
		t.Fatalf("unverified AppendDecision: %v (checkpoint %v), want the receipt unchecked", err, a)
	}
}

// A 503 is retried; after MaxTries the error says what the server said.
func TestOverloadRetried(t *testing.T) {
	p := proxy(t, func(n int64, r *http.Request, body []byte) ([]byte, bool) { return body, false })
	var calls atomic.Int64
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"error":{"code":"overloaded","message":"sequencer full"}}`)
			return
		}
		http.Redirect(w, r, p.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	defer flaky.Close()
	if _, err := producer(t, flaky.URL, nil).Log(context.Background()); err != nil {
		t.Fatalf("Log after two 503s: %v", err)
	}
	calls.Store(-100)
	_, err := producer(t, flaky.URL, func(c *client.Config) { c.MaxTries = 2 }).Log(context.Background())
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 503 || !strings.Contains(err.Error(), "sequencer full") {
		t.Fatalf("Log after MaxTries 503s: %v, want the server's 503 overloaded error", err)
	}
}

// Submit blocks while the queue is full and gives up with its context;
// each record of a batch gets its own answer, an invalid one its error.
func TestBatcherBackpressureAndErrors(t *testing.T) {
	release := make(chan struct{})
	p := proxy(t, func(n int64, r *http.Request, body []byte) ([]byte, bool) {
		<-release
		return body, false
	})
	b := producer(t, p.URL, nil).NewBatcher(client.BatcherConfig{MaxRecords: 2, MaxDelay: time.Millisecond, QueueSize: 1})
	ctx := context.Background()
	var futures []*client.Future
	var full error
	for i := range 10 {
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		d := decision("dec-bp-" + string(rune('a'+i)))
		if i == 1 {
			d.Outcome.Action = "refused" // cites no refuse rule: invalid
		}
		f, err := b.Submit(short, d)
		cancel()
		if err != nil {
			full = err
			break
		}
		futures = append(futures, f)
	}
	if !errors.Is(full, context.DeadlineExceeded) {
		t.Fatalf("Submit into a full queue: %v, want the context's deadline", full)
	}
	close(release)
	for i, f := range futures {
		a, err := f.Wait(ctx)
		switch {
		case i == 1 && err == nil:
			t.Errorf("record 2 (a refusal citing no refuse rule) was appended at %d", a.Index())
		case i != 1 && err != nil:
			t.Errorf("record %d: %v", i+1, err)
		}
	}
	b.Close()
	if _, err := b.Submit(ctx, decision("dec-bp-late")); !errors.Is(err, client.ErrClosed) {
		t.Errorf("Submit after Close: %v, want ErrClosed", err)
	}
}

// The Batcher sends a full batch as soon as MaxRecords are queued, and a
// partial one after MaxDelay: 12 records with MaxRecords 5 make 3 calls.
func TestBatcherGroupsBySizeAndTime(t *testing.T) {
	var calls atomic.Int64
	p := proxy(t, func(n int64, r *http.Request, body []byte) ([]byte, bool) {
		if r.URL.Path == "/v1/decisions:batch" {
			calls.Add(1)
		}
		return body, false
	})
	b := producer(t, p.URL, nil).NewBatcher(client.BatcherConfig{MaxRecords: 5, MaxDelay: 200 * time.Millisecond})
	defer b.Close()
	ctx := context.Background()
	var futures []*client.Future
	for i := range 12 {
		f, err := b.Submit(ctx, decision(fmt.Sprintf("dec-grouped-%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		futures = append(futures, f)
	}
	seen := map[uint64]bool{}
	for i, f := range futures {
		a, err := f.Wait(ctx)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if a.Checkpoint == nil || seen[a.Index()] {
			t.Fatalf("record %d: index %d unverified or given twice", i, a.Index())
		}
		seen[a.Index()] = true
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("%d batch calls for 12 records of at most 5, want 3", got)
	}
}

func TestParseRuleChange(t *testing.T) {
	rc, err := client.ParseRuleChange("ns:H-12:amend:2026.12")
	if err != nil || rc != (record.RuleChange{RuleID: "ns:H-12", Change: "amend", ConstitutionVersion: "2026.12"}) {
		t.Fatalf("%+v %v", rc, err)
	}
	for _, s := range []string{"H-12", "H-12:amend", ":amend:1", "H-12:amend:", "H 12:add:1"} {
		if _, err := client.ParseRuleChange(s); err == nil {
			t.Errorf("%q parsed", s)
		}
	}
	rcs, err := client.ParseRuleChanges([]string{"H-12:amend:2026.12", "H-13:remove:2026.12"})
	if err != nil || len(rcs) != 2 || rcs[1].RuleID != "H-13" || rcs[1].Change != "remove" {
		t.Fatalf("ParseRuleChanges: %+v %v", rcs, err)
	}
	if rcs, err := client.ParseRuleChanges(nil); err != nil || rcs == nil {
		t.Fatalf("ParseRuleChanges(nil) = %v, %v; want an empty, non-nil slice", rcs, err)
	}
	if _, err := client.ParseRuleChanges([]string{"H-1:add:1", "H-2:rewrite:1"}); err == nil || !strings.HasPrefix(err.Error(), `"H-2:rewrite:1": change must be one of`) {
		t.Fatalf("ParseRuleChanges of a bad change: %v", err)
	}
}

func TestParseResolution(t *testing.T) {
	req, err := client.ParseResolution([]byte(`{"contest_id":"con-1","outcome":"upheld","rationale":"r","human_reviewed":true}`), "con-1")
	if err != nil || req.Outcome != "upheld" || req.Rationale != "r" || !req.HumanReviewed || req.RuleChanges == nil {
		t.Fatalf("%+v %v", req, err)
	}
	for in, want := range map[string]string{
		`{"outcome":"upheld","extra":1}`:                                                     "not a resolution body",
		`{"contest_id":"con-2","outcome":"upheld"}`:                                          `contest "con-2", not "con-1"`,
		`{"rule_changes":[{"rule_id":"H-1","change":"rewrite","constitution_version":"1"}]}`: "rule_changes[0]: change must be one of",
	} {
		if _, err := client.ParseResolution([]byte(in), "con-1"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", in, err, want)
		}
	}
	if _, err := client.ParseResolution([]byte(`[]`), "con-1"); !errors.Is(err, client.ErrNotResolution) {
		t.Errorf("an array: %v, want ErrNotResolution", err)
	}
}

func TestCheckGrounds(t *testing.T) {
	if err := client.CheckGrounds("the refusal cites no rule"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{" \n", "\xff", strings.Repeat("é", record.MaxGroundsText+1)} {
		if client.CheckGrounds(s) == nil {
			t.Errorf("grounds %.20q accepted", s)
		}
	}
	if id, err := client.NewContestID(); err != nil || !record.IsID(id) || len(id) != 20 {
		t.Fatalf("contest id %q %v", id, err)
	}
}
