package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// manyKeys is an object of n distinct keys.
func manyKeys(n int) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + strconv.Itoa(i) + `":1`)
	}
	b.WriteByte('}')
	return b.String()
}

// manyItems is an array of n copies of item.
func manyItems(n int, item string) string {
	return "[" + strings.Repeat(item+",", n-1) + item + "]"
}

// inDecision puts raw JSON in place of the value of field in the answered
// example decision (a top-level field, or weights.<key>).
func inDecision(t testing.TB, field, raw string) []byte {
	t.Helper()
	doc := svReadExample(t, "decision-answered.json")
	var old string
	switch field {
	case "weights.justice":
		old = `"justice": 0.35`
		raw = `"justice": ` + raw
	case "outcome.explanation":
		i := bytes.Index(doc, []byte(`"explanation": `))
		j := bytes.IndexByte(doc[i+16:], '"')
		old = string(doc[i : i+16+j+1])
		raw = `"explanation": ` + raw
	default:
		t.Fatalf("no place for %s", field)
	}
	if !bytes.Contains(doc, []byte(old)) {
		t.Fatalf("example has no %q", old)
	}
	return bytes.Replace(doc, []byte(old), []byte(raw), 1)
}

// TestAbusiveDocuments refuses documents built to cost the server, each
// with the field and the limit named, for the compiled schemas and the
// interpreted ones alike. The time each took is logged, not asserted.
func TestAbusiveDocuments(t *testing.T) {
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	deepObj := strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
	dupLate := manyKeys(40)
	dupLate = dupLate[:len(dupLate)-1] + `,"k37":2}`
	tests := []struct {
		name, schema string
		doc          []byte
		field, msg   string
	}{
		{"85,000 keys", "append-contest.v1", []byte(manyKeys(85000)), "(root)", "more than 256 keys"},
		{"85,000 keys, logged-record schema", "decision.v1", []byte(manyKeys(85000)), "(root)", "more than 256 keys"},
		{"85,000 keys in a process", "constitution.v1",
			[]byte(`{"constitution_id":"c","version":"1","rules":[],"process":` + manyKeys(85000) + `}`), "process", "more than 256 keys"},
		{"85,000 keys as weights", "append-decision.v1", inDecision(t, "weights.justice", manyKeys(85000)), "weights.justice", "more than 256 keys"},
		{"100,000 items", "append-decision.v1", inDecision(t, "weights.justice", manyItems(100000, "1")), "weights.justice", "more than 1024 items"},
		{"100,000 objects", "append-resolution.v1", []byte(`{"rule_changes":` + manyItems(100000, "{}") + `}`), "rule_changes", "more than 1024 items"},
		{"array depth 10,000", "append-decision.v1", inDecision(t, "weights.justice", deep),
			"weights.justice" + strings.Repeat(".0", 63), "nested deeper than 64 levels"},
		{"object depth 10,000", "append-contest.v1", []byte(deepObj), "a" + strings.Repeat(".a", 64), "nested deeper than 64 levels"},
		{"1 MB number", "append-decision.v1", inDecision(t, "weights.justice", "1"+strings.Repeat("0", 1<<20)),
			"weights.justice", "number literal is 1048577 characters long, the most the ledger takes is 64"},
		{"1 MB fraction", "append-decision.v1", inDecision(t, "weights.justice", "0."+strings.Repeat("0", 1<<20)+"1"),
			"weights.justice", "number literal is 1048579 characters long"},
		{"65-character number", "append-decision.v1", inDecision(t, "weights.justice", "0."+strings.Repeat("1", 63)),
			"weights.justice", "number literal is 65 characters long"},
		{"1e-999999", "append-decision.v1", inDecision(t, "weights.justice", "1e-999999"), "weights.justice", "too small to be told from 0"},
		{"-1e-999999", "append-decision.v1", inDecision(t, "weights.justice", "-1e-999999"), "weights.justice", "too small"},
		{"2e-324", "append-decision.v1", inDecision(t, "weights.justice", "2e-324"), "weights.justice", "too small"},
		{"0.0001e-321", "append-decision.v1", inDecision(t, "weights.justice", "0.0001e-321"), "weights.justice", "too small"},
		{"1e999999", "append-decision.v1", inDecision(t, "weights.justice", "1e999999"), "weights.justice", "beyond the range of an IEEE-754 double"},
		{"-1e999999", "append-decision.v1", inDecision(t, "weights.justice", "-1e999999"), "weights.justice", "beyond the range"},
		{"1e309", "append-decision.v1", inDecision(t, "weights.justice", "1e309"), "weights.justice", "beyond the range"},
		{"huge exponent in a process", "constitution.v1",
			[]byte(`{"constitution_id":"c","version":"1","rules":[],"process":{"x":[1e99999999999]}}`), "process.x.0", "beyond the range"},
		{"tiny number in a process", "constitution.v1",
			[]byte(`{"constitution_id":"c","version":"1","rules":[],"process":{"x":{"y":1e-99999999999}}}`), "process.x.y", "too small"},
		{"duplicate key", "append-decision.v1", inDecision(t, "weights.justice", `0.3, "justice": 0.4`), "weights.justice", "duplicate key"},
		{"duplicate key after 37 others", "append-contest.v1", []byte(dupLate), "k37", "duplicate key"},
		{"duplicate key by escape", "append-contest.v1", []byte(`{"remedy":"explain","remed\u0079":"explain"}`), "remedy", "duplicate key"},
		{"duplicate key, logged-record schema", "decision.v1", []byte(`{"a":{"b":1,"b":2}}`), "a.b", "duplicate key"},
		{"invalid UTF-8", "append-decision.v1", inDecision(t, "outcome.explanation", "\"\xff\xfe\""), "(root)", "not valid UTF-8"},
		{"lone high surrogate", "append-decision.v1", inDecision(t, "outcome.explanation", `"a\ud800b"`), "outcome.explanation", "half of a UTF-16 surrogate pair"},
		{"lone low surrogate", "append-decision.v1", inDecision(t, "outcome.explanation", `"\udc00"`), "outcome.explanation", "surrogate"},
		{"reversed surrogates", "append-decision.v1", inDecision(t, "outcome.explanation", `"\udc00\ud800"`), "outcome.explanation", "surrogate"},
		{"surrogate in a key", "append-contest.v1", []byte(`{"\ud83d":1}`), "(root)", "surrogate"},
		{"1 MB string", "append-decision.v1", inDecision(t, "outcome.explanation", `"`+strings.Repeat("x", 1<<20)+`"`),
			"outcome.explanation", "string is 1048576 bytes long, the most the ledger takes is 131072"},
		{"1 MB escaped string", "append-decision.v1", inDecision(t, "outcome.explanation", `"`+strings.Repeat(`\n`, 1<<19)+`"`),
			"outcome.explanation", "string is 524288 bytes long"},
		{"1 MB key", "append-contest.v1", []byte(`{"` + strings.Repeat("k", 1<<20) + `":1}`), "(root)", "string is 1048576 bytes long"},
		{"control character", "append-decision.v1", inDecision(t, "outcome.explanation", "\"a\tb\""), "(root)", "control character in a string"},
		{"bad escape", "append-decision.v1", inDecision(t, "outcome.explanation", `"\x41"`), "(root)", "invalid escape"},
		{"NaN", "append-decision.v1", inDecision(t, "weights.justice", "NaN"), "(root)", "expected a value"},
		{"leading zero", "append-decision.v1", inDecision(t, "weights.justice", "01"), "(root)", "invalid JSON"},
		{"trailing garbage", "append-contest.v1", []byte(`{} x`), "(root)", "unexpected data after the top-level value"},
		{"1 MB of white space then garbage", "append-contest.v1", []byte("{}" + strings.Repeat(" ", 1<<20) + "x"), "(root)", "unexpected data"},
		{"unterminated", "append-contest.v1", []byte(`{"a":"` + strings.Repeat("x", 1<<20)), "(root)", "unexpected end of input"},
		{"BOM", "append-contest.v1", []byte("\xef\xbb\xbf{}"), "(root)", "invalid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := Validate(tc.schema, tc.doc)
			took := time.Since(start)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a *ValidationError", err)
			}
			if ve.Field != tc.field || !strings.Contains(ve.Message, tc.msg) {
				t.Errorf("Validate = %q, want field %q and a message containing %q", err, tc.field, tc.msg)
			}
			t.Logf("%d bytes refused in %v: %.200s", len(tc.doc), took, err)
		})
	}
}

