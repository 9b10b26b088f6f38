package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fjaledger/fja/schemas"
)

// svExampleSchemas maps each example request body to the schema of its
// endpoint.
var svExampleSchemas = map[string]string{
	"constitution.json":              "constitution.v1",
	"decision-answered.json":         "append-decision.v1",
	"decision-modified-private.json": "append-decision.v1",
	"decision-refused.json":          "append-decision.v1",
	"contest.json":                   "append-contest.v1",
	"resolution.json":                "append-resolution.v1",
}

func svReadExample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := schemas.Examples.ReadFile("examples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSchemasCompile(t *testing.T) {
	set, err := compiledSchemas()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range schemas.Names() {
		if set[name] == nil {
			t.Errorf("schema %s not compiled", name)
		}
	}
}

func TestExamplesValidate(t *testing.T) {
	entries, err := schemas.Examples.ReadDir("examples")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, e := range entries {
		schema, ok := svExampleSchemas[e.Name()]
		if !ok {
			t.Errorf("example %s has no schema in svExampleSchemas", e.Name())
			continue
		}
		seen++
		if err := Validate(schema, svReadExample(t, e.Name())); err != nil {
			t.Errorf("%s against %s: %v", e.Name(), schema, err)
		}
	}
	if seen != len(svExampleSchemas) {
		t.Errorf("found %d examples, want %d", seen, len(svExampleSchemas))
	}
}

// TestExamplesMatchShared keeps the embedded copies equal to the shared
// examples the project is built to, when those are present.
func TestExamplesMatchShared(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "examples")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no shared examples at %s", dir)
	}
	for name := range svExampleSchemas {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := svReadExample(t, name); !bytes.Equal(got, want) {
			t.Errorf("schemas/examples/%s differs from %s", name, filepath.Join(dir, name))
		}
	}
}

