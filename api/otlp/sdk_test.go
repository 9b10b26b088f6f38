package otlp_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/fjaledger/fja/api"
	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/api/otlp"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/verify"
)

// joinWait is the servers' join wait in these tests: short, so that an
// incomplete join is logged within the test's time.
const joinWait = 400 * time.Millisecond

func newServer(t *testing.T) *apitest.Server {
	t.Helper()
	s := apitest.New(t, apitest.WithAPI(func(c *api.Config) { c.OTLPJoinWait = joinWait }))
	s.MustPost("/v1/constitutions", auth.Producer, apitest.Example(t, "constitution.json"))
	return s
}

// decisionOf waits (up to 5 s: a joined decision is logged in the
// background) for the receipt of decision id, verifies it with the log's
// key alone, and returns the logged decision body.
func decisionOf(t *testing.T, s *apitest.Server, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, b := s.Do("GET", "/v1/decisions/"+id+"/receipt", auth.Producer, nil)
		if code == http.StatusOK {
			r, err := verify.ParseReceipt(b)
			if err != nil {
				t.Fatalf("receipt of %s: %v", id, err)
			}
			if _, err := r.Verify(s.VKey); err != nil {
				t.Fatalf("receipt of %s does not verify: %v", id, err)
			}
			env, err := audit.ParseEnvelope(r.Entry)
			if err != nil {
				t.Fatal(err)
			}
			var d map[string]any
			if err := json.Unmarshal(env.Body, &d); err != nil {
				t.Fatal(err)
			}
			d["_entry"] = string(r.Entry)
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("decision %s: no receipt after 5 s: GET receipt answers %d %s", id, code, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func spanDecisionID(sc trace.SpanContext) string {
	return "otel-" + sc.TraceID().String() + "-" + sc.SpanID().String()
}

// TestOTelSDK: a stack instrumented with the OpenTelemetry Go SDK, its
// trace and log exporters pointed at the ledger by
// OTEL_EXPORTER_OTLP_ENDPOINT alone, logs guardrail decisions: each
// apply_guardrail span lands as one decision whose receipt verifies, its
// finding, content and evaluation events mapped as the README's table says;
// the evaluation arriving in a later export call (the log exporter) is
// joined; an expected evaluation that never comes leaves the decision
// logged after the join wait, flagged.
func TestOTelSDK(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", s.URL+"/otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer%20"+s.Tokens[auth.Producer])

	res := resource.NewSchemaless(
		attribute.String("service.name", "chat-gateway"),
		attribute.String("service.version", "2026-10-01"),
		attribute.String("fja.system.operator", "example-ai"),
		attribute.String("fja.system.deployment", "eu-central"),
		attribute.String("fja.constitution.id", "fja-default"),
	)
	texp, err := otlptracehttp.New(ctx, otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(texp))
	defer tp.Shutdown(ctx)
	lexp, err := otlploghttp.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewBatchProcessor(lexp)))
	defer lp.Shutdown(ctx)
	tracer := tp.Tracer("example.org/guard")
	logger := lp.Logger("example.org/guard")

	token := "contest-token-of-the-user"
	tokenHash := sha256.Sum256([]byte(token))
	subject := "sha256:" + strings.Repeat("ab", 32)
	prompt := "what is the maximum daily dose of paracetamol for me"

	// 1: a deny, with a finding, content, and one evaluation expected
	// (sent later, as a log record).
	chatCtx, chat := tracer.Start(ctx, "chat example-chat", trace.WithAttributes(attribute.String("gen_ai.operation.name", "chat")))
	gctx, g := tracer.Start(chatCtx, "apply_guardrail Content Filter", trace.WithAttributes(
		attribute.String("gen_ai.operation.name", "apply_guardrail"),
		attribute.String("gen_ai.security.target.type", "llm_input"),
		attribute.String("gen_ai.security.decision.type", "deny"),
		attribute.String("gen_ai.security.decision.reason", "dosage question matched the self-harm screen"),
		attribute.String("gen_ai.security.policy.id", "H-12"),
		attribute.String("gen_ai.security.policy.version", "2026.11"),
		attribute.String("gen_ai.guardian.name", "Content Filter"),
		attribute.String("gen_ai.request.model", "example-chat"),
		attribute.String("gen_ai.response.id", "resp-1"),
		attribute.String("gen_ai.security.content.input.value", prompt),
		attribute.String("fja.subject.ref", subject),
		attribute.String("fja.subject.jurisdiction", "DE"),
		attribute.String("fja.subject.locale", "de-DE"),
		attribute.String("fja.subject.token_sha256", hex.EncodeToString(tokenHash[:])),
		attribute.String("fja.outcome.category", "medical"),
		attribute.Float64("fja.weight.harmlessness", 0.4),
		attribute.Float64("fja.weight.helpfulness", 0.1),
		attribute.String("fja.objectives", `[{"id":"obj-1","description":"dosage of an analgesic","source":"extracted","confidence":0.91}]`),
		attribute.Int("fja.evaluations.expected", 1),
	))
	g.AddEvent("gen_ai.security.finding", trace.WithAttributes(
		attribute.String("gen_ai.security.risk.category", "self_harm"),
		attribute.String("gen_ai.security.risk.severity", "high"),
		attribute.Float64("gen_ai.security.risk.score", 0.93),
		attribute.String("gen_ai.security.policy.id", "H-12"),
	))
	g.End()
	denyID := spanDecisionID(g.SpanContext())

	// 2: an allow expecting two evaluations; only one ever comes.
	_, g2 := tracer.Start(chatCtx, "apply_guardrail Content Filter", trace.WithAttributes(
		attribute.String("gen_ai.operation.name", "apply_guardrail"),
		attribute.String("gen_ai.security.target.type", "llm_output"),
		attribute.String("gen_ai.security.decision.type", "allow"),
		attribute.String("gen_ai.security.policy.id", "A-03"),
		attribute.String("gen_ai.security.policy.version", "2026.11"),
		attribute.String("gen_ai.request.model", "example-chat"),
		attribute.String("gen_ai.response.id", "resp-2"),
		attribute.String("fja.subject.ref", subject),
		attribute.String("fja.subject.jurisdiction", "DE"),
		attribute.String("fja.subject.locale", "de-DE"),
		attribute.String("fja.decision.id", "otel-sdk-allow-1"),
		attribute.Int("fja.evaluations.expected", 2),
	))
	g2.End()
	chat.End()
	if err := tp.ForceFlush(ctx); err != nil { // the spans go first, in their own export call
		t.Fatal(err)
	}

	emit := func(ctx context.Context, name string, value float64, responseID string) {
		var r otellog.Record
		r.SetEventName("gen_ai.evaluation.result")
		r.SetTimestamp(time.Now())
		r.AddAttributes(
			attribute.String("gen_ai.evaluation.name", name),
			attribute.Float64("gen_ai.evaluation.score.value", value),
			attribute.String("gen_ai.evaluation.score.label", "pass"),
			attribute.String("gen_ai.evaluation.explanation", "the judge quoted: "+prompt),
			attribute.String("gen_ai.response.id", responseID),
		)
		logger.Emit(ctx, r)
	}
	emit(gctx, "harmlessness", 0.97, "resp-1")             // joined by trace
	emit(context.Background(), "relevance", 0.5, "resp-2") // joined by gen_ai.response.id alone
	if err := lp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}

	d := decisionOf(t, s, denyID)
	entry := d["_entry"].(string)
	if strings.Contains(entry, "paracetamol") || strings.Contains(entry, "the judge quoted") {
		t.Errorf("content entered the leaf: %s", entry)
	}
	want := map[string]any{
		"decision_id":                      denyID,
		"outcome.action":                   "refused",
		"outcome.category":                 "medical",
		"outcome.explanation":              "dosage question matched the self-harm screen",
		"rules.0.rule_id":                  "H-12",
		"rules.0.effect":                   "refuse",
		"constitution.id":                  "fja-default",
		"constitution.version":             "2026.11",
		"system.operator":                  "example-ai",
		"system.model":                     "example-chat",
		"system.model_version":             "2026-10-01",
		"system.deployment":                "eu-central",
		"subject.ref":                      subject,
		"subject.jurisdiction":             "DE",
		"contest.token_sha256":             hex.EncodeToString(tokenHash[:]),
		"weights.harmlessness":             0.4,
		"objectives.0.id":                  "obj-1",
		"candidates.0.id":                  "resp-1",
		"candidates.0.selected":            true,
		"candidates.0.scores.harmlessness": 0.97,
		"provenance_flags.0.code":          "self_harm",
		"provenance_flags.0.severity":      "critical",
	}
	for path, v := range want {
		if got := at(d, path); got != v {
			t.Errorf("deny decision %s = %v, want %v", path, got, v)
		}
	}
	if c, _ := at(d, "request.commitment").(string); !strings.HasPrefix(c, "sha256:") {
		t.Errorf("request.commitment = %v, want the commitment to the private prompt", at(d, "request.commitment"))
	}
	if r, _ := at(d, "rules.0.rationale").(string); !strings.Contains(r, "self_harm") {
		t.Errorf("rules.0.rationale = %q, want the finding in it", r)
	}
	if n := len(d["provenance_flags"].([]any)); n != 2 { // the finding, and no response content
		t.Errorf("deny decision has %d provenance flags, want 2 (finding, otel.content.absent): %v", n, d["provenance_flags"])
	}

	// The allow waited its join wait for a second evaluation, then was
	// logged with the one that came, and says so.
	d2 := decisionOf(t, s, "otel-sdk-allow-1")
	if got := at(d2, "candidates.0.scores.relevance"); got != 0.5 {
		t.Errorf("allow decision: relevance score %v, want 0.5 (joined by gen_ai.response.id)", got)
	}
	var flagged bool
	for _, f := range d2["provenance_flags"].([]any) {
		if f.(map[string]any)["code"] == "otel.join.incomplete" {
			flagged = true
			if m := f.(map[string]any)["message"].(string); !strings.Contains(m, "1 of the 2") {
				t.Errorf("join flag message %q, want it to say 1 of the 2 expected events arrived", m)
			}
		}
	}
	if !flagged || at(d2, "outcome.action") != "answered" || at(d2, "rules.0.effect") != "allow" {
		t.Errorf("allow decision: want answered, allow, flagged otel.join.incomplete; got %v", d2)
	}
	// The operator sees the ingest in /metrics (the counters move just
	// after an append is acknowledged: allow them a moment).
	wants := []string{"\nfja_otlp_decisions_total 2\n", "\nfja_otlp_incomplete_joins_total 1\n", "\nfja_otlp_pending_decisions 0\n", "\nfja_otlp_rejected_total 0\n"}
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		code, m := s.Do("GET", "/metrics", auth.Operator, nil)
		var missing []string
		for _, w := range wants {
			if !strings.Contains(string(m), w) {
				missing = append(missing, strings.TrimSpace(w))
			}
		}
		if code == http.StatusOK && len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /metrics: %d, want %q in it", code, missing)
		}
	}
}

// at follows a dotted path into a decoded JSON value (table_test.go).
var at = otlp.At
