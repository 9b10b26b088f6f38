package audit

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/verify/record"
)

// StateError refuses a contest or resolution because of the state of the
// records it concerns; Code says which rule (for the API's error code). It
// is an ErrConflict.
type StateError struct {
	Code, Message string
}

func (e *StateError) Error() string        { return e.Code + ": " + e.Message }
func (e *StateError) Is(target error) bool { return target == ErrConflict }

// Contest windows (DSA Art. 20): how long a decision stays contestable, and
// how long the operator has to resolve a contest.
const (
	DefaultContestWindow  = 183 * 24 * time.Hour // at least six months
	DefaultResponseWindow = 14 * 24 * time.Hour
	MinContestWindow      = record.MinContestWindow
)

// Contest index keys: "cd/<decision_id>/<contest_id>" lists the contests
// of a decision. Whether a contest is resolved is whether a resolution
// record for it is logged (dedup key "resolution/<contest_id>"): state is
// derived from the records, not kept beside them.
const prefixContestOfDecision = "cd/"

// FileContest validates a POST /v1/contests body and logs the contest. The
// subject proves standing with the decision's contest token; a wrong token
// and an unknown decision get the same ErrNotFound. The grounds text is
// private content: only its commitment enters the leaf.
func (b *Book) FileContest(ctx context.Context, raw []byte) (*Appended, *Contest, error) {
	reqp, err := DecodeContestRequest(raw) // validated and decoded in one pass
	if err != nil {
		return nil, nil, err
	}
	req := *reqp
	dec, d, shard, err := b.decisionInShards(req.DecisionID, req.ContestToken)
	if err != nil {
		return nil, nil, err
	}
	parts, err := contestParts(&req)
	if err != nil {
		return nil, nil, err
	}

	// One filing at a time: the open-contest rule reads the log's state.
	b.contestMu.Lock()
	defer b.contestMu.Unlock()
	key := recordKey(KindContest, req.ContestID)
	if _, found, err := b.cfg.Log.LookupKey([]byte(key)); err != nil {
		return nil, nil, err
	} else if found {
		a, err := b.appendRecord(ctx, &pendingRecord{kind: KindContest, id: req.ContestID, parts: parts})
		if err != nil {
			return nil, nil, err
		}
		c, err := b.contestAt(a.Ack.Index)
		return a, c, err
	}
	if !d.Outcome.Contestable {
		return nil, nil, &StateError{"not_contestable", fmt.Sprintf("decision %s is logged as not contestable", d.DecisionID)}
	}
	loggedAt, err := time.Parse(time.RFC3339Nano, dec.Envelope.LoggedAt)
	if err != nil {
		return nil, nil, err
	}
	now := b.cfg.Now()
	if closes := loggedAt.Add(b.cfg.ContestWindow); !now.Before(closes) {
		return nil, nil, &StateError{"window_closed", fmt.Sprintf("decision %s could be contested until %s (logged %s, window %s)",
			d.DecisionID, closes.UTC().Format(time.RFC3339), dec.Envelope.LoggedAt, b.cfg.ContestWindow)}
	}
	if open, err := b.openContest(d.DecisionID, shard); err != nil {
		return nil, nil, err
	} else if open != "" {
		return nil, nil, &StateError{"contest_open", fmt.Sprintf("decision %s already has an open contest, %s", d.DecisionID, open)}
	}

	salt, commitment, err := Commit([]byte(req.Grounds.Text))
	if err != nil {
		return nil, nil, err
	}
	pt := appendOpening(nil, []sealedPart{{name: "grounds", salt: salt, text: req.Grounds.Text}})
	c := Contest{ContestID: req.ContestID, Remedy: req.Remedy,
		Decision: ContestedDecision{DecisionID: d.DecisionID, Index: dec.Index, LeafHash: ledger.LeafHash(dec.Entry)},
		Grounds:  Grounds{Category: req.Grounds.Category, Commitment: commitment}}
	if shard != nil {
		c.Decision.Shard = shard.Origin
	}
	// The deadline is set from the log time the sequencer assigns.
	stamp := func(t time.Time) ([]byte, error) {
		cc := c
		cc.DueBy = t.Add(b.cfg.ResponseWindow).UTC().Format(LoggedAtFormat)
		return canonicalRecord(cc)
	}
	if body, err := stamp(now); err != nil {
		return nil, nil, err
	} else if len(body) > ledger.MaxEntrySize-256 {
		return nil, nil, &ValidationError{Field: "grounds", Message: "the contest record would be too large"}
	}
	// The grounds are sealed under a vault key of the contest's own, and
	// the digest keyed with it: erasable like a decision's private content.
	m, slot, err := b.sealPrivate(key, pt, parts...)
	if err != nil {
		return nil, nil, err
	}
	a, err := b.appendStamped(ctx, &pendingRecord{kind: KindContest, id: req.ContestID, parts: parts, digest: m, slot: slot, sealed: true,
		extra: []ledger.KV{{Key: []byte(prefixContestOfDecision + d.DecisionID + "/" + req.ContestID), Value: []byte{1}}},
		index: func(i uint64, t time.Time) []ledger.KV {
			if shard != nil { // the facts are keyed by a decision index of this shard
				return kindIndex(KindContest)
			}
			return append(kindIndex(KindContest), ledger.KV{Key: contestFactsKey(dec.Index, req.ContestID),
				Value: encodeFacts(t.Add(b.cfg.ResponseWindow), false, false)})
		}}, stamp)
	if err != nil {
		return nil, nil, err
	}
	got, err := b.contestAt(a.Ack.Index)
	return a, got, err
}