// decodeExample returns an example as a generic, exactly-numbered value.
func svDecodeExample(t testing.TB, name string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(svReadExample(t, name)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// lookup walks a dotted path to the parent of its last element.
func svLookup(t testing.TB, doc any, path string) (parent any, last string) {
	t.Helper()
	parts := strings.Split(path, ".")
	cur := doc
	for _, p := range parts[:len(parts)-1] {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i >= len(c) {
				t.Fatalf("bad path %s", path)
			}
			cur = c[i]
		default:
			t.Fatalf("bad path %s", path)
		}
	}
	return cur, parts[len(parts)-1]
}

func svSet(path string, v any) func(testing.TB, map[string]any) {
	return func(t testing.TB, doc map[string]any) {
		parent, last := svLookup(t, doc, path)
		switch p := parent.(type) {
		case map[string]any:
			p[last] = v
		case []any:
			i, _ := strconv.Atoi(last)
			p[i] = v
		}
	}
}

func svDel(path string) func(testing.TB, map[string]any) {
	return func(t testing.TB, doc map[string]any) {
		parent, last := svLookup(t, doc, path)
		delete(parent.(map[string]any), last)
	}
}

func svMutate(t testing.TB, example string, muts ...func(testing.TB, map[string]any)) []byte {
	doc := svDecodeExample(t, example)
	for _, m := range muts {
		m(t, doc)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// loggedDecision turns an example request into the body the ledger logs.
func svLoggedDecision(t testing.TB, example string) map[string]any {
	doc := svDecodeExample(t, example)
	if p, ok := doc["private"].(map[string]any); ok {
		if _, ok := p["request"]; ok {
			doc["request"] = map[string]any{"commitment": "sha256:" + strings.Repeat("ab", 32)}
		}
		if _, ok := p["response"]; ok {
			doc["response"] = map[string]any{"commitment": "sha256:" + strings.Repeat("cd", 32)}
		}
		delete(doc, "private")
	}
	if _, ok := doc["contest"]; !ok {
		sum := sha256.Sum256([]byte("token"))
		doc["contest"] = map[string]any{"token_sha256": hex.EncodeToString(sum[:])}
	}
	return doc
}

func svJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoggedRecordsValidate(t *testing.T) {
	for _, ex := range []string{"decision-answered.json", "decision-modified-private.json", "decision-refused.json"} {
		body := svLoggedDecision(t, ex)
		if err := Validate("decision.v1", svJSON(t, body)); err != nil {
			t.Errorf("logged %s: %v", ex, err)
		}
		env := map[string]any{"kind": "decision", "v": 1, "logged_at": "2026-11-27T10:00:00.123456789Z", "body": body}
		if err := Validate("envelope.v1", svJSON(t, env)); err != nil {
			t.Errorf("envelope of %s: %v", ex, err)
		}
	}
	contest := map[string]any{
		"contest_id": "con-2026-11-27-000001",
		"decision": map[string]any{
			"index":       0,
			"leaf_hash":   svHash("leaf"),
			"decision_id": "dec-2026-11-27-000001",
		},
		"grounds":  map[string]any{"category": "false-refusal", "commitment": "sha256:" + strings.Repeat("0f", 32)},
		"remedy":   "reconsider",
		"due_by":   "2026-12-27T10:00:00Z",
		"filed_at": "2026-11-27T10:00:00.5+01:00",
	}
	resolution := svDecodeExample(t, "resolution.json")
	resolution["contest_id"] = "con-2026-11-27-000001"
	constitution := svDecodeExample(t, "constitution.json")
	constitution["supersedes"] = nil
	for kind, body := range map[string]map[string]any{"contest": contest, "resolution": resolution, "constitution": constitution} {
		if err := Validate(kind+".v1", svJSON(t, body)); err != nil {
			t.Errorf("%s: %v", kind, err)
		}
		env := map[string]any{"kind": kind, "v": 1, "logged_at": "2026-11-27T10:00:00.000000000Z", "body": body}
		if err := Validate("envelope.v1", svJSON(t, env)); err != nil {
			t.Errorf("envelope of %s: %v", kind, err)
		}
	}
}

func svHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func svReceipt(t testing.TB) map[string]any {
	entry := []byte(`{"body":{},"kind":"decision","logged_at":"2026-11-27T10:00:00.123456789Z","v":1}`)
	leaf := sha256.Sum256(append([]byte{0}, entry...))
	return map[string]any{
		"origin":          "ledger.example.org/fja/2026",
		"index":           42,
		"leaf_hash":       base64.StdEncoding.EncodeToString(leaf[:]),
		"entry":           base64.StdEncoding.EncodeToString(entry),
		"checkpoint":      "ledger.example.org/fja/2026\n43\n" + svHash("root") + "\n\n\u2014 ledger.example.org/fja/2026 AAAAAQ==\n",
		"inclusion_proof": []any{svHash("a"), svHash("b")},
		"tlog_proof":      "c2sp.org/tlog-proof@v1\nindex 42\n" + svHash("a") + "\n" + svHash("b") + "\n\nledger.example.org/fja/2026\n43\n" + svHash("root") + "\n",
		"contest_token":   "k5mJ3b0Z8jz9Yp2q",
	}
}

func TestReceiptValidates(t *testing.T) {
	r := svReceipt(t)
	if err := Validate("receipt.v1", svJSON(t, r)); err != nil {
		t.Fatal(err)
	}
	delete(r, "contest_token")
	r["inclusion_proof"] = []any{}
	if err := Validate("receipt.v1", svJSON(t, r)); err != nil {
		t.Fatalf("receipt without contest_token, proof of a one-leaf tree: %v", err)
	}
}

func TestValidateInvalid(t *testing.T) {
	const (
		answered     = "decision-answered.json"
		refused      = "decision-refused.json"
		private      = "decision-modified-private.json"
		constitution = "constitution.json"
		contest      = "contest.json"
		resolution   = "resolution.json"
	)
	commitment := "sha256:" + strings.Repeat("12", 32)
	deep := `{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`
	receipt := func(muts ...func(testing.TB, map[string]any)) func(t testing.TB) []byte {
		return func(t testing.TB) []byte {
			r := svReceipt(t)
			for _, m := range muts {
				m(t, r)
			}
			return svJSON(t, r)
		}
	}
	envelope := func(muts ...func(testing.TB, map[string]any)) func(t testing.TB) []byte {
		return func(t testing.TB) []byte {
			env := map[string]any{"kind": "decision", "v": 1, "logged_at": "2026-11-27T10:00:00.123456789Z", "body": svLoggedDecision(t, refused)}
			for _, m := range muts {
				m(t, env)
			}
			return svJSON(t, env)
		}
	}
	mut := func(example string, muts ...func(testing.TB, map[string]any)) func(t testing.TB) []byte {
		return func(t testing.TB) []byte { return svMutate(t, example, muts...) }
	}
	raw := func(s string) func(t testing.TB) []byte {
		return func(testing.TB) []byte { return []byte(s) }
	}
	edit := func(example, old, new string) func(t testing.TB) []byte {
		return func(t testing.TB) []byte {
			b := svReadExample(t, example)
			if !bytes.Contains(b, []byte(old)) {
				t.Fatalf("%s does not contain %q", example, old)
			}
			return bytes.Replace(b, []byte(old), []byte(new), 1)
		}
	}

	tests := []struct {
		name   string
		schema string
		doc    func(t testing.TB) []byte
		field  string
		msg    string // substring of the message
	}{
		{"wrong action", "append-decision.v1", mut(answered, svSet("outcome.action", "ignored")),
			"outcome.action", "must be one of answered, refused, modified, escalated"},
		{"wrong effect", "append-decision.v1", mut(answered, svSet("rules.1.effect", "deny")),
			"rules.1.effect", "must be one of allow, refuse, modify, warn, escalate"},
		{"wrong source", "append-decision.v1", mut(refused, svSet("objectives.0.source", "model")),
			"objectives.0.source", "must be one of"},
		{"wrong severity", "append-decision.v1", mut(answered, svSet("provenance_flags.0.severity", "fatal")),
			"provenance_flags.0.severity", "must be one of info, warning, critical"},
		{"confidence 1.5", "append-decision.v1", mut(answered, svSet("objectives.0.confidence", json.Number("1.5"))),
			"objectives.0.confidence", "must be at most 1, got 1.5"},
		{"confidence just above 1, compared exactly", "append-decision.v1",
			mut(answered, svSet("objectives.0.confidence", json.Number("1.00000000000000000001"))),
			"objectives.0.confidence", "must be at most 1"},
		{"negative confidence", "append-decision.v1", mut(answered, svSet("objectives.1.confidence", json.Number("-0.1"))),
			"objectives.1.confidence", "must be at least 0"},
		{"confidence as string", "append-decision.v1", mut(answered, svSet("objectives.0.confidence", "0.9")),
			"objectives.0.confidence", "must be a number, got a string"},
		{"selected not boolean", "append-decision.v1", mut(refused, svSet("candidates.1.selected", "yes")),
			"candidates.1.selected", "must be a boolean"},
		{"weight not a number", "append-decision.v1", mut(answered, svSet("weights.justice", "high")),
			"weights.justice", "must be a number"},
		{"bad weight name", "append-decision.v1", mut(answered, svSet("weights.sense of justice", json.Number("0.1"))),
			"weights.sense of justice", "is not an allowed key"},
		{"system not an object", "append-decision.v1", mut(answered, svSet("system", "example-ai")),
			"system", "must be an object, got a string"},
		{"missing decision_id", "append-decision.v1", mut(answered, svDel("decision_id")),
			"decision_id", "is required"},
		{"missing outcome.contestable", "append-decision.v1", mut(refused, svDel("outcome.contestable")),
			"outcome.contestable", "is required"},
		{"missing system.model_version", "append-decision.v1", mut(refused, svDel("system.model_version")),
			"system.model_version", "is required"},
		{"unknown top-level field", "append-decision.v1", mut(answered, svSet("user_email", "a@example.org")),
			"user_email", "is not a known field"},
		{"unknown nested field", "append-decision.v1", mut(answered, svSet("outcome.score", json.Number("3"))),
			"outcome.score", "is not a known field"},
		{"commitment upper-case hex", "append-decision.v1", mut(answered, svSet("request.commitment", strings.ToUpper(commitment))),
			"request.commitment", "must be a commitment"},
		{"commitment without prefix", "append-decision.v1", mut(answered, svSet("response.commitment", strings.Repeat("12", 32))),
			"response.commitment", "must be a commitment"},
		{"short subject ref", "append-decision.v1", mut(refused, svSet("subject.ref", "sha256:abc")),
			"subject.ref", "must be a commitment"},
		{"non-hex contest token hash", "append-decision.v1", mut(refused, svSet("contest", map[string]any{"token_sha256": strings.Repeat("zz", 32)})),
			"contest.token_sha256", "must be 64 lowercase hex digits"},
		{"lower-case jurisdiction", "append-decision.v1", mut(refused, svSet("subject.jurisdiction", "de")),
			"subject.jurisdiction", "ISO 3166"},
		{"bad locale", "append-decision.v1", mut(refused, svSet("subject.locale", "de_DE")),
			"subject.locale", "BCP 47"},
		{"bad occurred_at", "append-decision.v1", mut(refused, svSet("occurred_at", "2026-11-27 09:59:58")),
			"occurred_at", "RFC 3339"},
		{"decision_id with a space", "append-decision.v1", mut(refused, svSet("decision_id", "dec 1")),
			"decision_id", "may contain only letters, digits"},
		{"decision_id too long", "append-decision.v1", mut(refused, svSet("decision_id", strings.Repeat("d", 129))),
			"decision_id", "at most 128 characters"},
		{"rationale too long", "append-decision.v1", mut(refused, svSet("rules.0.rationale", strings.Repeat("r", 4097))),
			"rules.0.rationale", "at most 4096 characters"},
		{"empty rules", "append-decision.v1", mut(answered, svSet("rules", []any{})),
			"rules", "must not be empty"},
		{"refusal citing no refuse rule", "append-decision.v1", mut(refused, svSet("rules.0.effect", "warn")),
			"rules", "a refusal must cite at least one rule whose effect is refuse"},
		{"no request and no private.request", "append-decision.v1", mut(private, svDel("private.request")),
			"request", "is required (or private.request)"},
		{"no response and no private", "append-decision.v1", mut(private, svDel("private.response")),
			"response", "is required (or private.response)"},
		{"request and private.request", "append-decision.v1", mut(private, svSet("request", map[string]any{"commitment": commitment})),
			"request", "not both"},
		{"unknown private field", "append-decision.v1", mut(private, svSet("private.user_id", "u-1")),
			"private.user_id", "is not a known field"},
		{"private request too long", "append-decision.v1", mut(private, svSet("private.request", strings.Repeat("x", 32769))),
			"private.request", "at most 32768 characters"},
		{"duplicate key", "append-decision.v1", edit(answered, `"decision_id": "dec-2026-11-27-000002",`, `"decision_id": "dec-2026-11-27-000002", "decision_id": "dec-x",`),
			"decision_id", "duplicate key"},
		{"nested duplicate key", "append-decision.v1", edit(answered, `"action": "answered",`, `"action": "answered", "action": "refused",`),
			"outcome.action", "duplicate key"},
		{"trailing garbage", "append-decision.v1", func(t testing.TB) []byte { return append(svReadExample(t, answered), "garbage"...) },
			"(root)", "unexpected data after the top-level value"},
		{"second value", "append-decision.v1", func(t testing.TB) []byte { return append(svReadExample(t, answered), "{}"...) },
			"(root)", "unexpected data after the top-level value"},
		{"truncated", "append-decision.v1", func(t testing.TB) []byte { b := svReadExample(t, answered); return b[:len(b)/2] },
			"(root)", "invalid JSON"},
		{"syntax error", "append-decision.v1", raw(`{"decision_id": dec}`), "(root)", "invalid JSON"},
		{"invalid UTF-8", "append-decision.v1", raw("{\"decision_id\": \"\xff\"}"), "(root)", "UTF-8"},
		{"empty body", "append-decision.v1", raw(``), "(root)", "invalid JSON"},
		{"array instead of object", "append-decision.v1", raw(`[]`), "(root)", "must be an object, got an array"},
		{"logged decision without contest", "decision.v1", func(t testing.TB) []byte {
			d := svLoggedDecision(t, answered)
			delete(d, "contest")
			return svJSON(t, d)
		}, "contest", "is required"},
		{"logged decision with private", "decision.v1", mut(answered, svSet("contest", map[string]any{"token_sha256": strings.Repeat("ab", 32)}), svSet("private", map[string]any{})),
			"private", "is not a known field"},

		{"unknown pillar", "constitution.v1", mut(constitution, svSet("rules.2.pillar", "wisdom")),
			"rules.2.pillar", "must be one of flourishing, justice, autonomy, harmlessness, helpfulness, honesty"},
		{"constitution without process", "constitution.v1", mut(constitution, svDel("process")),
			"process", "is required"},
		{"empty process", "constitution.v1", mut(constitution, svSet("process", map[string]any{})),
			"process", "must not be empty"},
		{"constitution without rules", "constitution.v1", mut(constitution, svSet("rules", []any{})),
			"rules", "must not be empty"},
		{"supersedes a number", "constitution.v1", mut(constitution, svSet("supersedes", json.Number("2026"))),
			"supersedes", "must be null or a string, got a number"},
		{"rule text empty", "constitution.v1", mut(constitution, svSet("rules.0.text", "")),
			"rules.0.text", "must not be empty"},
		{"deeply nested process", "constitution.v1", mut(constitution, svSet("process", json.RawMessage(deep))),
			"process.x" + strings.Repeat(".0", 63), "nested deeper than 64 levels"},

		{"wrong remedy", "append-contest.v1", mut(contest, svSet("remedy", "refund")),
			"remedy", "must be one of reconsider, explain, correct"},
		{"missing grounds text", "append-contest.v1", mut(contest, svDel("grounds.text")),
			"grounds.text", "is required"},
		{"empty contest token", "append-contest.v1", mut(contest, svSet("contest_token", "")),
			"contest_token", "must not be empty"},
		{"logged contest with bad leaf hash", "contest.v1", raw(`{"contest_id":"c1","decision":{"index":0,"leaf_hash":"AAAA","decision_id":"d"},"grounds":{"category":"x","commitment":"` + commitment + `"},"remedy":"explain","due_by":"2026-12-01T00:00:00Z"}`),
			"decision.leaf_hash", "base64 of a 32-byte hash"},
		{"logged contest with negative index", "contest.v1", raw(`{"contest_id":"c1","decision":{"index":-1,"leaf_hash":"` + svHash("x") + `","decision_id":"d"},"grounds":{"category":"x","commitment":"` + commitment + `"},"remedy":"explain","due_by":"2026-12-01T00:00:00Z"}`),
			"decision.index", "must be at least 0"},

		{"not human reviewed", "append-resolution.v1", mut(resolution, svSet("human_reviewed", false)),
			"human_reviewed", "must be true"},
		{"wrong resolution outcome", "append-resolution.v1", mut(resolution, svSet("outcome", "rejected")),
			"outcome", "must be one of upheld, overturned, partially_overturned, withdrawn"},
		{"contest_id in the request", "append-resolution.v1", mut(resolution, svSet("contest_id", "con-1")),
			"contest_id", "is not a known field"},
		{"wrong rule change", "append-resolution.v1", mut(resolution, svSet("rule_changes.0.change", "rewrite")),
			"rule_changes.0.change", "must be one of add, amend, remove"},
		{"logged resolution without contest_id", "resolution.v1", mut(resolution),
			"contest_id", "is required"},

		{"receipt bad leaf hash", "receipt.v1", receipt(svSet("leaf_hash", "not base64")),
			"leaf_hash", "base64 of a 32-byte hash"},
		{"receipt bad proof hash", "receipt.v1", receipt(svSet("inclusion_proof.1", svHash("x")[:40])),
			"inclusion_proof.1", "base64 of a 32-byte hash"},
		{"receipt bad entry", "receipt.v1", receipt(svSet("entry", "e30==")),
			"entry", "must be standard base64"},
		{"receipt without checkpoint", "receipt.v1", receipt(svDel("checkpoint")),
			"checkpoint", "is required"},
		{"receipt fractional index", "receipt.v1", receipt(svSet("index", json.Number("4.5"))),
			"index", "must be an integer, got a number"},

		{"envelope unknown kind", "envelope.v1", envelope(svSet("kind", "vote")),
			"kind", "must be one of decision, constitution, contest, resolution"},
		{"envelope version 2", "envelope.v1", envelope(svSet("v", 2)),
			"v", "must be 1"},
		{"envelope logged_at not UTC", "envelope.v1", envelope(svSet("logged_at", "2026-11-27T11:00:00+01:00")),
			"logged_at", "UTC"},
		{"envelope body checked by kind", "envelope.v1", envelope(svSet("body.outcome.action", "ignored")),
			"body.outcome.action", "must be one of answered"},
		{"envelope body of the wrong kind", "envelope.v1", envelope(svSet("kind", "resolution")),
			"body.candidates", "is not a known field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.doc(t)
			err := Validate(tc.schema, doc)
			if err == nil {
				t.Fatalf("Validate(%s) = nil, want an error at %s", tc.schema, tc.field)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate(%s) = %T %v, want *ValidationError", tc.schema, err, err)
			}
			if ve.Field != tc.field || !strings.Contains(ve.Message, tc.msg) {
				t.Errorf("Validate(%s) = %q, want field %q and a message containing %q", tc.schema, err, tc.field, tc.msg)
			}
			if got, want := err.Error(), ve.Field+": "+ve.Message; got != want {
				t.Errorf("Error() = %q, want %q", got, want)
			}
		})
	}
	if len(tests) < 25 {
		t.Fatalf("only %d invalid variants", len(tests))
	}
}

func TestValidateUnknownSchema(t *testing.T) {
	err := Validate("no-such.v1", []byte(`{}`))
	var ve *ValidationError
	if err == nil || errors.As(err, &ve) {
		t.Fatalf("Validate(unknown schema) = %v, want a plain error", err)
	}
}

// TestValidateDeterministic checks that a document with many faults always
// gets the same report.
func TestValidateDeterministic(t *testing.T) {
	doc := svMutate(t, "decision-answered.json",
		svSet("outcome.action", "x"), svSet("rules.0.effect", "x"), svSet("objectives.1.source", "x"),
		svSet("candidates.0.scores.pluralism", "x"), svDel("system.model"))
	first := Validate("append-decision.v1", doc)
	if first == nil {
		t.Fatal("no error")
	}
	for i := 0; i < 50; i++ {
		if err := Validate("append-decision.v1", doc); err.Error() != first.Error() {
			t.Fatalf("run %d: %v, first run: %v", i, err, first)
		}
	}
}

func BenchmarkValidateDecision(b *testing.B) {
	doc := svReadExample(b, "decision-refused.json")
	b.ReportAllocs()
	for b.Loop() {
		if err := Validate("append-decision.v1", doc); err != nil {
			b.Fatal(err)
		}
	}
}
