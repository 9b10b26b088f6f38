package audit

// One decode per record: the functions below parse a request body once
// (parseJSON: bounded, linear, duplicate keys and inexact numbers refused),
// check it with the compiled validator of its schema, and fill the typed
// request from the same decoded document. They accept exactly what
// Validate accepts, with the same errors, and give the same value that
// Validate followed by decodeStrict gives (a differential test holds them
// to both); the typed value is what canonicalRecord encodes, so no second
// parse is needed for the canonical bytes either.

// DecodeDecisionRequest validates a POST /v1/decisions body against
// append-decision.v1 and returns it decoded: Validate("append-decision.v1",
// raw) and decodeStrict(raw, &DecisionRequest{}) in one pass. Every failure
// is a *ValidationError. Empty arrays and maps decode as empty, not nil, as
// encoding/json decodes them, so canonicalRecord writes [] and {}. The
// strings of the result share one copy of raw (raw itself is not kept):
// keep a strings.Clone of any that must outlive the request.
func DecodeDecisionRequest(raw []byte) (*DecisionRequest, error) {
	v, release, err := decodeChecked(raw, checkAppendDecision)
	defer release()
	if err != nil {
		return nil, err
	}
	req := &DecisionRequest{}
	d := &req.Decision
	for i := range v.obj {
		m := &v.obj[i]
		val := &m.val
		switch m.key {
		case "decision_id":
			d.DecisionID = val.str
		case "occurred_at":
			d.OccurredAt = val.str
		case "system":
			d.System = System{
				Deployment:   strOf(val, "deployment"),
				Model:        strOf(val, "model"),
				ModelVersion: strOf(val, "model_version"),
				Operator:     strOf(val, "operator"),
			}
		case "subject":
			d.Subject = Subject{Jurisdiction: strOf(val, "jurisdiction"), Locale: strOf(val, "locale"), Ref: strOf(val, "ref")}
		case "request":
			d.Request = &Commitment{Commitment: strOf(val, "commitment")}
		case "response":
			d.Response = &Commitment{Commitment: strOf(val, "commitment")}
		case "objectives":
			d.Objectives = make([]Objective, len(val.arr))
			for j := range val.arr {
				o := &val.arr[j]
				d.Objectives[j] = Objective{Confidence: numOf(o, "confidence"), Description: strOf(o, "description"), ID: strOf(o, "id"), Source: strOf(o, "source")}
			}
		case "constitution":
			d.Constitution = ConstitutionRef{ID: strOf(val, "id"), Version: strOf(val, "version")}
		case "rules":
			d.Rules = make([]AppliedRule, len(val.arr))
			for j := range val.arr {
				r := &val.arr[j]
				d.Rules[j] = AppliedRule{Effect: strOf(r, "effect"), Rationale: strOf(r, "rationale"), RuleID: strOf(r, "rule_id")}
			}
		case "weights":
			d.Weights = numberMapOf(val)
		case "candidates":
			d.Candidates = make([]Candidate, len(val.arr))
			for j := range val.arr {
				c := &val.arr[j]
				d.Candidates[j] = Candidate{ID: strOf(c, "id"), Scores: numberMapOf(c.member("scores")), Selected: c.member("selected").b}
			}
		case "provenance_flags":
			d.ProvenanceFlags = make([]ProvenanceFlag, len(val.arr))
			for j := range val.arr {
				f := &val.arr[j]
				d.ProvenanceFlags[j] = ProvenanceFlag{Code: strOf(f, "code"), Message: strOf(f, "message"), Severity: strOf(f, "severity")}
			}
		case "outcome":
			d.Outcome = Outcome{Action: strOf(val, "action"), Category: strOf(val, "category"),
				Contestable: val.member("contestable").b, Explanation: strOf(val, "explanation")}
		case "contest":
			d.Contest = &ContestStanding{TokenSHA256: strOf(val, "token_sha256")}
		case "private":
			req.Private = &DecisionPrivate{Request: optStrOf(val, "request"), Response: optStrOf(val, "response")}
		}
	}
	return req, nil
}

// DecodeContestRequest is DecodeDecisionRequest for a POST /v1/contests
// body (append-contest.v1).
func DecodeContestRequest(raw []byte) (*ContestRequest, error) {
	v, release, err := decodeChecked(raw, checkAppendContest)
	defer release()
	if err != nil {
		return nil, err
	}
	g := v.member("grounds")
	return &ContestRequest{
		ContestID:    strOf(&v, "contest_id"),
		ContestToken: strOf(&v, "contest_token"),
		DecisionID:   strOf(&v, "decision_id"),
		Grounds:      ContestGrounds{Category: strOf(g, "category"), Text: strOf(g, "text")},
		Remedy:       strOf(&v, "remedy"),
	}, nil
}

// DecodeResolutionRequest is DecodeDecisionRequest for a POST
// /v1/contests/{id}/resolution body (append-resolution.v1); ContestID is
// left empty (it comes from the URL).
func DecodeResolutionRequest(raw []byte) (*Resolution, error) {
	v, release, err := decodeChecked(raw, checkAppendResolution)
	defer release()
	if err != nil {
		return nil, err
	}
	rc := v.member("rule_changes")
	r := &Resolution{
		HumanReviewed: v.member("human_reviewed").b,
		Outcome:       strOf(&v, "outcome"),
		Rationale:     strOf(&v, "rationale"),
		RuleChanges:   make([]RuleChange, len(rc.arr)),
	}
	for i := range rc.arr {
		c := &rc.arr[i]
		r.RuleChanges[i] = RuleChange{Change: strOf(c, "change"), ConstitutionVersion: strOf(c, "constitution_version"), RuleID: strOf(c, "rule_id")}
	}
	return r, nil
}

// decodeChecked parses raw and checks it with a compiled validator.
// v is valid until release (parsePooled), which the caller MUST call once,
// error or not, after it has copied what it needs of v.
func decodeChecked(raw []byte, check func(*checker, *jsonValue)) (v jsonValue, release func(), err error) {
	v, release, perr := parsePooled(raw)
	if perr != nil {
		return jsonValue{}, release, perr
	}
	c := checker{path: make([]string, 0, 8)}
	check(&c, &v)
	if err := c.err(); err != nil {
		return jsonValue{}, release, err
	}
	return v, release, nil
}

// The accessors below read a validated document: a member the schema
// requires is there with its type; an optional one may be nil.

func strOf(v *jsonValue, key string) string {
	if m := v.member(key); m != nil {
		return m.str
	}
	return ""
}

func optStrOf(v *jsonValue, key string) *string {
	if m := v.member(key); m != nil {
		s := m.str
		return &s
	}
	return nil
}

func numOf(v *jsonValue, key string) float64 {
	if m := v.member(key); m != nil {
		return m.num
	}
	return 0
}

func numberMapOf(v *jsonValue) map[string]float64 {
	out := make(map[string]float64, len(v.obj))
	for i := range v.obj {
		out[v.obj[i].key] = v.obj[i].val.num
	}
	return out
}
