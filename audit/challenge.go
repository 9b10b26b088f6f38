package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/verify/record"
)

// The rule index, for listing the challenges and amendments of a rule (the
// rules view, GET /v1/rules), written in the same commit as the record and
// rebuilt by Reindex (recordIndex):
//
//	"rl/" <constitution_id> "@" <version> 0x00 <rule_id> 0x00 <kind> "/" <id>  ->  index (8, big-endian)
//
// One key per challenge (its rule) and one per rule an amendment changes
// (the version it amends). Ids hold no 0x00 nor '@', so the prefix
// "rl/" ref 0x00 rule_id 0x00 lists exactly one rule's records, sorted by
// kind, then id. Book.RuleRecords reads it.
const prefixRule = "rl/"

func ruleKey(ref, ruleID string, kind Kind, id string) []byte {
	return []byte(prefixRule + ref + "\x00" + ruleID + "\x00" + recordKey(kind, id))
}

// RuleRecord is one challenge or amendment of a rule, from the rule index.
type RuleRecord struct {
	Kind  Kind
	ID    string
	Index uint64
}

// RuleRecords lists the challenges and amendments of rule ruleID of the
// constitution ref ("id@version"), by kind then id.
func (b *Book) RuleRecords(ctx context.Context, ref, ruleID string) ([]RuleRecord, error) {
	prefix := []byte(prefixRule + ref + "\x00" + ruleID + "\x00")
	var out []RuleRecord
	var perr error
	err := b.cfg.Index.Scan(ctx, prefix, nil, func(k, v []byte) bool {
		kind, id, ok := bytes.Cut(k[len(prefix):], []byte("/"))
		if !ok || len(v) != 8 {
			perr = fmt.Errorf("audit: malformed rule index key %q", k)
			return false
		}
		out = append(out, RuleRecord{Kind: Kind(kind), ID: string(id), Index: binary.BigEndian.Uint64(v)})
		return true
	})
	return out, errors.Join(err, perr)
}

func challengeIndex(idx uint64, c *Challenge) []ledger.KV {
	return append(kindIndex(KindChallenge), ledger.KV{Key: ruleKey(c.Rule.Ref(), c.Rule.RuleID, KindChallenge, c.ChallengeID),
		Value: binary.BigEndian.AppendUint64(nil, idx)})
}

func amendmentIndex(idx uint64, a *Amendment) []ledger.KV {
	kvs := kindIndex(KindAmendment)
	for _, ch := range a.Changes {
		kvs = append(kvs, ledger.KV{Key: ruleKey(a.Constitution.Ref(), ch.RuleID, KindAmendment, a.AmendmentID),
			Value: binary.BigEndian.AppendUint64(nil, idx)})
	}
	return kvs
}

