package otlp

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/fjaledger/fja/verify/record"
)

// Attribute and event names of the OpenTelemetry GenAI semantic conventions
// (status: development) that the mapping reads. Sources:
// open-telemetry/semantic-conventions docs/gen-ai/gen-ai-security.md (the
// apply_guardrail span, span.gen_ai.apply_guardrail.internal, and the
// gen_ai.security.finding event) and the gen_ai.evaluation.result event of
// the GenAI events conventions (gen_ai.evaluation.name,
// gen_ai.evaluation.score.value|label, gen_ai.evaluation.explanation,
// gen_ai.response.id), since moved to open-telemetry/semantic-conventions-genai.
const (
	attrOperation      = "gen_ai.operation.name"
	opApplyGuardrail   = "apply_guardrail"
	attrDecisionType   = "gen_ai.security.decision.type"
	attrDecisionReason = "gen_ai.security.decision.reason"
	attrTargetType     = "gen_ai.security.target.type"
	attrPolicyID       = "gen_ai.security.policy.id"
	attrPolicyName     = "gen_ai.security.policy.name"
	attrPolicyVersion  = "gen_ai.security.policy.version"
	attrGuardianName   = "gen_ai.guardian.name"
	attrGuardianID     = "gen_ai.guardian.id"
	// The registry spells it gen_ai.guardian.provider.name; the issue
	// that asked for this ingest wrote provider_name: both are read.
	attrGuardianProvider  = "gen_ai.guardian.provider.name"
	attrGuardianProvider2 = "gen_ai.guardian.provider_name"
	attrGuardianVersion   = "gen_ai.guardian.version"
	attrRequestModel      = "gen_ai.request.model"
	attrResponseModel     = "gen_ai.response.model"
	attrResponseID        = "gen_ai.response.id"

	eventFinding     = "gen_ai.security.finding"
	attrRiskCategory = "gen_ai.security.risk.category"
	attrRiskSeverity = "gen_ai.security.risk.severity"
	attrRiskScore    = "gen_ai.security.risk.score"

	eventEvaluation = "gen_ai.evaluation.result"
	attrEvalName    = "gen_ai.evaluation.name"
	attrEvalValue   = "gen_ai.evaluation.score.value"
	attrEvalLabel   = "gen_ai.evaluation.score.label"
)

// contentAttrs are the attributes that carry content (prompts, responses,
// what a guardian saw or wrote): these, and every other
// gen_ai.security.content.* attribute (a hash of content too, such as
// gen_ai.security.content.input.hash, which an unsalted hash would let
// anyone confirm a guess of). They never enter a leaf: their text goes to
// the decision's private section (sealed outside the tree, committed to in
// the leaf). Each is request or response side.
var contentAttrs = map[string]bool{ // key: response side
	"gen_ai.input.messages":      false,
	"gen_ai.system_instructions": false,
	"gen_ai.output.messages":     true,
}

// contentSide reports whether key is a content attribute, and of which side.
func contentSide(key string) (isContent, response bool) {
	if r, ok := contentAttrs[key]; ok {
		return true, r
	}
	if rest, ok := strings.CutPrefix(key, contentPrefix); ok {
		return true, strings.HasPrefix(rest, "output.")
	}
	return false, false
}

const contentPrefix = "gen_ai.security.content."

// The fja.* attributes: what OpenTelemetry has no convention for. Read from
// the span, else from its resource (so a deployment sets the constant ones
// once, as resource attributes).
const (
	fjaDecisionID      = "fja.decision.id"
	fjaOperator        = "fja.system.operator"
	fjaModel           = "fja.system.model"
	fjaModelVersion    = "fja.system.model_version"
	fjaDeployment      = "fja.system.deployment"
	fjaSubjectRef      = "fja.subject.ref"
	fjaJurisdiction    = "fja.subject.jurisdiction"
	fjaLocale          = "fja.subject.locale"
	fjaTokenSHA256     = "fja.subject.token_sha256"
	fjaConstitutionID  = "fja.constitution.id"
	fjaConstitutionVer = "fja.constitution.version"
	fjaRuleIDs         = "fja.rule.ids"
	fjaObjectives      = "fja.objectives"
	fjaFlags           = "fja.provenance_flags"
	fjaWeightPrefix    = "fja.weight."
	fjaAction          = "fja.outcome.action"
	fjaCategory        = "fja.outcome.category"
	fjaExplanation     = "fja.outcome.explanation"
	fjaContestable     = "fja.outcome.contestable"
	fjaRequestCommit   = "fja.request.commitment"
	fjaResponseCommit  = "fja.response.commitment"
	fjaExpectedEvals   = "fja.evaluations.expected"
	fjaCandidateID     = "fja.candidate.id"
	fjaCandidateSel    = "fja.candidate.selected"
	fjaRuleID          = "fja.rule.id"
)

