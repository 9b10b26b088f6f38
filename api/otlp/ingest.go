package otlp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/fjaledger/fja/api/workpool"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/ledger"
)

// Appender appends one decision request body, validated exactly as POST
// /v1/decisions validates it; (*audit.Book).AppendDecision is one. A body
// appended before answers as a repeat (Duplicate), not as an error.
type Appender func(ctx context.Context, raw []byte) (*audit.Appended, error)

// Config configures an Ingest.
type Config struct {
	// Append logs a decision request (required).
	Append Appender
	// Logged, if set, reports whether a decision id is logged already: a
	// retried span whose decision waits for a join is then answered as a
	// repeat instead of waiting again.
	Logged func(decisionID string) bool
	// JoinWait bounds how long a decision waits for the evaluation and
	// finding events it expects (fja.evaluations.expected,
	// fja.findings.expected) and how long an event waits for its span
	// (default 3 s). Then the decision is logged with what arrived, flagged
	// otel.join.incomplete, and an unmatched event is dropped.
	JoinWait time.Duration
	// MaxPending bounds the decisions and the events waiting to be joined
	// (default 10,000 each). A decision that would wait past it is logged
	// at once, flagged; an event past it is dropped.
	MaxPending int
	// MaxItems bounds the spans plus log records of one request (default
	// 2,048: four times the OpenTelemetry SDK's default export batch);
	// a request over it is refused whole (413), nothing logged.
	MaxItems int
	// MaxInflated bounds a gzip body once inflated (default 64 MiB).
	MaxInflated int64
	// Workers bounds the appends of one request in flight (default 256:
	// each waits for its commit on its worker, so this bounds what the log
	// can group into a commit; see api's batchWorkers).
	Workers int
	// Logger receives what happens after a request was answered (joins
	// logged late, events dropped; default slog.Default()).
	Logger *slog.Logger
}

// Validate reports what is missing from c.
func (c Config) Validate() error {
	switch {
	case c.Append == nil:
		return errors.New("otlp: Config.Append is nil")
	case c.JoinWait < 0 || c.MaxPending < 0 || c.MaxItems < 0 || c.MaxInflated < 0 || c.Workers < 0:
		return fmt.Errorf("otlp: JoinWait %v, MaxPending %d, MaxItems %d, MaxInflated %d, Workers %d: want 0 (the default) or more", c.JoinWait, c.MaxPending, c.MaxItems, c.MaxInflated, c.Workers)
	}
	return nil
}

// Ingest maps OTLP traces and logs to decisions and appends them.
type Ingest struct {
	cfg Config

	mu      sync.Mutex
	pending map[string]*pendingDecision // by decision id
	// the same, by trace id and by gen_ai.response.id (events find the
	// decisions they join without a scan)
	pendTrace map[pcommon.TraceID][]*pendingDecision
	pendResp  map[string][]*pendingDecision
	events    []*orphan // arrival order
	byTrace   map[pcommon.TraceID][]*orphan
	byResp    map[string][]*orphan
	closed    bool
	flushes   sync.WaitGroup

	logged, rejected, late, dropped atomic.Int64
}

// pendingDecision is a guard waiting for the events it expects.
type pendingDecision struct {
	g       *guard
	evals   []evaluation
	arrived time.Time
	timer   *time.Timer
	ctx     context.Context // the producer's (its operators), without its cancel
}

func (p *pendingDecision) complete() bool { return p.g.complete(p.evals) }

// complete reports whether g has the evaluation and finding events it
// expects (fja.evaluations.expected, fja.findings.expected).
func (g *guard) complete(evals []evaluation) bool {
	return len(evals) >= g.expected() && len(g.findings) >= g.expectedFindings()
}

// joinOf is the join note of g with evals.
func joinOf(g *guard, evals []evaluation, waited time.Duration, full bool) joinNote {
	return joinNote{evals: len(evals), expEvals: g.expected(), findings: len(g.findings), expFindings: g.expectedFindings(), waited: waited, full: full}
}

// orphan is an evaluation or a finding log record waiting for its span.
type orphan struct {
	eval     *evaluation
	find     *finding
	traceID  pcommon.TraceID
	spanID   pcommon.SpanID // findings: the guardrail span's id
	deadline time.Time
	used     bool
}

