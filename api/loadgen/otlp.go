package loadgen

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// OTLPKind is the kind name of the OTLP phase in results.
const OTLPKind = "otlp"

// SpanBatch is an OTLP ExportTraceServiceRequest of apply_guardrail spans
// made from the refused example decision, encoded once by the collector's
// pdata (binary protobuf) with holes of fixed length where each copy
// differs: each span's trace id, span id, subject ref and request and
// response commitments. A copy is the template's bytes with the holes
// filled: the protobuf's lengths never change.
type SpanBatch struct {
	N     int // spans per request
	bytes []byte
	holes []spanHoles
	run   [8]byte
}

type spanHoles struct {
	trace, span           int // offsets of the 16 and 8 id bytes
	subject, req, respHex int // offsets of 64 hex digits each
}

// spanHoleHex is the placeholder of the 64 hex digits of hole k of span i.
func spanHoleHex(i, k int) string { return fmt.Sprintf("%056x%08x", 0xfeed0000+k, i) }

func spanHoleTrace(i int) pcommon.TraceID {
	var t pcommon.TraceID
	copy(t[:], "\xfe\xedtrace!")
	binary.BigEndian.PutUint64(t[8:], uint64(i))
	return t
}

func spanHoleSpan(i int) pcommon.SpanID {
	var s pcommon.SpanID
	binary.BigEndian.PutUint32(s[:4], 0xfeed5ba2)
	binary.BigEndian.PutUint32(s[4:], uint32(i))
	return s
}

