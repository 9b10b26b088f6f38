package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/fjaledger/fja/audit/vault"
	"github.com/fjaledger/fja/ledger"
)

// sealedContent is the opening of the commitments of one record's private
// content, sealed in the vault: for each part, its salt and its text.
type sealedContent map[string]struct {
	Salt []byte `json:"salt"`
	Text string `json:"text"`
}

// AppendDecision validates a POST /v1/decisions request body and logs the
// decision. Private content is sealed outside the tree and replaced by its
// commitments; a contest token is made when the producer brought none.
func (b *Book) AppendDecision(ctx context.Context, raw []byte) (*Appended, error) {
	if err := Validate("append-decision.v1", raw); err != nil {
		return nil, err
	}
	var req DecisionRequest
	if err := decodeStrict(raw, &req); err != nil {
		return nil, err
	}
	d := req.Decision
	if err := checkOperator(ctx, d.System.Operator); err != nil {
		return nil, err
	}
	if err := b.checkDecision(&d, req.Private); err != nil {
		return nil, err
	}
	sentRecord, err := canonicalRecord(d)
	if err != nil {
		return nil, err
	}
	sentPrivate, err := canonicalRecord(req.Private)
	if err != nil {
		return nil, err
	}
	digest := b.digest(sentRecord, sentPrivate)
	key := recordKey(KindDecision, d.DecisionID)
	if _, found, err := b.cfg.Log.LookupKey([]byte(key)); err != nil {
		return nil, err
	} else if found {
		// A resubmission: nothing new is sealed or made.
		return b.appendRecord(ctx, &pendingRecord{kind: KindDecision, id: d.DecisionID, digest: digest})
	}

	r := &pendingRecord{kind: KindDecision, id: d.DecisionID, digest: digest}
	content := sealedContent{}
	if p := req.Private; p != nil {
		for name, text := range map[string]*string{"request": p.Request, "response": p.Response} {
			if text == nil {
				continue
			}
			salt, c, err := Commit([]byte(*text))
			if err != nil {
				return nil, err
			}
			content[name] = struct {
				Salt []byte `json:"salt"`
				Text string `json:"text"`
			}{salt, *text}
			if name == "request" {
				d.Request = &Commitment{Commitment: c}
			} else {
				d.Response = &Commitment{Commitment: c}
			}
		}
	}
	var token string
	if d.Contest == nil {
		t, h, err := NewContestToken()
		if err != nil {
			return nil, err
		}
		token, d.Contest = t, &ContestStanding{TokenSHA256: h}
	}
	if r.body, err = canonicalRecord(d); err != nil {
		return nil, err
	}
	r.index = func(idx uint64, _ time.Time) []ledger.KV { return decisionIndex(idx, &d) }
	if len(r.body) > ledger.MaxEntrySize-256 {
		return nil, &ValidationError{Field: "(root)", Message: fmt.Sprintf("the logged record would be %d bytes, the most a leaf takes is %d", len(r.body), ledger.MaxEntrySize-256)}
	}
	// Sealed last: nothing is kept for a request refused above.
	if len(content) > 0 {
		pt, err := json.Marshal(content)
		if err != nil {
			return nil, err
		}
		sealed, err := b.cfg.Vault.Seal(key, pt)
		if err != nil {
			return nil, err
		}
		r.extra = append(r.extra, ledger.KV{Key: []byte(prefixPrivate + key), Value: sealed})
	}
	out, err := b.appendRecord(ctx, r)
	if err != nil {
		return nil, err
	}
	if !out.Duplicate {
		out.ContestToken = token
	}
	return out, nil
}

// checkDecision applies the rules beyond the schema.
func (b *Book) checkDecision(d *Decision, p *DecisionPrivate) error {
	if p != nil && p.Request != nil && d.Request != nil {
		return &ValidationError{Field: "request", Message: "give either request.commitment or private.request, not both"}
	}
	if p != nil && p.Response != nil && d.Response != nil {
		return &ValidationError{Field: "response", Message: "give either response.commitment or private.response, not both"}
	}
	if d.Request == nil && (p == nil || p.Request == nil) {
		return &ValidationError{Field: "request", Message: "is required (or private.request)"}
	}
	ref := d.Constitution.ID + "@" + d.Constitution.Version
	b.mu.RLock()
	rules, ok := b.constitutions[ref]
	b.mu.RUnlock()
	if !ok {
		return &ValidationError{Field: "constitution", Message: fmt.Sprintf("constitution %s is not published in this log; publish it first (POST /v1/constitutions)", ref)}
	}
	refuses := false
	for i, r := range d.Rules {
		if !rules[r.RuleID] {
			return &ValidationError{Field: fmt.Sprintf("rules.%d.rule_id", i), Message: fmt.Sprintf("rule %q does not exist in constitution %s", r.RuleID, ref)}
		}
		refuses = refuses || r.Effect == "refuse"
	}
	if d.Outcome.Action == "refused" && !refuses {
		return &ValidationError{Field: "outcome.action", Message: "a refusal must cite at least one rule whose effect is refuse"}
	}
	return nil
}

// Private returns the private content of a record (part name -> text), for
// the regulator role. ErrNotFound if there is none or it was erased.
func (b *Book) Private(kind Kind, id string) (map[string]string, error) {
	key := recordKey(kind, id)
	sealed, err := b.cfg.Index.Get([]byte(prefixPrivate + key))
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s has no private content (or it was erased)", ErrNotFound, key)
	}
	if err != nil {
		return nil, err
	}
	pt, err := b.cfg.Vault.Open(key, sealed)
	if errors.Is(err, vault.ErrDestroyed) {
		return nil, fmt.Errorf("%w: the private content of %s was erased", ErrNotFound, key)
	}
	if err != nil {
		return nil, err
	}
	var c sealedContent
	if err := json.Unmarshal(pt, &c); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, v := range c {
		out[k] = v.Text
	}
	return out, nil
}

// ErasePrivate destroys the private content of a record (GDPR Art. 17): the
// key is shredded, then the sealed blob and the request digest are dropped.
// The leaf, its receipt and every proof stay valid.
func (b *Book) ErasePrivate(kind Kind, id string) error {
	key := recordKey(kind, id)
	if _, err := b.lookup(kind, id); err != nil {
		return err
	}
	if err := b.cfg.Vault.Destroy(key); errors.Is(err, vault.ErrDestroyed) {
		return fmt.Errorf("%w: %s has no private content (or it was erased already)", ErrNotFound, key)
	} else if err != nil {
		return err
	}
	return b.cfg.Index.Update(nil, [][]byte{[]byte(prefixPrivate + key), []byte(prefixDigest + key)})
}