// New makes an Ingest.
func New(cfg Config) (*Ingest, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.JoinWait == 0 {
		cfg.JoinWait = 3 * time.Second
	}
	if cfg.MaxPending == 0 {
		cfg.MaxPending = 10000
	}
	if cfg.MaxItems == 0 {
		cfg.MaxItems = 2048
	}
	if cfg.MaxInflated == 0 {
		cfg.MaxInflated = 64 << 20
	}
	if cfg.Workers == 0 {
		cfg.Workers = 256
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Ingest{cfg: cfg, pending: map[string]*pendingDecision{}, pendTrace: map[pcommon.TraceID][]*pendingDecision{}, pendResp: map[string][]*pendingDecision{}, byTrace: map[pcommon.TraceID][]*orphan{}, byResp: map[string][]*orphan{}}, nil
}

// Stats are counts since the Ingest was made.
type Stats struct {
	Logged   int64 // decisions appended (repeats included)
	Rejected int64 // spans and log records refused (partial success)
	Late     int64 // decisions logged after an incomplete join
	Dropped  int64 // events that never met their span
	Pending  int   // decisions waiting for a join now
}

// Stats reports the counts.
func (in *Ingest) Stats() Stats {
	in.mu.Lock()
	n := len(in.pending)
	in.mu.Unlock()
	return Stats{Logged: in.logged.Load(), Rejected: in.rejected.Load(), Late: in.late.Load(), Dropped: in.dropped.Load(), Pending: n}
}

// Answer is the HTTP answer to an export request.
type Answer struct {
	Status      int
	ContentType string
	Body        []byte
}

func (in *Ingest) fail(enc Encoding, err error) Answer {
	var re *requestError
	if !errors.As(err, &re) {
		re = &requestError{status: http.StatusInternalServerError, msg: err.Error()}
	}
	return Answer{Status: re.status, ContentType: enc.ContentType(), Body: statusAnswer(enc, re.status, re.msg)}
}

// prepare reads the encodings of a request body.
func (in *Ingest) prepare(contentType, contentEncoding string, body []byte) (Encoding, []byte, error) {
	enc, err := encodingOf(contentType)
	if err != nil {
		return enc, nil, &requestError{status: http.StatusUnsupportedMediaType, msg: err.Error()}
	}
	b, err := inflate(contentEncoding, body, in.cfg.MaxInflated)
	return enc, b, err
}

// Traces answers POST /otlp/v1/traces: every apply_guardrail span becomes
// a decision; gen_ai.evaluation.result span events (on any span) are joined
// to the guardrail spans of their trace or gen_ai.response.id; other spans
// are accepted and ignored. A span that cannot be mapped is counted in
// partial_success.rejected_spans with the reason, never a 5xx; only an
// unreadable request (4xx, nothing logged) or a fault of the log (503,
// retryable: the spans logged already answer as repeats) fails whole.
// ctx carries the producer's identity (audit.WithOperators) and is kept
// for decisions logged after a join.
func (in *Ingest) Traces(ctx context.Context, contentType, contentEncoding string, body []byte) Answer {
	enc, b, err := in.prepare(contentType, contentEncoding, body)
	if err != nil {
		return in.fail(enc, err)
	}
	td, err := decodeTraces(enc, b)
	if err != nil {
		return in.fail(enc, err)
	}
	if n := td.SpanCount(); n > in.cfg.MaxItems {
		return in.fail(enc, &requestError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("request holds %d spans, over the limit of %d a request: send smaller export batches (OTEL_BSP_MAX_EXPORT_BATCH_SIZE); nothing was logged", n, in.cfg.MaxItems)})
	}
	guards, evals := guardsOf(td)
	ready, _ := in.join(ctx, guards, evals)
	rejected, msgs, fault := in.appendAll(ctx, ready)
	if fault != nil {
		return in.fail(enc, fault)
	}
	out, err := traceAnswer(enc, int64(rejected), summary(rejected, len(guards), "apply_guardrail spans", msgs))
	if err != nil {
		return in.fail(enc, err)
	}
	return Answer{Status: http.StatusOK, ContentType: enc.ContentType(), Body: out}
}