// Provenance flag codes the mapping itself adds, so that a record says
// what the ledger did to it.
const (
	FlagJoinIncomplete = "otel.join.incomplete"
	FlagNoContent      = "otel.content.absent"
	FlagTruncated      = "otel.content.truncated"
)

// maxPrivate is the most characters of private text a decision request
// takes (common.v1.json private_text).
const maxPrivate = 32768

// guard is an apply_guardrail span as received, with its findings (span
// events, or gen_ai.security.finding log records of the same span).
type guard struct {
	traceID    pcommon.TraceID
	spanID     pcommon.SpanID
	start, end pcommon.Timestamp
	attrs, res pcommon.Map
	findings   []finding
}

type finding struct {
	attrs pcommon.Map
}

// evaluation is one gen_ai.evaluation.result (span event or log record).
type evaluation struct {
	traceID    pcommon.TraceID
	responseID string // the event's gen_ai.response.id, else its span's
	attrs      pcommon.Map
}

// str is the string value of key on the span, else on its resource.
func (g *guard) str(key string) string {
	if v, ok := g.attrs.Get(key); ok {
		return v.AsString()
	}
	if v, ok := g.res.Get(key); ok {
		return v.AsString()
	}
	return ""
}

func (g *guard) value(key string) (pcommon.Value, bool) {
	if v, ok := g.attrs.Get(key); ok {
		return v, true
	}
	return g.res.Get(key)
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// DecisionID is the decision id of an apply_guardrail span: its
// fja.decision.id attribute, else "otel-<trace id>-<span id>" (hex). It is a
// function of the span alone, so an exporter's retry of the span names the
// same decision and is answered as a repeat.
func (g *guard) decisionID() string {
	if id := g.str(fjaDecisionID); id != "" {
		return id
	}
	return "otel-" + hex.EncodeToString(g.traceID[:]) + "-" + hex.EncodeToString(g.spanID[:])
}

// expected is the number of gen_ai.evaluation.result events the decision
// waits for (fja.evaluations.expected; 0 when absent).
func (g *guard) expected() int {
	v, ok := g.value(fjaExpectedEvals)
	if !ok {
		return 0
	}
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return int(min(max(v.Int(), 0), 1<<16))
	case pcommon.ValueTypeDouble:
		return int(min(max(v.Double(), 0), 1<<16))
	case pcommon.ValueTypeStr:
		n, _ := strconv.Atoi(v.Str())
		return min(max(n, 0), 1<<16)
	}
	return 0
}

func (g *guard) responseID() string { return g.str(attrResponseID) }

// decisionRequest is the decision request body the mapping builds
// (schemas/append-decision.v1.json), in its one wire type.
type decisionRequest = record.DecisionRequest

// decisionTypes maps gen_ai.security.decision.type to the outcome action
// and the effect of every rule the span cites.
var decisionTypes = map[string]struct{ action, effect string }{
	"allow":  {"answered", "allow"},
	"deny":   {"refused", "refuse"},
	"modify": {"modified", "modify"},
	"warn":   {"answered", "warn"},
	"audit":  {"answered", "allow"},
}

// joinNote says how a decision's join ended: the evaluation and finding
// events that arrived of those expected, after waiting (zero: not waited
// for).
type joinNote struct {
	evals, expEvals       int
	findings, expFindings int
	waited                time.Duration
	full                  bool // logged early: the join table was full
}

