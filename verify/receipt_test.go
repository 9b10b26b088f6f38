package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/transparency-dev/formats/proof"
)

func marshalReceipt(t testing.TB, r *Receipt) []byte {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReceiptVerify(t *testing.T) {
	leaves := testEntries(10)
	s := mustSigner(testSKey)
	for size := 1; size <= len(leaves); size++ {
		for i := 0; i < size; i++ {
			r := makeReceipt(t, leaves, i, size, s)
			data := marshalReceipt(t, r)
			got, cp, err := VerifyReceipt(data, testVKey)
			if err != nil {
				t.Fatalf("receipt for %d in %d: %v", i, size, err)
			}
			if cp.Size != uint64(size) || got.Index != uint64(i) || !bytes.Equal(got.Entry, leaves[i]) {
				t.Fatalf("receipt for %d in %d: got index %d size %d", i, size, got.Index, cp.Size)
			}
		}
	}
	r := makeReceipt(t, leaves, 3, 10, s)
	r.TLogProof = ""
	if _, err := r.Verify(testVKey); err != nil {
		t.Errorf("receipt without tlog_proof: %v", err)
	}
	r.ContestToken = "tok"
	if _, _, err := VerifyReceipt(marshalReceipt(t, r), testVKey); err != nil {
		t.Errorf("receipt with contest_token: %v", err)
	}
	if _, err := (*Receipt)(nil).Verify(testVKey); !errors.Is(err, ErrMalformed) {
		t.Errorf("nil receipt: err = %v", err)
	}
}

// TestReceiptSingleByteFlips flips every bit position's byte once in each
// security-relevant field: every flip MUST be rejected.
func TestReceiptSingleByteFlips(t *testing.T) {
	leaves := testEntries(10)
	base := makeReceipt(t, leaves, 6, 10, mustSigner(testSKey))
	if _, err := base.Verify(testVKey); err != nil {
		t.Fatal(err)
	}
	clone := func() *Receipt {
		var c Receipt
		if err := json.Unmarshal(marshalReceipt(t, base), &c); err != nil {
			t.Fatal(err)
		}
		return &c
	}
	check := func(what string, i int, r *Receipt) {
		t.Helper()
		if _, err := r.Verify(testVKey); err == nil {
			t.Errorf("flipping %s byte %d was accepted", what, i)
		}
	}
	for i := range base.Entry {
		r := clone()
		r.Entry[i] ^= 0x01
		check("entry", i, r)
	}
	for i := range base.LeafHash {
		r := clone()
		r.LeafHash[i] ^= 0x80
		check("leaf_hash", i, r)
	}
	for j := range base.InclusionProof {
		for i := range base.InclusionProof[j] {
			r := clone()
			r.InclusionProof[j][i] ^= 0x10
			check("inclusion_proof hash", j*32+i, r)
		}
	}
	for i := range len(base.Checkpoint) {
		r := clone()
		b := []byte(r.Checkpoint)
		b[i] ^= 0x01
		r.Checkpoint = string(b)
		check("checkpoint", i, r)
	}
	for i := range len(base.TLogProof) {
		r := clone()
		b := []byte(r.TLogProof)
		b[i] ^= 0x01
		r.TLogProof = string(b)
		check("tlog_proof", i, r)
	}
	r := clone()
	r.Index++
	check("index", 0, r)
	r = clone()
	r.Origin += "x"
	check("origin", 0, r)
}

func TestReceiptMismatchedTLogProof(t *testing.T) {
	leaves := testEntries(10)
	s := mustSigner(testSKey)
	base := makeReceipt(t, leaves, 6, 10, s)
	other := makeReceipt(t, leaves, 5, 10, s)
	older := makeReceipt(t, leaves, 6, 9, s)
	for _, tc := range []struct {
		name string
		tp   string
		is   error
	}{
		{"other index", other.TLogProof, ErrMismatch},
		{"other checkpoint", older.TLogProof, ErrMismatch},
		{"not a proof", "hello", ErrMalformed},
		{"non-canonical index", strings.Replace(base.TLogProof, "index 6\n", "index 06\n", 1), ErrMalformed},
		{"fewer hashes", dropHash(t, base.TLogProof), ErrMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := *base
			r.TLogProof = tc.tp
			if _, err := r.Verify(testVKey); !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
		})
	}
}

func dropHash(t *testing.T, tp string) string {
	var p proof.TLogProof
	if err := p.Unmarshal([]byte(tp)); err != nil {
		t.Fatal(err)
	}
	p.Hashes = p.Hashes[1:]
	return string(p.Marshal())
}

func TestParseReceiptStrict(t *testing.T) {
	base := marshalReceipt(t, makeReceipt(t, testEntries(4), 1, 4, mustSigner(testSKey)))
	if _, err := ParseReceipt(base); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(base, &m); err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) []byte {
		c := make(map[string]any, len(m))
		for k, v := range m {
			c[k] = v
		}
		f(c)
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"unknown field", edit(func(m map[string]any) { m["extra"] = 1 })},
		{"miscased field", edit(func(m map[string]any) { m["Origin"] = m["origin"]; delete(m, "origin") })},
		{"duplicate field", append([]byte(`{"index":1,`), base[1:]...)},
		{"trailing data", append(bytes.Clone(base), []byte(` {}`)...)},
		{"trailing garbage", append(bytes.Clone(base), 'x')},
		{"missing origin", edit(func(m map[string]any) { delete(m, "origin") })},
		{"missing index", edit(func(m map[string]any) { delete(m, "index") })},
		{"missing leaf_hash", edit(func(m map[string]any) { delete(m, "leaf_hash") })},
		{"missing entry", edit(func(m map[string]any) { delete(m, "entry") })},
		{"missing checkpoint", edit(func(m map[string]any) { delete(m, "checkpoint") })},
		{"missing inclusion_proof", edit(func(m map[string]any) { delete(m, "inclusion_proof") })},
		{"null inclusion_proof", edit(func(m map[string]any) { m["inclusion_proof"] = nil })},
		{"index as string", edit(func(m map[string]any) { m["index"] = "1" })},
		{"negative index", edit(func(m map[string]any) { m["index"] = -1 })},
		{"fractional index", edit(func(m map[string]any) { m["index"] = 1.5 })},
		{"bad base64 entry", edit(func(m map[string]any) { m["entry"] = "!!!" })},
		{"unpadded base64 leaf_hash", edit(func(m map[string]any) { m["leaf_hash"] = strings.TrimRight(m["leaf_hash"].(string), "=") })},
		{"url base64 leaf_hash", edit(func(m map[string]any) { m["leaf_hash"] = strings.Repeat("_", 43) + "=" })},
		{"short leaf_hash", edit(func(m map[string]any) { m["leaf_hash"] = "AAAA" })},
		{"short proof hash", edit(func(m map[string]any) { m["inclusion_proof"] = []any{"AAAA"} })},
		{"proof hash not string", edit(func(m map[string]any) { m["inclusion_proof"] = []any{1} })},
		{"array", []byte(`[]`)},
		{"empty", nil},
		{"null", []byte(`null`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r, err := ParseReceipt(tc.data); !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseReceipt(%s) = %+v, %v; want ErrMalformed", tc.data, r, err)
			}
		})
	}
	// Optional fields may be absent.
	if _, err := ParseReceipt(edit(func(m map[string]any) { delete(m, "tlog_proof") })); err != nil {
		t.Errorf("without tlog_proof: %v", err)
	}
}
