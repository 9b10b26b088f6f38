package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
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
		parts, err := decisionParts(&DecisionRequest{Private: p}, nil)
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

// TestOpening: an opening written in the binary encoding reads back as
// its parts, texts as the JSON encoding kept them (invalid UTF-8 as
// U+FFFD), and the JSON encoding of earlier versions reads back the same;
// a cut or unknown opening is an error, not a panic.
func TestOpening(t *testing.T) {
	strs := []string{"", "plain", "ünïcödé — 🙂", "\u2028\u2029", "<&>", "\x00\x07\x1f\x7f\b\f\n\r\t", `"\`, "bad \xff\xc3 utf8", "\xed\xa0\x80 surrogate", "\ufeff\uffff", strings.Repeat("long ", 400)}
	salt := func(i int) []byte { return bytes.Repeat([]byte{byte(i), 0xfb, 0xff}, 11)[:saltSize] }
	asJSON := func(s string) string { // what a JSON round trip keeps of s
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var out string
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for i, s := range strs {
		r := strs[len(strs)-1-i]
		for _, parts := range [][]sealedPart{
			{{"grounds", salt(i), s}},
			{{"request", salt(i), s}},
			{{"response", salt(i), s}},
			{{"request", salt(i), s}, {"response", salt(i + 1), r}},
		} {
			want := make([]sealedPart, len(parts))
			legacy := sealedContent{}
			for j, p := range parts {
				want[j] = sealedPart{p.name, p.salt, asJSON(p.text)}
				legacy[p.name] = struct {
					Salt []byte `json:"salt"`
					Text string `json:"text"`
				}{p.salt, p.text}
			}
			b := appendOpening([]byte("prefix"), parts)
			if !bytes.HasPrefix(b, []byte("prefix")) {
				t.Fatalf("%q: the prefix is gone", b)
			}
			b = b[len("prefix"):]
			got, err := parseOpening(b)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("%q reads back as %q, %v; want %q", b, got, err, want)
			}
			lj, err := json.Marshal(legacy)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := parseOpening(lj); err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("JSON %q reads back as %q, %v; want %q", lj, got, err, want)
			}
			// every cut of the binary form is an error or a whole number of parts
			for n := range len(b) {
				got, err := parseOpening(b[:n])
				if err == nil && (n == 0 || !reflect.DeepEqual(got, want[:len(got)]) || len(got) == len(want)) {
					t.Fatalf("%q cut to %d bytes reads as %q", b, n, got)
				}
			}
		}
	}
	for _, bad := range []string{"", "\x02", "[]", "{", `{"request":1}`} {
		if got, err := parseOpening([]byte(bad)); err == nil {
			t.Errorf("%q reads as %q", bad, got)
		}
	}
}

// TestCommitmentOf: a commitment is "sha256:" and the hex SHA-256 of salt
// || content, for content short and long, as string or bytes.
func TestCommitmentOf(t *testing.T) {
	salt := bytes.Repeat([]byte{0xa5}, 32)
	for _, n := range []int{0, 1, 31, 33, 200, 991, 992, 993, 5000} {
		content := bytes.Repeat([]byte("ab\xffc"), n)[:n]
		h := sha256.New()
		h.Write(salt)
		h.Write(content)
		want := "sha256:" + hex.EncodeToString(h.Sum(nil))
		if got := commitmentOf(salt, string(content)); got != want {
			t.Fatalf("%d bytes (string): %s, want %s", n, got, want)
		}
		if got := CommitmentOf(salt, content); got != want {
			t.Fatalf("%d bytes: %s, want %s", n, got, want)
		}
	}
	got, c, err := Commit([]byte("text"))
	if err != nil || len(got) != 32 || c != CommitmentOf(got, []byte("text")) {
		t.Fatalf("Commit: salt %x, %s, %v", got, c, err)
	}
}

// TestVaultDigest: a vault-keyed digest is the tag, the slot and
// HMAC-SHA256 (crypto/hmac) under vault.SubKey(key, digestPurpose) of the
// parts, each followed by a zero byte; mac is crypto/hmac's HMAC of the
// same message.
func TestVaultDigest(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	for _, parts := range [][][]byte{nil, {[]byte("a")}, {[]byte("record"), []byte("private")}, {{}, {}, {}, {}, {}, []byte("six")}} {
		sub := hmac.New(sha256.New, key)
		sub.Write([]byte(digestPurpose))
		m := hmac.New(sha256.New, sub.Sum(nil))
		plain := hmac.New(sha256.New, key)
		for _, p := range parts {
			m.Write(p)
			m.Write([]byte{0})
			plain.Write(p)
			plain.Write([]byte{0})
		}
		for _, tag := range []byte{digestVaultKeyed, digestVaultSealed} {
			want := append([]byte{tag, 0, 0, 0, 0, 0, 0, 1, 2}, m.Sum(nil)...)
			if got := appendVaultDigest([]byte("kept"), tag, 258, key, parts...); !bytes.Equal(got, append([]byte("kept"), want...)) {
				t.Fatalf("%q, tag %d: %x, want %x after the bytes appended to", parts, tag, got, want)
			}
		}
		if got := mac(key, parts...); !bytes.Equal(got, plain.Sum(nil)) {
			t.Fatalf("mac %q: %x, want %x", parts, got, plain.Sum(nil))
		}
	}
}

// TestDecisionIndexerPostings checks the posting list names of a decision
// against one postingPrefix a name, for 0 to 40 rules and flags, repeats
// among them: a repeat is one posting, a rule and a flag of the same name
// are two, and every name is its own slice (the indexer makes them all in
// one buffer, so an append to one must not reach the next).
func TestDecisionIndexerPostings(t *testing.T) {
	for _, n := range []int{0, 1, 3, 9, 40} {
		d := &Decision{}
		d.System.Operator, d.System.Model = "op", "model-x"
		d.Outcome.Action, d.Outcome.Category = "refuse", "weapons"
		d.Subject.Jurisdiction = "EU"
		for i := range n {
			d.Rules = append(d.Rules, AppliedRule{RuleID: fmt.Sprintf("r%d", i%(n/2+1))})
			d.ProvenanceFlags = append(d.ProvenanceFlags, ProvenanceFlag{Code: fmt.Sprintf("r%d", i%(n/3+1))})
		}
		var want [][]byte
		for _, f := range []struct {
			field byte
			value string
		}{{fieldKind, string(KindDecision)}, {fieldOperator, "op"}, {fieldModel, "model-x"}, {fieldAction, "refuse"}, {fieldCategory, "weapons"}, {fieldJurisdiction, "EU"}} {
			want = append(want, postingPrefix(f.field, f.value))
		}
		seen := map[string]bool{}
		for _, r := range d.Rules {
			if p := postingPrefix(fieldRule, r.RuleID); !seen[string(p)] {
				seen[string(p)] = true
				want = append(want, p)
			}
		}
		for _, f := range d.ProvenanceFlags {
			if p := postingPrefix(fieldFlag, f.Code); !seen[string(p)] {
				seen[string(p)] = true
				want = append(want, p)
			}
		}
		x := newDecisionIndexer(d)
		if len(x.prefixes) != len(want) {
			t.Fatalf("%d rules and flags: %d postings, want %d", n, len(x.prefixes), len(want))
		}
		for i := range want {
			if !bytes.Equal(x.prefixes[i], want[i]) {
				t.Errorf("%d rules and flags: posting %d is %q, want %q", n, i, x.prefixes[i], want[i])
			}
			if cap(x.prefixes[i]) != len(x.prefixes[i]) {
				t.Errorf("%d rules and flags: posting %d has room past its end (cap %d, len %d): an append to it would overwrite the next", n, i, cap(x.prefixes[i]), len(x.prefixes[i]))
			}
		}
	}
}

// TestEachDistinct: each id once, in the order first seen, with the scan
// (up to 16) and with the map (past 16).
func TestEachDistinct(t *testing.T) {
	for _, n := range []int{0, 1, 5, 16, 17, 300} {
		var l, want []string
		for i := range n {
			id := fmt.Sprintf("r%d", i%7) // repeats after 7
			if i%3 == 0 {
				id = fmt.Sprintf("u%d", i) // and some never repeat
			}
			l = append(l, id)
			if !slices.Contains(want, id) {
				want = append(want, id)
			}
		}
		var got []string
		eachDistinct(l, func(s string) string { return s }, func(s string) { got = append(got, s) })
		if !slices.Equal(got, want) {
			t.Fatalf("%d items: got %v, want %v", n, got, want)
		}
	}
}
