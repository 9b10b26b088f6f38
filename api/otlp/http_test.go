package otlp_test

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
)

// guardrailSpans makes n apply_guardrail spans (deny of H-12, in the
// example constitution), span i with span id i+1 in trace tid; edit, if
// set, changes span i.
func guardrailSpans(tid byte, n int, edit func(i int, attrs pcommon.Map)) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().FromRaw(map[string]any{
		"service.version": "2026-10-01", "fja.system.operator": "example-ai",
		"fja.system.deployment": "eu-central", "fja.constitution.id": "fja-default",
	})
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	spans.EnsureCapacity(n)
	now := time.Now()
	for i := range n {
		sp := spans.AppendEmpty()
		sp.SetName("apply_guardrail Filter")
		sp.SetTraceID(pcommon.TraceID{tid, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
		sp.SetSpanID(pcommon.SpanID{0, 0, 0, 0, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i) + 1})
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
		a := sp.Attributes()
		a.FromRaw(map[string]any{
			"gen_ai.operation.name":          "apply_guardrail",
			"gen_ai.security.decision.type":  "deny",
			"gen_ai.security.policy.id":      "H-12",
			"gen_ai.security.policy.version": "2026.11",
			"gen_ai.request.model":           "example-chat",
			"fja.subject.ref":                "sha256:" + strings.Repeat("cd", 32),
			"fja.subject.jurisdiction":       "FR",
			"fja.subject.locale":             "fr-FR",
		})
		if edit != nil {
			edit(i, a)
		}
	}
	return td
}

func protoOf(t *testing.T, td ptrace.Traces) []byte {
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func idOf(tid byte, i int) string {
	sid := pcommon.SpanID{0, 0, 0, 0, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i) + 1}
	tr := pcommon.TraceID{tid, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	return "otel-" + hex.EncodeToString(tr[:]) + "-" + hex.EncodeToString(sid[:])
}

func treeSize(t *testing.T, s *apitest.Server) uint64 { return s.Log.Head().Size }

// post sends an OTLP body and returns status, content type and body.
func post(t *testing.T, s *apitest.Server, path string, role auth.Role, body []byte, hdr ...string) (int, string, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+path, bytes.NewReader(body))
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+s.Tokens[role])
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), buf.Bytes()
}

const pb = "application/x-protobuf"

// TestPartialSuccessAndRetry: of three guardrail spans, the one without a
// decision type and the one citing a rule the constitution lacks are
// rejected in partial_success, the third is logged; sending the request
// again (an exporter's retry) logs nothing new; JSON and gzip work alike.
func TestPartialSuccessAndRetry(t *testing.T) {
	s := newServer(t)
	td := guardrailSpans(7, 3, func(i int, a pcommon.Map) {
		switch i {
		case 1:
			a.Remove("gen_ai.security.decision.type")
		case 2:
			a.PutStr("gen_ai.security.policy.id", "Z-99")
		}
	})
	body := protoOf(t, td)
	size0 := treeSize(t, s)
	code, ct, b := post(t, s, "/otlp/v1/traces", auth.Producer, body, "Content-Type", pb)
	if code != 200 || ct != pb {
		t.Fatalf("want 200 %s, got %d %s %q", pb, code, ct, b)
	}
	resp := ptraceotlp.NewExportResponse()
	if err := resp.UnmarshalProto(b); err != nil {
		t.Fatal(err)
	}
	ps := resp.PartialSuccess()
	if ps.RejectedSpans() != 2 || !strings.Contains(ps.ErrorMessage(), "no gen_ai.security.decision.type") || !strings.Contains(ps.ErrorMessage(), "Z-99") {
		t.Errorf("partial success: %d rejected, %q; want 2, naming the missing decision type and rule Z-99", ps.RejectedSpans(), ps.ErrorMessage())
	}
	if got := treeSize(t, s); got != size0+1 {
		t.Errorf("tree grew by %d, want 1", got-size0)
	}
	d := decisionOf(t, s, idOf(7, 0))
	if at(d, "outcome.action") != "refused" || at(d, "subject.jurisdiction") != "FR" {
		t.Errorf("logged decision: %v", d)
	}

	// The retry, gzip-compressed: nothing new.
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(body)
	zw.Close()
	code, _, b = post(t, s, "/otlp/v1/traces", auth.Producer, z.Bytes(), "Content-Type", pb, "Content-Encoding", "gzip")
	if code != 200 {
		t.Fatalf("retry: %d %q", code, b)
	}
	if got := treeSize(t, s); got != size0+1 {
		t.Errorf("the retry grew the tree to %d, want %d", got, size0+1)
	}

	// OTLP JSON (hex ids): the answer is JSON too.
	js, err := ptraceotlp.NewExportRequestFromTraces(guardrailSpans(8, 1, nil)).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	code, ct, b = post(t, s, "/otlp/v1/traces", auth.Producer, js, "Content-Type", "application/json")
	if code != 200 || ct != "application/json" || !json.Valid(b) {
		t.Fatalf("JSON: want 200 application/json, got %d %s %q", code, ct, b)
	}
	decisionOf(t, s, idOf(8, 0))
}

