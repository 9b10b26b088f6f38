package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/fjaledger/fja/ledger"
)

// PublishConstitution validates a POST /v1/constitutions body and logs it.
// Decisions may cite it once this returns. A version that adopts
// amendments is checked against the version it supersedes (checkAdopts)
// and logged only after their comment periods.
func (b *Book) PublishConstitution(ctx context.Context, raw []byte) (*Appended, error) {
	if err := Validate("constitution.v1", raw); err != nil {
		return nil, err
	}
	var c Constitution
	if err := decodeStrict(raw, &c); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(c.Rules))
	seen := map[string]bool{}
	for i, r := range c.Rules {
		if seen[r.RuleID] {
			return nil, &ValidationError{Field: fmt.Sprintf("rules.%d.rule_id", i), Message: fmt.Sprintf("rule %q appears twice", r.RuleID)}
		}
		seen[r.RuleID] = true
		ids = append(ids, r.RuleID)
	}
	until, err := b.checkAdopts(&c)
	if err != nil {
		return nil, err
	}
	if err := commentOpen(&c, until, b.cfg.Now()); err != nil {
		return nil, err
	}
	body, err := Canonical(c)
	if err != nil {
		return nil, err
	}
	digest := b.digest(body)
	ref := c.ConstitutionID + "@" + c.Version
	idx, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	// The comment periods are checked again against the log time the
	// sequencer assigns.
	out, err := b.appendStamped(ctx, &pendingRecord{kind: KindConstitution, id: ref, body: body, digest: digest,
		extra: []ledger.KV{{Key: []byte(prefixConstitution + ref), Value: idx}},
		index: func(i uint64, _ time.Time) []ledger.KV { return kindIndex(KindConstitution) }},
		func(t time.Time) ([]byte, error) { return body, commentOpen(&c, until, t) })
	if err != nil {
		return nil, err
	}
	b.addConstitution(ref, ids)
	return out, nil
}
