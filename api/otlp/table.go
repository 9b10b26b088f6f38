package otlp

import (
	"strings"
)

// A row of the mapping table: what of OpenTelemetry becomes what of a
// decision request, and an example the tests run through the mapping
// (attributes set on a base apply_guardrail span, its resource, a finding
// event, an evaluation event; the fields of the mapped request they must
// give, by dotted path).
type row struct {
	otel, decision, rule string

	span, res, find, eval map[string]any
	want                  map[string]any
}

// mapping is the table README.md shows (MarkdownTable) and the tests hold
// the mapping to (TestMappingTable). Keep it in the order a reader needs.
var mapping = []row{
	{otel: "span with `gen_ai.operation.name` = `apply_guardrail` (or a name starting `apply_guardrail`, or a `gen_ai.security.decision.type`)", decision: "one decision record", rule: "other spans are accepted and ignored",
		want: map[string]any{"decision_id": "otel-0102030405060708090a0b0c0d0e0f10-1112131415161718"}},
	{otel: "trace id + span id, or `fja.decision.id`", decision: "`decision_id`", rule: "`otel-<trace id>-<span id>` (hex): an exporter's retry is a repeat, same receipt",
		span: map[string]any{"fja.decision.id": "dec-42"}, want: map[string]any{"decision_id": "dec-42"}},
	{otel: "span end time (else start time)", decision: "`occurred_at`", rule: "RFC 3339, UTC",
		want: map[string]any{"occurred_at": "2026-11-27T10:00:01Z"}},
	{otel: "`gen_ai.security.decision.type` = `deny`", decision: "`outcome.action` = `refused`; every rule's `effect` = `refuse`", rule: "required: a guardrail span without it is rejected (partial success)",
		span: map[string]any{"gen_ai.security.decision.type": "deny"}, want: map[string]any{"outcome.action": "refused", "rules.0.effect": "refuse"}},
	{otel: "… = `allow`", decision: "`answered`; `allow`", span: map[string]any{"gen_ai.security.decision.type": "allow"},
		want: map[string]any{"outcome.action": "answered", "rules.0.effect": "allow"}},
	{otel: "… = `modify`", decision: "`modified`; `modify`", span: map[string]any{"gen_ai.security.decision.type": "modify"},
		want: map[string]any{"outcome.action": "modified", "rules.0.effect": "modify"}},
	{otel: "… = `warn`", decision: "`answered`; `warn`", span: map[string]any{"gen_ai.security.decision.type": "warn"},
		want: map[string]any{"outcome.action": "answered", "rules.0.effect": "warn"}},
	{otel: "… = `audit`", decision: "`answered`; `allow`", rule: "logged, not enforced", span: map[string]any{"gen_ai.security.decision.type": "audit"},
		want: map[string]any{"outcome.action": "answered", "rules.0.effect": "allow"}},
	{otel: "`gen_ai.security.policy.id`", decision: "`rules[].rule_id`", rule: "the rule must exist in the cited constitution version",
		span: map[string]any{"gen_ai.security.policy.id": "A-03"}, want: map[string]any{"rules.0.rule_id": "A-03"}},
	{otel: "`gen_ai.security.policy.version`", decision: "`constitution.version`", rule: "`fja.constitution.version` wins",
		span: map[string]any{"gen_ai.security.policy.version": "2026.12"}, want: map[string]any{"constitution.version": "2026.12"}},
	{otel: "`fja.constitution.id`", decision: "`constitution.id`", rule: "required (OTel has no constitution)",
		res: map[string]any{"fja.constitution.id": "fja-eu"}, want: map[string]any{"constitution.id": "fja-eu"}},
	{otel: "`gen_ai.security.decision.reason`, `gen_ai.security.policy.name`, `gen_ai.guardian.name`/`provider.name`/`version`/`id`", decision: "`rules[].rationale`; the reason also `outcome.explanation`", rule: "`fja.outcome.explanation` wins",
		span: map[string]any{"gen_ai.security.decision.reason": "screened", "gen_ai.guardian.name": "Filter", "gen_ai.guardian.provider.name": "custom"},
		want: map[string]any{"rules.0.rationale": "screened; guardian: Filter (custom)", "outcome.explanation": "screened"}},
	{otel: "`gen_ai.security.target.type`", decision: "`outcome.category`", rule: "`fja.outcome.category` wins",
		span: map[string]any{"gen_ai.security.target.type": "tool_call"}, want: map[string]any{"outcome.category": "tool_call"}},
	{otel: "`gen_ai.security.finding` event (span event, or log record of the span): `gen_ai.security.policy.id`", decision: "a `rules[]` entry (or the same rule), its `rationale` naming the finding", rule: "`fja.rule.id` on the event wins",
		find: map[string]any{"gen_ai.security.policy.id": "A-03", "gen_ai.security.risk.category": "pii", "gen_ai.security.risk.severity": "medium"},
		want: map[string]any{"rules.1.rule_id": "A-03", "rules.1.rationale": "finding: pii, severity medium"}},
	{otel: "finding `gen_ai.security.risk.category`, `.severity`, `.score`", decision: "a `provenance_flags[]` entry: `code` = category, `severity` = `critical` (high, critical), `warning` (medium), `info` (low, none)", rule: "",
		find: map[string]any{"gen_ai.security.risk.category": "prompt_injection", "gen_ai.security.risk.severity": "high", "gen_ai.security.risk.score": 0.9},
		want: map[string]any{"provenance_flags.0.code": "prompt_injection", "provenance_flags.0.severity": "critical", "provenance_flags.0.message": "finding: prompt_injection, severity high, score 0.9"}},
	{otel: "`gen_ai.evaluation.result` event (span event, or log record) of the same `gen_ai.response.id`, else the same trace", decision: "`candidates[]`: `scores[gen_ai.evaluation.name]` = `gen_ai.evaluation.score.value`", rule: "candidate `id` = `fja.candidate.id`, else `gen_ai.response.id`, else `c1`; `selected` = `fja.candidate.selected`, else the only candidate or the span's response; label and explanation are not logged",
		eval: map[string]any{"gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": 0.75, "gen_ai.evaluation.explanation": "quotes the prompt"},
		want: map[string]any{"candidates.0.id": "c1", "candidates.0.scores.relevance": 0.75, "candidates.0.selected": true}},
	{otel: "`gen_ai.input.messages`, `gen_ai.system_instructions`, and every `gen_ai.security.content.*` but `.output.*` (`.input.value`, `.input.hash`, …)", decision: "`private.request`: sealed outside the tree; the leaf holds `request.commitment` only", rule: "several: a JSON object of them; over 32,768 characters: cut, flagged `otel.content.truncated`",
		span: map[string]any{"gen_ai.input.messages": "hello"}, want: map[string]any{"private.request": "hello"}},
	{otel: "`gen_ai.output.messages`, `gen_ai.security.content.output.*`", decision: "`private.response` (leaf: `response.commitment`)", rule: "",
		span: map[string]any{"gen_ai.output.messages": "hi"}, want: map[string]any{"private.response": "hi"}},
	{otel: "`fja.request.commitment`, `fja.response.commitment` (`sha256:` commitments the producer made)", decision: "`request.commitment`; `response.commitment`", rule: "where there is no content; a side with neither is committed to empty text, flagged `otel.content.absent`",
		span: map[string]any{"fja.request.commitment": "sha256:" + strings.Repeat("1f", 32)}, want: map[string]any{"request.commitment": "sha256:" + strings.Repeat("1f", 32)}},
	{otel: "`fja.system.model`, else `gen_ai.response.model`, else `gen_ai.request.model`", decision: "`system.model`", rule: "",
		span: map[string]any{"gen_ai.response.model": "chat-2"}, want: map[string]any{"system.model": "chat-2"}},
	{otel: "`fja.system.operator`, else resource `service.namespace`", decision: "`system.operator`", rule: "a producer token bound to operators may log only for them",
		res: map[string]any{"fja.system.operator": "example-ai"}, want: map[string]any{"system.operator": "example-ai"}},
	{otel: "`fja.system.model_version`, else resource `service.version`", decision: "`system.model_version`",
		res: map[string]any{"service.version": "7"}, want: map[string]any{"system.model_version": "7"}},
	{otel: "`fja.system.deployment`, else `deployment.environment.name`", decision: "`system.deployment`",
		res: map[string]any{"deployment.environment.name": "prod"}, want: map[string]any{"system.deployment": "prod"}},
	{otel: "`fja.subject.ref`, `fja.subject.jurisdiction`, `fja.subject.locale`", decision: "`subject.ref`, `.jurisdiction`, `.locale`", rule: "required; the ref is a pseudonymous `sha256:` commitment, never an identity",
		span: map[string]any{"fja.subject.jurisdiction": "IN", "fja.subject.locale": "hi-IN"}, want: map[string]any{"subject.jurisdiction": "IN", "subject.locale": "hi-IN"}},
	{otel: "`fja.subject.token_sha256`", decision: "`contest.token_sha256`", rule: "the application makes the contest token and hands it to its user; without it the ledger makes one no one receives",
		span: map[string]any{"fja.subject.token_sha256": strings.Repeat("ab", 32)}, want: map[string]any{"contest.token_sha256": strings.Repeat("ab", 32)}},
	{otel: "`fja.objectives` (JSON array)", decision: "`objectives`", rule: "",
		span: map[string]any{"fja.objectives": `[{"id":"o1","description":"tax advice","source":"extracted","confidence":0.5}]`}, want: map[string]any{"objectives.0.description": "tax advice"}},
	{otel: "`fja.weight.<name>` (number)", decision: "`weights.<name>`", rule: "",
		span: map[string]any{"fja.weight.autonomy": 0.25}, want: map[string]any{"weights.autonomy": 0.25}},
	{otel: "`fja.provenance_flags` (JSON array)", decision: "`provenance_flags[]`, after the findings'", rule: "",
		span: map[string]any{"fja.provenance_flags": `[{"code":"western-sources","message":"relies on Western sources","severity":"info"}]`}, want: map[string]any{"provenance_flags.0.code": "western-sources"}},
	{otel: "`fja.rule.ids` (string array)", decision: "more `rules[]`, with the span's effect", rule: "",
		span: map[string]any{"fja.rule.ids": []any{"A-03"}}, want: map[string]any{"rules.1.rule_id": "A-03"}},
	{otel: "`fja.outcome.action`, `fja.outcome.contestable`", decision: "`outcome.action` (e.g. `escalated`), `outcome.contestable` (default true)", rule: "",
		span: map[string]any{"fja.outcome.contestable": false}, want: map[string]any{"outcome.contestable": false}},
	{otel: "`fja.evaluations.expected`, `fja.findings.expected` (numbers)", decision: "the join: the decision waits up to the join wait (default 3 s) for that many events from later export calls", rule: "then it is logged with what arrived, flagged `otel.join.incomplete` (its message says how many of how many)",
		span: map[string]any{"fja.evaluations.expected": 0}, want: map[string]any{"outcome.action": "refused"}},
}

// MarkdownTable is the mapping table as README.md shows it.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| OpenTelemetry | decision request | how |\n| --- | --- | --- |\n")
	for _, r := range mapping {
		b.WriteString("| " + r.otel + " | " + r.decision + " | " + r.rule + " |\n")
	}
	return b.String()
}
