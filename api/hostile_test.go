package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
)

// hostileCase is one malformed or hostile request. The answer must be the
// JSON error shape with status and code (and field, when set), the tree
// must not grow (unless grow says by how much), and the server must stay up.
type hostileCase struct {
	name   string
	method string
	path   string
	role   auth.Role // bearer token of this role ("": none)
	authz  string    // raw Authorization header; overrides role
	hdr    []string  // extra header name, value pairs
	body   []byte
	// chunked sends the body without a Content-Length.
	chunked bool

	status int
	code   string
	field  string // the "field" of an invalid record ("": not checked)
	// batch: the answer is 200 {"results":[...]}; grow is how many records
	// it must log, errs how many per-item errors it must carry.
	batch bool
	grow  int
	errs  int
}

// hostileResponse sends c and returns the status and body.
func (s *server) hostile(c hostileCase) (int, http.Header, []byte) {
	s.T.Helper()
	var body io.Reader = bytes.NewReader(c.body)
	if c.chunked {
		body = io.MultiReader(bytes.NewReader(c.body)) // not a *bytes.Reader: no Content-Length
	}
	req, err := http.NewRequest(c.method, s.URL+c.path, body)
	if err != nil {
		s.T.Fatal(err)
	}
	switch {
	case c.authz != "":
		req.Header.Set("Authorization", c.authz)
	case c.role != "":
		req.Header.Set("Authorization", "Bearer "+s.Tokens[c.role])
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(c.hdr); i += 2 {
		req.Header.Set(c.hdr[i], c.hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.T.Fatalf("%s: %v", c.name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// errorBody is the JSON error shape; decoded strictly.
type errorBody struct {
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

func parseErrorBody(b []byte) (*errorBody, error) {
	var e errorBody
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data")
	}
	if e.Error == nil || e.Error.Code == "" || e.Error.Message == "" {
		return nil, fmt.Errorf("want {\"error\":{\"code\",\"message\"}} with both non-empty")
	}
	return &e, nil
}

func (s *server) healthy() {
	s.T.Helper()
	code, b := s.Do("GET", "/healthz", "", nil)
	if code != 200 {
		s.T.Fatalf("GET /healthz: %d %s", code, b)
	}
}

// jsonEdit decodes doc (numbers kept exact), applies edits and encodes it.
func jsonEdit(t *testing.T, doc []byte, edits ...func(m map[string]any)) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	for _, e := range edits {
		e(m)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(buf.Bytes())
}

// at walks a dotted path ("rules.0.effect") to the container of its last
// element and returns it with that element's key.
func at(m map[string]any, path string) (container any, key string) {
	parts := strings.Split(path, ".")
	var cur any = m
	for _, p := range parts[:len(parts)-1] {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			var i int
			fmt.Sscan(p, &i)
			cur = c[i]
		}
	}
	return cur, parts[len(parts)-1]
}

// set replaces (or adds) the value at path; raw json.RawMessage values are
// written as they are.
func set(path string, v any) func(map[string]any) {
	return func(m map[string]any) {
		c, k := at(m, path)
		switch c := c.(type) {
		case map[string]any:
			c[k] = v
		case []any:
			var i int
			fmt.Sscan(k, &i)
			c[i] = v
		}
	}
}

func del(path string) func(map[string]any) {
	return func(m map[string]any) {
		c, k := at(m, path)
		delete(c.(map[string]any), k)
	}
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

// TestHostileRequests sends malformed and hostile requests to a real server
// holding the example constitution and one decision.
func TestHostileRequests(t *testing.T) {
	s := newServer(t)
	s.publishConstitution()
	code, b := s.Do("POST", "/v1/decisions", auth.Producer, apitest.Example(t, "decision-answered.json"))
	if code != http.StatusCreated {
		t.Fatalf("good decision: %d %s", code, b)
	}
	logged := s.receipt(b)
	const loggedID = "dec-2026-11-27-000002"

	// fresh is a valid decision that is not logged yet: every case below
	// breaks it in one way.
	fresh := apitest.Example(t, "decision-refused.json")
	good := apitest.Example(t, "decision-answered.json")
	private := apitest.Example(t, "decision-modified-private.json")
	constitution := apitest.Example(t, "constitution.json")
	edit := func(edits ...func(map[string]any)) []byte { return jsonEdit(t, fresh, edits...) }
	// editRaw puts text that is not valid JSON at path.
	editRaw := func(path, text string) []byte {
		const mark = "@@raw@@"
		return bytes.Replace(edit(set(path, mark)), []byte(`"`+mark+`"`), []byte(text), 1)
	}
	newID := func(i int) func(map[string]any) { return set("decision_id", fmt.Sprintf("dec-hostile-%04d", i)) }
	forged := "Bearer " + strings.Repeat("A", 43)
	hex64 := strings.Repeat("ab", 32)

	manyRules := make([]any, 257)
	for i := range manyRules {
		manyRules[i] = map[string]any{"rule_id": "H-12", "effect": "refuse", "rationale": ""}
	}
	manyWeights := map[string]any{}
	for i := 0; i < 65; i++ {
		manyWeights[fmt.Sprintf("w%d", i)] = 0.01
	}
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	batchOf := func(items ...[]byte) []byte {
		rs := make([]json.RawMessage, len(items))
		for i, it := range items {
			rs[i] = it
		}
		return mustJSON(t, rs)
	}
	huge := edit(set("outcome.explanation", strings.Repeat("x", 1<<20+10)))
	var tooMany []json.RawMessage
	for i := 0; i < 1001; i++ {
		tooMany = append(tooMany, jsonEdit(t, good, newID(i)))
	}

	const (
		P, Rv, Rg, Op = auth.Producer, auth.Reviewer, auth.Regulator, auth.Operator
		dec           = "/v1/decisions"
	)
	cases := []hostileCase{
		// malformed JSON
		{name: "truncated", method: "POST", path: dec, role: P, body: fresh[:len(fresh)/2], status: 400, code: "invalid_record", field: "(root)"},
		{name: "not an object (string)", method: "POST", path: dec, role: P, body: []byte(`"decision"`), status: 400, code: "invalid_record", field: "(root)"},
		{name: "not an object (number)", method: "POST", path: dec, role: P, body: []byte(`42`), status: 400, code: "invalid_record", field: "(root)"},
		{name: "null", method: "POST", path: dec, role: P, body: []byte(`null`), status: 400, code: "invalid_record", field: "(root)"},
		{name: "array where object expected", method: "POST", path: dec, role: P, body: batchOf(fresh), status: 400, code: "invalid_record", field: "(root)"},
		{name: "trailing garbage", method: "POST", path: dec, role: P, body: append(append([]byte{}, fresh...), "garbage"...), status: 400, code: "invalid_record", field: "(root)"},
		{name: "trailing second object", method: "POST", path: dec, role: P, body: append(append([]byte{}, fresh...), "{}"...), status: 400, code: "invalid_record", field: "(root)"},
		{name: "empty body", method: "POST", path: dec, role: P, body: nil, status: 400, code: "invalid_record", field: "(root)"},
		{name: "whitespace body", method: "POST", path: dec, role: P, body: []byte(" \n\t "), status: 400, code: "invalid_record", field: "(root)"},
		{name: "invalid UTF-8", method: "POST", path: dec, role: P, body: bytes.Replace(fresh, []byte("dosage question"), []byte("dosage \xff\xfe question"), 1), status: 400, code: "invalid_record", field: "(root)"},
		{name: "UTF-8 BOM", method: "POST", path: dec, role: P, body: append([]byte("\xef\xbb\xbf"), fresh...), status: 400, code: "invalid_record", field: "(root)"},
		{name: "comment", method: "POST", path: dec, role: P, body: append([]byte("// hi\n"), fresh...), status: 400, code: "invalid_record", field: "(root)"},
		{name: "duplicate key", method: "POST", path: dec, role: P, body: bytes.Replace(fresh, []byte(`{`), []byte(`{"decision_id":"dec-other",`), 1), status: 400, code: "invalid_record", field: "decision_id"},
		{name: "nested 100 deep", method: "POST", path: dec, role: P, body: edit(set("weights", raw(`{"x":`+deep+`}`))), status: 400, code: "invalid_record"},
		// wrong types
		{name: "confidence as string", method: "POST", path: dec, role: P, body: edit(set("objectives.0.confidence", "0.9")), status: 400, code: "invalid_record", field: "objectives.0.confidence"},
		{name: "contestable as yes", method: "POST", path: dec, role: P, body: edit(set("outcome.contestable", "yes")), status: 400, code: "invalid_record", field: "outcome.contestable"},
		{name: "weights value as string", method: "POST", path: dec, role: P, body: edit(set("weights.autonomy", "0.25")), status: 400, code: "invalid_record", field: "weights.autonomy"},
		{name: "rules as object", method: "POST", path: dec, role: P, body: edit(set("rules", map[string]any{"rule_id": "H-12"})), status: 400, code: "invalid_record", field: "rules"},
		{name: "decision_id as number", method: "POST", path: dec, role: P, body: edit(set("decision_id", 7)), status: 400, code: "invalid_record", field: "decision_id"},
		{name: "selected as null", method: "POST", path: dec, role: P, body: edit(set("candidates.0.selected", nil)), status: 400, code: "invalid_record", field: "candidates.0.selected"},
		// missing required fields
		{name: "missing decision_id", method: "POST", path: dec, role: P, body: edit(del("decision_id")), status: 400, code: "invalid_record", field: "decision_id"},
		{name: "missing outcome", method: "POST", path: dec, role: P, body: edit(del("outcome")), status: 400, code: "invalid_record", field: "outcome"},
		{name: "missing rules", method: "POST", path: dec, role: P, body: edit(del("rules")), status: 400, code: "invalid_record", field: "rules"},
		{name: "empty rules", method: "POST", path: dec, role: P, body: edit(set("rules", []any{}), set("outcome.action", "answered")), status: 400, code: "invalid_record", field: "rules"},
		{name: "missing system.model", method: "POST", path: dec, role: P, body: edit(del("system.model")), status: 400, code: "invalid_record", field: "system.model"},
		{name: "missing subject.jurisdiction", method: "POST", path: dec, role: P, body: edit(del("subject.jurisdiction")), status: 400, code: "invalid_record", field: "subject.jurisdiction"},
		{name: "missing request and private", method: "POST", path: dec, role: P, body: edit(del("request")), status: 400, code: "invalid_record", field: "request"},
		// unknown fields
		{name: "unknown top-level field", method: "POST", path: dec, role: P, body: edit(set("extra", 1)), status: 400, code: "invalid_record", field: "extra"},
		{name: "unknown nested field", method: "POST", path: dec, role: P, body: edit(set("outcome.severity", "high")), status: 400, code: "invalid_record", field: "outcome.severity"},
		{name: "unknown field in a rule", method: "POST", path: dec, role: P, body: edit(set("rules.1.weight", 1)), status: 400, code: "invalid_record", field: "rules.1.weight"},
		{name: "unknown field in private", method: "POST", path: dec, role: P, body: jsonEdit(t, private, newID(1), set("private.notes", "x")), status: 400, code: "invalid_record", field: "private.notes"},
		{name: "contest token hash field as token", method: "POST", path: dec, role: P, body: edit(set("contest", map[string]any{"token": "abc"})), status: 400, code: "invalid_record", field: "contest.token"},
		// unknown enum values
		{name: "outcome.action ignored", method: "POST", path: dec, role: P, body: edit(set("outcome.action", "ignored")), status: 400, code: "invalid_record", field: "outcome.action"},
		{name: "effect maybe", method: "POST", path: dec, role: P, body: edit(set("rules.0.effect", "maybe")), status: 400, code: "invalid_record", field: "rules.0.effect"},
		{name: "source guess", method: "POST", path: dec, role: P, body: edit(set("objectives.0.source", "guess")), status: 400, code: "invalid_record", field: "objectives.0.source"},
		{name: "severity fatal", method: "POST", path: dec, role: P, body: jsonEdit(t, good, newID(2), set("provenance_flags.0.severity", "fatal")), status: 400, code: "invalid_record", field: "provenance_flags.0.severity"},
		{name: "pillar beauty", method: "POST", path: "/v1/constitutions", role: P, body: jsonEdit(t, constitution, set("version", "2099.1"), set("rules.0.pillar", "beauty")), status: 400, code: "invalid_record", field: "rules.0.pillar"},
		{name: "constitution repeats a rule id", method: "POST", path: "/v1/constitutions", role: P, body: jsonEdit(t, constitution, set("version", "2099.2"), set("rules.1.rule_id", "H-07")), status: 400, code: "invalid_record", field: "rules.1.rule_id"},
		// rules of the record layer
		{name: "refusal without a refuse rule", method: "POST", path: dec, role: P, body: edit(set("rules.0.effect", "allow")), status: 400, code: "invalid_record", field: "rules"},
		{name: "unknown rule id", method: "POST", path: dec, role: P, body: edit(set("rules.1.rule_id", "Z-99")), status: 400, code: "invalid_record", field: "rules.1.rule_id"},
		{name: "unpublished constitution version", method: "POST", path: dec, role: P, body: edit(set("constitution.version", "2099.01")), status: 400, code: "invalid_record", field: "constitution"},
		{name: "unpublished constitution id", method: "POST", path: dec, role: P, body: edit(set("constitution.id", "someone-else")), status: 400, code: "invalid_record", field: "constitution"},
		// commitments
		{name: "commitment without prefix", method: "POST", path: dec, role: P, body: edit(set("request.commitment", hex64)), status: 400, code: "invalid_record", field: "request.commitment"},
		{name: "commitment of 63 hex", method: "POST", path: dec, role: P, body: edit(set("request.commitment", "sha256:"+hex64[:63])), status: 400, code: "invalid_record", field: "request.commitment"},
		{name: "commitment of 65 hex", method: "POST", path: dec, role: P, body: edit(set("request.commitment", "sha256:"+hex64+"a")), status: 400, code: "invalid_record", field: "request.commitment"},
		{name: "commitment in uppercase hex", method: "POST", path: dec, role: P, body: edit(set("request.commitment", "sha256:"+strings.ToUpper(hex64))), status: 400, code: "invalid_record", field: "request.commitment"},
		{name: "sha1 commitment", method: "POST", path: dec, role: P, body: edit(set("request.commitment", "sha1:"+hex64[:40])), status: 400, code: "invalid_record", field: "request.commitment"},
		{name: "commitment with newline", method: "POST", path: dec, role: P, body: edit(set("response.commitment", "sha256:"+hex64+"\n")), status: 400, code: "invalid_record", field: "response.commitment"},
		{name: "bad subject.ref", method: "POST", path: dec, role: P, body: edit(set("subject.ref", "alice@example.org")), status: 400, code: "invalid_record", field: "subject.ref"},
		{name: "request.commitment and private.request", method: "POST", path: dec, role: P, body: jsonEdit(t, private, newID(3), set("request", map[string]any{"commitment": "sha256:" + hex64})), status: 400, code: "invalid_record", field: "request"},
		{name: "response.commitment and private.response", method: "POST", path: dec, role: P, body: jsonEdit(t, private, newID(4), set("response", map[string]any{"commitment": "sha256:" + hex64})), status: 400, code: "invalid_record", field: "response"},
		{name: "bad contest token hash", method: "POST", path: dec, role: P, body: edit(set("contest", map[string]any{"token_sha256": "xyz"})), status: 400, code: "invalid_record", field: "contest.token_sha256"},
		// numbers
		{name: "NaN", method: "POST", path: dec, role: P, body: editRaw("objectives.0.confidence", "NaN"), status: 400, code: "invalid_record", field: "(root)"},
		{name: "Infinity", method: "POST", path: dec, role: P, body: editRaw("weights.justice", "Infinity"), status: 400, code: "invalid_record", field: "(root)"},
		{name: "-Infinity", method: "POST", path: dec, role: P, body: editRaw("candidates.0.scores.autonomy", "-Infinity"), status: 400, code: "invalid_record", field: "(root)"},
		{name: "1e999 confidence", method: "POST", path: dec, role: P, body: editRaw("objectives.0.confidence", "1e999"), status: 400, code: "invalid_record", field: "objectives.0.confidence"},
		{name: "1e999 weight", method: "POST", path: dec, role: P, body: editRaw("weights.justice", "1e999"), status: 400, code: "invalid_record", field: "weights.justice"},
		{name: "-1e999 score", method: "POST", path: dec, role: P, body: editRaw("candidates.0.scores.autonomy", "-1e999"), status: 400, code: "invalid_record", field: "candidates.0.scores.autonomy"},
		{name: "hex number", method: "POST", path: dec, role: P, body: editRaw("weights.justice", "0x1"), status: 400, code: "invalid_record", field: "(root)"},
		{name: "leading plus", method: "POST", path: dec, role: P, body: editRaw("weights.justice", "+1"), status: 400, code: "invalid_record", field: "(root)"},
		{name: "confidence above 1", method: "POST", path: dec, role: P, body: editRaw("objectives.0.confidence", "1.0000001"), status: 400, code: "invalid_record", field: "objectives.0.confidence"},
		{name: "confidence below 0", method: "POST", path: dec, role: P, body: editRaw("objectives.0.confidence", "-0.1"), status: 400, code: "invalid_record", field: "objectives.0.confidence"},
		// dates
		{name: "occurred_at not a date", method: "POST", path: dec, role: P, body: edit(set("occurred_at", "yesterday")), status: 400, code: "invalid_record", field: "occurred_at"},
		{name: "occurred_at February 30", method: "POST", path: dec, role: P, body: edit(set("occurred_at", "2026-02-30T10:00:00Z")), status: 400, code: "invalid_record", field: "occurred_at"},
		{name: "occurred_at hour 25", method: "POST", path: dec, role: P, body: edit(set("occurred_at", "2026-11-27T25:00:00Z")), status: 400, code: "invalid_record", field: "occurred_at"},
		{name: "occurred_at without zone", method: "POST", path: dec, role: P, body: edit(set("occurred_at", "2026-11-27T10:00:00")), status: 400, code: "invalid_record", field: "occurred_at"},
		{name: "occurred_at as unix time", method: "POST", path: dec, role: P, body: edit(set("occurred_at", 1795000000)), status: 400, code: "invalid_record", field: "occurred_at"},
		// sizes
		{name: "explanation over 4096", method: "POST", path: dec, role: P, body: edit(set("outcome.explanation", strings.Repeat("é", 4097))), status: 400, code: "invalid_record", field: "outcome.explanation"},
		{name: "decision_id over 128", method: "POST", path: dec, role: P, body: edit(set("decision_id", strings.Repeat("d", 129))), status: 400, code: "invalid_record", field: "decision_id"},
		{name: "decision_id with slash", method: "POST", path: dec, role: P, body: edit(set("decision_id", "../../etc/passwd")), status: 400, code: "invalid_record", field: "decision_id"},
		{name: "decision_id empty", method: "POST", path: dec, role: P, body: edit(set("decision_id", "")), status: 400, code: "invalid_record", field: "decision_id"},
		{name: "257 rules", method: "POST", path: dec, role: P, body: edit(set("rules", manyRules)), status: 400, code: "invalid_record", field: "rules"},
		{name: "65 weights", method: "POST", path: dec, role: P, body: edit(set("weights", manyWeights)), status: 400, code: "invalid_record", field: "weights"},
		{name: "weights key with space", method: "POST", path: dec, role: P, body: edit(set("weights.bad key", 0.1)), status: 400, code: "invalid_record", field: "weights.bad key"},
		{name: "private.request over 32 KiB", method: "POST", path: dec, role: P, body: jsonEdit(t, private, newID(5), set("private.request", strings.Repeat("x", 32769))), status: 400, code: "invalid_record", field: "private.request"},
		{name: "body over 1 MiB", method: "POST", path: dec, role: P, body: huge, status: 413, code: "too_large"},
		{name: "body over 1 MiB, chunked", method: "POST", path: dec, role: P, body: huge, chunked: true, status: 413, code: "too_large"},
		{name: "constitution over 1 MiB", method: "POST", path: "/v1/constitutions", role: P, body: huge, status: 413, code: "too_large"},
		// duplicates with other content
		{name: "logged decision_id, other content", method: "POST", path: dec, role: P, body: jsonEdit(t, good, set("outcome.explanation", "changed")), status: 409, code: "conflict"},
		{name: "logged decision_id, other number form", method: "POST", path: dec, role: P, body: jsonEdit(t, good, set("weights.justice", 0.36)), status: 409, code: "conflict"},
		{name: "logged constitution, other content", method: "POST", path: "/v1/constitutions", role: P, body: jsonEdit(t, constitution, set("rules.0.text", "Something else.")), status: 409, code: "conflict"},
		// authentication and roles
		{name: "no token", method: "POST", path: dec, body: fresh, status: 401, code: "unauthorized"},
		{name: "forged token", method: "POST", path: dec, authz: forged, body: fresh, status: 401, code: "unauthorized"},
		{name: "token hash as token", method: "POST", path: dec, authz: "Bearer " + strings.Repeat("0", 64), body: fresh, status: 401, code: "unauthorized"},
		{name: "Basic auth", method: "POST", path: dec, authz: "Basic cHJvZHVjZXI6cHc=", body: fresh, status: 401, code: "unauthorized"},
		{name: "empty bearer", method: "POST", path: dec, authz: "Bearer    ", body: fresh, status: 401, code: "unauthorized"},
		{name: "lowercase bearer scheme with forged token", method: "POST", path: dec, authz: "bearer xyz", body: fresh, status: 401, code: "unauthorized"},
		{name: "reviewer posts a decision", method: "POST", path: dec, role: Rv, body: fresh, status: 403, code: "forbidden"},
		{name: "regulator posts a decision", method: "POST", path: dec, role: Rg, body: fresh, status: 403, code: "forbidden"},
		{name: "operator publishes a constitution", method: "POST", path: "/v1/constitutions", role: Op, body: jsonEdit(t, constitution, set("version", "2099.3")), status: 403, code: "forbidden"},
		{name: "regulator posts a batch", method: "POST", path: dec + ":batch", role: Rg, body: batchOf(fresh), status: 403, code: "forbidden"},
		{name: "producer erases private content", method: "DELETE", path: dec + "/" + loggedID + "/private", role: P, status: 403, code: "forbidden"},
		{name: "regulator erases private content", method: "DELETE", path: dec + "/" + loggedID + "/private", role: Rg, status: 403, code: "forbidden"},
		{name: "erasure without token", method: "DELETE", path: dec + "/" + loggedID + "/private", status: 401, code: "unauthorized"},
		{name: "erasure of an unknown decision", method: "DELETE", path: dec + "/dec-nope/private", role: Op, status: 404, code: "not_found"},
		{name: "erasure of a decision without private content", method: "DELETE", path: dec + "/" + loggedID + "/private", role: Op, status: 404, code: "not_found"},
		{name: "reviewer reads a receipt", method: "GET", path: dec + "/" + loggedID + "/receipt", role: Rv, status: 403, code: "forbidden"},
		{name: "receipt without token", method: "GET", path: dec + "/" + loggedID + "/receipt", status: 401, code: "unauthorized"},
		{name: "receipt of an unknown decision", method: "GET", path: dec + "/dec-nope/receipt", role: P, status: 404, code: "not_found"},
		{name: "receipt of a constitution id", method: "GET", path: dec + "/fja-default@2026.11/receipt", role: P, status: 404, code: "not_found"},
		{name: "receipt of an escaped traversal id", method: "GET", path: dec + "/..%2F..%2Fc%2Ffja-default@2026.11/receipt", role: P, status: 404, code: "not_found"},
		// batches
		{name: "batch of an object", method: "POST", path: dec + ":batch", role: P, body: fresh, status: 400, code: "bad_request"},
		{name: "batch of null", method: "POST", path: dec + ":batch", role: P, body: []byte("null"), status: 400, code: "bad_request"},
		{name: "empty batch", method: "POST", path: dec + ":batch", role: P, body: []byte("[]"), status: 400, code: "bad_request"},
		{name: "truncated batch", method: "POST", path: dec + ":batch", role: P, body: batchOf(fresh, good)[:100], status: 400, code: "bad_request"},
		{name: "batch of 1001", method: "POST", path: dec + ":batch", role: P, body: mustJSON(t, tooMany), status: 400, code: "bad_request"},
		{name: "batch without token", method: "POST", path: dec + ":batch", body: batchOf(fresh), status: 401, code: "unauthorized"},
		{name: "batch of junk items", method: "POST", path: dec + ":batch", role: P, body: []byte(`[1,"x",null,[],{}]`), batch: true, status: 200, grow: 0, errs: 5},
		{name: "batch with one bad item", method: "POST", path: dec + ":batch", role: P,
			body:  batchOf(jsonEdit(t, good, newID(10)), edit(set("rules.0.effect", "maybe")), jsonEdit(t, good, newID(11)), jsonEdit(t, good, set("outcome.explanation", "changed"))),
			batch: true, status: 200, grow: 2, errs: 2},
		// methods and routes
		{name: "PUT /v1/decisions", method: "PUT", path: dec, role: P, body: fresh, status: 405, code: "method_not_allowed"},
		{name: "GET /v1/decisions", method: "GET", path: dec, role: Rg, status: 405, code: "method_not_allowed"},
		{name: "GET batch", method: "GET", path: dec + ":batch", role: P, status: 405, code: "method_not_allowed"},
		{name: "DELETE a decision", method: "DELETE", path: dec + "/" + loggedID, role: Op, status: 405, code: "method_not_allowed"},
		{name: "POST /healthz", method: "POST", path: "/healthz", status: 405, code: "method_not_allowed"},
		{name: "DELETE /v1/log", method: "DELETE", path: "/v1/log", role: Op, status: 405, code: "method_not_allowed"},
		{name: "unknown route", method: "GET", path: "/v1/nope", status: 404, code: "not_found"},
		{name: "unknown version prefix", method: "POST", path: "/v2/decisions", role: P, body: fresh, status: 404, code: "not_found"},
		{name: "other colon verb", method: "POST", path: dec + ":purge", role: P, body: fresh, status: 404, code: "not_found"},
		// subject access
		{name: "malformed contest token", method: "GET", path: dec + "/" + loggedID, hdr: []string{"X-Contest-Token", "not a token!"}, status: 404, code: "not_found"},
		{name: "4 KiB contest token", method: "GET", path: dec + "/" + loggedID, hdr: []string{"X-Contest-Token", strings.Repeat("A", 4096)}, status: 404, code: "not_found"},
		{name: "contest token hash as token", method: "GET", path: dec + "/" + loggedID, hdr: []string{"X-Contest-Token", strings.Repeat("a", 64)}, status: 404, code: "not_found"},
		{name: "right token, unknown id", method: "GET", path: dec + "/dec-nope", hdr: []string{"X-Contest-Token", logged.ContestToken}, status: 404, code: "not_found"},
		{name: "token of another decision's id", method: "GET", path: dec + "/fja-default@2026.11", hdr: []string{"X-Contest-Token", logged.ContestToken}, status: 404, code: "not_found"},
		{name: "decision read without token", method: "GET", path: dec + "/" + loggedID, status: 401, code: "unauthorized"},
		{name: "decision read by a producer", method: "GET", path: dec + "/" + loggedID, role: P, status: 403, code: "forbidden"},
		{name: "decision read with a forged bearer", method: "GET", path: dec + "/" + loggedID, authz: forged, hdr: []string{"X-Contest-Token", logged.ContestToken}, status: 401, code: "unauthorized"},
		// the read surface
		{name: "entry index not a number", method: "GET", path: "/v1/entries/abc", status: 400, code: "bad_request"},
		{name: "entry index negative", method: "GET", path: "/v1/entries/-1", status: 400, code: "bad_request"},
		{name: "entry index leading zero", method: "GET", path: "/v1/entries/01", status: 400, code: "bad_request"},
		{name: "entry index over 2^64", method: "GET", path: "/v1/entries/18446744073709551616", status: 400, code: "bad_request"},
		{name: "entry index past the tree", method: "GET", path: "/v1/entries/99999", status: 404, code: "not_found"},
		{name: "inclusion proof without parameters", method: "GET", path: "/v1/proofs/inclusion", status: 400, code: "bad_request"},
		{name: "inclusion proof index past size", method: "GET", path: "/v1/proofs/inclusion?index=5&size=2", status: 400, code: "bad_request"},
		{name: "inclusion proof size past the tree", method: "GET", path: "/v1/proofs/inclusion?index=0&size=99999", status: 400, code: "bad_request"},
		{name: "consistency proof backwards", method: "GET", path: "/v1/proofs/consistency?from=2&to=1", status: 400, code: "bad_request"},
		{name: "consistency proof past the tree", method: "GET", path: "/v1/proofs/consistency?from=1&to=99999", status: 400, code: "bad_request"},
		{name: "tile path garbage", method: "GET", path: "/tile/garbage", status: 400, code: "bad_request"},
		{name: "tile level 9", method: "GET", path: "/tile/9/000", status: 404, code: "not_found"},
		{name: "tile past the tree", method: "GET", path: "/tile/0/x001/000", status: 404, code: "not_found"},
		{name: "entry bundle past the tree", method: "GET", path: "/tile/entries/x001/000", status: 404, code: "not_found"},
		// query and stats: every parameter checked before any index is read
		{name: "group_by rule 25 times", method: "GET", path: "/v1/stats?group_by=" + strings.TrimSuffix(strings.Repeat("rule,", 25), ","), role: Rg, status: 400, code: "bad_request", field: "group_by"},
		{name: "group_by rule twice", method: "GET", path: "/v1/stats?group_by=rule,rule", role: Rg, status: 400, code: "bad_request", field: "group_by"},
		{name: "group_by four fields", method: "GET", path: "/v1/stats?group_by=rule,flag,model,operator", role: Rg, status: 400, code: "bad_request", field: "group_by"},
		{name: "group_by unknown field", method: "GET", path: "/v1/stats?group_by=subject", role: Rg, status: 400, code: "bad_request", field: "group_by"},
		{name: "group_by empty field", method: "GET", path: "/v1/stats?group_by=rule,,flag", role: Rg, status: 400, code: "bad_request", field: "group_by"},
		{name: "group_by given twice", method: "GET", path: "/v1/stats?group_by=rule&group_by=flag", role: Rg, status: 400, code: "bad_request", field: "group_by"},
		{name: "stats of resolutions", method: "GET", path: "/v1/stats?kind=resolution", role: Rg, status: 400, code: "bad_request", field: "kind"},
		{name: "stats from after to", method: "GET", path: "/v1/stats?from=2027-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", role: Rg, status: 400, code: "bad_request", field: "to"},
		{name: "query limit 100000000", method: "GET", path: "/v1/query?limit=100000000", role: Rg, status: 400, code: "bad_request", field: "limit"},
		{name: "query limit -1", method: "GET", path: "/v1/query?limit=-1", role: Rg, status: 400, code: "bad_request", field: "limit"},
		{name: "query limit 2^64", method: "GET", path: "/v1/query?limit=18446744073709551616", role: Rg, status: 400, code: "bad_request", field: "limit"},
		{name: "query from after to", method: "GET", path: "/v1/query?from=2027-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", role: Rg, status: 400, code: "bad_request", field: "to"},
		{name: "query unknown parameter", method: "GET", path: "/v1/query?group-by=rule", role: Rg, status: 400, code: "bad_request", field: "group-by"},
		{name: "query filter given twice", method: "GET", path: "/v1/query?operator=a&operator=b", role: Rg, status: 400, code: "bad_request", field: "operator"},
		{name: "query filter value 300 bytes", method: "GET", path: "/v1/query?operator=" + strings.Repeat("o", 300), role: Rg, status: 400, code: "bad_request", field: "operator"},
		{name: "query filter value 60000 bytes", method: "GET", path: "/v1/query?rule=" + strings.Repeat("r", 60000), role: Rg, status: 400, code: "bad_request", field: "rule"},
		{name: "query unknown action", method: "GET", path: "/v1/query?action=ignored", role: Rg, status: 400, code: "bad_request", field: "action"},
		{name: "query cursor not a number", method: "GET", path: "/v1/query?cursor=x", role: Rg, status: 400, code: "bad_request", field: "cursor"},
		{name: "query private without purpose", method: "GET", path: "/v1/query?private=true", role: Rg, status: 400, code: "bad_request", field: "X-Access-Purpose"},
		{name: "query private limit 1000", method: "GET", path: "/v1/query?private=true&limit=1000", role: Rg, hdr: []string{"X-Access-Purpose", "audit"}, status: 400, code: "bad_request", field: "limit"},
		{name: "query by anyone", method: "GET", path: "/v1/query?limit=100000000", status: 401, code: "unauthorized"},
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s.T = t
			before := s.Log.Head().Size
			code, hdr, b := s.hostile(c)
			if code >= 500 {
				t.Errorf("BUG: %s %s answered %d: %s", c.method, c.path, code, truncateBody(b))
			}
			if code != c.status {
				t.Errorf("%s %s: status %d, want %d: %s", c.method, c.path, code, c.status, truncateBody(b))
			}
			if c.batch {
				checkBatch(t, b, c)
			} else {
				e, err := parseErrorBody(b)
				if err != nil {
					t.Errorf("not the JSON error shape (%v): %s", err, truncateBody(b))
				} else {
					if e.Error.Code != c.code {
						t.Errorf("code %q, want %q (%s)", e.Error.Code, c.code, e.Error.Message)
					}
					t.Logf("%d %s %q: %s", code, e.Error.Code, e.Error.Field, e.Error.Message)
					if c.field != "" && e.Error.Field != c.field {
						t.Errorf("field %q, want %q (%s)", e.Error.Field, c.field, e.Error.Message)
					}
					if code == http.StatusBadRequest && e.Error.Field == "" {
						t.Errorf("a 400 %s names no field: %s", e.Error.Code, e.Error.Message)
					}
					if code == http.StatusRequestEntityTooLarge && !regexp.MustCompile(`limit of \d+ bytes`).MatchString(e.Error.Message) {
						t.Errorf("a 413 does not state the limit: %s", e.Error.Message)
					}
				}
				if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type %q", ct)
				}
				if code == 401 && hdr.Get("WWW-Authenticate") == "" {
					t.Errorf("401 without WWW-Authenticate")
				}
			}
			if got := s.Log.Head().Size; got != before+uint64(c.grow) {
				t.Errorf("tree size %d -> %d, want +%d", before, got, c.grow)
			}
			s.healthy()
		})
	}
	s.T = t
	if len(cases) < 45 {
		t.Fatalf("only %d cases", len(cases))
	}
	t.Logf("%d hostile cases", len(cases))
}

func checkBatch(t *testing.T, b []byte, c hostileCase) {
	t.Helper()
	var res struct {
		Results []map[string]json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("batch answer: %v: %s", err, truncateBody(b))
	}
	errs := 0
	for i, r := range res.Results {
		if len(r) != 1 {
			t.Errorf("result %d has keys %v, want exactly receipt or error", i, keys(r))
		}
		if e, ok := r["error"]; ok {
			errs++
			if _, err := parseErrorBody(mustJSON(t, map[string]json.RawMessage{"error": e})); err != nil {
				t.Errorf("result %d: %v: %s", i, err, e)
			}
		}
	}
	if errs != c.errs {
		t.Errorf("%d per-item errors, want %d: %s", errs, c.errs, truncateBody(b))
	}
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func truncateBody(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "…"
	}
	return string(b)
}

// TestHostileFuzz sends random mutations of a good decision (byte flips,
// insertions, deletions, truncations, splices): every answer is 2xx or 4xx,
// every 4xx is the JSON error shape, and the server stays up. Mutations
// that happen to be valid may be logged.
func TestHostileFuzz(t *testing.T) {
	s := newServer(t)
	s.publishConstitution()
	good := apitest.Example(t, "decision-refused.json")
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte(`{}[]":,.-+eE0123456789 \ntfnaul` + "\x00\xff\xc3")
	for i := 0; i < 300; i++ {
		b := append([]byte{}, good...)
		for n := 1 + rng.IntN(4); n > 0; n-- {
			p := rng.IntN(len(b))
			switch rng.IntN(5) {
			case 0: // flip a byte
				b[p] ^= byte(1 << rng.IntN(8))
			case 1: // replace with a JSON-ish byte
				b[p] = alphabet[rng.IntN(len(alphabet))]
			case 2: // insert
				b = append(b[:p], append([]byte{alphabet[rng.IntN(len(alphabet))]}, b[p:]...)...)
			case 3: // delete a run
				e := min(len(b), p+1+rng.IntN(16))
				b = append(b[:p], b[e:]...)
			case 4: // truncate
				b = b[:p]
			}
			if len(b) == 0 {
				break
			}
		}
		path := "/v1/decisions"
		if i%10 == 9 {
			path += ":batch"
			b = append(append([]byte("["), b...), ']')
		}
		code, body := s.Do("POST", path, auth.Producer, b)
		switch {
		case code >= 500 || code < 200:
			t.Fatalf("mutation %d: BUG: %d %s\nbody sent: %q", i, code, truncateBody(body), b)
		case code >= 400:
			if _, err := parseErrorBody(body); err != nil {
				t.Fatalf("mutation %d: %d not the JSON error shape (%v): %s", i, code, err, truncateBody(body))
			}
		}
	}
	s.healthy()
}

// TestHostileConcurrentRetries: a producer that retries a decision with
// private content while the first attempt is in flight (here: the same
// record several times in one batch, whose items are appended
// concurrently) gets one leaf, the same receipt for every copy, and the
// private content stays readable by the regulator.
func TestHostileConcurrentRetries(t *testing.T) {
	s := newServer(t)
	s.publishConstitution()
	private := apitest.Example(t, "decision-modified-private.json")
	const ids, copies = 8, 4
	var items []json.RawMessage
	for i := 0; i < ids; i++ {
		d := jsonEdit(t, private, set("decision_id", fmt.Sprintf("dec-retry-%d", i)))
		for j := 0; j < copies; j++ {
			items = append(items, d)
		}
	}
	before := s.Log.Head().Size
	code, b := s.Do("POST", "/v1/decisions:batch", auth.Producer, mustJSON(t, items))
	if code != 200 {
		t.Fatalf("batch: %d %s", code, truncateBody(b))
	}
	var res struct {
		Results []struct {
			Receipt json.RawMessage `json:"receipt"`
			Error   json.RawMessage `json:"error"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &res); err != nil || len(res.Results) != len(items) {
		t.Fatalf("batch answer: %v: %s", err, truncateBody(b))
	}
	for i, r := range res.Results {
		if r.Error != nil {
			t.Errorf("item %d: %s", i, r.Error)
			continue
		}
		rc := s.receipt(r.Receipt)
		first := s.receipt(res.Results[i/copies*copies].Receipt)
		if rc.Index != first.Index {
			t.Errorf("item %d: index %d, its first copy has %d", i, rc.Index, first.Index)
		}
	}
	if got := s.Log.Head().Size; got != before+ids {
		t.Errorf("tree grew by %d, want %d", got-before, ids)
	}
	for i := 0; i < ids; i++ {
		id := fmt.Sprintf("dec-retry-%d", i)
		code, b := s.Do("GET", "/v1/decisions/"+id, auth.Regulator, nil, "X-Access-Purpose", "retry test")
		if code != 200 || !bytes.Contains(b, []byte("रिटायरमेंट")) {
			t.Errorf("regulator read of %s after concurrent retries: %d %s", id, code, truncateBody(b))
		}
	}
	s.healthy()
}

// TestHostileRejectedPrivateThenFixed: a decision with private content that
// is rejected (here: its logged record would exceed the leaf limit, which
// the schema alone does not catch) leaves nothing behind, so the producer
// can fix it and resubmit under the same decision_id.
func TestHostileRejectedPrivateThenFixed(t *testing.T) {
	s := newServer(t)
	s.publishConstitution()
	private := apitest.Example(t, "decision-modified-private.json")
	var objs []any
	for i := 0; i < 20; i++ {
		objs = append(objs, map[string]any{"id": fmt.Sprintf("obj-%d", i), "description": strings.Repeat("d", 4000), "source": "extracted", "confidence": 0.5})
	}
	tooBig := jsonEdit(t, private, set("objectives", objs))
	before := s.Log.Head().Size
	code, b := s.Do("POST", "/v1/decisions", auth.Producer, tooBig)
	if code != 400 {
		t.Fatalf("record over the leaf limit: %d %s", code, truncateBody(b))
	}
	if e, err := parseErrorBody(b); err != nil || e.Error.Code != "invalid_record" {
		t.Fatalf("record over the leaf limit: %v %s", err, truncateBody(b))
	}
	if s.Log.Head().Size != before {
		t.Fatal("the rejected record was logged")
	}
	code, b = s.Do("POST", "/v1/decisions", auth.Producer, private)
	if code != http.StatusCreated {
		t.Fatalf("BUG: the corrected resubmission: %d %s", code, truncateBody(b))
	}
	s.receipt(b)
	code, b = s.Do("GET", "/v1/decisions/dec-2026-11-27-000003", auth.Regulator, nil, "X-Access-Purpose", "resubmission test")
	if code != 200 || !bytes.Contains(b, []byte("रिटायरमेंट")) {
		t.Fatalf("regulator read: %d %s", code, truncateBody(b))
	}
}
