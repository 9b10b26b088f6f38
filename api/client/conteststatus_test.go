package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fjaledger/fja/api/client"
)

// TestContestStatusOfRefusesOtherContests: an answer about another
// contest, or about a contest against another decision than the
// subject's receipt, is an error naming both, whatever else it holds.
func TestContestStatusOfRefusesOtherContests(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Contest-Token") != "tok" {
			t.Errorf("contest token %q not sent", r.Header.Get("X-Contest-Token"))
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"contest_id":"con-2","decision_id":"dec-9","status":"open"}`))
	}))
	defer hs.Close()
	c, err := client.New(client.Config{URL: hs.URL, InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, _, err := c.ContestStatusOf(ctx, "con-1", "tok", nil); err == nil || !strings.Contains(err.Error(), `the server answered contest "con-2"`) {
		t.Fatalf("another contest: %v", err)
	}
	d := &client.DecisionReceipt{DecisionID: "dec-1"}
	if _, _, _, err := c.ContestStatusOf(ctx, "con-2", "tok", d); err == nil || !strings.Contains(err.Error(), `against decision "dec-9", the receipt is of "dec-1"`) {
		t.Fatalf("another decision: %v", err)
	}
	if _, _, _, err := c.ContestStatusOf(ctx, "con-2", "tok", nil); err == nil || !strings.Contains(err.Error(), "contest con-2 does NOT verify") {
		t.Fatalf("no contest record: %v", err)
	}
}