// missing describes the events that did not arrive ("" when none).
func (j joinNote) missing() string {
	var parts []string
	if j.evals < j.expEvals {
		parts = append(parts, fmt.Sprintf("%d of the %d expected %s events", j.evals, j.expEvals, eventEvaluation))
	}
	if j.findings < j.expFindings {
		parts = append(parts, fmt.Sprintf("%d of the %d expected %s events", j.findings, j.expFindings, eventFinding))
	}
	return strings.Join(parts, " and ")
}

// matches reports whether the evaluation e belongs to the guardrail span
// g: by gen_ai.response.id when both carry one, else by trace.
func (e *evaluation) matches(g *guard) bool {
	if r := g.responseID(); r != "" && e.responseID != "" {
		return r == e.responseID
	}
	return e.traceID == g.traceID && !e.traceID.IsEmpty()
}

// mapError is a span that cannot become a decision request; it is
// rejected (OTLP partial success), never a 5xx.
type mapError struct{ msg string }

func (e *mapError) Error() string { return e.msg }

func missing(what string, keys ...string) error {
	return &mapError{fmt.Sprintf("no %s: want attribute %s on the span or its resource", what, strings.Join(keys, " or "))}
}

// mapDecision maps an apply_guardrail span, its findings and the
// evaluations joined to it to the body of a decision request (validated
// afterwards exactly as POST /v1/decisions validates it). The body is a
// function of its inputs alone (no randomness, no clock), so the same
// span, retried, maps to the same request.
func mapDecision(g *guard, evals []evaluation, jn joinNote) ([]byte, string, error) {
	id := g.decisionID()
	dt := g.str(attrDecisionType)
	if dt == "" {
		return nil, id, &mapError{fmt.Sprintf("apply_guardrail span %s has no %s: want allow, deny, modify, warn or audit", id, attrDecisionType)}
	}
	m, ok := decisionTypes[dt]
	if !ok {
		return nil, id, &mapError{fmt.Sprintf("%s %q: want allow, deny, modify, warn or audit", attrDecisionType, dt)}
	}
	t := g.end
	if t == 0 {
		t = g.start
	}
	if t == 0 {
		return nil, id, &mapError{"span has neither end nor start time: want the time the guardrail decided"}
	}
	d := decisionRequest{Decision: record.Decision{
		DecisionID: id,
		OccurredAt: t.AsTime().UTC().Format(time.RFC3339Nano),
		System: record.System{
			Operator:     first(g.str(fjaOperator), resStr(g.res, "service.namespace")),
			Model:        first(g.str(fjaModel), g.str(attrResponseModel), g.str(attrRequestModel)),
			ModelVersion: first(g.str(fjaModelVersion), resStr(g.res, "service.version")),
			Deployment:   first(g.str(fjaDeployment), g.str("deployment.environment.name"), g.str("deployment.environment")),
		},
		Subject: record.Subject{Ref: g.str(fjaSubjectRef), Jurisdiction: g.str(fjaJurisdiction), Locale: g.str(fjaLocale)},
		Constitution: record.ConstitutionRef{
			ID:      g.str(fjaConstitutionID),
			Version: first(g.str(fjaConstitutionVer), g.str(attrPolicyVersion)),
		},
		Weights:         map[string]float64{},
		Candidates:      []record.Candidate{},
		ProvenanceFlags: []record.ProvenanceFlag{},
		Objectives:      []record.Objective{},
	}}
	switch {
	case d.System.Operator == "":
		return nil, id, missing("system operator", fjaOperator, "service.namespace (resource)")
	case d.System.Model == "":
		return nil, id, missing("model", fjaModel, attrResponseModel, attrRequestModel)
	case d.System.ModelVersion == "":
		return nil, id, missing("model version", fjaModelVersion, "service.version (resource)")
	case d.System.Deployment == "":
		return nil, id, missing("deployment", fjaDeployment, "deployment.environment.name")
	case d.Subject.Ref == "":
		return nil, id, missing("subject reference", fjaSubjectRef+" (a sha256: commitment, never an identity)")
	case d.Subject.Jurisdiction == "":
		return nil, id, missing("subject jurisdiction", fjaJurisdiction)
	case d.Subject.Locale == "":
		return nil, id, missing("subject locale", fjaLocale)
	case d.Constitution.ID == "":
		return nil, id, missing("constitution", fjaConstitutionID)
	case d.Constitution.Version == "":
		return nil, id, missing("constitution version", attrPolicyVersion, fjaConstitutionVer)
	}

	// Rules: the span's policy, each finding's policy, fja.rule.ids; all
	// with the effect of the span's decision.
	reason := g.str(attrDecisionReason)
	var ruleIDs []string
	rationale := map[string][]string{}
	addRule := func(id, why string) {
		if id == "" {
			return
		}
		if _, ok := rationale[id]; !ok {
			ruleIDs = append(ruleIDs, id)
			rationale[id] = nil
		}
		if why != "" && !slices.Contains(rationale[id], why) {
			rationale[id] = append(rationale[id], why)
		}
	}
	why := reason
	if n := g.str(attrPolicyName); n != "" {
		why = strings.TrimPrefix(why+"; policy: "+n, "; ")
	}
	if gd := guardian(g); gd != "" {
		why = strings.TrimPrefix(why+"; guardian: "+gd, "; ")
	}
	addRule(g.str(attrPolicyID), why)
	if v, ok := g.value(fjaRuleIDs); ok {
		if v.Type() == pcommon.ValueTypeSlice {
			for i := range v.Slice().Len() {
				addRule(v.Slice().At(i).AsString(), why)
			}
		} else {
			for _, r := range strings.Split(v.AsString(), ",") {
				addRule(strings.TrimSpace(r), why)
			}
		}
	}
	for _, f := range g.findings {
		cat := attrStr(f.attrs, attrRiskCategory)
		sev := attrStr(f.attrs, attrRiskSeverity)
		summary := cat
		if sev != "" {
			summary += ", severity " + sev
		}
		if v, ok := f.attrs.Get(attrRiskScore); ok {
			summary += ", score " + v.AsString()
		}
		summary = "finding: " + summary
		addRule(first(attrStr(f.attrs, fjaRuleID), attrStr(f.attrs, attrPolicyID)), summary)
		if cat != "" {
			d.ProvenanceFlags = append(d.ProvenanceFlags, record.ProvenanceFlag{Code: flagCode(cat), Message: clipText(summary, 4096), Severity: severityOf(sev)})
		}
	}
	if len(ruleIDs) == 0 {
		return nil, id, &mapError{fmt.Sprintf("decision %s cites no rule: want %s on the span or on a %s event, or %s", id, attrPolicyID, eventFinding, fjaRuleIDs)}
	}
	for _, r := range ruleIDs {
		d.Rules = append(d.Rules, record.AppliedRule{RuleID: r, Effect: m.effect, Rationale: clipText(strings.Join(rationale[r], "; "), 4096)})
	}

	d.Outcome = record.Outcome{
		Action:      first(g.str(fjaAction), m.action),
		Category:    first(g.str(fjaCategory), flagCode(g.str(attrTargetType)), "unspecified"),
		Explanation: clipText(first(g.str(fjaExplanation), reason), 4096),
		Contestable: true,
	}
	if v, ok := g.value(fjaContestable); ok && v.Type() == pcommon.ValueTypeBool {
		d.Outcome.Contestable = v.Bool()
	}
	if tok := g.str(fjaTokenSHA256); tok != "" {
		d.Contest = &record.ContestStanding{TokenSHA256: tok}
	}

	// Objectives and provenance flags the producer states in fja.*.
	if s := g.str(fjaObjectives); s != "" {
		if err := decodeStrict(s, &d.Objectives); err != nil {
			return nil, id, &mapError{fmt.Sprintf("%s: want a JSON array of objectives ({id, description, source, confidence}): %v", fjaObjectives, err)}
		}
	}
	if s := g.str(fjaFlags); s != "" {
		var fs []record.ProvenanceFlag
		if err := decodeStrict(s, &fs); err != nil {
			return nil, id, &mapError{fmt.Sprintf("%s: want a JSON array of {code, message, severity}: %v", fjaFlags, err)}
		}
		d.ProvenanceFlags = append(d.ProvenanceFlags, fs...)
	}
	var werr error
	eachAttr(g.res, g.attrs, func(k string, v pcommon.Value) {
		name, ok := strings.CutPrefix(k, fjaWeightPrefix)
		if !ok {
			return
		}
		f, ok := number(v)
		if !ok && werr == nil {
			werr = &mapError{fmt.Sprintf("%s: want a finite number, got %s", k, v.AsString())}
		}
		d.Weights[name] = f
	})
	if werr != nil {
		return nil, id, werr
	}

	// Candidates: the evaluations, grouped by candidate.
	if err := addCandidates(&d, g, evals); err != nil {
		return nil, id, err
	}

	// Content: private, never in the leaf.
	if err := addContent(&d, g); err != nil {
		return nil, id, err
	}
	if m := jn.missing(); m != "" {
		why := fmt.Sprintf("logged after a join wait of %s with %s", jn.waited.Round(time.Millisecond), m)
		if jn.full {
			why = "logged early, the ingest's join table being full, with " + m
		}
		d.ProvenanceFlags = append(d.ProvenanceFlags, record.ProvenanceFlag{Code: FlagJoinIncomplete, Message: why, Severity: "warning"})
	}
	b, err := json.Marshal(&d)
	if err != nil {
		return nil, id, &mapError{fmt.Sprintf("decision %s: %v", id, err)}
	}
	return b, id, nil
}

