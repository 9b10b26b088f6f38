package client_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/verify/explanation"
)

// The subject fetches the explanation of its decision with the contest
// token: verified with the pinned key, the raw file verifies again
// offline, and reads in plain words; a server that changes one byte of it
// is caught.
func TestExplanation(t *testing.T) {
	ctx := context.Background()
	a, err := producer(t, server.URL, nil).AppendDecision(ctx, decision("dec-explained"))
	if err != nil {
		t.Fatal(err)
	}
	subject := producer(t, server.URL, func(c *client.Config) { c.Token = "" })
	e, raw, err := subject.Explanation(ctx, "dec-explained", a.ContestToken())
	if err != nil {
		t.Fatalf("Explanation: %v", err)
	}
	if e.DecisionID != "dec-explained" || e.Decision.Index != a.Receipt.Index || len(e.Rules) == 0 || !client.IsExplanation(raw) {
		t.Fatalf("explanation %+v", e)
	}
	if _, _, err := explanation.Verify(raw, server.VKey); err != nil {
		t.Fatalf("the raw file does not verify offline: %v", err)
	}
	var text strings.Builder
	if err := client.WriteExplanation(&text, e); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"decision dec-explained", "constitution fja-default version 2026.11", "weights: autonomy",
		"provenance western-sources (info): The answer relies mostly on sources from Western countries", "contestable until 20"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if client.IsExplanation(a.Raw) {
		t.Error("a receipt is taken for an explanation")
	}

	// a regulator reads it too; a producer may not
	reg := producer(t, server.URL, func(c *client.Config) { c.Token = server.Tokens[auth.Regulator] })
	if _, _, err := reg.Explanation(ctx, "dec-explained", ""); err != nil {
		t.Fatalf("as regulator: %v", err)
	}
	var se *client.Error
	if _, _, err := producer(t, server.URL, nil).Explanation(ctx, "dec-explained", ""); !errors.As(err, &se) || se.Status != http.StatusForbidden {
		t.Fatalf("as producer: %v, want 403", err)
	}

	// a server that changes one letter of a cited rule's text as shown
	// (the last occurrence: rules come after the constitution record)
	p := proxy(t, func(_ int64, _ *http.Request, body []byte) ([]byte, bool) {
		if i := bytes.LastIndex(body, []byte("Do not present one region")); i >= 0 {
			body = bytes.Clone(body)
			body[i+3] ^= 0x20 // "Do Not present"
		}
		return body, false
	})
	if _, _, err := producer(t, p.URL, func(c *client.Config) { c.Token = "" }).Explanation(ctx, "dec-explained", a.ContestToken()); !errors.Is(err, client.ErrReceipt) || !strings.Contains(err.Error(), "rules shown") {
		t.Fatalf("changed rule text: %v, want ErrReceipt about the rules shown", err)
	}
}
