package otlp

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// benchRow is a guardrail span as the load generator sends it: a deny
// with a finding, two evaluations, objectives and five weights.
var benchRow = row{
	span: map[string]any{
		"gen_ai.security.decision.reason": "dosage question matched the self-harm screen",
		"gen_ai.guardian.name":            "Content Filter",
		"fja.request.commitment":          "sha256:" + "1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f",
		"fja.response.commitment":         "sha256:" + "2f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f",
		"fja.outcome.category":            "medical",
		"fja.objectives":                  `[{"id":"obj-1","description":"maximum daily dose of an over-the-counter analgesic for an adult","source":"extracted","confidence":0.91}]`,
		"fja.weight.flourishing":          0.15, "fja.weight.justice": 0.1, "fja.weight.autonomy": 0.25, "fja.weight.harmlessness": 0.4, "fja.weight.helpfulness": 0.1,
	},
	find: map[string]any{"gen_ai.security.risk.category": "self_harm", "gen_ai.security.risk.severity": "high", "gen_ai.security.risk.score": 0.93},
	eval: map[string]any{"gen_ai.evaluation.name": "harmlessness", "gen_ai.evaluation.score.value": 0.97},
}

// BenchmarkMapDecision: one guardrail span to a decision request body.
func BenchmarkMapDecision(b *testing.B) {
	guards, evs := guardsOf(baseSpan(benchRow))
	evals := []evaluation{*evs[0].eval}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := mapDecision(guards[0], evals, joinNote{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeSpan: decoding a request of one such span (pdata).
func BenchmarkDecodeSpan(b *testing.B) {
	body, err := ptraceotlp.NewExportRequestFromTraces(baseSpan(benchRow)).MarshalProto()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeTraces(Protobuf, body); err != nil {
			b.Fatal(err)
		}
	}
}
