package api

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/transparency-dev/formats/proof"

	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/verify"
)

// NewReceipt makes the receipt (DESIGN.md §5) of an acknowledged append:
// the entry, its leaf hash, the checkpoint that covers it and the inclusion
// proof against that checkpoint, also as C2SP tlog-proof text. It verifies
// offline with verify.Receipt.Verify and the log's verifier key.
func NewReceipt(origin string, ack *ledger.Ack) *verify.Receipt {
	return &verify.Receipt{
		Origin:         origin,
		Index:          ack.Index,
		LeafHash:       ack.LeafHash,
		Entry:          ack.Entry,
		Checkpoint:     string(ack.Checkpoint),
		InclusionProof: nonNil(ack.Proof),
		TLogProof:      tlogProofText(ack.Index, ack.Proof, ack.Checkpoint),
	}
}

// tlogProofHeader is the first line of a C2SP tlog-proof.
const tlogProofHeader = "c2sp.org/tlog-proof@v1"

// tlogProofText is the C2SP tlog-proof of the entry at index, with no
// extra data: what proof.TLogProof.Marshal writes (byte for byte, see
// TestTLogProofText), without fmt and its copies.
func tlogProofText(index uint64, hashes [][]byte, checkpoint []byte) string {
	for _, h := range hashes {
		if len(h) != sha256.Size {
			// Not a proof the log makes: left to the library (which pads
			// or cuts each hash to 32 bytes).
			hs := make([][sha256.Size]byte, len(hashes))
			for i, h := range hashes {
				copy(hs[i][:], h)
			}
			return string(proof.TLogProof{Index: index, Hashes: hs, Checkpoint: checkpoint}.Marshal())
		}
	}
	n := base64.StdEncoding.EncodedLen(sha256.Size) + 1
	b := make([]byte, 0, len(tlogProofHeader)+len("\nindex \n")+20+len(hashes)*n+1+len(checkpoint))
	b = append(b, tlogProofHeader+"\nindex "...)
	b = strconv.AppendUint(b, index, 10)
	b = append(b, '\n')
	for _, h := range hashes {
		b = base64.StdEncoding.AppendEncode(b, h)
		b = append(b, '\n')
	}
	b = append(b, '\n')
	b = append(b, checkpoint...)
	return string(b)
}

// appendReceiptJSON appends r as encoding/json would encode it (and its
// HTML escaping, which echo's serializer keeps on), byte for byte, without
// reflection or re-validating its own output. TestReceiptJSONIdentical
// compares the two on real receipts.
func appendReceiptJSON(b []byte, r *verify.Receipt) []byte {
	if r == nil {
		return append(b, "null"...)
	}
	b = append(b, `{"origin":`...)
	b = appendJSONString(b, r.Origin)
	b = append(b, `,"index":`...)
	b = strconv.AppendUint(b, r.Index, 10)
	b = append(b, `,"leaf_hash":`...)
	b = appendJSONBytes(b, r.LeafHash)
	b = append(b, `,"entry":`...)
	b = appendJSONBytes(b, r.Entry)
	b = append(b, `,"checkpoint":`...)
	b = appendJSONString(b, r.Checkpoint)
	b = append(b, `,"inclusion_proof":`...)
	if r.InclusionProof == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, h := range r.InclusionProof {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONBytes(b, h)
		}
		b = append(b, ']')
	}
	b = append(b, `,"tlog_proof":`...)
	b = appendJSONString(b, r.TLogProof)
	if r.ContestToken != "" {
		b = append(b, `,"contest_token":`...)
		b = appendJSONString(b, r.ContestToken)
	}
	return append(b, '}')
}

// appendBatchJSON appends the POST /v1/decisions:batch answer
// {"results":[...]} as encoding/json would encode it.
func appendBatchJSON(b []byte, results []BatchResult) []byte {
	b = append(b, `{"results":`...)
	if results == nil {
		return append(b, "null}"...)
	}
	b = append(b, '[')
	for i := range results {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendBatchResultJSON(b, &results[i])
	}
	return append(b, "]}"...)
}

func appendBatchResultJSON(b []byte, res *BatchResult) []byte {
	b = append(b, '{')
	sep := false
	field := func(name string) {
		if sep {
			b = append(b, ',')
		}
		sep = true
		b = append(b, name...)
	}
	if res.Receipt != nil {
		field(`"receipt":`)
		b = appendReceiptJSON(b, res.Receipt)
	}
	if res.Duplicate {
		field(`"duplicate":true`)
	}
	if res.WitnessPending {
		field(`"witness_pending":true`)
	}
	if res.Error != nil {
		field(`"error":`)
		b = appendErrorJSON(b, res.Error)
	}
	return append(b, '}')
}

func appendErrorJSON(b []byte, e *Error) []byte {
	b = append(b, `{"code":`...)
	b = appendJSONString(b, e.Code)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, e.Message)
	if e.Field != "" {
		b = append(b, `,"field":`...)
		b = appendJSONString(b, e.Field)
	}
	return append(b, '}')
}

// appendJSONBytes appends p as encoding/json encodes a []byte: standard
// padded base64 in quotes, null for nil.
func appendJSONBytes(b, p []byte) []byte {
	if p == nil {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, p)
	return append(b, '"')
}

// appendJSONString appends s quoted as encoding/json quotes it with HTML
// escaping on. The common characters (printable ASCII but " \ < > &, the
// short escapes \n \r \t, valid UTF-8 but U+2028 and U+2029) are written
// here; a string with anything else is left to encoding/json itself.
func appendJSONString(b []byte, s string) []byte {
	start := len(b)
	b = append(b, '"')
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && plainJSON[s[j]] {
			j++
		}
		b = append(b, s[i:j]...)
		if i = j; i == len(s) {
			break
		}
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
			i++
			continue
		case c == '\n':
			b = append(b, '\\', 'n')
			i++
			continue
		case c == '\r':
			b = append(b, '\\', 'r')
			i++
			continue
		case c == '\t':
			b = append(b, '\\', 't')
			i++
			continue
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if !(r == utf8.RuneError && size == 1) && r != '\u2028' && r != '\u2029' {
				b = append(b, s[i:i+size]...)
				i += size
				continue
			}
		}
		// Anything else: encoding/json's own rules (HTML and control
		// characters, invalid UTF-8, the JavaScript line separators).
		q, err := json.Marshal(s)
		if err != nil {
			panic("api: json.Marshal of a string failed: " + err.Error()) // it never does
		}
		return append(b[:start], q...)
	}
	return append(b, '"')
}

// plainJSON marks the bytes encoding/json writes as they are: printable
// ASCII but '"', '\\' and the HTML characters '<', '>' and '&'.
var plainJSON = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()