// FileChallenge validates a POST /v1/challenges body and logs the
// challenge of a rule. Standing is either the contest token of a decision
// that cites the rule in that constitution version (decision_id and
// contest_token in the body; a wrong token and an unknown decision get the
// same ErrNotFound, as for contests), or, without them, stakeholder: the
// name of the caller's stakeholder bearer token ("" when the caller has
// none: ErrForbidden). The rule MUST exist in that published version;
// each evidence entry MUST name an existing decision, contest or
// resolution by its index and leaf hash. The grounds text is private
// content, sealed outside the tree; due_by is the log time plus the
// response window (Config.ResponseWindow, as for contests).
func (b *Book) FileChallenge(ctx context.Context, raw []byte, stakeholder string) (*Appended, *Challenge, error) {
	if err := Validate("append-challenge.v1", raw); err != nil {
		return nil, nil, err
	}
	var req ChallengeRequest
	if err := decodeStrict(raw, &req); err != nil {
		return nil, nil, err
	}
	if err := b.checkRule(req.Rule); err != nil {
		return nil, nil, err
	}
	c := Challenge{ChallengeID: req.ChallengeID, Rule: req.Rule, Evidence: req.Evidence}
	switch {
	case req.ContestToken != "":
		dec, d, err := b.decisionForToken(req.DecisionID, req.ContestToken)
		if err != nil {
			return nil, nil, err
		}
		cites := d.Constitution.Ref() == req.Rule.Ref() && slices.ContainsFunc(d.Rules, func(r AppliedRule) bool { return r.RuleID == req.Rule.RuleID })
		if !cites {
			return nil, nil, fmt.Errorf("%w: decision %s does not cite rule %s of %s; its contest token gives standing to challenge only the rules it cites (%s)",
				ErrForbidden, d.DecisionID, req.Rule.RuleID, req.Rule.Ref(), d.Constitution.Ref())
		}
		c.Standing = record.ChallengeStanding{Basis: record.StandingContestToken,
			Decision: &ContestedDecision{DecisionID: d.DecisionID, Index: dec.Index, LeafHash: ledger.LeafHash(dec.Entry)}}
	case stakeholder != "":
		c.Standing = record.ChallengeStanding{Basis: record.StandingStakeholder, Stakeholder: stakeholder}
	default:
		return nil, nil, fmt.Errorf("%w: a challenge needs the contest token of a decision citing the rule (decision_id and contest_token) or a stakeholder bearer token", ErrForbidden)
	}
	if err := b.checkEvidence(req.Evidence); err != nil {
		return nil, nil, err
	}
	if c.Evidence == nil {
		c.Evidence = []Evidence{}
	}
	// The digest covers the request without the grounds' text, the
	// grounds, and the standing (a token of another decision, or another
	// stakeholder, is another request).
	sent := req
	sent.Grounds.Text, sent.ContestToken = "", ""
	parts := make([][]byte, 3)
	for i, v := range []any{sent, req.Grounds, c.Standing} {
		p, err := canonicalRecord(v)
		if err != nil {
			return nil, nil, err
		}
		parts[i] = p
	}
	b.contestMu.Lock()
	defer b.contestMu.Unlock()
	key := recordKey(KindChallenge, req.ChallengeID)
	if _, found, err := b.cfg.Log.LookupKey([]byte(key)); err != nil {
		return nil, nil, err
	} else if found {
		a, err := b.appendRecord(ctx, &pendingRecord{kind: KindChallenge, id: req.ChallengeID, parts: parts})
		if err != nil {
			return nil, nil, err
		}
		got, err := b.challengeAt(a.Ack.Index)
		return a, got, err
	}
	salt, commitment, err := Commit([]byte(req.Grounds.Text))
	if err != nil {
		return nil, nil, err
	}
	c.Grounds = Grounds{Category: req.Grounds.Category, Commitment: commitment}
	pt := appendOpening(nil, []sealedPart{{name: "grounds", salt: salt, text: req.Grounds.Text}})
	stamp := func(t time.Time) ([]byte, error) {
		cc := c
		cc.DueBy = t.Add(b.cfg.ResponseWindow).UTC().Format(LoggedAtFormat)
		return canonicalRecord(cc)
	}
	if body, err := stamp(b.cfg.Now()); err != nil {
		return nil, nil, err
	} else if len(body) > ledger.MaxEntrySize-256 {
		return nil, nil, &ValidationError{Field: "evidence", Message: "the challenge record would be too large"}
	}
	m, slot, err := b.sealPrivate(key, pt, parts...)
	if err != nil {
		return nil, nil, err
	}
	a, err := b.appendStamped(ctx, &pendingRecord{kind: KindChallenge, id: req.ChallengeID, parts: parts, digest: m,
		slot: slot, sealed: true,
		index: func(i uint64, _ time.Time) []ledger.KV { return challengeIndex(i, &c) }}, stamp)
	if err != nil {
		return nil, nil, err
	}
	got, err := b.challengeAt(a.Ack.Index)
	return a, got, err
}

// checkRule refuses a rule that is not in a published constitution.
func (b *Book) checkRule(r RuleRef) error {
	b.mu.RLock()
	rules, ok := b.constitutions[r.Ref()]
	b.mu.RUnlock()
	switch {
	case !ok:
		return &ValidationError{Field: "rule", Message: fmt.Sprintf("constitution %s is not published in this log", r.Ref())}
	case !rules[r.RuleID]:
		return &ValidationError{Field: "rule.rule_id", Message: fmt.Sprintf("rule %q does not exist in constitution %s", r.RuleID, r.Ref())}
	}
	return nil
}

// evidenceKinds are the kinds of record a challenge may rest on.
var evidenceKinds = []Kind{KindDecision, KindContest, KindResolution}

