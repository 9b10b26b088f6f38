package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/fjaledger/fja/verify/reftree"
)

// Each case below is one item of the hardening list of issue 6: malformed
// input is rejected with the right sentinel and a message saying what was
// expected and what was found.

type rejectCase struct {
	name string
	err  error
	is   error
	msg  string
}

func checkRejects(t *testing.T, cases []rejectCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !errors.Is(tc.err, tc.is) {
				t.Fatalf("err = %v, want %v", tc.err, tc.is)
			}
			if !strings.Contains(tc.err.Error(), tc.msg) {
				t.Errorf("err = %q, want it to contain %q", tc.err, tc.msg)
			}
		})
	}
}

func open(signed []byte, key string, others ...string) error {
	cp, err := OpenCheckpoint(signed, testOrigin, key, others...)
	if err == nil {
		return errors.New("accepted")
	}
	if cp != nil {
		return errors.New("checkpoint returned with an error")
	}
	return err
}

// sigLine returns the index of the first signature line's base64 in signed
// and the base64 itself.
func sigB64(t *testing.T, signed []byte) (int, string) {
	t.Helper()
	split := bytes.LastIndex(signed, []byte("\n\n"))
	line := string(signed[split+2 : len(signed)-1])
	if strings.Contains(line, "\n") {
		t.Fatal("want one signature line")
	}
	i := strings.LastIndexByte(line, ' ')
	return split + 2 + i + 1, line[i+1:]
}

