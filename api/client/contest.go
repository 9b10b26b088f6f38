package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
)

// DecisionReceipt is the subject's copy of a decision's receipt: the one
// that carries the contest token proving standing.
type DecisionReceipt struct {
	*verify.Receipt
	DecisionID string
	LeafHash   []byte // recomputed from the entry
}

// ParseDecisionReceipt parses the subject's decision receipt: it MUST be
// a receipt of a decision entry and carry the contest token. It verifies
// nothing; FileContest verifies the contest's receipt against it.
func ParseDecisionReceipt(b []byte) (*DecisionReceipt, error) {
	r, err := verify.ParseReceipt(bytes.TrimSpace(b))
	if err != nil {
		return nil, fmt.Errorf("is not a receipt: %w", err)
	}
	var d record.Decision
	if err := Logged(r.Entry, "", &d); err != nil {
		return nil, fmt.Errorf("is not the receipt of a decision: %w", err)
	}
	if d.DecisionID == "" {
		return nil, errors.New("is not the receipt of a decision: its entry has no decision_id")
	}
	if r.ContestToken == "" {
		return nil, errors.New("has no contest_token: only the subject's copy of the decision's first receipt carries it")
	}
	return &DecisionReceipt{Receipt: r, DecisionID: d.DecisionID, LeafHash: verify.LeafHash(r.Entry)}, nil
}

// Logged decodes a logged entry (a record envelope) of the given kind
// into body. An empty kind means decision.
func Logged(entry []byte, kind record.Kind, body any) error {
	if kind == "" {
		kind = record.KindDecision
	}
	var env record.Envelope
	if err := json.Unmarshal(entry, &env); err != nil {
		return fmt.Errorf("the logged entry is not a JSON envelope: %w", err)
	}
	if env.Kind != kind {
		return fmt.Errorf("the logged entry is a %q record, not a %s", env.Kind, kind)
	}
	if err := json.Unmarshal(env.Body, body); err != nil {
		return fmt.Errorf("the logged %s body: %w", kind, err)
	}
	return nil
}

// CheckContestEntry checks that a logged entry is contest id against
// decision decisionID and, when d is given, against d's entry (index and
// leaf hash).
func CheckContestEntry(entry []byte, id string, d *DecisionReceipt, decisionID string) (*record.Contest, error) {
	var c record.Contest
	if err := Logged(entry, record.KindContest, &c); err != nil {
		return nil, err
	}
	if c.ContestID != id {
		return nil, fmt.Errorf("the logged contest is %q, not %q", c.ContestID, id)
	}
	if c.Decision.DecisionID != decisionID {
		return nil, fmt.Errorf("the logged contest %s is against decision %q, not %q", id, c.Decision.DecisionID, decisionID)
	}
	if d != nil && (c.Decision.Index != d.Index || !bytes.Equal(c.Decision.LeafHash, d.LeafHash)) {
		b64 := base64.StdEncoding.EncodeToString
		return nil, fmt.Errorf("the logged contest %s names decision entry %d (leaf %s), but the receipt of %s is entry %d (leaf %s)",
			id, c.Decision.Index, b64(c.Decision.LeafHash), decisionID, d.Index, b64(d.LeafHash))
	}
	return &c, nil
}

// SameInstant reports whether two RFC 3339 times are the same instant.
func SameInstant(a, b string) bool {
	ta, err1 := time.Parse(time.RFC3339Nano, a)
	tb, err2 := time.Parse(time.RFC3339Nano, b)
	return err1 == nil && err2 == nil && ta.Equal(tb)
}

// Contest is a filed contest: the server's answer, the contest record's
// receipt and, when the client verifies, the logged contest checked to be
// the one filed against d's decision entry.
type Contest struct {
	Filed    *record.ContestFiled
	Appended *Appended
	Logged   *record.Contest // nil when the client does not verify
}

// FileContestFor files a contest against the decision of the subject's
// receipt d, proving standing with its contest token (send no bearer
// token: the Client's Token is ignored by the server's check but is the
// caller's to leave empty). When the client verifies, the contest's
// receipt is verified and its entry must be contest req.ContestID naming
// d's entry, asking req's remedy on req's grounds category, due by what
// the server answered.
func (c *Client) FileContestFor(ctx context.Context, d *DecisionReceipt, req *record.ContestRequest) (*Contest, error) {
	req.DecisionID, req.ContestToken = d.DecisionID, d.ContestToken
	filed, a, err := c.FileContest(ctx, req)
	if err != nil {
		return nil, err
	}
	if filed.ContestID != req.ContestID {
		return nil, fmt.Errorf("POST /v1/contests: the server answered contest %q, filed %q", filed.ContestID, req.ContestID)
	}
	out := &Contest{Filed: filed, Appended: a}
	if !c.Verifies() {
		return out, nil
	}
	lc, err := CheckContestEntry(a.Receipt.Entry, req.ContestID, d, d.DecisionID)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrReceipt, err)
	}
	if lc.Remedy != req.Remedy || lc.Grounds.Category != req.Grounds.Category {
		return nil, fmt.Errorf("%w: the logged contest asks %s on grounds %q, filed %s on %q", ErrReceipt, lc.Remedy, lc.Grounds.Category, req.Remedy, req.Grounds.Category)
	}
	if !SameInstant(lc.DueBy, filed.DueBy) {
		return nil, fmt.Errorf("%w: the server says due by %q, the logged contest %q", ErrReceipt, filed.DueBy, lc.DueBy)
	}
	out.Logged = lc
	return out, nil
}

