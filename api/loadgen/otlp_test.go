package loadgen

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/verify"
)

// The OTLP phase sends guardrail spans that the ledger logs as refusals
// of the example's rule, each exactly once, with fresh ids; the requests
// are valid OTLP (they decode with pdata) and differ where they must.
func TestRunOTLPAgainstServer(t *testing.T) {
	s, e, snd := published(t)
	ctx := context.Background()
	sb, err := NewSpanBatch(e, 3)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	a, b := sb.Append(nil, 100, rng), sb.Append(nil, 200, rng)
	for _, body := range [][]byte{a, b} {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil || req.Traces().SpanCount() != 3 {
			t.Fatalf("generated request: %v, %d spans", err, req.Traces().SpanCount())
		}
	}
	if string(a) == string(b) {
		t.Fatal("two requests are the same")
	}

	r, err := snd.RunOTLP(ctx, e, 23, 2, 5)
	if err != nil {
		t.Fatal(err)
	}
	if r.Records != 23 || r.Errors != 0 || r.P50ms <= 0 {
		t.Fatalf("want 23 decisions logged, no error, got %+v", r)
	}
	if size := s.Log.Head().Size; size != 1+23 {
		t.Fatalf("tree size %d, want 24", size)
	}
	// The last span sent (seq 23, span 0 of the last, short request) is a
	// refusal of H-12 whose receipt verifies.
	last, err := NewSpanBatch(e, 3)
	if err != nil {
		t.Fatal(err)
	}
	code, body := s.Do("GET", "/v1/decisions/"+last.DecisionID(21, 0)+"/receipt", auth.Producer, nil)
	if code != http.StatusOK {
		t.Fatalf("receipt: %d %s", code, body)
	}
	rc, err := verify.ParseReceipt(body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Verify(s.VKey); err != nil {
		t.Fatal(err)
	}
	env, err := audit.ParseEnvelope(rc.Entry)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Rules []struct {
			RuleID string `json:"rule_id"`
		} `json:"rules"`
		Outcome    struct{ Action string } `json:"outcome"`
		Candidates []json.RawMessage       `json:"candidates"`
	}
	json.Unmarshal(env.Body, &d)
	if d.Outcome.Action != "refused" || len(d.Rules) != 1 || d.Rules[0].RuleID != "H-12" || len(d.Candidates) != 2 {
		t.Errorf("logged: %s", env.Body)
	}
}
