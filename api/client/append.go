package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
)

// ErrReceipt is wrapped by every error about a receipt or checkpoint that
// does not verify with the pinned key, or whose entry is not the record
// sent.
var ErrReceipt = errors.New("receipt does NOT verify")

// Appended is the answer to one append.
type Appended struct {
	// Receipt is the parsed receipt; Raw is the receipt exactly as the
	// server sent it (keep it: it is what a third party verifies).
	Receipt *verify.Receipt
	Raw     json.RawMessage
	// Answer is the server's whole answer: the receipt itself for a
	// decision, {"receipt":..., ...} for other records; nil in a batch.
	Answer json.RawMessage
	// Checkpoint is the verified checkpoint of the receipt, nil when the
	// client does not verify.
	Checkpoint *verify.Checkpoint
	// Duplicate is set when the record was logged before: the first
	// receipt is returned (a decision's contest token with it while the
	// server's delivery window lasts).
	Duplicate bool
}

// Index is the record's position in the log.
func (a *Appended) Index() uint64 { return a.Receipt.Index }

// ContestToken is the subject's contest token ("" when the receipt
// carries none).
func (a *Appended) ContestToken() string { return a.Receipt.ContestToken }

// AppendDecision logs one decision (POST /v1/decisions) and returns its
// verified receipt.
func (c *Client) AppendDecision(ctx context.Context, req *record.DecisionRequest) (*Appended, error) {
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	return c.AppendDecisionJSON(ctx, raw)
}

// AppendDecisionJSON is AppendDecision for a request body already encoded.
func (c *Client) AppendDecisionJSON(ctx context.Context, raw json.RawMessage) (*Appended, error) {
	code, body, err := c.Do(ctx, http.MethodPost, "/v1/decisions", raw, nil)
	if err != nil {
		return nil, fmt.Errorf("POST /v1/decisions: %w", err)
	}
	a, err := c.checkAppended(record.KindDecision, raw, body, code == http.StatusOK)
	if a != nil {
		a.Answer = body
	}
	return a, err
}

// PublishConstitution logs a constitution version (POST /v1/constitutions)
// and returns its verified receipt.
func (c *Client) PublishConstitution(ctx context.Context, raw json.RawMessage) (*Appended, error) {
	code, body, err := c.Do(ctx, http.MethodPost, "/v1/constitutions", raw, nil)
	if err != nil {
		return nil, fmt.Errorf("POST /v1/constitutions: %w", err)
	}
	receipt, err := member(body, "receipt")
	if err != nil {
		return nil, newError("bad_response", "the answer has no receipt: "+Clip(body))
	}
	a, err := c.checkAppended(record.KindConstitution, raw, receipt, code == http.StatusOK)
	if a != nil {
		a.Answer = body
	}
	return a, err
}

// BatchItem is the outcome of one record of a batch: Appended or Err.
type BatchItem struct {
	Appended *Appended
	Err      error
}