// guardsOf finds the apply_guardrail spans of td (with their finding span
// events) and the gen_ai.evaluation.result span events of any span.
func guardsOf(td ptrace.Traces) ([]*guard, []*orphan) {
	var guards []*guard
	var evals []*orphan
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		res := rs.Resource().Attributes()
		sss := rs.ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				sp := spans.At(k)
				attrs := sp.Attributes()
				_, hasDecision := attrs.Get(attrDecisionType)
				isGuard := attrStr(attrs, attrOperation) == opApplyGuardrail || strings.HasPrefix(sp.Name(), opApplyGuardrail) || hasDecision
				var g *guard
				if isGuard {
					g = &guard{traceID: sp.TraceID(), spanID: sp.SpanID(), start: sp.StartTimestamp(), end: sp.EndTimestamp(), attrs: attrs, res: res}
					guards = append(guards, g)
				}
				evs := sp.Events()
				for e := range evs.Len() {
					ev := evs.At(e)
					switch ev.Name() {
					case eventFinding:
						if g != nil {
							g.findings = append(g.findings, finding{attrs: ev.Attributes()})
						}
					case eventEvaluation:
						ea := ev.Attributes()
						evals = append(evals, &orphan{traceID: sp.TraceID(), eval: &evaluation{traceID: sp.TraceID(), responseID: first(attrStr(ea, attrResponseID), attrStr(attrs, attrResponseID)), attrs: ea}})
					}
				}
			}
		}
	}
	return guards, evals
}

// Logs answers POST /otlp/v1/logs: gen_ai.evaluation.result and
// gen_ai.security.finding events (log records named by event_name, or by
// an event.name attribute) are joined to their guardrail spans; other log
// records are accepted and ignored. An event that cannot be joined (no
// trace id nor gen_ai.response.id; a finding without its span id) is
// rejected in partial_success.
func (in *Ingest) Logs(ctx context.Context, contentType, contentEncoding string, body []byte) Answer {
	enc, b, err := in.prepare(contentType, contentEncoding, body)
	if err != nil {
		return in.fail(enc, err)
	}
	ld, err := decodeLogs(enc, b)
	if err != nil {
		return in.fail(enc, err)
	}
	if n := ld.LogRecordCount(); n > in.cfg.MaxItems {
		return in.fail(enc, &requestError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("request holds %d log records, over the limit of %d a request; nothing was logged", n, in.cfg.MaxItems)})
	}
	var events []*orphan
	var msgs []string
	rejected, seen := 0, 0
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		sls := rls.At(i).ScopeLogs()
		for j := range sls.Len() {
			lrs := sls.At(j).LogRecords()
			for k := range lrs.Len() {
				lr := lrs.At(k)
				name := eventName(lr)
				attrs := lr.Attributes()
				switch name {
				case eventEvaluation:
					seen++
					rid := attrStr(attrs, attrResponseID)
					if lr.TraceID().IsEmpty() && rid == "" {
						rejected++
						msgs = append(msgs, fmt.Sprintf("%s log record %d: no trace id nor %s, so no decision to join it to", eventEvaluation, k, attrResponseID))
						continue
					}
					events = append(events, &orphan{traceID: lr.TraceID(), eval: &evaluation{traceID: lr.TraceID(), responseID: rid, attrs: attrs}})
				case eventFinding:
					seen++
					if lr.SpanID().IsEmpty() {
						rejected++
						msgs = append(msgs, fmt.Sprintf("%s log record %d: no span id: want the id of its apply_guardrail span", eventFinding, k))
						continue
					}
					events = append(events, &orphan{traceID: lr.TraceID(), spanID: lr.SpanID(), find: &finding{attrs: attrs}})
				}
			}
		}
	}
	ready, _ := in.join(ctx, nil, events)
	_, _, fault := in.appendAll(ctx, ready)
	if fault != nil {
		return in.fail(enc, fault)
	}
	in.rejected.Add(int64(rejected))
	out, err := logAnswer(enc, int64(rejected), summary(rejected, seen, "events", msgs))
	if err != nil {
		return in.fail(enc, err)
	}
	return Answer{Status: http.StatusOK, ContentType: enc.ContentType(), Body: out}
}

func eventName(lr plog.LogRecord) string {
	if n := lr.EventName(); n != "" {
		return n
	}
	return attrStr(lr.Attributes(), "event.name")
}

// summary is the partial_success error message: how many of how many were
// rejected, then the first few reasons.
func summary(rejected, of int, what string, msgs []string) string {
	if rejected == 0 {
		return ""
	}
	const most = 5
	s := fmt.Sprintf("%d of %d %s rejected: %s", rejected, of, what, strings.Join(msgs[:min(len(msgs), most)], "; "))
	if len(msgs) > most {
		s += fmt.Sprintf("; and %d more", len(msgs)-most)
	}
	return s
}

