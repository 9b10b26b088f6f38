package verify

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"

	"github.com/transparency-dev/formats/proof"
)

// Receipt is the JSON receipt of DESIGN §5. Its JSON shape is fixed:
// encoding/json renders []byte fields as standard padded base64.
type Receipt struct {
	Origin         string   `json:"origin"`
	Index          uint64   `json:"index"`
	LeafHash       []byte   `json:"leaf_hash"`
	Entry          []byte   `json:"entry"`
	Checkpoint     string   `json:"checkpoint"`
	InclusionProof [][]byte `json:"inclusion_proof"`
	TLogProof      string   `json:"tlog_proof"`
	ContestToken   string   `json:"contest_token,omitempty"`
}

// wireReceipt distinguishes a missing or null field (nil) from a zero value,
// and keeps base64 as text so that ParseReceipt can require canonical form.
type wireReceipt struct {
	Origin         *string   `json:"origin"`
	Index          *uint64   `json:"index"`
	LeafHash       *string   `json:"leaf_hash"`
	Entry          *string   `json:"entry"`
	Checkpoint     *string   `json:"checkpoint"`
	InclusionProof *[]string `json:"inclusion_proof"`
	TLogProof      *string   `json:"tlog_proof"`
	ContestToken   *string   `json:"contest_token"`
}

var receiptFields = map[string]bool{
	"origin": true, "index": true, "leaf_hash": true, "entry": true,
	"checkpoint": true, "inclusion_proof": true, "tlog_proof": true, "contest_token": true,
}

// ParseReceipt decodes a receipt strictly. It MUST reject: anything but one
// JSON object (trailing data included); unknown, duplicate or
// differently-cased keys; wrong JSON types; a missing or null origin, index,
// leaf_hash, entry, checkpoint or inclusion_proof; base64 that is not
// canonical standard padded base64; a leaf_hash or proof hash that is not 32
// bytes. tlog_proof and contest_token MAY be absent. It checks no
// signature or proof: call Verify for that.
func ParseReceipt(data []byte) (*Receipt, error) {
	if err := checkKeys(data); err != nil {
		return nil, err
	}
	var w wireReceipt
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("%w: receipt JSON: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: receipt JSON has trailing data after the object", ErrMalformed)
	}
	missing := func(name string) error {
		return fmt.Errorf("%w: receipt has no %q field", ErrMalformed, name)
	}
	switch {
	case w.Origin == nil:
		return nil, missing("origin")
	case w.Index == nil:
		return nil, missing("index")
	case w.LeafHash == nil:
		return nil, missing("leaf_hash")
	case w.Entry == nil:
		return nil, missing("entry")
	case w.Checkpoint == nil:
		return nil, missing("checkpoint")
	case w.InclusionProof == nil:
		return nil, missing("inclusion_proof")
	}
	r := &Receipt{Origin: *w.Origin, Index: *w.Index, Checkpoint: *w.Checkpoint}
	var err error
	if r.LeafHash, err = decodeB64("leaf_hash", *w.LeafHash); err != nil {
		return nil, err
	}
	if err := checkHash("leaf_hash", r.LeafHash); err != nil {
		return nil, err
	}
	if r.Entry, err = decodeB64("entry", *w.Entry); err != nil {
		return nil, err
	}
	r.InclusionProof = make([][]byte, len(*w.InclusionProof))
	for i, s := range *w.InclusionProof {
		what := fmt.Sprintf("inclusion_proof[%d]", i)
		if r.InclusionProof[i], err = decodeB64(what, s); err != nil {
			return nil, err
		}
		if err := checkHash(what, r.InclusionProof[i]); err != nil {
			return nil, err
		}
	}
	if w.TLogProof != nil {
		r.TLogProof = *w.TLogProof
	}
	if w.ContestToken != nil {
		r.ContestToken = *w.ContestToken
	}
	return r, nil
}

// checkKeys requires data to start with a JSON object whose keys are all
// known receipt fields, spelled exactly, each at most once. encoding/json
// alone would match keys case-insensitively and let the last duplicate win.
func checkKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%w: receipt JSON: %v", ErrMalformed, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("%w: receipt JSON is %v, want an object", ErrMalformed, tok)
	}
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: receipt JSON: %v", ErrMalformed, err)
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("%w: receipt JSON key is %v, want a string", ErrMalformed, tok)
		}
		if !receiptFields[key] {
			return fmt.Errorf("%w: receipt has unknown field %q", ErrMalformed, key)
		}
		if seen[key] {
			return fmt.Errorf("%w: receipt has field %q more than once", ErrMalformed, key)
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return fmt.Errorf("%w: receipt field %q: %v", ErrMalformed, key, err)
		}
	}
	return nil
}