func TestOpenCheckpointHardening(t *testing.T) {
	root := reftree.Root(testEntries(10))
	text := checkpointText(testOrigin, 10, root)
	s, w := mustSigner(testSKey), mustSigner(witSKey)
	good := signText(t, text, s)
	if _, err := OpenCheckpoint(good, testOrigin, testVKey); err != nil {
		t.Fatal(err)
	}
	at, sig := sigB64(t, good)
	withSig := func(b64 string) []byte {
		return append(append(bytes.Clone(good[:at]), b64...), '\n')
	}

	// Non-zero padding bits: the same signature bytes in another encoding.
	// note.Open alone accepts it (the signature still verifies).
	pad := []byte(sig)
	last := strings.IndexByte(base64Std, pad[len(pad)-2])
	pad[len(pad)-2] = base64Std[last^1]
	// URL alphabet: only meaningful if the signature has '+' or '/'.
	url := strings.NewReplacer("+", "-", "/", "_").Replace(sig)
	if url == sig {
		url = "-" + sig[1:]
	}
	many := bytes.Clone(good)
	for range 100 {
		many = append(many, good[len(text)+1:]...)
	}
	unknownOnly := signText(t, text, w)

	checkRejects(t, []rejectCase{
		{"signature base64 non-zero padding bits", open(withSig(string(pad)), testVKey), ErrMalformed, "not canonical standard padded base64"},
		{"signature base64 URL alphabet", open(withSig(url), testVKey), ErrMalformed, "not canonical standard padded base64"},
		{"signature base64 unpadded", open(withSig(strings.TrimRight(sig, "=")), testVKey), ErrMalformed, "not canonical"},
		{"signature base64 trailing space", open(withSig(sig+" "), testVKey), ErrMalformed, "not canonical"},
		{"signature base64 inner space", open(withSig(sig[:8]+" "+sig[8:]), testVKey), ErrMalformed, "not canonical"},
		{"signature base64 tab", open(withSig(sig[:8]+"\t"+sig[8:]), testVKey), ErrMalformed, "control character 0x09"},
		{"signature too short", open(withSig("AAAA"), testVKey), ErrMalformed, "signature is 3 bytes, want a 4-byte key hash"},
		{"signature line without em dash", open(bytes.Replace(good, []byte("\u2014 "), []byte("- "), 1), testVKey), ErrMalformed, "does not start with"},
		{"signature line without base64", open(append(bytes.Clone(good[:at-1]), '\n'), testVKey), ErrMalformed, "want \"\u2014 <name> <base64>\""},
		{"signature block not newline-terminated", open(good[:len(good)-1], testVKey), ErrMalformed, "does not end in a newline"},
		{"no signature lines", open([]byte(text+"\n"), testVKey), ErrMalformed, "no signature lines"},
		{"no blank line", open([]byte(text), testVKey), ErrMalformed, "no blank line"},
		{"empty", open(nil, testVKey), ErrMalformed, "empty"},
		{"too many signature lines", open(many, testVKey), ErrMalformed, "101 signature lines, want at most 100"},
		{"duplicate signature line", open(append(bytes.Clone(good), good[len(text)+1:]...), testVKey), ErrMalformed, "more than one signature line by " + testOrigin},
		{"duplicate unknown-key lines", open(signText(t, text, s, w, w), testVKey), ErrMalformed, "more than one signature line by witness.example.com"},
		{"CRLF everywhere", open(bytes.ReplaceAll(good, []byte("\n"), []byte("\r\n")), testVKey), ErrMalformed, "carriage return at offset"},
		{"CRLF in body only", open(bytes.Replace(good, []byte("\n10\n"), []byte("\r\n10\r\n"), 1), testVKey), ErrMalformed, "CRLF"},
		{"CR at end of signature line", open(append(bytes.Clone(good[:len(good)-1]), '\r', '\n'), testVKey), ErrMalformed, "carriage return"},
		{"invalid UTF-8", open(append([]byte{0xff}, good...), testVKey), ErrMalformed, "invalid UTF-8 byte 0xff at offset 0"},
		{"NUL byte", open(append([]byte{0}, good...), testVKey), ErrMalformed, "control character 0x00"},
		{"extra blank line before signatures", open(bytes.Replace(good, []byte("\n\n"), []byte("\n\n\n"), 1), testVKey), ErrBadSignature, "invalid signature"},
		{"signed body with trailing blank line", open(signText(t, text+"\n", s), testVKey), ErrMalformed, "body line 4 is blank"},
		{"signed body with blank line after origin", open(signText(t, testOrigin+"\n\n10\n"+b64(root)+"\n", s), testVKey), ErrMalformed, "size line is \"\", want a canonical decimal"},
		{"signed body with leading blank line", open(signText(t, "\n"+text, s), testVKey), ErrMalformed, "origin line is empty"},
		{"signed body with blank line between extensions", open(signText(t, text+"a\n\nb\n", s), testVKey), ErrMalformed, "body line 5 is blank"},
		{"root hash base64 with URL alphabet", open(signText(t, testOrigin+"\n10\n"+strings.NewReplacer("+", "-", "/", "_").Replace(b64(root))+"x\n", s), testVKey), ErrMalformed, "want canonical standard padded base64"},
		{"root hash base64 with space", open(signText(t, testOrigin+"\n10\n"+b64(root)[:4]+" "+b64(root)[4:]+"\n", s), testVKey), ErrMalformed, "root hash line is"},
		{"root hash of 33 bytes", open(signText(t, testOrigin+"\n10\n"+b64(append(bytes.Clone(root), 0))+"\n", s), testVKey), ErrMalformed, "root hash is 33 bytes, want 32"},
		{"size with space", open(signText(t, testOrigin+"\n 10\n"+b64(root)+"\n", s), testVKey), ErrMalformed, "size line is \" 10\", want a canonical decimal uint64"},
		{"another origin", open(signText(t, checkpointText("ledger.example.org/other", 10, root), s), testVKey), ErrOriginMismatch, `origin is "ledger.example.org/other", want "` + testOrigin + `"`},
		{"signed by unknown keys only", open(unknownOnly, testVKey), ErrBadSignature, "no signature by any known key"},
		{"signed only by a known witness", open(unknownOnly, testVKey, witVKey), ErrBadSignature, "no signature by log key " + testOrigin},
		{"log key base64 with newline", open(good, testVKey[:len(testVKey)-8]+"\n"+testVKey[len(testVKey)-8:]), ErrBadKey, "not non-empty canonical standard padded base64"},
		{"log key base64 with space", open(good, testVKey+" "), ErrBadKey, "canonical"},
		{"log key base64 URL alphabet", open(good, strings.NewReplacer("+", "-", "/", "_").Replace(testVKey[len(testOrigin)+10:])), ErrBadKey, "parts"},
		{"extra key base64 with newline", open(good, testVKey, witVKey[:len(witVKey)-4]+"\n"+witVKey[len(witVKey)-4:]), ErrBadKey, "extra key 0"},
	})
	// The URL-alphabet key above loses its name; check the key part alone.
	parts := strings.SplitN(testVKey, "+", 3)
	urlKey := parts[0] + "+" + parts[1] + "+" + strings.NewReplacer("+", "-", "/", "_").Replace(parts[2])
	if urlKey != testVKey {
		if err := open(good, urlKey); !errors.Is(err, ErrBadKey) {
			t.Errorf("URL-alphabet log key: err = %v, want ErrBadKey", err)
		}
	}
}