// guardian describes the guardian of g: "Name (provider version, id ID)".
func guardian(g *guard) string {
	name := g.str(attrGuardianName)
	var in []string
	if p := first(g.str(attrGuardianProvider), g.str(attrGuardianProvider2)); p != "" {
		in = append(in, p)
	}
	if v := g.str(attrGuardianVersion); v != "" {
		in = append(in, v)
	}
	if id := g.str(attrGuardianID); id != "" {
		in = append(in, "id "+id)
	}
	if len(in) > 0 {
		name = strings.TrimSpace(name + " (" + strings.Join(in, ", ") + ")")
	}
	return name
}

func addCandidates(d *decisionRequest, g *guard, evals []evaluation) error {
	byID := map[string]*record.Candidate{}
	selected := map[string]bool{}
	var ids []string
	for _, e := range evals {
		v, ok := e.attrs.Get(attrEvalValue)
		if !ok {
			continue // a label alone is no score
		}
		f, ok := number(v)
		if !ok {
			return &mapError{fmt.Sprintf("%s %s: want a finite number", eventEvaluation, attrEvalValue)}
		}
		name := attrStr(e.attrs, attrEvalName)
		if name == "" {
			return &mapError{fmt.Sprintf("%s event without %s", eventEvaluation, attrEvalName)}
		}
		cid := first(attrStr(e.attrs, fjaCandidateID), e.responseID, "c1")
		c := byID[cid]
		if c == nil {
			c = &record.Candidate{ID: cid, Scores: map[string]float64{}}
			byID[cid] = c
			ids = append(ids, cid)
		}
		c.Scores[flagCode(name)] = f
		if s, ok := e.attrs.Get(fjaCandidateSel); ok && s.Type() == pcommon.ValueTypeBool {
			selected[cid] = s.Bool()
		}
	}
	slices.Sort(ids)
	rid := g.responseID()
	for _, id := range ids {
		c := byID[id]
		if s, ok := selected[id]; ok {
			c.Selected = s
		} else {
			c.Selected = len(ids) == 1 || (rid != "" && id == rid)
		}
		d.Candidates = append(d.Candidates, *c)
	}
	return nil
}