// ResolveContest logs the resolution of contest id (a reviewer's token).
// When the client verifies, the receipt is verified and its entry must be
// this contest's resolution as sent, human reviewed.
func (c *Client) ResolveContest(ctx context.Context, id string, req *record.ResolutionRequest) (*record.ResolutionLogged, *Appended, error) {
	if req.RuleChanges == nil {
		req.RuleChanges = []record.RuleChange{}
	}
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, nil, err
	}
	res, a, err := c.Resolve(ctx, id, raw)
	if err != nil {
		return nil, nil, err
	}
	if res.ContestID != id || res.Outcome != req.Outcome {
		return nil, nil, fmt.Errorf("POST /v1/contests/%s/resolution: the server answered contest %q outcome %q, sent %q %q", id, res.ContestID, res.Outcome, id, req.Outcome)
	}
	if !c.Verifies() {
		return res, a, nil
	}
	var lb record.Resolution
	if err := Logged(a.Receipt.Entry, record.KindResolution, &lb); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrReceipt, err)
	}
	if lb.ContestID != id || lb.Outcome != req.Outcome || !lb.HumanReviewed || lb.Rationale != req.Rationale ||
		!reflect.DeepEqual(append([]record.RuleChange{}, lb.RuleChanges...), req.RuleChanges) {
		return nil, nil, fmt.Errorf("%w: the logged resolution (contest %q, outcome %q) is not the one sent", ErrReceipt, lb.ContestID, lb.Outcome)
	}
	return res, a, nil
}

// ContestRecords are the logged records of a contest view: the contest
// and, once resolved, its resolution.
type ContestRecords struct {
	Contest    *record.Contest
	Resolution *record.Resolution
}

// ContestRecords decodes the records of v. When the client verifies, both
// are checked against the view's one checkpoint (signature, leaf hash,
// inclusion), each must be what its entry says, the contest must name
// d's decision entry (when d is given), the resolution must be for this
// contest and logged after it, and the status must agree with them.
func (c *Client) ContestRecords(v *record.ContestView, d *DecisionReceipt) (*ContestRecords, error) {
	if v.Contest == nil {
		return nil, errors.New("the answer has no contest record")
	}
	out := &ContestRecords{}
	if !c.Verifies() {
		out.Contest = new(record.Contest)
		if err := json.Unmarshal(v.Contest.Record.Body, out.Contest); err != nil || v.Contest.Record.Kind != record.KindContest {
			return nil, fmt.Errorf("the contest record is not a contest: %v", err)
		}
		if v.Resolution != nil && v.Resolution.Record != nil {
			out.Resolution = new(record.Resolution)
			if err := json.Unmarshal(v.Resolution.Record.Body, out.Resolution); err != nil || v.Resolution.Record.Kind != record.KindResolution {
				return nil, fmt.Errorf("the resolution record is not a resolution: %v", err)
			}
		}
		return out, nil
	}
	check := func(what string, r *record.RecordProof) error {
		if r.Shard != 0 {
			// Proven against a frozen shard's final checkpoint, under that
			// shard's key: checking it needs the shard chain (VerifyChain).
			return fmt.Errorf("the %s record is logged in frozen shard %d; this client verifies records of the active shard only", what, r.Shard)
		}
		if _, err := c.CheckInclusion(r.Entry, r.LeafHash, v.Checkpoint, r.InclusionProof, r.Index); err != nil {
			return fmt.Errorf("the %s record: %w", what, err)
		}
		var env record.Envelope
		if json.Unmarshal(r.Entry, &env) != nil || r.Record == nil || !sameJSON(env.Body, r.Record.Body) ||
			env.Kind != r.Record.Kind || env.LoggedAt != r.Record.LoggedAt || env.V != r.Record.V {
			return fmt.Errorf("the %s record differs from its logged entry", what)
		}
		return nil
	}
	if err := check("contest", v.Contest); err != nil {
		return nil, err
	}
	var err error
	if out.Contest, err = CheckContestEntry(v.Contest.Entry, v.ContestID, d, v.DecisionID); err != nil {
		return nil, err
	}
	if !SameInstant(out.Contest.DueBy, v.DueBy) {
		return nil, fmt.Errorf("the server says due by %q, the logged contest %q", v.DueBy, out.Contest.DueBy)
	}
	if v.Resolution == nil {
		if v.Status == "resolved" {
			return nil, errors.New("the status is resolved but no resolution record is shown")
		}
		return out, nil
	}
	if err := check("resolution", v.Resolution); err != nil {
		return nil, err
	}
	out.Resolution = new(record.Resolution)
	if err := Logged(v.Resolution.Entry, record.KindResolution, out.Resolution); err != nil {
		return nil, err
	}
	switch {
	case out.Resolution.ContestID != v.ContestID:
		return nil, fmt.Errorf("the resolution shown is for contest %q", out.Resolution.ContestID)
	case v.Resolution.Index <= v.Contest.Index:
		return nil, fmt.Errorf("the resolution (entry %d) is logged before the contest (entry %d)", v.Resolution.Index, v.Contest.Index)
	case v.Status != "resolved":
		return nil, fmt.Errorf("a resolution is logged but the status is %q", v.Status)
	}
	return out, nil
}

// sameJSON reports whether two JSON texts hold the same value.
func sameJSON(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}
