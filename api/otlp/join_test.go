package otlp_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/fjaledger/fja/api/otlp"
	"github.com/fjaledger/fja/audit"
)

// logged is the body of the logged decision id (nil when not logged).
func logged(t *testing.T, b *audit.Book, id string) map[string]any {
	t.Helper()
	rec, err := b.Get(audit.KindDecision, id)
	if err != nil {
		return nil
	}
	var d map[string]any
	if err := json.Unmarshal(rec.Envelope.Body, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func flagged(d map[string]any, code, msg string) bool {
	fs, _ := d["provenance_flags"].([]any)
	for _, f := range fs {
		m := f.(map[string]any)
		if m["code"] == code && strings.Contains(m["message"].(string), msg) {
			return true
		}
	}
	return false
}

// TestJoin drives an Ingest over a real record book: events that arrive
// before their span wait for it; findings arrive as log records of their
// span; past MaxPending a decision is logged at once and says why; Close
// logs what still waits, flagged.
func TestJoin(t *testing.T) {
	s := newServer(t)
	in, err := otlp.New(otlp.Config{Append: s.Book.AppendDecision, JoinWait: time.Minute, MaxPending: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const pb = "application/x-protobuf"

	// Events first: an evaluation (by trace) and a finding (of span 1).
	td := guardrailSpans(20, 1, func(_ int, a pcommon.Map) {
		a.PutInt("fja.evaluations.expected", 1)
		a.PutInt("fja.findings.expected", 1)
	})
	sp := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	ev := lrs.AppendEmpty()
	ev.SetEventName("gen_ai.evaluation.result")
	ev.SetTraceID(sp.TraceID())
	ev.Attributes().PutStr("gen_ai.evaluation.name", "harmlessness")
	ev.Attributes().PutDouble("gen_ai.evaluation.score.value", 0.8)
	fd := lrs.AppendEmpty()
	fd.Attributes().PutStr("event.name", "gen_ai.security.finding") // the older spelling of an event
	fd.SetTraceID(sp.TraceID())
	fd.SetSpanID(sp.SpanID())
	fd.Attributes().PutStr("gen_ai.security.risk.category", "pii")
	fd.Attributes().PutStr("gen_ai.security.risk.severity", "low")
	lb, _ := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if a := in.Logs(ctx, pb, "", lb); a.Status != 200 {
		t.Fatalf("logs: %d %q", a.Status, a.Body)
	}
	body, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if a := in.Traces(ctx, pb, "", body); a.Status != 200 {
		t.Fatalf("traces: %d %q", a.Status, a.Body)
	}
	d := logged(t, s.Book, idOf(20, 0)) // complete on arrival: logged in the request
	if d == nil || at(d, "candidates.0.scores.harmlessness") != 0.8 || !flagged(d, "pii", "severity low") || flagged(d, "otel.join.incomplete", "") {
		t.Fatalf("events-first decision: %v", d)
	}

	// A span complete on arrival that took an evaluation waiting for it,
	// exported again (its answer was lost): the evaluation is gone, the
	// span maps to other content, and still the retry is a repeat, not a
	// rejection, and nothing new is logged.
	td = guardrailSpans(22, 1, nil)
	ld = plog.NewLogs()
	ev = ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	ev.SetEventName("gen_ai.evaluation.result")
	ev.SetTraceID(td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID())
	ev.Attributes().PutStr("gen_ai.evaluation.name", "relevance")
	ev.Attributes().PutDouble("gen_ai.evaluation.score.value", 0.6)
	lb, _ = plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	in.Logs(ctx, pb, "", lb)
	body, _ = ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	for try := range 2 {
		a := in.Traces(ctx, pb, "", body)
		resp := ptraceotlp.NewExportResponse()
		if a.Status != 200 || resp.UnmarshalProto(a.Body) != nil || resp.PartialSuccess().RejectedSpans() != 0 {
			t.Fatalf("export %d: %d %q, want 200 and nothing rejected", try, a.Status, a.Body)
		}
	}
	if d := logged(t, s.Book, idOf(22, 0)); at(d, "candidates.0.scores.relevance") != 0.6 {
		t.Errorf("the first record stands: want its relevance 0.6, got %v", d)
	}
	size := s.Log.Head().Size

	// Three decisions waiting for an evaluation each; room for two.
	td = guardrailSpans(21, 3, func(_ int, a pcommon.Map) { a.PutInt("fja.evaluations.expected", 1) })
	body, _ = ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if a := in.Traces(ctx, pb, "", body); a.Status != 200 {
		t.Fatalf("traces: %d %q", a.Status, a.Body)
	}
	if st := in.Stats(); st.Pending != 2 {
		t.Errorf("%d decisions wait, want 2 (MaxPending)", st.Pending)
	}
	if d := logged(t, s.Book, idOf(21, 2)); d == nil || !flagged(d, "otel.join.incomplete", "join table being full, with 0 of the 1") {
		t.Errorf("the decision past MaxPending: want it logged at once, flagged; got %v", d)
	}
	if logged(t, s.Book, idOf(21, 0)) != nil {
		t.Error("a waiting decision is logged already")
	}
	in.Close()
	if got := s.Log.Head().Size; got != size+3 {
		t.Errorf("tree grew by %d, want 3", got-size)
	}
	for i := range 2 {
		if d := logged(t, s.Book, idOf(21, i)); d == nil || !flagged(d, "otel.join.incomplete", "0 of the 1 expected gen_ai.evaluation.result") {
			t.Errorf("waiting decision %d after Close: want it logged, flagged; got %v", i, d)
		}
	}
	if st := in.Stats(); st.Pending != 0 || st.Late != 2 {
		t.Errorf("after Close: %+v, want nothing pending, 2 logged late", st)
	}
}

// TestJoinPerTrace: at most 64 decisions wait under one trace id (an event
// is matched against each of them); the rest of a trace's decisions that
// expect events are logged at once, flagged as past the table's room.
func TestJoinPerTrace(t *testing.T) {
	s := newServer(t)
	in, err := otlp.New(otlp.Config{Append: s.Book.AppendDecision, JoinWait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	td := guardrailSpans(30, 70, func(_ int, a pcommon.Map) { a.PutInt("fja.evaluations.expected", 1) })
	body, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if a := in.Traces(context.Background(), "application/x-protobuf", "", body); a.Status != 200 {
		t.Fatalf("traces: %d %q", a.Status, a.Body)
	}
	if st := in.Stats(); st.Pending != 64 {
		t.Errorf("%d decisions of one trace wait, want 64", st.Pending)
	}
	if d := logged(t, s.Book, idOf(30, 69)); d == nil || !flagged(d, "otel.join.incomplete", "join table being full") {
		t.Errorf("the 70th decision of the trace: want it logged at once, flagged; got %v", d)
	}
	if logged(t, s.Book, idOf(30, 0)) != nil {
		t.Error("the first decision of the trace is logged already; want it waiting")
	}
}