// TestNumbersCarried accepts the literals whose double JCS logs, rounding
// included, and logs them in canonical form.
func TestNumbersCarried(t *testing.T) {
	for lit, want := range map[string]string{
		"0.1": "0.1", "1E2": "100", "-0": "0", "0e99999": "0", "-0.0e-99999": "0",
		"1.00000000000000000001e-1": "0.1", "5e-324": "5e-324", "3e-324": "5e-324", "1e-320": "1e-320",
		"1e300": "1e+300", "123456789012345678901234567890": "1.2345678901234568e+29",
	} {
		doc := inDecision(t, "weights.justice", lit)
		req, err := DecodeDecisionRequest(doc)
		if err != nil {
			t.Errorf("%s: %v", lit, err)
			continue
		}
		b, err := canonicalRecord(map[string]float64{"w": req.Weights["justice"]})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSuffix(strings.TrimPrefix(string(b), `{"w":`), "}"); got != want {
			t.Errorf("%s logged as %s, want %s", lit, got, want)
		}
	}
}

// TestDecodeLimitsAllowSchemaMaxima checks that every limit is at least
// what the schemas allow: a document at the schemas' maxima is accepted.
func TestDecodeLimitsAllowSchemaMaxima(t *testing.T) {
	d := svDecodeExample(t, "decision-modified-private.json")
	weights := map[string]any{}
	for i := range 64 {
		weights[strings.Repeat("w", 60)+strconv.Itoa(i)] = 0.5
	}
	d["weights"] = weights
	rules := d["rules"].([]any)
	for len(rules) < 256 {
		rules = append(rules, rules[0])
	}
	d["rules"] = rules
	d["private"].(map[string]any)["request"] = strings.Repeat("😀", 32768) // 131072 bytes
	doc := svJSON(t, d)
	if err := Validate("append-decision.v1", doc); err != nil {
		t.Fatalf("a request at the schemas' maxima: %v", err)
	}
	if err := validateInterpreted("append-decision.v1", doc); err != nil {
		t.Fatalf("a request at the schemas' maxima, JSON Schema validator: %v", err)
	}
}

