// Package explanation assembles and verifies the explanation of a decision
// for the person concerned (record.Explanation): the decision, the full
// text of every rule it cites taken from the logged constitution record,
// its weights, candidate scores and provenance flags in plain words, its
// contest window and contests, and the inclusion proofs of every record
// against one signed checkpoint.
//
// Contracts:
//   - Everything an explanation shows, but for the entries, their indices
//     and proofs, the checkpoint and the contest window's length, is
//     derived from the entries by Assemble. Verify re-derives it from the
//     entries it has proven and requires the file to be byte for byte
//     what Encode makes of the result, so a file verifies only if every
//     byte of it is either proven by the log's signature or follows from
//     what is.
//   - The canonical form (Encode) is encoding/json of record.Explanation
//     without HTML escaping and without a trailing newline; Decode then
//     Encode is the identity on it. A reformatted, reordered or extended
//     file does not verify.
//   - Every signature on the checkpoint MUST be by a key given to Verify:
//     a line by an unknown key could change without the file failing.
//   - Pure: no I/O; never panics on any input. Like package verify, it
//     imports nothing from the server.
package explanation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
)

// timeFormat is the log's logged_at layout (UTC, nine fractional digits);
// contestable_until is written in it.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

// Encode returns the canonical bytes of e: the file the person downloads.
func Encode(e *record.Explanation) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, fmt.Errorf("explanation: encode: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Decode parses an explanation file strictly: one JSON object, no unknown
// fields, nothing after it. It checks neither form nor proofs (Verify
// does).
func Decode(data []byte) (*record.Explanation, error) {
	var e record.Explanation
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("%w: explanation JSON: %v", verify.ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: explanation JSON has data after the object", verify.ErrMalformed)
	}
	return &e, nil
}

// Assemble derives an explanation from proven records: decision and
// constitution are the two records (Index, Entry and InclusionProof set;
// LeafHash and Record are recomputed from Entry), contests those filed
// against the decision in log order, window the log's contest window.
// It fails when the records do not fit together: a decision entry that is
// not a decision, a constitution other than the one the decision cites or
// logged after it, a cited rule the constitution lacks, a contest of
// another decision, a resolution of another contest, or a contestable
// decision without a window of at least record.MinContestWindow.
func Assemble(origin, keyName, checkpoint string, decision, constitution *record.RecordProof, contests []record.ProvenContest, window time.Duration) (*record.Explanation, error) {
	if decision == nil || constitution == nil {
		return nil, fmt.Errorf("%w: explanation without its decision or constitution record", verify.ErrMalformed)
	}
	dp, denv, err := derive("decision", decision, record.KindDecision)
	if err != nil {
		return nil, err
	}
	var d record.Decision
	if err := json.Unmarshal(denv.Body, &d); err != nil {
		return nil, fmt.Errorf("%w: decision body: %v", verify.ErrMalformed, err)
	}
	cp, cenv, err := derive("constitution", constitution, record.KindConstitution)
	if err != nil {
		return nil, err
	}
	var c record.Constitution
	if err := json.Unmarshal(cenv.Body, &c); err != nil {
		return nil, fmt.Errorf("%w: constitution body: %v", verify.ErrMalformed, err)
	}
	if c.ConstitutionID != d.Constitution.ID || c.Version != d.Constitution.Version {
		return nil, fmt.Errorf("%w: the decision cites constitution %s version %s, the constitution record is %s version %s",
			verify.ErrMismatch, d.Constitution.ID, d.Constitution.Version, c.ConstitutionID, c.Version)
	}
	if cp.Index >= dp.Index {
		return nil, fmt.Errorf("%w: the constitution record is entry %d, not before the decision (entry %d)", verify.ErrMismatch, cp.Index, dp.Index)
	}
	e := &record.Explanation{Candidates: d.Candidates, Checkpoint: checkpoint, Constitution: cp, Decision: dp,
		DecisionID: d.DecisionID, Format: record.ExplanationFormat, KeyName: keyName, Origin: origin, Weights: d.Weights,
		Contests: []record.ProvenContest{}, Flags: []record.ExplainedFlag{}, Rules: []record.ExplainedRule{}}
	text := make(map[string]record.ConstitutionRule, len(c.Rules))
	for _, r := range c.Rules {
		text[r.RuleID] = r
	}
	for i, r := range d.Rules {
		cr, ok := text[r.RuleID]
		if !ok {
			return nil, fmt.Errorf("%w: the decision's rules[%d] cites %q, which constitution %s version %s does not have", verify.ErrMismatch, i, r.RuleID, c.ConstitutionID, c.Version)
		}
		e.Rules = append(e.Rules, record.ExplainedRule{Effect: r.Effect, Pillar: cr.Pillar, Rationale: r.Rationale, RuleID: r.RuleID, Text: cr.Text})
	}
	for _, f := range d.ProvenanceFlags {
		e.Flags = append(e.Flags, record.ExplainedFlag{Code: f.Code, Message: f.Message, PlainWords: PlainWords(f), Severity: f.Severity})
	}
	if d.Outcome.Contestable {
		if window < record.MinContestWindow || window%time.Second != 0 {
			return nil, fmt.Errorf("%w: contest window of %s, want whole seconds and at least %s (DSA Art. 20)", verify.ErrMismatch, window, record.MinContestWindow)
		}
		logged, err := time.Parse(time.RFC3339Nano, denv.LoggedAt)
		if err != nil {
			return nil, fmt.Errorf("%w: decision logged_at %q: %v", verify.ErrMalformed, denv.LoggedAt, err)
		}
		e.ContestWindow = &record.ContestWindow{ContestableUntil: logged.Add(window).UTC().Format(timeFormat), WindowSeconds: int64(window / time.Second)}
	}
	for i, pc := range contests {
		got, err := deriveContest(i, pc, dp)
		if err != nil {
			return nil, err
		}
		if i > 0 && got.Contest.Index <= e.Contests[i-1].Contest.Index {
			return nil, fmt.Errorf("%w: contests[%d] is entry %d, want contests in log order", verify.ErrMismatch, i, got.Contest.Index)
		}
		e.Contests = append(e.Contests, got)
	}
	return e, nil
}

// derive returns a copy of p with LeafHash and Record computed from Entry,
// which must be a record of kind.
func derive(what string, p *record.RecordProof, kind record.Kind) (*record.RecordProof, *record.Envelope, error) {
	if p == nil {
		return nil, nil, fmt.Errorf("%w: %s record is missing", verify.ErrMalformed, what)
	}
	var env record.Envelope
	if err := json.Unmarshal(p.Entry, &env); err != nil {
		return nil, nil, fmt.Errorf("%w: %s entry %d: %v", verify.ErrMalformed, what, p.Index, err)
	}
	if env.Kind != kind {
		return nil, nil, fmt.Errorf("%w: %s entry %d is a %q record, want %q", verify.ErrMismatch, what, p.Index, env.Kind, kind)
	}
	out := &record.RecordProof{Index: p.Index, Entry: p.Entry, LeafHash: verify.LeafHash(p.Entry), InclusionProof: p.InclusionProof, Record: &env}
	return out, &env, nil
}

func deriveContest(i int, pc record.ProvenContest, decision *record.RecordProof) (record.ProvenContest, error) {
	what := fmt.Sprintf("contests[%d]", i)
	cp, cenv, err := derive(what, pc.Contest, record.KindContest)
	if err != nil {
		return record.ProvenContest{}, err
	}
	var ct record.Contest
	if err := json.Unmarshal(cenv.Body, &ct); err != nil {
		return record.ProvenContest{}, fmt.Errorf("%w: %s body: %v", verify.ErrMalformed, what, err)
	}
	dv := ct.Decision
	if dv.Index != decision.Index || !bytes.Equal(dv.LeafHash, decision.LeafHash) {
		return record.ProvenContest{}, fmt.Errorf("%w: %s contests entry %d, not the decision (entry %d)", verify.ErrMismatch, what, dv.Index, decision.Index)
	}
	out := record.ProvenContest{Contest: cp}
	if pc.Resolution != nil {
		rp, renv, err := derive(what+".resolution", pc.Resolution, record.KindResolution)
		if err != nil {
			return record.ProvenContest{}, err
		}
		var r record.Resolution
		if err := json.Unmarshal(renv.Body, &r); err != nil {
			return record.ProvenContest{}, fmt.Errorf("%w: %s.resolution body: %v", verify.ErrMalformed, what, err)
		}
		if r.ContestID != ct.ContestID {
			return record.ProvenContest{}, fmt.Errorf("%w: %s.resolution resolves %q, not %q", verify.ErrMismatch, what, r.ContestID, ct.ContestID)
		}
		out.Resolution = rp
	}
	return out, nil
}

// KeyName is the "<name>+<hash>" of a note verifier key "<name>+<hash>+<key>".
func KeyName(vkey string) string {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[0] + "+" + parts[1]
}
