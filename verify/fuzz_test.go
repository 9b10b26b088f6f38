package verify

import (
	"bytes"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fjaledger/fja/verify/reftree"
)

var genCorpus = flag.Bool("gencorpus", false, "rewrite the seed corpora under testdata/fuzz")

// fuzzLeaves is the fixed log every fuzz target checks against: accepted
// inputs MUST agree with the reference tree over these leaves.
var fuzzLeaves = testEntries(40)

func proofFromBlob(b []byte) [][]byte {
	var p [][]byte
	for len(b) >= HashSize {
		p = append(p, b[:HashSize])
		b = b[HashSize:]
	}
	if len(b) > 0 {
		p = append(p, b) // a short trailing hash MUST be rejected
	}
	return p
}

// otherHash is a 32-byte hash unrelated to LeafHash(b) and to every tree
// root (short of a SHA-256 collision).
func otherHash(b []byte) []byte { return LeafHash(append([]byte("unrelated:"), b...)) }

func FuzzInclusion(f *testing.F) {
	for _, c := range []struct{ i, n int }{{0, 1}, {3, 7}, {39, 40}, {17, 32}} {
		f.Add(uint64(c.i), uint64(c.n), bytes.Join(reftree.InclusionProof(c.i, fuzzLeaves[:c.n]), nil), false)
	}
	f.Add(uint64(1<<63), uint64(1<<64-1), []byte{}, true)
	f.Fuzz(func(t *testing.T, index, size uint64, blob []byte, raw bool) {
		p := proofFromBlob(blob)
		if raw {
			// Arbitrary statement against an arbitrary root: MUST NOT panic
			// and MUST reject (finding a valid proof would break SHA-256).
			if Inclusion(index, size, LeafHash(blob), p, otherHash(blob)) == nil {
				t.Fatalf("accepted a proof against an arbitrary root")
			}
			return
		}
		n := size%uint64(len(fuzzLeaves)) + 1
		i := index % n
		root := reftree.Root(fuzzLeaves[:n])
		err := Inclusion(i, n, LeafHash(fuzzLeaves[i]), p, root)
		want := reftree.InclusionProof(int(i), fuzzLeaves[:n])
		if (err == nil) != equalProofs(p, want) {
			t.Fatalf("Inclusion(%d, %d) = %v, but proof equal to reference is %v", i, n, err, equalProofs(p, want))
		}
		if err != nil && !errors.Is(err, ErrBadProof) && !errors.As(err, new(*RootMismatchError)) {
			t.Fatalf("error %v is neither ErrBadProof nor *RootMismatchError", err)
		}
	})
}

func FuzzConsistency(f *testing.F) {
	for _, c := range []struct{ m, n int }{{0, 1}, {3, 7}, {4, 40}, {17, 32}, {40, 40}} {
		f.Add(uint64(c.m), uint64(c.n), bytes.Join(reftree.ConsistencyProof(c.m, fuzzLeaves[:c.n]), nil), false)
	}
	f.Add(uint64(1<<64-2), uint64(1<<64-1), make([]byte, 64), true)
	f.Fuzz(func(t *testing.T, size1, size2 uint64, blob []byte, raw bool) {
		p := proofFromBlob(blob)
		if raw {
			if Consistency(size1, size2, p, LeafHash(blob), otherHash(blob)) == nil {
				t.Fatalf("accepted a proof between arbitrary roots")
			}
			return
		}
		n := size2%uint64(len(fuzzLeaves)) + 1
		m := size1 % (n + 1)
		err := Consistency(m, n, p, reftree.Root(fuzzLeaves[:m]), reftree.Root(fuzzLeaves[:n]))
		want := reftree.ConsistencyProof(int(m), fuzzLeaves[:n])
		if (err == nil) != equalProofs(p, want) {
			t.Fatalf("Consistency(%d, %d) = %v, but proof equal to reference is %v", m, n, err, equalProofs(p, want))
		}
	})
}

func FuzzOpenCheckpoint(f *testing.F) {
	for _, s := range checkpointSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, signed []byte) {
		cp, err := OpenCheckpoint(signed, testOrigin, testVKey, witVKey)
		if err != nil {
			if cp != nil {
				t.Fatal("checkpoint returned with an error")
			}
			return
		}
		// Only our fixed key signs: an accepted body MUST be one we signed,
		// so it is canonical and its root is the reference root.
		body := checkpointText(cp.Origin, cp.Size, cp.Hash)
		for _, e := range cp.Extensions {
			body += e + "\n"
		}
		if cp.Note.Text != body || !bytes.Equal(cp.Raw, signed) {
			t.Fatalf("accepted non-canonical checkpoint %q", cp.Note.Text)
		}
		// The signature block is canonical too: it is exactly the lines
		// "— name base64" of the signatures note.Open kept, each once, with
		// canonical base64 (no second encoding of a signature).
		block := string(signed[len(body)+1:])
		n := 0
		for _, sig := range append(cp.Note.Sigs, cp.Note.UnverifiedSigs...) {
			raw, err := base64.StdEncoding.DecodeString(sig.Base64)
			line := "\u2014 " + sig.Name + " " + sig.Base64 + "\n"
			if err != nil || base64.StdEncoding.EncodeToString(raw) != sig.Base64 || strings.Count(block, line) != 1 {
				t.Fatalf("accepted non-canonical signature line %q in %q", line, block)
			}
			n += len(line)
		}
		if n != len(block) {
			t.Fatalf("accepted signature block %q with lines note.Open dropped", block)
		}
		if cp.Size > uint64(len(fuzzLeaves)) || !bytes.Equal(cp.Hash, reftree.Root(fuzzLeaves[:cp.Size])) {
			t.Fatalf("accepted checkpoint with size %d and root %x not from the reference log", cp.Size, cp.Hash)
		}
	})
}

