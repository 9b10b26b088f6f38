package audit

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The differential test of the compiled validators: on every document,
// Validate (compiled) and validateInterpreted (the JSON Schema validator,
// santhosh-tekuri/jsonschema) MUST agree on accept or reject and give the
// same error, field and message; on a document both accept, the typed
// decoders MUST give what decodeStrict gives.

// diffExamples are the seeds: each example request body and the schema of
// its endpoint, in a fixed order.
func diffExamples(t testing.TB) (names []string, docs [][]byte) {
	for n := range svExampleSchemas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		docs = append(docs, svReadExample(t, n))
	}
	return names, docs
}

// checkCompiledMatches fails t if the two validators disagree on doc.
func checkCompiledMatches(t testing.TB, schema string, doc []byte) {
	t.Helper()
	got := Validate(schema, doc)
	want := validateInterpreted(schema, doc)
	if (got == nil) != (want == nil) || (got != nil && got.Error() != want.Error()) {
		t.Fatalf("%s: compiled validator says %v, JSON Schema validator says %v\ndocument: %s", schema, got, want, doc)
	}
	if want != nil {
		if _, ok := want.(*ValidationError); !ok {
			t.Fatalf("%s: JSON Schema validator failed: %v", schema, want)
		}
		return
	}
	// Both accept: the typed decode is what decodeStrict gives.
	var typed, strict any
	var err error
	switch schema {
	case "append-decision.v1":
		typed, err = DecodeDecisionRequest(doc)
		strict = new(DecisionRequest)
	case "append-contest.v1":
		typed, err = DecodeContestRequest(doc)
		strict = new(ContestRequest)
	case "append-resolution.v1":
		typed, err = DecodeResolutionRequest(doc)
		strict = new(Resolution)
	default:
		return
	}
	if err != nil {
		t.Fatalf("%s: Validate accepts, the typed decoder says %v\ndocument: %s", schema, err, doc)
	}
	if err := decodeStrict(doc, strict); err != nil {
		t.Fatalf("%s: Validate accepts, decodeStrict says %v\ndocument: %s", schema, err, doc)
	}
	if !reflect.DeepEqual(typed, strict) {
		t.Fatalf("%s: typed decode %+v, decodeStrict %+v\ndocument: %s", schema, typed, strict, doc)
	}
	a, err := canonicalRecord(typed)
	if err != nil {
		t.Fatal(err)
	}
	b, err := canonicalRecord(strict)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatalf("%s: canonical forms differ:\n%s\n%s", schema, a, b)
	}
}

// mutator edits a generic document as directed by a byte string, so that
// a fuzzer's byte mutations become structural ones: values replaced with
// tricky values of every type, members deleted and added, arrays grown and
// emptied.
type mutator struct {
	ops []byte
}

func (m *mutator) byte() byte {
	if len(m.ops) == 0 {
		return 0
	}
	b := m.ops[0]
	m.ops = m.ops[1:]
	return b
}

func (m *mutator) pick(n int) int {
	if n <= 0 {
		return 0
	}
	return int(m.byte()) % n
}

// trickyStrings are strings near the schemas' edges.
var trickyStrings = []string{
	"", "x", "refused", "refuse", "answered", "modified", "allow", "warn", "info", "critical", "extracted",
	"explain", "upheld", "add", "amend", "justice", "honesty", "true", "null", "0",
	strings.Repeat("d", 64), strings.Repeat("d", 65), strings.Repeat("d", 128), strings.Repeat("d", 129),
	strings.Repeat("é", 64), strings.Repeat("é", 65), strings.Repeat("€", 256), strings.Repeat("€", 257),
	strings.Repeat("r", 4096), strings.Repeat("r", 4097), strings.Repeat("😀", 4096), strings.Repeat("😀", 4097),
	strings.Repeat("p", 32768), strings.Repeat("p", 32769),
	"sha256:" + strings.Repeat("ab", 32), "sha256:" + strings.Repeat("AB", 32), "sha256:" + strings.Repeat("ab", 31),
	strings.Repeat("0f", 32), strings.Repeat("0f", 32) + "\n", "sha256:" + strings.Repeat("ab", 32) + "\n",
	"DE", "US-CA", "de", "US-", "US-CAXX", "D1", "US-C4", "DE\n",
	"de-DE", "zh-Hant-TW", "d", "abcdefghi", "de--DE", "de-", "de_DE", "de-DEabcdefgh", "de-DEabcdefghi",
	"dec-1", "dec 1", "a.b_c:d-e", "é", "id\n", "-", ".",
	"2026-11-27T10:00:00Z", "2026-11-27t10:00:00z", "2026-11-27T10:00:00.123456789Z", "2026-11-27T10:00:00.Z",
	"2026-11-27T10:00:00+01:00", "2026-11-27T10:00:00-23:59", "2026-11-27T23:59:60Z", "2026-11-27T10:59:60Z",
	"2026-11-27T00:59:60+01:00", "2026-02-30T10:00:00Z", "2026-11-27 10:00:00Z", "2026-11-27T+1:00:00Z",
	"2026-11-27T10:00:00", "2026-11-27T24:00:00Z", "2026-11-27T10:00:00+0100", "10:00:00Z",
	"2026-11-27T10:00:00." + strings.Repeat("1", 60) + "Z",
}