const base64Std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func TestProofHardening(t *testing.T) {
	leaves := testEntries(9)
	r4, r9 := reftree.Root(leaves[:4]), reftree.Root(leaves)
	lh := LeafHash(leaves[4])
	incl := reftree.InclusionProof(4, leaves)
	cons := reftree.ConsistencyProof(4, leaves)
	h := make([]byte, 32)
	long := append(bytes.Clone(incl[1]), 0)
	const max = math.MaxUint64
	checkRejects(t, []rejectCase{
		{"inclusion: proof hash of 33 bytes", Inclusion(4, 9, lh, [][]byte{incl[0], long, incl[2], incl[3]}, r9), ErrBadProof, "inclusion proof hash 1 is 33 bytes, want 32"},
		{"inclusion: nil proof hash", Inclusion(4, 9, lh, [][]byte{incl[0], nil, incl[2], incl[3]}, r9), ErrBadProof, "hash 1 is 0 bytes, want 32"},
		{"inclusion: nil leaf", Inclusion(4, 9, nil, incl, r9), ErrMalformed, "leaf hash is 0 bytes, want 32"},
		{"inclusion: index == size", Inclusion(9, 9, lh, incl, r9), ErrBadProof, "index 9 is not in tree of size 9"},
		{"inclusion: index > size", Inclusion(max, 9, lh, incl, r9), ErrBadProof, "index 18446744073709551615 is not in tree of size 9"},
		{"inclusion: extended proof", Inclusion(4, 9, lh, append(cloneProof(incl), h), r9), ErrBadProof, "proof has 5 hashes, want 4"},
		{"inclusion: huge size, short proof", Inclusion(max-1, max, lh, incl, r9), ErrBadProof, "proof has 4 hashes, want 63 for index 18446744073709551614 in tree of 18446744073709551615"},
		{"inclusion: huge size, empty proof", Inclusion(1<<63, max, lh, nil, r9), ErrBadProof, "proof has 0 hashes, want 64 for index 9223372036854775808"},
		{"inclusion: last of huge tree, 63 zero hashes", Inclusion(max-1, max, lh, zeroHashes(63), r9), RootMismatch, "root mismatch"},
		{"consistency: size1 > size2", Consistency(9, 4, cons, r9, r4), ErrBadProof, "first size 9 is greater than second size 4"},
		{"consistency: max > 0", Consistency(max, 0, nil, r9, emptyRoot), ErrBadProof, "first size 18446744073709551615 is greater than second size 0"},
		{"consistency: proof hash of 31 bytes", Consistency(4, 9, [][]byte{cons[0], cons[1][:31]}, r4, r9), ErrBadProof, "consistency proof hash 1 is 31 bytes, want 32"},
		{"consistency: short root2", Consistency(4, 9, cons, r4, r9[:16]), ErrMalformed, "second root hash is 16 bytes, want 32"},
		{"consistency: truncated proof", Consistency(4, 9, cons[:1], r4, r9), ErrBadProof, "proof has 1 hashes, want 2 from size 4 to 9"},
		{"consistency: huge sizes, short proof", Consistency(max-1, max, cons, r4, r9), ErrBadProof, "from size 18446744073709551614 to 18446744073709551615"},
		{"consistency: 1 to huge, short proof", Consistency(1, max, cons, r4, r9), ErrBadProof, "proof has 2 hashes, want 64 from size 1 to 18446744073709551615"},
		{"consistency: 2^63 to huge, empty proof", Consistency(1<<63, max, nil, r4, r9), ErrBadProof, "proof has 0 hashes"},
		{"consistency: zero to zero, wrong root2", Consistency(0, 0, nil, emptyRoot, r9), RootMismatch, "root mismatch"},
		{"consistency: same huge size, different roots", Consistency(max, max, nil, r4, r9), RootMismatch, "root mismatch"},
	})
	// The same tree is consistent with itself at any size, huge included.
	if err := Consistency(max, max, nil, r9, r9); err != nil {
		t.Errorf("Consistency(max, max, same root) = %v", err)
	}
}

// RootMismatch lets rejectCase match a *RootMismatchError with errors.Is.
var RootMismatch = rootMismatchTarget{}

type rootMismatchTarget struct{}

func (rootMismatchTarget) Error() string { return "root mismatch" }

func (e *RootMismatchError) Is(target error) bool { return target == RootMismatch }