func FuzzParseReceipt(f *testing.F) {
	for _, s := range receiptSeeds(f) {
		f.Add(s)
	}
	f.Add([]byte(`{"origin":"o","index":0,"leaf_hash":"","entry":"","checkpoint":"","inclusion_proof":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseReceipt(data)
		if err != nil {
			return
		}
		// Accepted receipts round-trip through encoding/json unchanged.
		again, err := ParseReceipt(marshalReceipt(t, r))
		if err != nil {
			t.Fatalf("re-parsing a marshalled receipt: %v", err)
		}
		if !reflect.DeepEqual(r, again) {
			t.Fatalf("round trip changed the receipt:\n%+v\n%+v", r, again)
		}
		if len(r.LeafHash) != HashSize {
			t.Fatalf("accepted %d-byte leaf hash", len(r.LeafHash))
		}
	})
}

func FuzzReceiptVerify(f *testing.F) {
	for _, s := range receiptSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, cp, err := VerifyReceipt(data, testVKey)
		if err != nil {
			return
		}
		// Soundness: an accepted receipt states a true fact about the
		// reference log.
		if cp.Size > uint64(len(fuzzLeaves)) || !bytes.Equal(cp.Hash, reftree.Root(fuzzLeaves[:cp.Size])) {
			t.Fatalf("accepted checkpoint not from the reference log")
		}
		if r.Index >= cp.Size || !bytes.Equal(r.Entry, fuzzLeaves[r.Index]) {
			t.Fatalf("accepted entry %q at index %d, which the log does not hold", r.Entry, r.Index)
		}
	})
}

func checkpointSeeds(tb testing.TB) [][]byte {
	s := mustSigner(testSKey)
	w := mustSigner(witSKey)
	root := reftree.Root(fuzzLeaves[:7])
	text := checkpointText(testOrigin, 7, root)
	return [][]byte{
		signText(tb, text, s),
		signText(tb, text, s, w),
		signText(tb, text+"extension\n", s),
		signText(tb, checkpointText(testOrigin, 40, reftree.Root(fuzzLeaves)), w, s),
		[]byte(text + "\n\u2014 " + testOrigin + " AAAAAAAA\n"),
	}
}

func receiptSeeds(tb testing.TB) [][]byte {
	s := mustSigner(testSKey)
	var out [][]byte
	for _, c := range []struct{ i, n int }{{0, 1}, {5, 9}, {39, 40}} {
		out = append(out, marshalReceipt(tb, makeReceipt(tb, fuzzLeaves, c.i, c.n, s)))
	}
	r := makeReceipt(tb, fuzzLeaves, 2, 3, s)
	r.TLogProof = ""
	r.ContestToken = "token"
	return append(out, marshalReceipt(tb, r))
}

// TestGenerateCorpus writes the seed corpora (go test -run
// TestGenerateCorpus -gencorpus). The seeds are deterministic: the keys
// are derived from fixed labels and Ed25519 signing is deterministic.
func TestGenerateCorpus(t *testing.T) {
	if !*genCorpus {
		t.Skip("pass -gencorpus to rewrite testdata/fuzz")
	}
	write := func(target string, i int, args ...any) {
		var b strings.Builder
		b.WriteString("go test fuzz v1\n")
		for _, a := range args {
			switch a := a.(type) {
			case []byte:
				fmt.Fprintf(&b, "[]byte(%q)\n", a)
			case uint64:
				fmt.Fprintf(&b, "uint64(%d)\n", a)
			case bool:
				fmt.Fprintf(&b, "bool(%v)\n", a)
			}
		}
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%02d", i)), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range checkpointSeeds(t) {
		write("FuzzOpenCheckpoint", i, s)
	}
	for i, s := range receiptSeeds(t) {
		write("FuzzParseReceipt", i, s)
		write("FuzzReceiptVerify", i, s)
	}
	bad := marshalReceipt(t, makeReceipt(t, fuzzLeaves, 5, 9, mustSigner(otherSKey)))
	write("FuzzReceiptVerify", 10, bad)
	write("FuzzParseReceipt", 10, bytes.Replace(bad, []byte(`"index"`), []byte(`"Index"`), 1))
	for i, c := range []struct{ i, n int }{{1, 2}, {12, 31}, {0, 40}} {
		write("FuzzInclusion", i, uint64(c.i), uint64(c.n), bytes.Join(reftree.InclusionProof(c.i, fuzzLeaves[:c.n]), nil), false)
	}
	write("FuzzInclusion", 9, uint64(5), uint64(3), make([]byte, 33), true)
	for i, c := range []struct{ m, n int }{{1, 2}, {7, 31}, {32, 40}} {
		write("FuzzConsistency", i, uint64(c.m), uint64(c.n), bytes.Join(reftree.ConsistencyProof(c.m, fuzzLeaves[:c.n]), nil), false)
	}
	write("FuzzConsistency", 9, uint64(0), uint64(0), []byte{}, true)
	for i, d := range diffInclusionSeeds() {
		write("FuzzDifferentialInclusion", i, d.seed, d.period, d.a, d.b, d.ops)
	}
	for i, d := range diffConsistencySeeds() {
		write("FuzzDifferentialConsistency", i, d.seed, d.period, d.a, d.b, d.ops)
	}
}