// trickyNumbers are number literals near the schemas' bounds.
var trickyNumbers = []string{
	"0", "-0", "1", "-1", "0.5", "1.0", "1e0", "10e-1", "1.00000000000000000001", "0.99999999999999999999",
	"-0.0000000000000000000001", "1.5", "2", "1e300", "-1e300", "1.0000000000000001e300", "1.00000000000000000001e300",
	"-1.00000000000000000001e300", "9.99999999999999999999e299", "1e301", "1e308", "5e-324", "1e-320",
	"123456789012345678901234567890", "0.1", "4.5", "1E2", "0e99999", "1.000", "-0.00", "0.0", "2.0", "-1.0", "1.0000000000000000000000001", "0.00000000000000000000000001",
}

func (m *mutator) value(depth int) any {
	switch m.pick(8) {
	case 0, 1:
		return trickyStrings[m.pick(len(trickyStrings))]
	case 2, 3:
		return json.Number(trickyNumbers[m.pick(len(trickyNumbers))])
	case 4:
		return m.pick(2) == 0
	case 5:
		return nil
	case 6:
		if depth > 3 {
			return map[string]any{}
		}
		obj := map[string]any{}
		for range m.pick(3) {
			obj[m.key()] = m.value(depth + 1)
		}
		return obj
	}
	if depth > 3 {
		return []any{}
	}
	var arr []any
	for range m.pick(3) {
		arr = append(arr, m.value(depth+1))
	}
	if arr == nil {
		arr = []any{}
	}
	return arr
}

var trickyKeys = []string{
	"request", "response", "private", "contest", "outcome", "action", "effect", "rules", "weights",
	"commitment", "x", "", "sense of justice", strings.Repeat("k", 64), strings.Repeat("k", 65), "é", "a.b",
	"human_reviewed", "supersedes", "process", "grounds", "text", "token_sha256", "selected", "scores",
}

func (m *mutator) key() string { return trickyKeys[m.pick(len(trickyKeys))] }

// node is a value in a generic document and how to replace it.
type node struct {
	v   any
	set func(any)
}

// nodes lists every value of doc, depth first in key order; the first is
// doc itself, replaced through root.
func nodes(doc any, root func(any)) []node {
	out := []node{{doc, root}}
	switch c := doc.(type) {
	case map[string]any:
		keys := make([]string, 0, len(c))
		for k := range c {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, nodes(c[k], func(v any) { c[k] = v })...)
		}
	case []any:
		for i := range c {
			out = append(out, nodes(c[i], func(v any) { c[i] = v })...)
		}
	}
	return out
}

