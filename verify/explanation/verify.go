package explanation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
)

// Verify checks an explanation file offline with nothing but the log's
// verifier key (and any second log key, as for verify.OpenCheckpoint). It
// succeeds only if:
//   - the file is exactly the canonical encoding (Encode) of what it
//     decodes to, of format record.ExplanationFormat;
//   - key_name is the name and hash of logKey;
//   - the checkpoint opens for origin under logKey, and carries no
//     signature by a key not given;
//   - the decision, constitution, contest and resolution entries are each
//     included at their index in the checkpoint's tree;
//   - the rest (leaf hashes, records shown, rule texts, weights, scores,
//     flags in plain words, contest window) is what Assemble derives from
//     those entries.
//
// It returns the explanation and the opened checkpoint. It does not say
// whether every contest is listed, nor how the checkpoint relates to the
// log's current one: the caller checks consistency for that.
func Verify(data []byte, logKey string, others ...string) (*record.Explanation, *verify.Checkpoint, error) {
	e, err := Decode(data)
	if err != nil {
		return nil, nil, err
	}
	canon, err := Encode(e)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", verify.ErrMalformed, err)
	}
	if !bytes.Equal(canon, data) {
		return nil, nil, fmt.Errorf("%w: the explanation is not in canonical form (first difference at byte %d of %d): it was reformatted or changed", verify.ErrMalformed, firstDiff(canon, data), len(data))
	}
	if e.Format != record.ExplanationFormat {
		return nil, nil, fmt.Errorf("%w: format is %q, want %q", verify.ErrMalformed, e.Format, record.ExplanationFormat)
	}
	if want := KeyName(logKey); e.KeyName != want {
		return nil, nil, fmt.Errorf("%w: key_name is %q, the verifier key given is %q", verify.ErrBadKey, e.KeyName, want)
	}
	cp, err := verify.OpenCheckpoint([]byte(e.Checkpoint), e.Origin, logKey, others...)
	if err != nil {
		return nil, nil, fmt.Errorf("explanation checkpoint: %w", err)
	}
	if n := len(cp.Note.UnverifiedSigs); n > 0 {
		return nil, nil, fmt.Errorf("%w: the checkpoint carries %d signature(s) by keys not given (first %s+%08x); give every key that signed it",
			verify.ErrBadSignature, n, cp.Note.UnverifiedSigs[0].Name, cp.Note.UnverifiedSigs[0].Hash)
	}
	if err := proveAll(e, cp); err != nil {
		return nil, nil, err
	}
	var window time.Duration
	if e.ContestWindow != nil {
		if s := e.ContestWindow.WindowSeconds; s < 0 || s > int64(1<<62)/int64(time.Second) {
			return nil, nil, fmt.Errorf("%w: contest_window.window_seconds is %d, want a duration in seconds", verify.ErrMalformed, s)
		}
		window = time.Duration(e.ContestWindow.WindowSeconds) * time.Second
	}
	want, err := Assemble(e.Origin, e.KeyName, e.Checkpoint, e.Decision, e.Constitution, e.Contests, window)
	if err != nil {
		return nil, nil, err
	}
	if err := same(want, e); err != nil {
		return nil, nil, err
	}
	return e, cp, nil
}

// proveAll checks every record's inclusion proof against cp.
func proveAll(e *record.Explanation, cp *verify.Checkpoint) error {
	type named struct {
		what string
		p    *record.RecordProof
	}
	all := []named{{"decision", e.Decision}, {"constitution", e.Constitution}}
	for i, c := range e.Contests {
		all = append(all, named{fmt.Sprintf("contests[%d].contest", i), c.Contest})
		if c.Resolution != nil {
			all = append(all, named{fmt.Sprintf("contests[%d].resolution", i), c.Resolution})
		}
	}
	for _, n := range all {
		if n.p == nil {
			return fmt.Errorf("%w: %s is missing", verify.ErrMalformed, n.what)
		}
		if err := verify.Inclusion(n.p.Index, cp.Size, verify.LeafHash(n.p.Entry), n.p.InclusionProof, cp.Hash); err != nil {
			return fmt.Errorf("%s entry %d is not proven in the checkpoint of size %d: %w", n.what, n.p.Index, cp.Size, err)
		}
	}
	return nil
}

// same requires got to be what was derived, naming the first part shown
// that differs.
func same(want, got *record.Explanation) error {
	parts := []struct {
		name      string
		want, got any
	}{
		{"decision", want.Decision, got.Decision},
		{"constitution", want.Constitution, got.Constitution},
		{"decision_id", want.DecisionID, got.DecisionID},
		{"rules", want.Rules, got.Rules},
		{"weights", want.Weights, got.Weights},
		{"candidates", want.Candidates, got.Candidates},
		{"flags", want.Flags, got.Flags},
		{"contest_window", want.ContestWindow, got.ContestWindow},
		{"contests", want.Contests, got.Contests},
		{"the whole file", want, got},
	}
	for _, p := range parts {
		w, err1 := json.Marshal(p.want)
		g, err2 := json.Marshal(p.got)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("%w: %s does not encode", verify.ErrMalformed, p.name)
		}
		if !bytes.Equal(w, g) {
			return fmt.Errorf("%w: %s shown is not what the logged records say (first difference at byte %d)", verify.ErrMismatch, p.name, firstDiff(w, g))
		}
	}
	return nil
}

func firstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