// AppendBatch logs decisions in one POST /v1/decisions:batch (at most the
// server's limits.max_batch_records) and returns one item per request, in
// order; one bad record does not fail the others. Records the sequencer
// pushed back (overloaded, shutting_down) are sent again, up to MaxTries.
// The error is for the whole call (the answer never came, or was not a
// batch answer); then no item is returned.
func (c *Client) AppendBatch(ctx context.Context, reqs []json.RawMessage) ([]BatchItem, error) {
	out := make([]BatchItem, len(reqs))
	todo := make([]int, len(reqs))
	for i := range todo {
		todo[i] = i
	}
	for try := 1; len(todo) > 0; try++ {
		var buf bytes.Buffer
		buf.WriteByte('[')
		for i, n := range todo {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.Write(reqs[n])
		}
		buf.WriteByte(']')
		_, body, err := c.Do(ctx, http.MethodPost, "/v1/decisions:batch", buf.Bytes(), nil)
		if err != nil {
			return nil, fmt.Errorf("POST /v1/decisions:batch: %w", err)
		}
		var ans record.BatchAnswer
		if err := json.Unmarshal(body, &ans); err != nil || len(ans.Results) != len(todo) {
			return nil, newError("bad_response", fmt.Sprintf("want %d results: %s", len(todo), Clip(body)))
		}
		var again []int
		for i, r := range ans.Results {
			n := todo[i]
			switch {
			case r.Error != nil && Retryable(r.Error.Code) && try < c.cfg.MaxTries:
				again = append(again, n)
			case r.Error != nil:
				out[n].Err = &Error{ErrorBody: *r.Error}
			case len(r.Receipt) == 0 || string(r.Receipt) == "null":
				out[n].Err = newError("bad_response", "result has neither receipt nor error")
			default:
				out[n].Appended, out[n].Err = c.checkAppended(record.KindDecision, reqs[n], r.Receipt, r.Duplicate)
			}
		}
		todo = again
		if len(todo) > 0 {
			if err := sleep(ctx, c.backoff(try, "")); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// checkAppended parses the receipt of the record sent and, when the
// client verifies, verifies it and checks that its entry is that record.
func (c *Client) checkAppended(kind record.Kind, sent, receipt []byte, dup bool) (*Appended, error) {
	a := &Appended{Raw: json.RawMessage(receipt), Duplicate: dup}
	if !c.Verifies() {
		r, err := unverified(receipt)
		if err != nil {
			return nil, err
		}
		a.Receipt = r
		return a, nil
	}
	r, cp, err := c.VerifyReceipt(receipt)
	if err != nil {
		return nil, err
	}
	var env record.Envelope
	if err := json.Unmarshal(r.Entry, &env); err != nil {
		return nil, fmt.Errorf("%w: the receipt's entry is not a JSON envelope: %v", ErrReceipt, err)
	}
	if want := RecordID(kind, sent); want != "" {
		if got := RecordID(kind, env.Body); env.Kind != kind || got != want {
			return nil, fmt.Errorf("%w: the receipt's entry is %s %q, not the %s %q sent", ErrReceipt, env.Kind, got, kind, want)
		}
	}
	a.Receipt, a.Checkpoint = r, cp
	return a, nil
}

// VerifyReceipt verifies a receipt offline with the pinned key and checks
// its origin.
func (c *Client) VerifyReceipt(receipt []byte) (*verify.Receipt, *verify.Checkpoint, error) {
	r, cp, err := verify.VerifyReceipt(receipt, c.cfg.VerifierKey, c.cfg.OtherKeys...)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrReceipt, err)
	}
	if r.Origin != c.origin {
		return nil, nil, fmt.Errorf("%w: the receipt is for origin %q, want %q", ErrReceipt, r.Origin, c.origin)
	}
	return r, cp, nil
}

// RecordID is a request's or body's decision_id, or constitution_id@version
// for a constitution; "" when raw has none.
func RecordID(kind record.Kind, raw []byte) string {
	if kind == record.KindConstitution {
		id, ver := stringMember(raw, "constitution_id"), stringMember(raw, "version")
		if id == "" {
			return ""
		}
		return id + "@" + ver
	}
	return stringMember(raw, "decision_id")
}

// stringMember is the string member name of the JSON object raw, "" when
// it has none.
func stringMember(raw []byte, name string) string {
	var s string
	if v, err := member(raw, name); err != nil || json.Unmarshal(v, &s) != nil {
		return ""
	}
	return s
}

// member returns the raw JSON of the top-level member name of body.
func member(body []byte, name string) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	v, ok := m[name]
	if !ok || string(v) == "null" {
		return nil, fmt.Errorf("no %q in the answer", name)
	}
	return v, nil
}

// unverified decodes a receipt leniently, requiring only its index: the
// client was told not to check it.
func unverified(receipt []byte) (*verify.Receipt, error) {
	var r verify.Receipt
	if _, err := member(receipt, "index"); err != nil || json.Unmarshal(receipt, &r) != nil {
		return nil, newError("bad_response", "the receipt has no index: "+Clip(receipt))
	}
	return &r, nil
}

// AppendAll appends many requests of one kind (decisions, or
// constitutions): with batch > 1, decisions in groups of up to batch
// through AppendBatch, one group at a time; otherwise with conc single
// appends in flight. done is called once for each request answered, with
// its position in reqs, from several goroutines and in no set order; a
// group whose call fails calls done with that error for each of its
// records. AppendAll returns when every request is answered or ctx ends
// (requests not yet sent then get no call).
func (c *Client) AppendAll(ctx context.Context, kind record.Kind, reqs []json.RawMessage, batch, conc int, done func(n int, a *Appended, err error)) {
	if batch > 1 && kind == record.KindDecision {
		for i := 0; i < len(reqs) && ctx.Err() == nil; i += batch {
			group := reqs[i:min(i+batch, len(reqs))]
			items, err := c.AppendBatch(ctx, group)
			for k := range group {
				if err != nil {
					done(i+k, nil, err)
				} else {
					done(i+k, items[k].Appended, items[k].Err)
				}
			}
		}
		return
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(max(conc, 1), len(reqs)) {
		wg.Go(func() {
			for n := range work {
				if ctx.Err() != nil {
					continue
				}
				var a *Appended
				var err error
				if kind == record.KindConstitution {
					a, err = c.PublishConstitution(ctx, reqs[n])
				} else {
					a, err = c.AppendDecisionJSON(ctx, reqs[n])
				}
				done(n, a, err)
			}
		})
	}
	for n := range reqs {
		work <- n
	}
	close(work)
	wg.Wait()
}