// readyDecision is a decision to map and append now.
type readyDecision struct {
	g     *guard
	evals []evaluation
	join  joinNote
	ctx   context.Context
}

// join matches the request's guards and events with each other and with
// what waits, and returns the decisions to log now (synchronously, in
// this request). Complete decisions found waiting are logged at once, in
// the background. It holds the lock only over the matching, never over an
// append.
func (in *Ingest) join(ctx context.Context, guards []*guard, events []*orphan) ([]readyDecision, error) {
	// Whether a decision that expects events is logged already (a retry
	// after its join) is read before the lock: it reads the store. Guards
	// that expect nothing never wait, so they need no lookup.
	logged := map[*guard]bool{}
	if in.cfg.Logged != nil {
		for _, g := range guards {
			if g.expected() > 0 || g.expectedFindings() > 0 {
				logged[g] = in.cfg.Logged(g.decisionID())
			}
		}
	}
	now := time.Now()
	in.mu.Lock()
	defer in.mu.Unlock()
	in.expireEvents(now)
	var ready []readyDecision
	var completed []*pendingDecision
	// Events first meet the guards of the same request and what waits.
	local := map[pcommon.TraceID][]*guard{}
	localResp := map[string][]*guard{}
	localSpan := map[pcommon.SpanID]*guard{}
	gEvals := map[*guard][]evaluation{}
	for _, g := range guards {
		local[g.traceID] = append(local[g.traceID], g)
		if r := g.responseID(); r != "" {
			localResp[r] = append(localResp[r], g)
		}
		localSpan[g.spanID] = g
	}
	for _, o := range events {
		matched := false
		if o.find != nil {
			if g, ok := localSpan[o.spanID]; ok && g.traceID == o.traceID {
				g.findings = append(g.findings, *o.find)
				matched = true
			}
			for _, p := range in.pendTrace[o.traceID] {
				if p.g.spanID == o.spanID {
					p.g.findings = append(p.g.findings, *o.find)
					matched = true
					if p.complete() {
						completed = append(completed, p)
					}
				}
			}
		} else {
			var targets []*guard
			for _, g := range local[o.traceID] {
				if o.eval.matches(g) {
					targets = append(targets, g)
				}
			}
			if o.eval.responseID != "" {
				for _, g := range localResp[o.eval.responseID] {
					if g.traceID != o.traceID {
						targets = append(targets, g)
					}
				}
			}
			for _, g := range targets {
				gEvals[g] = append(gEvals[g], *o.eval)
				matched = true
			}
			for _, p := range in.waitingFor(o.eval) {
				if o.eval.matches(p.g) {
					p.evals = append(p.evals, *o.eval)
					matched = true
					if p.complete() {
						completed = append(completed, p)
					}
				}
			}
		}
		if !matched {
			in.holdEvent(o, now)
		}
	}
	for _, g := range guards {
		id := g.decisionID()
		if _, waiting := in.pending[id]; waiting {
			continue // a retry of a span that waits: it is logged once, by its wait
		}
		evals := append(gEvals[g], in.takeEvents(g)...)
		if g.complete(evals) {
			ready = append(ready, readyDecision{g: g, evals: evals, ctx: ctx, join: joinOf(g, evals, 0, false)})
			continue
		}
		if logged[g] {
			continue // logged after a join before: the retry changes nothing
		}
		if len(in.pending) >= in.cfg.MaxPending || in.closed || len(in.pendTrace[g.traceID]) >= maxWaitingPerKey ||
			(g.responseID() != "" && len(in.pendResp[g.responseID()]) >= maxWaitingPerKey) {
			ready = append(ready, readyDecision{g: g, evals: evals, ctx: ctx, join: joinOf(g, evals, 0, true)})
			continue
		}
		p := &pendingDecision{g: g, evals: evals, arrived: now, ctx: context.WithoutCancel(ctx)}
		in.addPending(id, p)
		p.timer = time.AfterFunc(in.cfg.JoinWait, func() { in.expire(id, p) })
	}
	for _, p := range completed {
		id := p.g.decisionID()
		if in.pending[id] != p {
			continue // completed twice in this request
		}
		in.removePending(id, p)
		p.timer.Stop()
		in.flushLater(p, false)
	}
	return ready, nil
}

