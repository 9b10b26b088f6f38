package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/monitor"
	"github.com/fjaledger/fja/verify/record"
)

// Log returns GET /v1/log: origin, verifier keys, tree size, limits. The
// answer is not verified: a caller pinning a key compares it.
func (c *Client) Log(ctx context.Context) (*record.LogInfo, error) {
	var v record.LogInfo
	if _, err := c.getJSON(ctx, "/v1/log", nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Checkpoint returns the log's latest checkpoint (GET /checkpoint),
// verified with the pinned key (parsed but unverified when the client
// does not verify).
func (c *Client) Checkpoint(ctx context.Context) (*verify.Checkpoint, []byte, error) {
	_, b, err := c.Do(ctx, http.MethodGet, "/checkpoint", nil, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("GET /checkpoint: %w", err)
	}
	if !c.Verifies() {
		return nil, b, nil
	}
	cp, err := c.openCheckpoint(string(b))
	return cp, b, err
}

// Consistency returns the consistency proof between tree sizes from and
// to (GET /v1/proofs/consistency); the caller checks it against the two
// roots (verify.Consistency). An answer the server sent with 200 OK that
// is not that proof is a *monitor.MalformedProofError holding the answer
// verbatim: the log's own statement, evidence for a monitor. Any other
// error is a failure to ask.
func (c *Client) Consistency(ctx context.Context, from, to uint64) ([][]byte, error) {
	path := fmt.Sprintf("/v1/proofs/consistency?from=%d&to=%d", from, to)
	_, b, err := c.Do(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	var v record.ConsistencyProof
	malformed := func(err error) error {
		return &monitor.MalformedProofError{URL: c.base + path, From: from, To: to, Body: b, Err: err}
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, malformed(fmt.Errorf("want JSON {\"from\",\"to\",\"hashes\":[base64...]}: %w", err))
	}
	if v.From != from || v.To != to {
		return nil, malformed(fmt.Errorf("it is a proof from %d to %d", v.From, v.To))
	}
	return v.Hashes, nil
}

// Entry returns entry idx with its inclusion proof (GET
// /v1/entries/{index}); when the client verifies, the checkpoint is
// opened with the pinned key and the proof checked against it.
func (c *Client) Entry(ctx context.Context, idx uint64) (*record.Entry, *verify.Checkpoint, error) {
	var v record.Entry
	path := "/v1/entries/" + strconv.FormatUint(idx, 10)
	if _, err := c.getJSON(ctx, path, nil, &v); err != nil {
		return nil, nil, err
	}
	if v.Index != idx {
		return nil, nil, fmt.Errorf("GET %s: the server answered entry %d", path, v.Index)
	}
	cp, err := c.CheckInclusion(v.Entry, v.LeafHash, v.Checkpoint, v.InclusionProof, v.Index)
	return &v, cp, err
}

// CheckInclusion verifies, when the client verifies, that entry (whose
// leaf hash the server gave as leafHash) is at idx in the tree of the
// signed checkpoint, by proof; it returns the opened checkpoint (nil when
// the client does not verify).
func (c *Client) CheckInclusion(entry, leafHash []byte, checkpoint string, proof [][]byte, idx uint64) (*verify.Checkpoint, error) {
	if !c.Verifies() {
		return nil, nil
	}
	cp, err := c.openCheckpoint(checkpoint)
	if err != nil {
		return nil, err
	}
	lh := verify.LeafHash(entry)
	if leafHash != nil && string(lh) != string(leafHash) {
		return nil, fmt.Errorf("%w: entry %d hashes to a leaf hash other than the one answered", ErrReceipt, idx)
	}
	if err := verify.Inclusion(idx, cp.Size, lh, proof, cp.Hash); err != nil {
		return nil, fmt.Errorf("%w: entry %d: %v", ErrReceipt, idx, err)
	}
	return cp, nil
}

// Decision returns GET /v1/decisions/{id}. The subject proves standing
// with its contest token (token != ""); a regulator's token goes in
// Config.Token. hdr adds headers (X-Access-Purpose for private content).
// When the client verifies, the record's inclusion proof is checked
// against the checkpoint served with it, the entry must be decision id,
// and the record shown must be the logged entry.
func (c *Client) Decision(ctx context.Context, id, token string, hdr http.Header) (*record.DecisionView, []byte, error) {
	hdr = withToken(hdr, token)
	var v record.DecisionView
	b, err := c.getJSON(ctx, "/v1/decisions/"+url.PathEscape(id), hdr, &v)
	if err != nil {
		return nil, nil, err
	}
	if !c.Verifies() {
		return &v, b, nil
	}
	if _, err := c.CheckInclusion(v.Entry, v.LeafHash, v.Checkpoint, v.InclusionProof, v.Index); err != nil {
		return nil, nil, err
	}
	if err := entryIs(v.Entry, id); err != nil {
		return nil, nil, err
	}
	if !sameJSON(v.Record, v.Entry) {
		return nil, nil, fmt.Errorf("%w: the record of %s differs from its logged entry", ErrReceipt, id)
	}
	return &v, b, nil
}

// AccessPurpose is the header of a regulator's read of private content
// (X-Access-Purpose: why; the server logs the read), nil when why is "".
func AccessPurpose(why string) http.Header {
	if why == "" {
		return nil
	}
	return http.Header{"X-Access-Purpose": {why}}
}

// Query returns one page of GET /v1/query with the given parameters
// (DESIGN.md §6) and the answer's bytes. The caller checks the page
// (the checkpoint, each proof, the scanned range) or uses QueryAll.
func (c *Client) Query(ctx context.Context, params url.Values) (*record.QueryAnswer, []byte, error) {
	return get[record.QueryAnswer](ctx, c, "/v1/query?"+params.Encode(), nil)
}

// Stats returns GET /v1/stats with the given parameters and the answer's
// bytes.
func (c *Client) Stats(ctx context.Context, params url.Values) (*record.StatsAnswer, []byte, error) {
	return get[record.StatsAnswer](ctx, c, "/v1/stats?"+params.Encode(), nil)
}

// CheckStats checks, when the client verifies, that the checkpoint of a
// stats answer opens with the pinned key and that the scanned range lies
// within its tree; it returns the checkpoint (nil when the client does
// not verify).
func (c *Client) CheckStats(ans *record.StatsAnswer) (*verify.Checkpoint, error) {
	if !c.Verifies() {
		return nil, nil
	}
	cp, err := c.OpenCheckpoint(ans.Checkpoint)
	if err != nil {
		return nil, err
	}
	if ans.Scanned.To > cp.Size || ans.Scanned.From > ans.Scanned.To {
		return nil, fmt.Errorf("scanned range [%d, %d) is not within the checkpoint's tree of size %d", ans.Scanned.From, ans.Scanned.To, cp.Size)
	}
	return cp, nil
}

// FileContest files a contest (POST /v1/contests) with the subject's
// contest token in req, and returns the answer with the contest record's
// receipt verified (Appended.Raw as sent).
func (c *Client) FileContest(ctx context.Context, req *record.ContestRequest) (*record.ContestFiled, *Appended, error) {
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, nil, err
	}
	var v record.ContestFiled
	a, err := c.postRecord(ctx, "/v1/contests", raw, &v)
	return &v, a, err
}

// Resolve logs the resolution of contest id (POST
// /v1/contests/{id}/resolution) with a reviewer's token; body is the
// resolution request.
func (c *Client) Resolve(ctx context.Context, id string, body json.RawMessage) (*record.ResolutionLogged, *Appended, error) {
	var v record.ResolutionLogged
	a, err := c.postRecord(ctx, "/v1/contests/"+url.PathEscape(id)+"/resolution", body, &v)
	return &v, a, err
}

// ContestStatus returns GET /v1/contests/{id}; the subject proves
// standing with its contest token (token != "").
func (c *Client) ContestStatus(ctx context.Context, id, token string) (*record.ContestView, []byte, error) {
	return get[record.ContestView](ctx, c, "/v1/contests/"+url.PathEscape(id), withToken(nil, token))
}

// ContestStatusOf is ContestStatus with the answer checked: it must be
// about contest id and, when d is given, against d's decision, and its
// records must hold (ContestRecords, verified when the client verifies).
// It returns the view, its records and the answer as served.
func (c *Client) ContestStatusOf(ctx context.Context, id, token string, d *DecisionReceipt) (*record.ContestView, *ContestRecords, []byte, error) {
	v, body, err := c.ContestStatus(ctx, id, token)
	if err != nil {
		return nil, nil, nil, err
	}
	if v.ContestID != id {
		return nil, nil, nil, fmt.Errorf("GET /v1/contests/%s: the server answered contest %q", id, v.ContestID)
	}
	if d != nil && v.DecisionID != d.DecisionID {
		return nil, nil, nil, fmt.Errorf("contest %s is against decision %q, the receipt is of %q", id, v.DecisionID, d.DecisionID)
	}
	recs, err := c.ContestRecords(v, d)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("contest %s does NOT verify: %w", id, err)
	}
	return v, recs, body, nil
}

// postRecord posts a record whose answer is {"receipt":{...}, ...},
// decodes the answer into v and verifies the receipt.
func (c *Client) postRecord(ctx context.Context, path string, raw []byte, v any) (*Appended, error) {
	code, body, err := c.Do(ctx, http.MethodPost, path, raw, nil)
	if err != nil {
		return nil, fmt.Errorf("POST %s: %w", path, err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, newError("bad_response", "the answer is not the JSON expected: "+Clip(body))
	}
	receipt, err := member(body, "receipt")
	if err != nil {
		return nil, newError("bad_response", "the answer has no receipt: "+Clip(body))
	}
	a := &Appended{Raw: receipt, Answer: body, Duplicate: code == http.StatusOK}
	if !c.Verifies() {
		a.Receipt, err = unverified(receipt)
		return a, err
	}
	a.Receipt, a.Checkpoint, err = c.VerifyReceipt(receipt)
	return a, err
}

// get GETs path and decodes the answer into a T; it returns the answer's
// bytes too.
func get[T any](ctx context.Context, c *Client, path string, hdr http.Header) (*T, []byte, error) {
	var v T
	b, err := c.getJSON(ctx, path, hdr, &v)
	if err != nil {
		return nil, nil, err
	}
	return &v, b, nil
}

func withToken(hdr http.Header, token string) http.Header {
	if token == "" {
		return hdr
	}
	if hdr == nil {
		hdr = http.Header{}
	}
	hdr.Set("X-Contest-Token", token)
	return hdr
}

// DecisionReceipt returns the receipt of decision id (GET
// /v1/decisions/{id}/receipt, a producer's, regulator's or operator's
// token); when the client verifies, it is verified and its entry must be
// decision id.
func (c *Client) DecisionReceipt(ctx context.Context, id string) (*Appended, error) {
	path := "/v1/decisions/" + url.PathEscape(id) + "/receipt"
	_, body, err := c.Do(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	a := &Appended{Raw: body, Answer: body}
	if !c.Verifies() {
		a.Receipt, err = unverified(body)
		return a, err
	}
	if a.Receipt, a.Checkpoint, err = c.VerifyReceipt(body); err != nil {
		return nil, err
	}
	if err := entryIs(a.Receipt.Entry, id); err != nil {
		return nil, err
	}
	return a, nil
}

// entryIs checks that a logged entry is decision id.
func entryIs(entry []byte, id string) error {
	var d record.Decision
	if err := Logged(entry, record.KindDecision, &d); err != nil {
		return fmt.Errorf("%w: %v", ErrReceipt, err)
	}
	if d.DecisionID != id {
		return fmt.Errorf("%w: the logged entry is decision %q, not %q", ErrReceipt, d.DecisionID, id)
	}
	return nil
}