// checkEvidence checks each evidence entry against the log: the index
// exists, its leaf hash matches, and it is a decision, contest or
// resolution.
func (b *Book) checkEvidence(ev []Evidence) error {
	size := b.cfg.Log.Head().Size
	for i, e := range ev {
		field := fmt.Sprintf("evidence.%d", i)
		if e.Index >= size {
			return &ValidationError{Field: field + ".index", Message: fmt.Sprintf("index %d is not in the log (its size is %d)", e.Index, size)}
		}
		es, err := b.cfg.Log.Entries(e.Index, 1)
		if err != nil {
			return err
		}
		if lh := ledger.LeafHash(es[0]); !bytes.Equal(lh, e.LeafHash) {
			return &ValidationError{Field: field + ".leaf_hash", Message: fmt.Sprintf("entry %d has leaf hash %s, not %s", e.Index, base64.StdEncoding.EncodeToString(lh), base64.StdEncoding.EncodeToString(e.LeafHash))}
		}
		env, err := ParseEnvelope(es[0])
		if err != nil {
			return err
		}
		if !slices.Contains(evidenceKinds, env.Kind) {
			return &ValidationError{Field: field + ".index", Message: fmt.Sprintf("entry %d is a %s record; evidence is a decision, contest or resolution", e.Index, env.Kind)}
		}
	}
	return nil
}

func (b *Book) challengeAt(idx uint64) (*Challenge, error) { return bodyAt[Challenge](b, idx) }

// RespondChallenge validates a POST /v1/challenges/{id}/response body and
// logs the response. It MUST say a person reviewed the challenge; accepted
// names the amendment id that will carry the change (the amendment is
// proposed under that id afterwards, POST /v1/amendments), rejected names
// none. A challenge is answered once: another answer is a StateError
// (409); the same one again is a duplicate.
func (b *Book) RespondChallenge(ctx context.Context, challengeID string, raw []byte) (*Appended, *ChallengeResponse, error) {
	if err := Validate("append-challenge-response.v1", raw); err != nil {
		return nil, nil, err
	}
	var r ChallengeResponse
	if err := decodeStrict(raw, &r); err != nil {
		return nil, nil, err
	}
	switch {
	case !r.HumanReviewed:
		return nil, nil, &ValidationError{Field: "human_reviewed", Message: "must be true: a person reviews every challenge"}
	case r.Outcome == "accepted" && r.AmendmentID == "":
		return nil, nil, &ValidationError{Field: "amendment_id", Message: "is required when the outcome is accepted: the id of the amendment that will carry the change"}
	case r.Outcome != "accepted" && r.AmendmentID != "":
		return nil, nil, &ValidationError{Field: "amendment_id", Message: fmt.Sprintf("is only given when the outcome is accepted, not %s", r.Outcome)}
	}
	r.ChallengeID = challengeID
	if _, err := b.lookup(KindChallenge, challengeID); err != nil {
		return nil, nil, err
	}
	body, err := canonicalRecord(r)
	if err != nil {
		return nil, nil, err
	}
	b.contestMu.Lock()
	defer b.contestMu.Unlock()
	a, err := b.appendRecord(ctx, &pendingRecord{kind: KindChallengeResponse, id: challengeID, body: body, digest: b.digest(body),
		index: func(uint64, time.Time) []ledger.KV { return kindIndex(KindChallengeResponse) }})
	if errors.Is(err, ErrConflict) {
		return nil, nil, &StateError{"challenge_answered", fmt.Sprintf("challenge %s is answered already, differently", challengeID)}
	}
	if err != nil {
		return nil, nil, err
	}
	return a, &r, nil
}

// ChallengeState is a challenge as derived from the log.
type ChallengeState struct {
	Challenge *Record
	Body      *Challenge
	Response  *Record // nil while open
	// ResponseBody is the decoded Response (nil while open).
	ResponseBody *ChallengeResponse
	// Status is open, answered or overdue (open past due_by).
	Status string
	DueBy  time.Time
}

// ChallengeStatus derives a challenge's state from its records.
func (b *Book) ChallengeStatus(id string) (*ChallengeState, error) {
	rec, c, err := getBody[Challenge](b, KindChallenge, id)
	if err != nil {
		return nil, err
	}
	due, err := time.Parse(time.RFC3339Nano, c.DueBy)
	if err != nil {
		return nil, err
	}
	st := &ChallengeState{Challenge: rec, Body: c, DueBy: due, Status: "open"}
	res, r, err := getBody[ChallengeResponse](b, KindChallengeResponse, id)
	switch {
	case err == nil:
		st.Response, st.ResponseBody, st.Status = res, r, "answered"
	case !errors.Is(err, ErrNotFound):
		return nil, err
	case !b.cfg.Now().Before(due):
		st.Status = "overdue"
	}
	return st, nil
}