// contestParts are the canonical parts of a contest request that its
// digest covers: the request without the grounds' text, and the grounds.
func contestParts(req *ContestRequest) ([][]byte, error) {
	sentPrivate, err := canonicalRecord(req.Grounds)
	if err != nil {
		return nil, err
	}
	sent := *req
	sent.Grounds.Text = ""
	sentRecord, err := canonicalRecord(sent)
	if err != nil {
		return nil, err
	}
	return [][]byte{sentRecord, sentPrivate}, nil
}

// decisionForToken returns the decision whose contest token is token. An
// unknown decision and a wrong token are the same ErrNotFound, compared in
// constant time, so decision ids cannot be probed.
func (b *Book) decisionForToken(id, token string) (*Record, *Decision, error) {
	notFound := fmt.Errorf("%w: no decision %q for this contest token", ErrNotFound, id)
	rec, err := b.Get(KindDecision, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, notFound
	}
	if err != nil {
		return nil, nil, err
	}
	var d Decision
	if err := json.Unmarshal(rec.Envelope.Body, &d); err != nil {
		return nil, nil, err
	}
	want := ""
	if d.Contest != nil {
		want = d.Contest.TokenSHA256
	}
	if subtle.ConstantTimeCompare([]byte(TokenHash(token)), []byte(want)) != 1 {
		return nil, nil, notFound
	}
	return rec, &d, nil
}

// CheckToken reports whether token is the contest token of decision id,
// logged in this shard or an earlier one.
func (b *Book) CheckToken(decisionID, token string) bool {
	_, _, _, err := b.decisionInShards(decisionID, token)
	return err == nil
}

// openContest returns the id of the decision's unresolved contest, if any:
// one filed here, or, for a decision of an earlier shard, one filed there
// before it was frozen (resolved there or here).
func (b *Book) openContest(decisionID string, shard *EarlierShard) (string, error) {
	books := []*Book{b}
	if shard != nil {
		books = append(books, shard.Book)
	}
	for _, in := range books {
		ids, err := in.ContestsOf(context.Background(), decisionID)
		if err != nil {
			return "", err
		}
		for _, id := range ids {
			resolved := false
			for _, rb := range books {
				_, found, err := rb.cfg.Log.LookupKey([]byte(recordKey(KindResolution, id)))
				if err != nil {
					return "", err
				}
				resolved = resolved || found
			}
			if !resolved {
				return id, nil
			}
		}
	}
	return "", nil
}

func (b *Book) contestAt(idx uint64) (*Contest, error) { return bodyAt[Contest](b, idx) }