func zeroHashes(n int) [][]byte {
	p := make([][]byte, n)
	for i := range p {
		p[i] = make([]byte, 32)
	}
	return p
}

func TestReceiptHardening(t *testing.T) {
	s := mustSigner(testSKey)
	base := makeReceipt(t, testEntries(4), 1, 4, s)
	data := marshalReceipt(t, base)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) error {
		c := make(map[string]any, len(m))
		for k, v := range m {
			c[k] = v
		}
		f(c)
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		r, err := ParseReceipt(b)
		if err == nil {
			return errors.New("accepted")
		}
		if r != nil {
			return errors.New("receipt returned with an error")
		}
		return err
	}
	lh := m["leaf_hash"].(string)
	proofs := m["inclusion_proof"].([]any)
	verify := func(f func(r *Receipt)) error {
		r := *base
		r.InclusionProof = cloneProof(base.InclusionProof)
		f(&r)
		cp, err := r.Verify(testVKey)
		if err == nil {
			return errors.New("accepted")
		}
		if cp != nil {
			return errors.New("checkpoint returned with an error")
		}
		return err
	}
	checkRejects(t, []rejectCase{
		{"leaf_hash base64 with newline", edit(func(m map[string]any) { m["leaf_hash"] = lh[:8] + "\n" + lh[8:] }), ErrMalformed, "leaf_hash is not canonical standard base64"},
		{"leaf_hash base64 with CRLF", edit(func(m map[string]any) { m["leaf_hash"] = lh[:8] + "\r\n" + lh[8:] }), ErrMalformed, "leaf_hash is not canonical"},
		{"leaf_hash base64 with space", edit(func(m map[string]any) { m["leaf_hash"] = " " + lh }), ErrMalformed, "leaf_hash is not canonical"},
		{"entry base64 URL alphabet", edit(func(m map[string]any) { m["entry"] = "-_-_" }), ErrMalformed, "entry is not canonical"},
		{"proof hash base64 with newline", edit(func(m map[string]any) {
			m["inclusion_proof"] = []any{proofs[0].(string)[:4] + "\n" + proofs[0].(string)[4:], proofs[1]}
		}), ErrMalformed, "inclusion_proof[0] is not canonical"},
		{"proof hash of 33 bytes", edit(func(m map[string]any) { m["inclusion_proof"] = []any{b64(make([]byte, 33)), proofs[1]} }), ErrMalformed, "inclusion_proof[0] is 33 bytes, want 32"},
		{"leaf_hash of 31 bytes", edit(func(m map[string]any) { m["leaf_hash"] = b64(make([]byte, 31)) }), ErrMalformed, "leaf_hash is 31 bytes, want 32"},
		{"index beyond uint64", edit(func(m map[string]any) { m["index"] = json.Number("18446744073709551616") }), ErrMalformed, "receipt JSON"},
		{"verify: index == size", verify(func(r *Receipt) { r.Index = 4 }), ErrBadProof, "index 4 is not in tree of size 4"},
		{"verify: max index", verify(func(r *Receipt) { r.Index = math.MaxUint64 }), ErrBadProof, "index 18446744073709551615 is not in tree of size 4"},
		{"verify: proof hash of 31 bytes", verify(func(r *Receipt) { r.InclusionProof[1] = r.InclusionProof[1][:31] }), ErrBadProof, "inclusion proof hash 1 is 31 bytes, want 32"},
		{"verify: truncated proof", verify(func(r *Receipt) { r.InclusionProof = r.InclusionProof[:1] }), ErrBadProof, "proof has 1 hashes, want 2"},
		{"verify: CRLF checkpoint", verify(func(r *Receipt) { r.Checkpoint = strings.ReplaceAll(r.Checkpoint, "\n", "\r\n") }), ErrMalformed, "carriage return"},
		{"verify: another origin", verify(func(r *Receipt) { r.Origin = "ledger.example.org/other" }), ErrOriginMismatch, "want \"ledger.example.org/other\""},
		{"verify: signed by unknown key only", verify(func(r *Receipt) { *r = *makeReceipt(t, testEntries(4), 1, 4, mustSigner(witSKey)) }), ErrBadSignature, "no signature by any known key"},
		{"verify: nil receipt", (*Receipt)(nil).verifyErr(), ErrMalformed, "nil receipt"},
	})
}

func (r *Receipt) verifyErr() error {
	_, err := r.Verify(testVKey)
	return err
}
