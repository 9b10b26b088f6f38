package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strings"

	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
)

// ParseRuleRef parses a rule as "constitution_id@version/rule_id".
func ParseRuleRef(s string) (record.RuleRef, error) {
	ref, rule, ok := strings.Cut(s, "/")
	id, version, ok2 := strings.Cut(ref, "@")
	r := record.RuleRef{ConstitutionID: id, Version: version, RuleID: rule}
	if !ok || !ok2 || !record.IsID(id) || !record.IsID(version) || !record.IsID(rule) {
		return r, fmt.Errorf("rule %q is not constitution_id@version/rule_id (e.g. fja-default@2026.11/H-12)", s)
	}
	return r, nil
}

// EvidenceAt returns the evidence entries {index, leaf_hash} of the log
// entries at indices, each leaf hash computed from the entry served (when
// the client verifies, after its inclusion proof is checked).
func (c *Client) EvidenceAt(ctx context.Context, indices ...uint64) ([]record.Evidence, error) {
	out := make([]record.Evidence, 0, len(indices))
	for _, i := range indices {
		e, _, err := c.Entry(ctx, i)
		if err != nil {
			return nil, fmt.Errorf("evidence entry %d: %w", i, err)
		}
		out = append(out, record.Evidence{Index: i, LeafHash: verify.LeafHash(e.Entry)})
	}
	return out, nil
}

// FileChallenge challenges a rule (POST /v1/challenges). Standing: set
// req.DecisionID and req.ContestToken (the subject's; see
// ChallengeFor), or leave them empty and use a stakeholder token. When the
// client verifies, the receipt is verified and its entry must be challenge
// req.ChallengeID of req.Rule, due by what the server answered.
func (c *Client) FileChallenge(ctx context.Context, req *record.ChallengeRequest) (*record.ChallengeFiled, *Appended, error) {
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, nil, err
	}
	var v record.ChallengeFiled
	a, err := c.postRecord(ctx, "/v1/challenges", raw, &v)
	if err != nil || !c.Verifies() {
		return &v, a, err
	}
	var lc record.Challenge
	if err := Logged(a.Receipt.Entry, record.KindChallenge, &lc); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrReceipt, err)
	}
	if lc.ChallengeID != req.ChallengeID || lc.Rule != req.Rule || !SameInstant(lc.DueBy, v.DueBy) {
		return nil, nil, fmt.Errorf("%w: the logged challenge %s of %s/%s due by %s is not the one filed", ErrReceipt, lc.ChallengeID, lc.Rule.Ref(), lc.Rule.RuleID, lc.DueBy)
	}
	return &v, a, nil
}

// ChallengeFor files req with the standing of the subject's decision
// receipt d (its contest token; send no bearer token).
func (c *Client) ChallengeFor(ctx context.Context, d *DecisionReceipt, req *record.ChallengeRequest) (*record.ChallengeFiled, *Appended, error) {
	req.DecisionID, req.ContestToken = d.DecisionID, d.ContestToken
	return c.FileChallenge(ctx, req)
}

// RespondChallenge logs the answer to challenge id (a reviewer's token).
// When the client verifies, its entry must be this response as sent.
func (c *Client) RespondChallenge(ctx context.Context, id string, req *record.ChallengeResponseRequest) (*record.ChallengeResponseLogged, *Appended, error) {
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, nil, err
	}
	var v record.ChallengeResponseLogged
	a, err := c.postRecord(ctx, "/v1/challenges/"+url.PathEscape(id)+"/response", raw, &v)
	if err != nil || !c.Verifies() {
		return &v, a, err
	}
	var lr record.ChallengeResponse
	if err := Logged(a.Receipt.Entry, record.KindChallengeResponse, &lr); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrReceipt, err)
	}
	want := record.ChallengeResponse{ChallengeID: id, AmendmentID: req.AmendmentID, HumanReviewed: req.HumanReviewed, Outcome: req.Outcome, Rationale: req.Rationale}
	if lr != want {
		return nil, nil, fmt.Errorf("%w: the logged response to challenge %q (outcome %q) is not the one sent", ErrReceipt, lr.ChallengeID, lr.Outcome)
	}
	return &v, a, nil
}

// ProposeAmendment logs an amendment (POST /v1/amendments, an operator's
// or stakeholder's token). When the client verifies, its entry must be the
// amendment as sent.
func (c *Client) ProposeAmendment(ctx context.Context, am *record.Amendment) (*record.AmendmentLogged, *Appended, error) {
	if am.MotivatedBy == nil {
		am.MotivatedBy = []record.Motivation{}
	}
	raw, err := json.Marshal(am)
	if err != nil {
		return nil, nil, err
	}
	var v record.AmendmentLogged
	a, err := c.postRecord(ctx, "/v1/amendments", raw, &v)
	if err != nil || !c.Verifies() {
		return &v, a, err
	}
	var la record.Amendment
	if err := Logged(a.Receipt.Entry, record.KindAmendment, &la); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrReceipt, err)
	}
	if !reflect.DeepEqual(&la, am) {
		return nil, nil, fmt.Errorf("%w: the logged amendment %q is not the one sent", ErrReceipt, la.AmendmentID)
	}
	return &v, a, nil
}

// ChallengeStatus returns GET /v1/challenges/{id}; the subject proves
// standing with its contest token (token != ""), others with the Client's
// bearer token.
func (c *Client) ChallengeStatus(ctx context.Context, id, token string) (*record.ChallengeView, []byte, error) {
	return get[record.ChallengeView](ctx, c, "/v1/challenges/"+url.PathEscape(id), withToken(nil, token))
}
