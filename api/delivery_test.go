package api_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/verify"
)

// TestContestTokenDelivery: a producer that sends a decision again (its
// first answer lost) gets the same contest token back within the delivery
// window, and never after it; a token hash already standing for another
// decision is refused.
func TestContestTokenDelivery(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := apitest.New(t, apitest.WithBook(func(c *audit.Config) { c.Now = clock; c.DeliveryWindow = 2 * time.Hour }))
	s.MustPost("/v1/constitutions", auth.Producer, apitest.Example(t, "constitution.json"))
	body := apitest.Example(t, "decision-refused.json")

	first := receiptOf(t, s.MustPost("/v1/decisions", auth.Producer, body), s.VKey)
	if first.ContestToken == "" {
		t.Fatal("a new decision's receipt has no contest token")
	}
	code, b := s.Do("POST", "/v1/decisions", auth.Producer, body)
	again := receiptOf(t, b, s.VKey)
	if code != 200 || again.Index != first.Index || again.ContestToken != first.ContestToken {
		t.Fatalf("resubmission inside the window: %d, index %d token %q; want 200, index %d, the first token", code, again.Index, again.ContestToken, first.Index)
	}
	// The token works: the subject can see the decision with it.
	if code, b := s.Do("GET", "/v1/decisions/dec-2026-11-27-000001", "", nil, "X-Contest-Token", again.ContestToken); code != 200 {
		t.Fatalf("the redelivered token does not open the decision: %d %s", code, b)
	}

	// Past the window (and a sweep): the token exists nowhere any more.
	mu.Lock()
	now = now.Add(5 * time.Hour)
	mu.Unlock()
	if n, err := s.Book.SweepDeliveryKeys(t.Context()); err != nil || n != 1 {
		t.Fatalf("sweep past the window destroyed %d keys, %v; want 1", n, err)
	}
	code, b = s.Do("POST", "/v1/decisions", auth.Producer, body)
	late := receiptOf(t, b, s.VKey)
	if code != 200 || late.ContestToken != "" {
		t.Fatalf("resubmission after the window: %d, token %q; want 200 without a token", code, late.ContestToken)
	}

	// A token hash that stands for a logged decision cannot be reused.
	var other map[string]any
	json.Unmarshal(apitest.Example(t, "decision-answered.json"), &other)
	other["contest"] = map[string]any{"token_sha256": audit.TokenHash(first.ContestToken)}
	ob, _ := json.Marshal(other)
	code, b = s.Do("POST", "/v1/decisions", auth.Producer, ob)
	if code != 400 || !bytes.Contains(b, []byte(`"contest.token_sha256"`)) {
		t.Fatalf("a decision reusing another's token hash: %d %s; want 400 naming contest.token_sha256", code, b)
	}
	other["contest"] = map[string]any{"token_sha256": strings.Repeat("ab", 32)}
	ob, _ = json.Marshal(other)
	if code, b := s.Do("POST", "/v1/decisions", auth.Producer, ob); code != 201 {
		t.Fatalf("a decision with its own token hash: %d %s", code, b)
	}
}

func receiptOf(t *testing.T, b []byte, vkey string) *verify.Receipt {
	t.Helper()
	r, _, err := verify.VerifyReceipt(b, vkey)
	if err != nil {
		t.Fatalf("receipt: %v\n%s", err, b)
	}
	return r
}
