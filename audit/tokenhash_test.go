package audit

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/fjaledger/fja/ledger"
)

// Every decision's contest token hash is indexed under its 32 bytes, not
// its hex digits; a producer-supplied hash is checked against those keys
// and against the hex-digit keys of decisions logged by earlier versions.
func TestTokenHashKeys(t *testing.T) {
	tb := openTestBook(t, t.TempDir())
	ctx := context.Background()
	decision := func(id, tokenHash string) []byte {
		var m map[string]any
		if err := json.Unmarshal(readExample(t, "decision-answered.json"), &m); err != nil {
			t.Fatal(err)
		}
		m["decision_id"] = id
		if tokenHash != "" {
			m["contest"] = map[string]any{"token_sha256": tokenHash}
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	raw := func(h string) string {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		return "th/" + string(b)
	}

	issued, err := tb.AppendDecision(ctx, decision("dec-issued", ""))
	if err != nil || issued.ContestToken == "" {
		t.Fatalf("a decision without a token hash: %v, token %q; want a token made for it", err, issued.ContestToken)
	}
	h := TokenHash(issued.ContestToken)
	if got := tb.index(t, raw(h)); string(got) != "dec-issued" {
		t.Errorf("index %x: %q, want the decision's id", raw(h), got)
	}
	if got := tb.index(t, "th/"+h); got != nil {
		t.Errorf("index th/%s (hex digits): %q, want nothing", h, got)
	}

	legacy := strings.Repeat("c0", 32)
	if err := tb.store.Update([]ledger.KV{{Key: []byte("th/" + legacy), Value: []byte("dec-legacy")}}, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, hash string }{{"a ledger-made token's hash", h}, {"a hash logged by an earlier version", legacy}} {
		_, err := tb.AppendDecision(ctx, decision("dec-copy", c.hash))
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != "contest.token_sha256" {
			t.Errorf("a decision reusing %s: %v; want a validation error on contest.token_sha256", c.name, err)
		}
	}

	own := strings.Repeat("5a", 32)
	for range 2 { // the second time, a resubmission: the hash is its own
		if _, err := tb.AppendDecision(ctx, decision("dec-own", own)); err != nil {
			t.Fatalf("a decision with its own token hash: %v", err)
		}
	}
	if got := tb.index(t, raw(own)); string(got) != "dec-own" {
		t.Errorf("index %x: %q, want dec-own", raw(own), got)
	}

	for _, bad := range []string{"", "abc", strings.Repeat("zz", 32), strings.Repeat("ab", 33)} {
		if k, err := tokenHashKey(bad); err == nil {
			t.Errorf("tokenHashKey(%q) = %x, want an error", bad, k)
		}
	}
}