// Resolve validates a POST /v1/contests/{id}/resolution body and logs the
// resolution. It MUST say a person reviewed the contest (DSA Art. 20(6)).
func (b *Book) Resolve(ctx context.Context, contestID string, raw []byte) (*Appended, *Resolution, error) {
	rp, err := DecodeResolutionRequest(raw) // validated and decoded in one pass
	if err != nil {
		return nil, nil, err
	}
	r := *rp
	if !r.HumanReviewed {
		return nil, nil, &ValidationError{Field: "human_reviewed", Message: "must be true: a contest may not be resolved by automated means alone (DSA Art. 20(6))"}
	}
	r.ContestID = contestID
	in, ci, k, shard, err := b.contestInShards(contestID)
	if err != nil {
		return nil, nil, err
	}
	if shard != nil {
		// A contest filed before a rotation: resolved here, once. A
		// resolution logged in an earlier shard (before its freeze)
		// counts; one logged here is the dedup below.
		if _, _, err := b.resolutionInShards(contestID, k); err == nil {
			if _, here := b.lookup(KindResolution, contestID); here != nil {
				return nil, nil, &StateError{"contest_resolved", fmt.Sprintf("contest %s is resolved already, in an earlier shard", contestID)}
			}
		} else if !errors.Is(err, ErrNotFound) {
			return nil, nil, err
		}
		r.ContestShard = shard.Origin
	}
	body, err := canonicalRecord(r)
	if err != nil {
		return nil, nil, err
	}
	c, err := in.contestAt(ci)
	if err != nil {
		return nil, nil, err
	}
	due, err := time.Parse(time.RFC3339Nano, c.DueBy)
	if err != nil {
		return nil, nil, err
	}
	b.contestMu.Lock()
	defer b.contestMu.Unlock()
	a, err := b.appendRecord(ctx, &pendingRecord{kind: KindResolution, id: contestID, body: body, digest: b.digest(body),
		index: func(i uint64, _ time.Time) []ledger.KV {
			if c.Decision.Shard != "" || shard != nil { // no facts: see FileContest
				return kindIndex(KindResolution)
			}
			return append(kindIndex(KindResolution), ledger.KV{Key: contestFactsKey(c.Decision.Index, contestID),
				Value: encodeFacts(due, true, overturns(r.Outcome))})
		}})
	if errors.Is(err, ErrConflict) {
		return nil, nil, &StateError{"contest_resolved", fmt.Sprintf("contest %s is resolved already, differently", contestID)}
	}
	if err != nil {
		return nil, nil, err
	}
	return a, &r, nil
}

// ContestState is a contest as derived from the log.
type ContestState struct {
	Contest    *Record
	Body       *Contest
	Resolution *Record // nil while open
	// Status is open, resolved or overdue (open past due_by).
	Status string
	DueBy  time.Time
	// Shard is the earlier shard the contest is logged in (nil: this
	// one). Its resolution, when logged after the rotation, is in this
	// shard (or one between) and names it in contest_shard.
	Shard *EarlierShard
	// ResolutionShard is the earlier shard the resolution is logged in
	// (nil: this one, or no resolution).
	ResolutionShard *EarlierShard
}

// ContestStatus derives a contest's state from its records.
// The contest is looked up in this shard, then in the earlier ones (newest
// first); its resolution in its shard or a later one (Resolve).
func (b *Book) ContestStatus(id string) (*ContestState, error) {
	in, _, k, shard, err := b.contestInShards(id)
	if err != nil {
		return nil, err
	}
	rec, c, err := getBody[Contest](in, KindContest, id)
	if err != nil {
		return nil, err
	}
	due, err := time.Parse(time.RFC3339Nano, c.DueBy)
	if err != nil {
		return nil, err
	}
	st := &ContestState{Contest: rec, Body: c, DueBy: due, Status: "open", Shard: shard}
	res, rs, err := b.resolutionInShards(id, k)
	switch {
	case err == nil:
		st.Resolution, st.ResolutionShard, st.Status = res, rs, "resolved"
	case !errors.Is(err, ErrNotFound):
		return nil, err
	case !b.cfg.Now().Before(due):
		st.Status = "overdue"
	}
	return st, nil
}
