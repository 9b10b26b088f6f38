package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/transparency-dev/formats/proof"

	"github.com/fjaledger/fja/api"
	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
)

// encodingJSON is v as echo's serializer answers it: encoding/json with
// HTML escaping, and a newline.
func encodingJSON(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestReceiptJSONTricky: the hand-written encoder writes what
// encoding/json writes, for every kind of string and nil field.
func TestReceiptJSONTricky(t *testing.T) {
	strs := []string{"", "plain", "a\nb\r\tc", `q"b\s`, "<html>&amp;", "<b>", "a>b", "&", "\x1b", "\u00e9\u2028", "\u2028\u2029", "\x00\x01\x1f\x7f",
		"— em dash and ünïcödé 🙂", "bad \xff utf8 \xc3", "\b\f", "log.example/fja\n42\nAAAA=\n\n— log.example/fja abc=\n— witness.example xyz=\n"}
	for _, s := range strs {
		for _, r := range []*verify.Receipt{
			{Origin: s, Index: 1<<64 - 1, LeafHash: []byte{1, 2, 3}, Entry: []byte(s), Checkpoint: s,
				InclusionProof: [][]byte{{}, {0xff, 0xfe}, nil}, TLogProof: s, ContestToken: s},
			{Origin: s},
			{InclusionProof: [][]byte{}, ContestToken: "tok-" + s},
		} {
			want := encodingJSON(t, r)
			got := append(api.AppendReceiptJSON(nil, r), '\n')
			if !bytes.Equal(got, want) {
				t.Errorf("receipt with %q:\n got %s\nwant %s", s, got, want)
			}
			results := []api.BatchResult{
				{Receipt: r, Duplicate: true, WitnessPending: true},
				{Error: &api.Error{Status: 400, ErrorBody: record.ErrorBody{Code: "invalid_record", Message: s, Field: s}}},
				{Error: &api.Error{ErrorBody: record.ErrorBody{Code: s, Message: "m"}}},
				{},
			}
			want = encodingJSON(t, map[string]any{"results": results})
			got = append(api.AppendBatchJSON(nil, results), '\n')
			if !bytes.Equal(got, want) {
				t.Errorf("batch with %q:\n got %s\nwant %s", s, got, want)
			}
		}
	}
	if got, want := append(api.AppendReceiptJSON(nil, nil), '\n'), encodingJSON(t, (*verify.Receipt)(nil)); !bytes.Equal(got, want) {
		t.Errorf("nil receipt: got %s, want %s", got, want)
	}
}

// cosigner is a witness that cosigns every checkpoint of the log at once
// (the cosignature a line of a made-up witness: the server does not
// check it), or (down) never.
type cosigner struct {
	log  *ledger.Log
	down bool
}

func (c *cosigner) Latest() ([]byte, uint64) {
	if c.down {
		return nil, 0
	}
	h := c.log.Head()
	return append(append([]byte{}, h.Checkpoint...), "— witness.example/w <&> AAAAAAAAAAAAAAAA\n"...), h.Size
}

func (c *cosigner) WaitCosigned(ctx context.Context, size uint64) ([]byte, uint64, error) {
	if c.down {
		<-ctx.Done()
		return nil, 0, ctx.Err()
	}
	cp, got := c.Latest()
	return cp, got, nil
}

// TestReceiptJSONIdentical: the answers of the append routes are, byte for
// byte, encoding/json's encoding of what they decode to — real receipts
// with contest tokens, private content, duplicates, record errors, a
// witness-cosigned checkpoint and a witness that is down (fail-closed:
// witness_pending).
func TestReceiptJSONIdentical(t *testing.T) {
	for _, w := range []struct {
		name string
		opt  apitest.Option
	}{
		{"no witness", nil},
		{"cosigned", apitest.WithAPI(func(c *api.Config) { c.Witness = &cosigner{log: c.Log} })},
		{"witness down", apitest.WithAPI(func(c *api.Config) {
			c.Witness, c.WitnessMode, c.WitnessWait = &cosigner{log: c.Log, down: true}, api.WitnessClosed, time.Millisecond
		})},
	} {
		t.Run(w.name, func(t *testing.T) {
			s := newServer(t, w.opt)
			s.publishConstitution()
			refused := example(t, "decision-refused.json")
			private := example(t, "decision-modified-private.json")
			answered := example(t, "decision-answered.json")
			bad := bytes.Replace(refused, []byte(`"effect": "refuse"`), []byte(`"effect": "allow"`), 1)

			code, b := s.Do("POST", "/v1/decisions", auth.Producer, refused)
			if code != http.StatusCreated {
				t.Fatalf("POST /v1/decisions: %d %s", code, b)
			}
			var r verify.Receipt
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			if r.ContestToken == "" {
				t.Fatalf("receipt has no contest token: %s", b)
			}
			if want := encodingJSON(t, &r); !bytes.Equal(b, want) {
				t.Fatalf("single answer:\n got %s\nwant %s", b, want)
			}

			batch := mustJSON(t, []json.RawMessage{private, answered, bad, refused, []byte(`{"x":1}`)})
			code, b = s.Do("POST", "/v1/decisions:batch", auth.Producer, batch)
			if code != http.StatusOK {
				t.Fatalf("batch: %d %s", code, b)
			}
			var res struct {
				Results []api.BatchResult `json:"results"`
			}
			if err := json.Unmarshal(b, &res); err != nil || len(res.Results) != 5 {
				t.Fatalf("batch answer: %v, %s", err, b)
			}
			if res.Results[0].Receipt == nil || res.Results[0].Receipt.ContestToken == "" || res.Results[2].Error == nil ||
				!res.Results[3].Duplicate || res.Results[4].Error == nil {
				t.Fatalf("batch answer is not what was sent: %s", b)
			}
			if down := w.name == "witness down"; res.Results[0].WitnessPending != down {
				t.Fatalf("witness_pending is %v, want %v: %s", res.Results[0].WitnessPending, down, b)
			}
			if w.name == "cosigned" && !bytes.Contains(b, []byte(`witness.example/w \u003c\u0026\u003e`)) {
				t.Fatalf("receipt is not against the cosigned checkpoint: %s", b)
			}
			if want := encodingJSON(t, map[string]any{"results": res.Results}); !bytes.Equal(b, want) {
				t.Fatalf("batch answer:\n got %s\nwant %s", b, want)
			}
			// ?pretty is left to echo: indented.
			code, b = s.Do("POST", "/v1/decisions:batch?pretty", auth.Producer, mustJSON(t, []json.RawMessage{answered}))
			if code != http.StatusOK || !bytes.HasPrefix(b, []byte("{\n  \"results\"")) {
				t.Fatalf("pretty batch: %d %s", code, b)
			}
		})
	}
}

// TestTLogProofText: the tlog-proof of a receipt is what the formats
// library marshals, for proofs of every length, and for hashes that are
// not 32 bytes (left to the library).
func TestTLogProofText(t *testing.T) {
	cp := []byte("log.example/fja\n7\nAAAA\n\n— log.example/fja sig=\n")
	var hashes [][]byte
	for n := 0; n < 40; n++ {
		for _, extra := range [][]byte{nil, make([]byte, 31), make([]byte, 33)} {
			hs := hashes
			if extra != nil {
				hs = append(hs[:len(hs):len(hs)], extra)
			}
			fixed := make([][sha256.Size]byte, len(hs))
			for i, h := range hs {
				copy(fixed[i][:], h)
			}
			for _, idx := range []uint64{0, uint64(n) * 12345, 1<<64 - 1} {
				want := string(proof.TLogProof{Index: idx, Hashes: fixed, Checkpoint: cp}.Marshal())
				if got := api.TLogProofText(idx, hs, cp); got != want {
					t.Fatalf("%d hashes (extra %d bytes), index %d:\n got %q\nwant %q", len(hs), len(extra), idx, got, want)
				}
			}
		}
		h := sha256.Sum256([]byte{byte(n)})
		hashes = append(hashes, h[:])
	}
}

// BenchmarkBatchAnswer: a 250-record batch answer of realistic receipts
// (1.2 kB entries, 17-hash proofs), by encoding/json (as echo encoded it)
// and by hand.
func BenchmarkBatchAnswer(b *testing.B) {
	cp := []byte("log.example/fja\n131072\nq7o5sPzCSmAYo0jQHHQlhFVLn+UPyZhNKiGl5T6NLRs=\n\n— log.example/fja Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n")
	results := make([]api.BatchResult, 250)
	for i := range results {
		proof := make([][]byte, 17)
		for j := range proof {
			h := sha256.Sum256([]byte{byte(i), byte(j)})
			proof[j] = h[:]
		}
		entry := bytes.Repeat([]byte(`{"body":"x"}`), 100)
		lh := sha256.Sum256(entry)
		r := &verify.Receipt{Origin: "log.example/fja", Index: uint64(100000 + i), LeafHash: lh[:], Entry: entry, Checkpoint: string(cp),
			InclusionProof: proof, TLogProof: api.TLogProofText(uint64(100000+i), proof, cp), ContestToken: "ct1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
		results[i] = api.BatchResult{Receipt: r}
	}
	b.Run("encoding/json", func(b *testing.B) {
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			if err := json.NewEncoder(&buf).Encode(map[string]any{"results": results}); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(int64(buf.Len()))
	})
	b.Run("by hand", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf = api.AppendBatchJSON(buf[:0], results)
		}
		b.SetBytes(int64(len(buf)))
	})
}