// maxWaitingPerKey bounds the decisions waiting under one trace id or one
// response id: an event is matched against every decision waiting under
// its ids, so a request's matching costs at most its events times this,
// whatever ids the exporter chose. A decision past it is logged at once,
// as when the table is full.
const maxWaitingPerKey = 64

// addPending and removePending keep pending and its indexes (mu held).
func (in *Ingest) addPending(id string, p *pendingDecision) {
	in.pending[id] = p
	in.pendTrace[p.g.traceID] = append(in.pendTrace[p.g.traceID], p)
	if r := p.g.responseID(); r != "" {
		in.pendResp[r] = append(in.pendResp[r], p)
	}
}

func (in *Ingest) removePending(id string, p *pendingDecision) {
	delete(in.pending, id)
	in.pendTrace[p.g.traceID] = without(in.pendTrace[p.g.traceID], p)
	if len(in.pendTrace[p.g.traceID]) == 0 {
		delete(in.pendTrace, p.g.traceID)
	}
	if r := p.g.responseID(); r != "" {
		if in.pendResp[r] = without(in.pendResp[r], p); len(in.pendResp[r]) == 0 {
			delete(in.pendResp, r)
		}
	}
}

// waitingFor is the waiting decisions of e's trace and response id, each
// once (mu held).
func (in *Ingest) waitingFor(e *evaluation) []*pendingDecision {
	ps := in.pendTrace[e.traceID]
	if e.responseID == "" {
		return ps
	}
	out := slices.Clone(ps)
	for _, p := range in.pendResp[e.responseID] {
		if p.g.traceID != e.traceID {
			out = append(out, p)
		}
	}
	return out
}

func without[T comparable](xs []T, x T) []T {
	if i := slices.Index(xs, x); i >= 0 {
		return slices.Delete(xs, i, i+1)
	}
	return xs
}

// expectedFindings is fja.findings.expected (finding events the decision
// waits for, counting those in the span itself).
func (g *guard) expectedFindings() int {
	v, ok := g.value("fja.findings.expected")
	if !ok {
		return 0
	}
	if f, ok := number(v); ok {
		return int(min(max(f, 0), 1<<16))
	}
	return 0
}

// holdEvent keeps an event that met no span, for JoinWait (mu held).
func (in *Ingest) holdEvent(o *orphan, now time.Time) {
	if len(in.events) >= in.cfg.MaxPending {
		in.dropped.Add(1)
		in.cfg.Logger.Warn("otlp: join table full: event dropped", "trace_id", o.traceID.String(), "max_pending", in.cfg.MaxPending)
		return
	}
	o.deadline = now.Add(in.cfg.JoinWait)
	in.events = append(in.events, o)
	in.byTrace[o.traceID] = append(in.byTrace[o.traceID], o)
	if o.eval != nil && o.eval.responseID != "" {
		in.byResp[o.eval.responseID] = append(in.byResp[o.eval.responseID], o)
	}
}

// takeEvents returns the held events of g's trace or response id and its
// held findings, marking them used (mu held).
func (in *Ingest) takeEvents(g *guard) []evaluation {
	var out []evaluation
	take := func(os []*orphan) {
		for _, o := range os {
			if o.used {
				continue
			}
			switch {
			case o.find != nil && o.spanID == g.spanID && o.traceID == g.traceID:
				g.findings = append(g.findings, *o.find)
				o.used = true
			case o.eval != nil && o.eval.matches(g):
				out = append(out, *o.eval)
				o.used = true
			}
		}
	}
	take(in.byTrace[g.traceID])
	if r := g.responseID(); r != "" {
		take(in.byResp[r])
	}
	return out
}

// expireEvents drops the held events past their deadline, and the used
// ones (mu held).
func (in *Ingest) expireEvents(now time.Time) {
	n := 0
	for n < len(in.events) && (in.events[n].used || now.After(in.events[n].deadline)) {
		o := in.events[n]
		if !o.used {
			in.dropped.Add(1)
			in.cfg.Logger.Warn("otlp: event dropped: no apply_guardrail span of its trace or response arrived within the join wait", "trace_id", o.traceID.String(), "join_wait", in.cfg.JoinWait)
		}
		in.byTrace[o.traceID] = without(in.byTrace[o.traceID], o)
		if len(in.byTrace[o.traceID]) == 0 {
			delete(in.byTrace, o.traceID)
		}
		if o.eval != nil && o.eval.responseID != "" {
			in.byResp[o.eval.responseID] = without(in.byResp[o.eval.responseID], o)
			if len(in.byResp[o.eval.responseID]) == 0 {
				delete(in.byResp, o.eval.responseID)
			}
		}
		in.events[n] = nil
		n++
	}
	in.events = in.events[n:]
}