// addContent puts the content attributes of the span into the private
// section (one attribute: its text; several: a JSON object of them), and
// the producer's commitments (fja.request.commitment,
// fja.response.commitment) where there is no content. A side with neither
// is committed to empty text, flagged otel.content.absent.
func addContent(d *decisionRequest, g *guard) error {
	var req, resp []string
	texts := map[string]string{}
	g.attrs.Range(func(k string, v pcommon.Value) bool {
		isContent, response := contentSide(k)
		if !isContent {
			return true
		}
		texts[k] = v.AsString()
		if response {
			resp = append(resp, k)
		} else {
			req = append(req, k)
		}
		return true
	})
	var absent []string
	side := func(keys []string, commit string, name string) (*string, *record.Commitment) {
		switch {
		case len(keys) == 1:
			s := texts[keys[0]]
			return &s, nil
		case len(keys) > 1:
			m := map[string]string{}
			for _, k := range keys {
				m[k] = texts[k]
			}
			b, _ := json.Marshal(m) // keys sorted: deterministic
			s := string(b)
			return &s, nil
		case isCommitment(commit):
			return nil, &record.Commitment{Commitment: commit}
		}
		absent = append(absent, name)
		s := ""
		return &s, nil
	}
	var p record.DecisionPrivate
	p.Request, d.Request = side(req, g.str(fjaRequestCommit), "request")
	p.Response, d.Response = side(resp, g.str(fjaResponseCommit), "response")
	for _, s := range []*string{p.Request, p.Response} {
		if s != nil && utf8.RuneCountInString(*s) > maxPrivate {
			r := []rune(*s)
			*s = string(r[:maxPrivate])
			d.ProvenanceFlags = append(d.ProvenanceFlags, record.ProvenanceFlag{Code: FlagTruncated, Message: fmt.Sprintf("private content cut to its first %d characters of %d", maxPrivate, len(r)), Severity: "warning"})
		}
	}
	if p.Request != nil || p.Response != nil {
		d.Private = &p
	}
	if len(absent) > 0 {
		d.ProvenanceFlags = append(d.ProvenanceFlags, record.ProvenanceFlag{Code: FlagNoContent,
			Message:  "the span carried no " + strings.Join(absent, " nor ") + " content nor commitment: the ledger committed to empty text",
			Severity: "info"})
	}
	return nil
}