// mutate applies one edit to doc at a value chosen by the ops.
func (m *mutator) mutate(doc any) any {
	ns := nodes(doc, func(v any) { doc = v })
	n := ns[(int(m.byte())<<8|int(m.byte()))%len(ns)]
	target, set := n.v, n.set
	switch m.pick(6) {
	case 0: // replace with a value of the same type, mostly
		switch target.(type) {
		case string:
			set(trickyStrings[m.pick(len(trickyStrings))])
		case json.Number:
			set(json.Number(trickyNumbers[m.pick(len(trickyNumbers))]))
		default:
			set(m.value(0))
		}
	case 1: // replace
		set(m.value(0))
	case 2: // delete a member or an item
		switch c := target.(type) {
		case map[string]any:
			keys := make([]string, 0, len(c))
			for k := range c {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if len(keys) > 0 {
				delete(c, keys[m.pick(len(keys))])
			}
		case []any:
			if len(c) > 0 {
				i := m.pick(len(c))
				set(append(c[:i:i], c[i+1:]...))
			}
		}
	case 3: // add a member or an item
		switch c := target.(type) {
		case map[string]any:
			c[m.key()] = m.value(0)
		case []any:
			if len(c) > 0 && m.pick(2) == 0 {
				set(append(c, c[m.pick(len(c))]))
			} else {
				set(append(c, m.value(0)))
			}
		}
	case 4: // grow an array by copies of an item, or an object by number keys
		switch c := target.(type) {
		case []any:
			if len(c) > 0 {
				n := []int{1, 255, 256, 257}[m.pick(4)]
				out := append([]any{}, c...)
				for range n {
					out = append(out, c[0])
				}
				set(out)
			}
		case map[string]any:
			n := []int{63, 64, 65}[m.pick(3)]
			for i := range n {
				c["k"+strconv.Itoa(i)] = json.Number("0.5")
			}
		}
	case 5: // empty it
		switch target.(type) {
		case []any:
			set([]any{})
		case map[string]any:
			set(map[string]any{})
		}
	}
	return doc
}

// diffDocument returns the document that fuzz input (doc, ops) stands for:
// doc itself when ops is empty or doc is not JSON, else doc with the edits
// ops directs.
func diffDocument(doc, ops []byte) []byte {
	if len(ops) == 0 {
		return doc
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return doc
	}
	m := &mutator{ops: ops}
	for len(m.ops) > 0 {
		v = m.mutate(v)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return doc
	}
	return buf.Bytes()
}

// FuzzCompiledMatchesSchema is the differential fuzz test of the compiled
// validators against the JSON Schema validator, from the example requests:
// the fuzzer mutates the bytes of the document (syntax, numbers, strings)
// and a string of edit operations (structure; see mutator).
//
//	go test -run='^$' -fuzz=FuzzCompiledMatchesSchema -fuzztime=5m ./audit/
func FuzzCompiledMatchesSchema(f *testing.F) {
	names, docs := diffExamples(f)
	for i, doc := range docs {
		f.Add(uint8(i), doc, []byte{})
		for j := range 8 {
			f.Add(uint8(i), doc, []byte{byte(j), byte(3 * j), 1, byte(7 * j), 2, 0})
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, doc, ops []byte) {
		schema := svExampleSchemas[names[int(which)%len(names)]]
		checkCompiledMatches(t, schema, diffDocument(doc, ops))
	})
}

// TestCompiledMatchesSchema runs the differential check on random edits of
// the examples, a fixed sample of what the fuzz test explores.
func TestCompiledMatchesSchema(t *testing.T) {
	names, docs := diffExamples(t)
	rng := rand.New(rand.NewPCG(1, 2))
	n := 3000
	if testing.Short() {
		n = 300
	}
	accepted := 0
	for i := range n {
		k := i % len(names)
		ops := make([]byte, 1+rng.IntN(24))
		for j := range ops {
			ops[j] = byte(rng.UintN(256))
		}
		doc := diffDocument(docs[k], ops)
		checkCompiledMatches(t, svExampleSchemas[names[k]], doc)
		if Validate(svExampleSchemas[names[k]], doc) == nil {
			accepted++
		}
	}
	// The sample must exercise both outcomes.
	if accepted == 0 || accepted == n {
		t.Fatalf("%d of %d edited documents accepted: the sample does not test both outcomes", accepted, n)
	}
	t.Logf("%d of %d edited documents accepted", accepted, n)
}

// TestCompiledMatchesSchemaEdges runs the differential check on every
// single edit of the examples that matters most: each string replaced by
// each tricky string, each number by each tricky number, each member
// deleted, each value replaced by one of every type, each object given
// each tricky key.
func TestCompiledMatchesSchemaEdges(t *testing.T) {
	names, _ := diffExamples(t)
	others := []any{nil, true, json.Number("1"), "x", map[string]any{}, []any{}}
	checked := 0
	for _, name := range names {
		schema := svExampleSchemas[name]
		example := svDecodeExample(t, name)
		for i, n := range nodes(example, func(any) {}) {
			edit := func(f func(n node)) {
				doc := deepCopy(example)
				f(nodes(doc, func(v any) { doc = v })[i])
				checkCompiledMatches(t, schema, svJSON(t, doc))
				checked++
			}
			var values []any
			switch v := n.v.(type) {
			case string:
				for _, s := range trickyStrings {
					values = append(values, s)
				}
			case json.Number:
				for _, s := range trickyNumbers {
					values = append(values, json.Number(s))
				}
			case map[string]any:
				for _, key := range trickyKeys {
					edit(func(n node) { n.v.(map[string]any)[key] = "x" })
				}
				for key := range v {
					edit(func(n node) { delete(n.v.(map[string]any), key) })
				}
			}
			for _, v := range append(values, others...) {
				edit(func(n node) { n.set(v) })
			}
		}
	}
	t.Logf("%d edited documents checked", checked)
}

// deepCopy copies a generic document.
func deepCopy(v any) any {
	switch c := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(c))
		for k, x := range c {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		a := make([]any, len(c))
		for i, x := range c {
			a[i] = deepCopy(x)
		}
		return a
	}
	return v
}