func decodeB64(what, s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || base64.StdEncoding.EncodeToString(b) != s {
		return nil, fmt.Errorf("%w: %s is not canonical standard base64", ErrMalformed, what)
	}
	return b, nil
}

// Verify checks the receipt offline with only the log's verifier key (and
// optional extra keys, see OpenCheckpoint). It succeeds only if:
//   - the checkpoint opens for origin r.Origin under logKey;
//   - leaf_hash is 32 bytes and equals LeafHash(entry);
//   - index < checkpoint size and the inclusion proof leads from leaf_hash
//     at index to the checkpoint root;
//   - tlog_proof, when non-empty, is a canonical C2SP tlog-proof with the
//     same index, the same hashes in the same order, and byte-identical
//     checkpoint (its extra data, if any, is not interpreted).
//
// It returns the opened checkpoint. It does not check contest_token.
func (r *Receipt) Verify(logKey string, others ...string) (*Checkpoint, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: nil receipt", ErrMalformed)
	}
	if err := checkHash("leaf_hash", r.LeafHash); err != nil {
		return nil, err
	}
	if got := LeafHash(r.Entry); !bytes.Equal(got, r.LeafHash) {
		return nil, fmt.Errorf("%w: leaf_hash is %x, but the entry hashes to %x", ErrMismatch, r.LeafHash, got)
	}
	cp, err := OpenCheckpoint([]byte(r.Checkpoint), r.Origin, logKey, others...)
	if err != nil {
		return nil, fmt.Errorf("receipt checkpoint: %w", err)
	}
	if err := Inclusion(r.Index, cp.Size, r.LeafHash, r.InclusionProof, cp.Hash); err != nil {
		return nil, fmt.Errorf("receipt inclusion_proof: %w", err)
	}
	if r.TLogProof != "" {
		if err := r.checkTLogProof(); err != nil {
			return nil, err
		}
	}
	return cp, nil
}

func (r *Receipt) checkTLogProof() error {
	var p proof.TLogProof
	if err := p.Unmarshal([]byte(r.TLogProof)); err != nil {
		return fmt.Errorf("%w: tlog_proof: %v", ErrMalformed, err)
	}
	if !bytes.Equal(p.Marshal(), []byte(r.TLogProof)) {
		return fmt.Errorf("%w: tlog_proof is not in canonical C2SP tlog-proof form", ErrMalformed)
	}
	if p.Index != r.Index {
		return fmt.Errorf("%w: tlog_proof index is %d, receipt index is %d", ErrMismatch, p.Index, r.Index)
	}
	if len(p.Hashes) != len(r.InclusionProof) {
		return fmt.Errorf("%w: tlog_proof has %d hashes, inclusion_proof has %d", ErrMismatch, len(p.Hashes), len(r.InclusionProof))
	}
	for i := range p.Hashes {
		if !bytes.Equal(p.Hashes[i][:], r.InclusionProof[i]) {
			return fmt.Errorf("%w: tlog_proof hash %d is %x, inclusion_proof has %x", ErrMismatch, i, p.Hashes[i], r.InclusionProof[i])
		}
	}
	if !bytes.Equal(p.Checkpoint, []byte(r.Checkpoint)) {
		return fmt.Errorf("%w: tlog_proof checkpoint (%d bytes) differs from receipt checkpoint (%d bytes)", ErrMismatch, len(p.Checkpoint), len(r.Checkpoint))
	}
	return nil
}

// VerifyReceipt is ParseReceipt followed by Verify. On a verification
// failure it returns the parsed receipt with the error.
func VerifyReceipt(data []byte, logKey string, others ...string) (*Receipt, *Checkpoint, error) {
	r, err := ParseReceipt(data)
	if err != nil {
		return nil, nil, err
	}
	cp, err := r.Verify(logKey, others...)
	if err != nil {
		return r, nil, err
	}
	return r, cp, nil
}