// FuzzParseJSON holds the decoder to encoding/json: what it accepts,
// encoding/json accepts and decodes to the same value; what it refuses
// that encoding/json accepts, it refuses for one of its documented rules
// (limits, duplicate keys, surrogates, numbers a double cannot carry,
// invalid UTF-8), never as a syntax error.
func FuzzParseJSON(f *testing.F) {
	_, docs := diffExamples(f)
	for _, d := range docs {
		f.Add(d)
	}
	for _, s := range []string{`{"a":1,"a":2}`, `"\ud83d\ude00"`, `"\ud83d"`, `[1e-400]`, `1e400`, `-0.0e+1`,
		`{"":{"":[]}}`, `[[[[[]]]]]`, "\"\u2028\"", `"\u0000"`, ` {} `, `{"a" : [ 1 , 2 ] }`, `0.1e1`, `-`, `"\/"`} {
		f.Add([]byte(s))
	}
	ours := []string{"duplicate key", "nested deeper", "keys (found", "items, the most", "number literal is",
		"too small to be told from 0", "beyond the range", "surrogate", "string is", "not valid UTF-8"}
	f.Fuzz(func(t *testing.T, doc []byte) {
		v, err := parseJSON(doc)
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		var std any
		stdErr := dec.Decode(&std)
		if stdErr == nil {
			if _, terr := dec.Token(); terr != io.EOF {
				stdErr = errors.New("trailing data")
			}
		}
		if err == nil {
			if stdErr != nil {
				t.Fatalf("parseJSON accepts %q, encoding/json says %v", doc, stdErr)
			}
			if got := v.generic(); !reflect.DeepEqual(got, std) {
				t.Fatalf("parseJSON decodes %q as %#v, encoding/json as %#v", doc, got, std)
			}
			return
		}
		if stdErr == nil && !slices.ContainsFunc(ours, func(s string) bool { return strings.Contains(err.Message, s) }) {
			t.Fatalf("parseJSON refuses %q (%v), encoding/json accepts it", doc, err)
		}
	})
}

// jsonDepth is the deepest nesting of objects and arrays in doc, valid
// JSON, as encoding/json's tokens show it (0 for an invalid document).
func jsonDepth(doc []byte) int {
	dec := json.NewDecoder(bytes.NewReader(doc))
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return deepest
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			deepest = max(deepest, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

// FuzzSplitJSONArray holds SplitJSONArray to encoding/json's decoding into
// []json.RawMessage.
func FuzzSplitJSONArray(f *testing.F) {
	for _, s := range []string{`[]`, ` [ ] `, `[1]`, `[1,2,3]`, `[ {"a":[1,{"b":"]"}]} , "x\"]" ,null ]`, `[1,2,3,4,5]`,
		`{}`, `"x"`, `[1 2]`, `[1,]`, `[`, ``, `[[[[]]]]`, "[\"\\\\\",\n1\t]", ` null `, strings.Repeat("[", 66) + strings.Repeat("]", 66),
		strings.Repeat("[", 65) + strings.Repeat("]", 65)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		const max = 4
		got, err := SplitJSONArray(doc, max)
		var want []json.RawMessage
		werr := json.Unmarshal(doc, &want)
		switch {
		case errors.Is(err, ErrTooDeep):
			if d := jsonDepth(doc); d <= MaxJSONDepth+1 {
				t.Fatalf("SplitJSONArray(%q): %v, but it nests %d levels", doc, err, d)
			}
		case werr != nil || want == nil: // not an array (null decodes to a nil slice)
			if err == nil {
				t.Fatalf("SplitJSONArray(%q) = %q, encoding/json says %v", doc, got, werr)
			}
		case len(want) > max:
			if !errors.Is(err, ErrTooManyItems) {
				t.Fatalf("SplitJSONArray(%q) = %q, %v; want ErrTooManyItems", doc, got, err)
			}
		case err != nil:
			t.Fatalf("SplitJSONArray(%q): %v, encoding/json gives %q", doc, err, want)
		case len(got) != len(want):
			t.Fatalf("SplitJSONArray(%q) = %q, encoding/json gives %q", doc, got, want)
		default:
			for i := range got {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("SplitJSONArray(%q) = %q, encoding/json gives %q", doc, got, want)
				}
			}
		}
	})
}
