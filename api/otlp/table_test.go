package otlp

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/fjaledger/fja/audit"
)

// baseSpan is the apply_guardrail span every mapping example starts from:
// a deny of H-12 with what the schema requires, nothing more.
func baseSpan(r row) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	res := map[string]any{
		"service.namespace":           "example-ai",
		"service.version":             "2026-10-01",
		"deployment.environment.name": "eu-central",
		"fja.constitution.id":         "fja-default",
	}
	for k, v := range r.res {
		res[k] = v
	}
	if err := rs.Resource().Attributes().FromRaw(res); err != nil {
		panic(err)
	}
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetName("apply_guardrail Filter")
	sp.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	sp.SetSpanID(pcommon.SpanID{0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18})
	t := time.Date(2026, 11, 27, 10, 0, 1, 0, time.UTC)
	sp.SetStartTimestamp(pcommon.NewTimestampFromTime(t.Add(-time.Millisecond)))
	sp.SetEndTimestamp(pcommon.NewTimestampFromTime(t))
	attrs := map[string]any{
		"gen_ai.operation.name":          "apply_guardrail",
		"gen_ai.security.decision.type":  "deny",
		"gen_ai.security.policy.id":      "H-12",
		"gen_ai.security.policy.version": "2026.11",
		"gen_ai.request.model":           "example-chat",
		"fja.subject.ref":                "sha256:" + strings.Repeat("ab", 32),
		"fja.subject.jurisdiction":       "DE",
		"fja.subject.locale":             "de-DE",
	}
	for k, v := range r.span {
		attrs[k] = v
	}
	if err := sp.Attributes().FromRaw(attrs); err != nil {
		panic(err)
	}
	if r.find != nil {
		ev := sp.Events().AppendEmpty()
		ev.SetName(eventFinding)
		if err := ev.Attributes().FromRaw(r.find); err != nil {
			panic(err)
		}
	}
	if r.eval != nil {
		ev := sp.Events().AppendEmpty()
		ev.SetName(eventEvaluation)
		if err := ev.Attributes().FromRaw(r.eval); err != nil {
			panic(err)
		}
	}
	return td
}

// mapExample maps the example of r as the ingest would (no join wait).
func mapExample(t *testing.T, r row) map[string]any {
	t.Helper()
	guards, evs := guardsOf(baseSpan(r))
	if len(guards) != 1 {
		t.Fatalf("%d guards, want 1", len(guards))
	}
	var evals []evaluation
	for _, o := range evs {
		if o.eval.matches(guards[0]) {
			evals = append(evals, *o.eval)
		}
	}
	body, _, err := mapDecision(guards[0], evals, joinOf(guards[0], evals, 0, false))
	if err != nil {
		t.Fatalf("mapping: %v", err)
	}
	// What the mapping makes, the schema of POST /v1/decisions accepts.
	if _, err := audit.DecodeDecisionRequest(body); err != nil {
		t.Fatalf("the mapped request does not validate: %v\n%s", err, body)
	}
	var d map[string]any
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestMappingTable holds the mapping to its table: each row's example,
// set on a base guardrail span, maps to a request that validates and
// holds what the row says; and README.md shows the table as it is here.
func TestMappingTable(t *testing.T) {
	for _, r := range mapping {
		t.Run(r.otel, func(t *testing.T) {
			d := mapExample(t, r)
			if len(r.want) == 0 {
				t.Fatal("row without an example to check")
			}
			for path, want := range r.want {
				if got := at(d, path); got != want {
					t.Errorf("%s = %#v, want %#v (request %v)", path, got, want, d)
				}
			}
		})
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), MarkdownTable()) {
		t.Errorf("README.md does not hold the mapping table as api/otlp has it; put this in its OpenTelemetry section:\n%s", MarkdownTable())
	}
}

// TestMappingKeepsContentOut: content attributes never reach the leaf's
// fields, and what cannot map is a mapError naming what was wanted.
func TestMappingKeepsContentOut(t *testing.T) {
	d := mapExample(t, row{span: map[string]any{
		"gen_ai.security.content.input.value":  "my card is 4111",
		"gen_ai.input.messages":                `[{"role":"user","parts":[{"type":"text","content":"my card is 4111"}]}]`,
		"gen_ai.security.content.output.value": "[REDACTED]",
		"gen_ai.security.content.input.hash":   "sha256:0badc0ffee",
		"gen_ai.security.content.redacted":     true,
	}})
	p := d["private"].(map[string]any)
	delete(d, "private")
	leaf, _ := json.Marshal(d)
	if strings.Contains(string(leaf), "4111") || strings.Contains(string(leaf), "REDACTED") || strings.Contains(string(leaf), "0badc0ffee") {
		t.Errorf("content outside the private section: %s", leaf)
	}
	if req := p["request"].(string); !strings.Contains(req, `"gen_ai.input.messages"`) || !strings.Contains(req, "my card is 4111") {
		t.Errorf("private.request = %q, want the input attributes as a JSON object", req)
	}
	if resp := p["response"].(string); !strings.Contains(resp, "[REDACTED]") {
		t.Errorf("private.response = %q, want the output value", resp)
	}

	for _, c := range []struct {
		span map[string]any
		want string
	}{
		{map[string]any{"gen_ai.security.decision.type": ""}, "has no gen_ai.security.decision.type"},
		{map[string]any{"gen_ai.security.decision.type": "block"}, `"block": want allow, deny, modify, warn or audit`},
		{map[string]any{"fja.subject.ref": ""}, "no subject reference"},
		{map[string]any{"gen_ai.security.policy.id": ""}, "cites no rule"},
		{map[string]any{"fja.weight.x": "many"}, "fja.weight.x: want a finite number"},
		{map[string]any{"fja.objectives": "{}"}, "want a JSON array of objectives"},
	} {
		guards, _ := guardsOf(baseSpan(row{span: c.span}))
		_, _, err := mapDecision(guards[0], nil, joinNote{})
		if _, ok := err.(*mapError); !ok || !strings.Contains(err.Error(), c.want) {
			t.Errorf("span %v: error %v, want a mapError containing %q", c.span, err, c.want)
		}
	}
}

// At is at, for the external tests.
var At = at

// at follows a dotted path (numbers index arrays) into a decoded JSON value.
func at(v any, path string) any {
	for _, p := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i := 0
			for _, c := range p {
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}