// TestMalformed: what is not OTLP, or too much of it, is refused whole
// with the right 4xx and an OTLP Status body, and nothing is logged.
func TestMalformed(t *testing.T) {
	s := newServer(t)
	good := protoOf(t, guardrailSpans(9, 2, nil))
	big := protoOf(t, guardrailSpans(10, 10000, nil))
	var notGzip = []byte("plainly not gzip")
	cases := []struct {
		name string
		path string
		role auth.Role
		body []byte
		hdr  []string
		want int
	}{
		{"truncated protobuf", "/otlp/v1/traces", auth.Producer, good[:len(good)-7], []string{"Content-Type", pb}, 400},
		{"protobuf garbage", "/otlp/v1/traces", auth.Producer, []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, []string{"Content-Type", pb}, 400},
		{"wrong content type", "/otlp/v1/traces", auth.Producer, good, []string{"Content-Type", "text/plain"}, 415},
		{"no content type", "/otlp/v1/traces", auth.Producer, good, nil, 415},
		{"JSON that is not OTLP", "/otlp/v1/traces", auth.Producer, []byte(`{"resourceSpans":7}`), []string{"Content-Type", "application/json"}, 400},
		{"protobuf sent as JSON", "/otlp/v1/traces", auth.Producer, good, []string{"Content-Type", "application/json"}, 400},
		{"gzip that is not", "/otlp/v1/traces", auth.Producer, notGzip, []string{"Content-Type", pb, "Content-Encoding", "gzip"}, 400},
		{"unknown encoding", "/otlp/v1/traces", auth.Producer, good, []string{"Content-Type", pb, "Content-Encoding", "br"}, 415},
		{"10,000 spans", "/otlp/v1/traces", auth.Producer, big, []string{"Content-Type", pb}, 413},
		{"truncated logs", "/otlp/v1/logs", auth.Producer, good[:5], []string{"Content-Type", pb}, 400},
		{"no token", "/otlp/v1/traces", "", good, []string{"Content-Type", pb}, 401},
		{"reviewer token", "/otlp/v1/traces", auth.Reviewer, good, []string{"Content-Type", pb}, 403},
	}
	size0 := treeSize(t, s)
	for _, c := range cases {
		code, ct, b := post(t, s, c.path, c.role, c.body, c.hdr...)
		if code != c.want {
			t.Errorf("%s: got %d %q, want %d", c.name, code, b, c.want)
			continue
		}
		if c.role == auth.Producer && ct == pb {
			var st spb.Status
			if err := proto.Unmarshal(b, &st); err != nil || st.Message == "" {
				t.Errorf("%s: answer is not a google.rpc.Status with a message: %v %q", c.name, err, b)
			}
		}
		if c.name == "10,000 spans" && !bytes.Contains(b, []byte("10000 spans, over the limit of 2048")) {
			t.Errorf("%s: message %q does not say the count and the limit", c.name, b)
		}
	}
	if got := treeSize(t, s); got != size0 {
		t.Errorf("malformed requests logged %d records", got-size0)
	}
	// An empty export is valid OTLP: 200, nothing logged.
	if code, _, b := post(t, s, "/otlp/v1/traces", auth.Producer, nil, "Content-Type", pb); code != 200 {
		t.Errorf("empty export: %d %q", code, b)
	}
	// An evaluation log record that can be joined to nothing is rejected.
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("gen_ai.evaluation.result")
	lr.Attributes().PutStr("gen_ai.evaluation.name", "relevance")
	lb, _ := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	code, _, b := post(t, s, "/otlp/v1/logs", auth.Producer, lb, "Content-Type", pb)
	resp := plogotlp.NewExportResponse()
	if code != 200 || resp.UnmarshalProto(b) != nil || resp.PartialSuccess().RejectedLogRecords() != 1 {
		t.Errorf("unjoinable evaluation: %d, want 200 with 1 rejected log record; %q", code, b)
	}
	if got := treeSize(t, s); got != size0 {
		t.Errorf("tree grew by %d, want 0", got-size0)
	}
}