// NewSpanBatch makes the template of n guardrail spans from the refused
// example of e: a deny of the example's refusing rule, its finding and
// one evaluation event per candidate score, the example's objectives,
// weights, subject and system as fja.* and resource attributes, citing
// the run's constitution.
func NewSpanBatch(e *Examples, n int) (*SpanBatch, error) {
	t := e.Kind("refused")
	if t == nil || n < 1 {
		return nil, fmt.Errorf("loadgen: want the refused example and n >= 1, got n %d", n)
	}
	ex, err := readObject(t.File)
	if err != nil {
		return nil, err
	}
	var c struct {
		ID      string `json:"constitution_id"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal(e.constitution, &c); err != nil {
		return nil, err
	}
	get := func(path string) string {
		a, b, _ := strings.Cut(path, ".")
		sub, _ := ex[a].(map[string]any)
		s, _ := sub[b].(string)
		return s
	}
	var refuse map[string]any
	rules, _ := ex["rules"].([]any)
	for _, r := range rules {
		if m, _ := r.(map[string]any); m["effect"] == "refuse" {
			refuse = m
			break
		}
	}
	if refuse == nil {
		return nil, fmt.Errorf("example %s: want a rule with effect refuse", t.File)
	}
	objectives, err := marshal(ex["objectives"])
	if err != nil {
		return nil, err
	}
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	ra := rs.Resource().Attributes()
	ra.PutStr("service.name", "loadgen")
	ra.PutStr("fja.system.operator", get("system.operator"))
	ra.PutStr("fja.system.model_version", get("system.model_version"))
	ra.PutStr("fja.system.deployment", get("system.deployment"))
	ra.PutStr("fja.constitution.id", c.ID)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("fja.loadgen")
	spans := ss.Spans()
	spans.EnsureCapacity(n)
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	for i := range n {
		sp := spans.AppendEmpty()
		sp.SetName("apply_guardrail Content Filter")
		sp.SetKind(ptrace.SpanKindInternal)
		sp.SetTraceID(spanHoleTrace(i))
		sp.SetSpanID(spanHoleSpan(i))
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(at))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(at.Add(3 * time.Millisecond)))
		a := sp.Attributes()
		a.PutStr("gen_ai.operation.name", "apply_guardrail")
		a.PutStr("gen_ai.security.target.type", "llm_input")
		a.PutStr("gen_ai.security.decision.type", "deny")
		a.PutStr("gen_ai.security.decision.reason", fmt.Sprint(refuse["rationale"]))
		a.PutStr("gen_ai.security.policy.id", fmt.Sprint(refuse["rule_id"]))
		a.PutStr("gen_ai.security.policy.version", c.Version)
		a.PutStr("gen_ai.guardian.name", "Content Filter")
		a.PutStr("gen_ai.request.model", get("system.model"))
		a.PutStr("fja.subject.ref", "sha256:"+spanHoleHex(i, 0))
		a.PutStr("fja.subject.jurisdiction", get("subject.jurisdiction"))
		a.PutStr("fja.subject.locale", get("subject.locale"))
		a.PutStr("fja.request.commitment", "sha256:"+spanHoleHex(i, 1))
		a.PutStr("fja.response.commitment", "sha256:"+spanHoleHex(i, 2))
		a.PutStr("fja.outcome.category", get("outcome.category"))
		a.PutStr("fja.objectives", string(objectives))
		if w, ok := ex["weights"].(map[string]any); ok {
			for _, k := range sortedKeys(w) {
				f, _ := w[k].(json.Number).Float64()
				a.PutDouble("fja.weight."+k, f)
			}
		}
		f := sp.Events().AppendEmpty()
		f.SetName("gen_ai.security.finding")
		f.Attributes().PutStr("gen_ai.security.risk.category", "self_harm")
		f.Attributes().PutStr("gen_ai.security.risk.severity", "high")
		f.Attributes().PutDouble("gen_ai.security.risk.score", 0.93)
		cands, _ := ex["candidates"].([]any)
		for _, cv := range cands {
			cm, _ := cv.(map[string]any)
			scores, _ := cm["scores"].(map[string]any)
			for _, k := range sortedKeys(scores) {
				v, _ := scores[k].(json.Number).Float64()
				ev := sp.Events().AppendEmpty()
				ev.SetName("gen_ai.evaluation.result")
				ev.Attributes().PutStr("gen_ai.evaluation.name", k)
				ev.Attributes().PutDouble("gen_ai.evaluation.score.value", v)
				ev.Attributes().PutStr("fja.candidate.id", fmt.Sprint(cm["id"]))
				ev.Attributes().PutBool("fja.candidate.selected", cm["selected"] == true)
			}
		}
	}
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		return nil, err
	}
	sb := &SpanBatch{N: n, bytes: b, holes: make([]spanHoles, n)}
	copy(sb.run[4:], "otlp")
	if _, err := hex.Decode(sb.run[:4], []byte(e.Run)); err != nil {
		return nil, fmt.Errorf("loadgen: run id %q: %v", e.Run, err)
	}
	off := 0
	find := func(what []byte) (int, error) {
		j := bytes.Index(b[off:], what)
		if j < 0 {
			return 0, fmt.Errorf("loadgen: hole %x not found in the encoded spans", what)
		}
		return off + j, nil
	}
	for i := range n {
		h := &sb.holes[i]
		// Fields are encoded in field-number order (trace_id 1, span_id
		// 2, ..., attributes 9, events 11), so each hole follows the last.
		tr, sp := spanHoleTrace(i), spanHoleSpan(i)
		var err error
		if h.trace, err = find(tr[:]); err != nil {
			return nil, err
		}
		if h.span, err = find(sp[:]); err != nil {
			return nil, err
		}
		for k, p := range []*int{&h.subject, &h.req, &h.respHex} {
			if *p, err = find([]byte(spanHoleHex(i, k))); err != nil {
				return nil, err
			}
		}
		off = max(h.trace, h.span, h.subject, h.req, h.respHex)
	}
	return sb, nil
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Append appends a request of the template's spans to dst, span i with
// trace id run‖seq+i (so decision id otel-<trace>-<span> is new) and fresh
// random commitments and subject ref from rng.
func (sb *SpanBatch) Append(dst []byte, seq uint64, rng *rand.Rand) []byte {
	start := len(dst)
	dst = append(dst, sb.bytes...)
	b := dst[start:]
	var raw [32]byte
	for i, h := range sb.holes {
		copy(b[h.trace:], sb.run[:])
		binary.BigEndian.PutUint64(b[h.trace+8:], seq+uint64(i))
		binary.BigEndian.PutUint64(b[h.span:], seq+uint64(i))
		for _, o := range []int{h.subject, h.req, h.respHex} {
			for j := 0; j < 32; j += 8 {
				binary.LittleEndian.PutUint64(raw[j:], rng.Uint64())
			}
			hex.Encode(b[o:o+64], raw[:])
		}
	}
	return dst
}

// DecisionID is the decision id the ingest gives span i of the request
// made with seq (for tests).
func (sb *SpanBatch) DecisionID(seq uint64, i int) string {
	var tr [16]byte
	var sp [8]byte
	copy(tr[:], sb.run[:])
	binary.BigEndian.PutUint64(tr[8:], seq+uint64(i))
	binary.BigEndian.PutUint64(sp[:], seq+uint64(i))
	return "otel-" + hex.EncodeToString(tr[:]) + "-" + hex.EncodeToString(sp[:])
}

// RunOTLP sends n guardrail spans to POST /otlp/v1/traces, batch spans a
// request, from clients concurrent clients, and reports decisions logged
// per second. A span counts as logged when its request answered 200 and
// did not reject it (partial_success.rejected_spans); the tree must have
// grown by as many records, or the difference counts as errors.
func (s *Sender) RunOTLP(ctx context.Context, e *Examples, n, clients, batch int) (*Result, error) {
	if n < 1 || clients < 1 || batch < 1 {
		return nil, fmt.Errorf("loadgen: OTLP phase: want n, clients, batch >= 1, got %d, %d, %d", n, clients, batch)
	}
	full, err := NewSpanBatch(e, batch)
	if err != nil {
		return nil, err
	}
	var last *SpanBatch
	if r := n % batch; r != 0 {
		if last, err = NewSpanBatch(e, r); err != nil {
			return nil, err
		}
	}
	size0, err := s.TreeSize(ctx)
	if err != nil {
		return nil, err
	}
	units := (n + batch - 1) / batch
	r, err := s.drive(ctx, load{
		path: "/otlp/v1/traces", contentType: "application/x-protobuf", n: n, per: batch, clients: clients,
		body: func(u, k int, rng *rand.Rand) []byte {
			sb := full
			if u == units-1 && last != nil {
				sb = last
			}
			seq := s.seq.Add(uint64(sb.N)) - uint64(sb.N) + 1
			return sb.Append(make([]byte, 0, len(sb.bytes)), seq, rng)
		},
		check: func(code int, answer []byte, k int) (int, string) {
			if code != http.StatusOK {
				return k, fmt.Sprintf("POST /otlp/v1/traces: want 200, got %d %s", code, clip(answer, 300))
			}
			resp := ptraceotlp.NewExportResponse()
			if err := resp.UnmarshalProto(answer); err != nil {
				return k, fmt.Sprintf("POST /otlp/v1/traces: the answer is not an ExportTraceServiceResponse: %v", err)
			}
			if bad := int(resp.PartialSuccess().RejectedSpans()); bad > 0 {
				return bad, "partial success: " + resp.PartialSuccess().ErrorMessage()
			}
			return 0, ""
		},
	})
	if err != nil {
		return nil, err
	}
	r.Kind, r.Mode, r.Clients, r.Batch = OTLPKind, "otlp", clients, batch
	size1, err := s.TreeSize(ctx)
	if err != nil {
		return nil, err
	}
	if grew := int(size1 - size0); grew < r.Records {
		// Acknowledged but not in the log: count them as failed, loudly.
		msg := fmt.Sprintf("the tree grew by %d records, but %d spans were acknowledged", grew, r.Records)
		r.Errors += r.Records - grew
		r.PerSec *= float64(grew) / float64(r.Records)
		r.Records = grew
		if r.FirstError == "" {
			r.FirstError = msg
		}
	}
	return r, nil
}

// GenerationCost is the CPU time this process spends making one span of
// the template's requests (see Template.GenerationCost).
func (sb *SpanBatch) GenerationCost(reqs int) time.Duration {
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 0, len(sb.bytes))
	c0 := selfCPU()
	for i := range reqs {
		buf = sb.Append(buf[:0], uint64(i*sb.N), rng)
	}
	return (selfCPU() - c0) / time.Duration(max(reqs*sb.N, 1))
}
