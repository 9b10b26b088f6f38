// Package otlp is the OpenTelemetry ingest: OTLP/HTTP export requests
// (POST /otlp/v1/traces, POST /otlp/v1/logs; binary protobuf or OTLP JSON,
// gzip or not, decoded by the collector's pdata) whose GenAI guardrail
// telemetry becomes decision records.
//
// The mapping follows the OpenTelemetry GenAI semantic conventions (status
// development): the apply_guardrail span (gen_ai.operation.name,
// gen_ai.security.decision.type, .decision.reason, .target.type,
// .policy.id|name|version, gen_ai.guardian.*), the gen_ai.security.finding
// event and the gen_ai.evaluation.result event; what they lack comes from
// fja.* attributes. The table in README.md is the mapping, row for row (the
// mapping variable of table.go, held to README.md and to the code by
// TestMappingTable).
//
// Invariants:
//   - Every apply_guardrail span becomes at most one decision request, sent
//     through the same validation as POST /v1/decisions (Config.Append).
//     Its decision id and body are functions of the telemetry alone (no
//     clock, no randomness), so an exporter's retry is answered as a repeat
//     with the first receipt.
//   - Content attributes (gen_ai.input.messages, gen_ai.output.messages,
//     gen_ai.system_instructions, every gen_ai.security.content.*) MUST NOT
//     reach a leaf field: they go to the request's private section only, and
//     the leaf holds their commitment. Evaluation labels and explanations
//     and finding metadata are not logged at all.
//   - A span that cannot be mapped, or that the record layer refuses, is
//     counted in partial_success (rejected_spans, rejected_log_records) with
//     the reason; it is never answered with a 5xx. A request that does not
//     decode, has another content type or encoding, or holds more than
//     MaxItems spans or log records is refused whole (400, 415, 413) and
//     nothing of it is logged. Only a fault of the log (overloaded,
//     stopped) answers 5xx (503: the exporter retries; what was logged
//     answers as a repeat).
//   - A decision that expects events from later export calls
//     (fja.evaluations.expected, fja.findings.expected) waits at most
//     JoinWait, then is logged with what arrived and flagged
//     otel.join.incomplete. At most MaxPending decisions and MaxPending
//     events wait, and at most 64 decisions under one trace id or one
//     response id; past that a decision is logged at once (flagged) and an
//     event is dropped. A waiting decision is in memory only: it is logged
//     at Close, lost if the process dies first.
//   - No lock is held across an append or a read of the store.
package otlp
