package audit

import (
	"bytes"
	"fmt"
	"testing"
	"unicode/utf8"
)

// TestDecisionIndexKeys: a decision's index is one item in each of its
// posting lists (kind, operator, model, action, category, jurisdiction,
// then each distinct rule and flag in order) and in the summary list, laid
// out as index.go says.
func TestDecisionIndexKeys(t *testing.T) {
	d := &Decision{
		System:          System{Operator: "op", Model: "m-1"},
		Outcome:         Outcome{Action: "refused", Category: "cat"},
		Subject:         Subject{Jurisdiction: "EU"},
		Rules:           []AppliedRule{{RuleID: "r1"}, {RuleID: "r2"}, {RuleID: "r1"}},
		ProvenanceFlags: []ProvenanceFlag{{Code: "r1"}, {Code: "f"}, {Code: "f"}},
	}
	const idx = 0x0102030405060708
	posting := func(field byte, value string) string {
		return fmt.Sprintf("q/%c\x00%c%s", field, len(value), value)
	}
	want := []string{posting('k', "decision"), posting('o', "op"), posting('m', "m-1"), posting('a', "refused"),
		posting('c', "cat"), posting('j', "EU"), posting('r', "r1"), posting('r', "r2"), posting('f', "r1"), posting('f', "f"),
		"s/"}
	for n := range 2 {
		got := decisionIndex(idx, d)
		if n == 1 {
			got = newDecisionIndexer(d).at(idx)
		}
		if len(got) != len(want) {
			t.Fatalf("%d keys, want %d: %v", len(got), len(want), got)
		}
		for i, kv := range got {
			if string(kv.Key) != want[i] || !kv.List {
				t.Errorf("item %d is of list %q (list %v), want an item of list %q", i, kv.Key, kv.List, want[i])
			}
			if i < len(got)-1 && kv.Value != nil {
				t.Errorf("posting %q has value %q, want none", kv.Key, kv.Value)
			}
		}
		if v := got[len(got)-1].Value; !bytes.Equal(v, encodeSummary(summarize(d))) {
			t.Errorf("summary value %q", v)
		}
	}
}

// TestPrivateJCS: the private section's JCS form written by hand is what
// canonicalRecord (encoding/json, then the JCS library) makes of it, and
// the digest's part is canonicalRecord's, invalid UTF-8 included.
func TestPrivateJCS(t *testing.T) {
	strs := []string{"", "plain", "ünïcödé — 🙂", "\u2028\u2029", "<&>", "\x00\x07\x1f\x7f\b\f\n\r\t", `"\`, "bad \xff\xc3 utf8", "\ufeff\uffff"}
	cases := []*DecisionPrivate{nil, {}}
	for i := range strs {
		s := &strs[i]
		cases = append(cases, &DecisionPrivate{Request: s}, &DecisionPrivate{Response: s}, &DecisionPrivate{Request: s, Response: &strs[len(strs)-1-i]})
	}
	for _, p := range cases {
		want, err := canonicalRecord(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendPrivateJCS(nil, p); !bytes.Equal(got, want) && (p == nil || !invalidUTF8(p)) {
			t.Errorf("%+v:\n got %q\nwant %q", p, got, want)
		}
		parts, err := decisionParts(&DecisionRequest{Private: p})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(parts[1], want) {
			t.Errorf("digest part of %+v:\n got %q\nwant %q", p, parts[1], want)
		}
	}
}

func invalidUTF8(p *DecisionPrivate) bool {
	return p.Request != nil && !utf8.ValidString(*p.Request) || p.Response != nil && !utf8.ValidString(*p.Response)
}

// TestDigestPooled: the server-secret digest, from pooled keyed hashes, is
// the HMAC of the parts every time (a reused hash starts from its key).
func TestDigestPooled(t *testing.T) {
	b := &Book{cfg: Config{Secret: []byte("0123456789abcdef0123456789abcdef")}}
	for i := range 5 {
		parts := [][]byte{[]byte(fmt.Sprintf("record %d", i)), []byte("private")}
		if got, want := b.digest(parts...), mac(b.cfg.Secret, parts...); !bytes.Equal(got, want) {
			t.Fatalf("digest %d: %x, want %x", i, got, want)
		}
	}
	if bytes.Equal(b.digest([]byte("a")), b.digest([]byte("b"))) {
		t.Fatal("two parts, one digest")
	}
}