// expire logs a decision whose join wait ran out.
func (in *Ingest) expire(id string, p *pendingDecision) {
	in.mu.Lock()
	if in.pending[id] != p {
		in.mu.Unlock()
		return
	}
	in.removePending(id, p)
	in.flushLater(p, true)
	in.mu.Unlock()
}

// flushLater logs p in the background (mu held; the append runs without it).
func (in *Ingest) flushLater(p *pendingDecision, late bool) {
	in.flushes.Add(1)
	go func() {
		defer in.flushes.Done()
		jn := joinOf(p.g, p.evals, in.cfg.JoinWait, false) // the configured wait, not the measured one: the request stays a function of the telemetry
		if late {
			in.late.Add(1)
		}
		ctx, cancel := context.WithTimeout(p.ctx, time.Minute)
		defer cancel()
		if _, _, fault := in.appendAll(ctx, []readyDecision{{g: p.g, evals: p.evals, join: jn, ctx: ctx}}); fault != nil {
			in.cfg.Logger.Error("otlp: a joined decision could not be logged", "decision_id", p.g.decisionID(), "err", fault)
		}
	}()
}

// Close logs every decision still waiting for a join, with what arrived,
// and waits for those appends. Later requests are not held for joins.
func (in *Ingest) Close() {
	in.mu.Lock()
	in.closed = true
	for id, p := range in.pending {
		// If its timer fired already, expire finds it gone and returns.
		p.timer.Stop()
		in.removePending(id, p)
		in.flushLater(p, true)
	}
	in.mu.Unlock()
	in.flushes.Wait()
}

// appendAll maps and appends the decisions, up to Workers at once. It
// returns the number rejected (unmappable, or refused by the record
// layer: the telemetry's fault) with their reasons, and a fault of the
// log (overloaded, stopped, closed, or an internal error), which fails
// the request so that the exporter retries it.
func (in *Ingest) appendAll(ctx context.Context, ready []readyDecision) (int, []string, error) {
	if len(ready) == 0 {
		return 0, nil, nil
	}
	errs := make([]error, len(ready))
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= len(ready) {
				return
			}
			r := ready[i]
			c := r.ctx
			if c == nil {
				c = ctx
			}
			body, id, err := mapDecision(r.g, r.evals, r.join)
			if err == nil {
				_, err = in.cfg.Append(c, body)
			}
			if errors.Is(err, audit.ErrConflict) && r.g.str(fjaDecisionID) == "" {
				// The id is this very span's (trace and span id): it was
				// logged before, joined with events that this retry no
				// longer finds waiting. The first record stands.
				err = nil
			}
			if err != nil {
				errs[i] = fmt.Errorf("span %s (decision %s): %w", r.g.spanID, id, err)
			}
		}
	}
	var wg sync.WaitGroup
	for range min(len(ready), in.cfg.Workers) - 1 {
		workpool.Go(&wg, work)
	}
	work()
	wg.Wait()
	var msgs []string
	var fault error
	for _, err := range errs {
		switch {
		case err == nil:
			in.logged.Add(1)
		case rejectable(err):
			msgs = append(msgs, err.Error())
		case fault == nil:
			fault = err
		}
	}
	in.rejected.Add(int64(len(msgs)))
	if fault != nil {
		st := http.StatusInternalServerError
		if errors.Is(fault, ledger.ErrPushback) || errors.Is(fault, ledger.ErrClosed) || errors.Is(fault, ledger.ErrStopped) {
			st = http.StatusServiceUnavailable
		}
		return len(msgs), msgs, &requestError{status: st, msg: fault.Error()}
	}
	return len(msgs), msgs, nil
}

// rejectable reports whether err is the telemetry's fault: a span that
// does not map, or a request the record layer refuses.
func rejectable(err error) bool {
	var me *mapError
	var ve *audit.ValidationError
	var se *audit.StateError
	return errors.As(err, &me) || errors.As(err, &ve) || errors.As(err, &se) ||
		errors.Is(err, audit.ErrConflict) || errors.Is(err, audit.ErrForbidden) || errors.Is(err, audit.ErrNotFound) ||
		errors.Is(err, ledger.ErrTooLarge)
}