func isCommitment(s string) bool {
	h, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(h) != 64 {
		return false
	}
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// severityOf maps gen_ai.security.risk.severity to a flag severity.
func severityOf(s string) string {
	switch s {
	case "high", "critical":
		return "critical"
	case "medium":
		return "warning"
	}
	return "info"
}

// flagCode makes s fit the id pattern ([A-Za-z0-9._:-], 1..128): other
// characters become '_'.
func flagCode(s string) string {
	if s == "" {
		return ""
	}
	b := []byte(s)
	if len(b) > 128 {
		b = b[:128]
	}
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

func clipText(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func attrStr(m pcommon.Map, key string) string {
	if v, ok := m.Get(key); ok {
		return v.AsString()
	}
	return ""
}

func resStr(m pcommon.Map, key string) string { return attrStr(m, key) }

// eachAttr calls f for the attributes of res then span (span values win).
func eachAttr(res, span pcommon.Map, f func(string, pcommon.Value)) {
	res.Range(func(k string, v pcommon.Value) bool {
		if _, ok := span.Get(k); !ok {
			f(k, v)
		}
		return true
	})
	span.Range(func(k string, v pcommon.Value) bool { f(k, v); return true })
}

func number(v pcommon.Value) (float64, bool) {
	var f float64
	switch v.Type() {
	case pcommon.ValueTypeDouble:
		f = v.Double()
	case pcommon.ValueTypeInt:
		f = float64(v.Int())
	case pcommon.ValueTypeStr:
		var err error
		if f, err = strconv.ParseFloat(v.Str(), 64); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	return f, !math.IsNaN(f) && !math.IsInf(f, 0) && math.Abs(f) <= 1e300
}

// decodeStrict decodes the JSON text s into v, refusing fields v does not
// have and anything after the value: what the producer states in an fja.*
// attribute is logged as stated or refused, never silently trimmed.
func decodeStrict(s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("unexpected text after the JSON value")
	}
	return nil
}
