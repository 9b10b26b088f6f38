package audit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/verify/record"
)

// ProposeAmendment validates a POST /v1/amendments body (the amendment
// record itself) and logs it. The amended constitution version MUST be
// published; each change MUST apply to its rules (record.ApplyChanges),
// each rule id appear in one change only; each motivated_by entry MUST
// name a logged challenge or contest at its index.
func (b *Book) ProposeAmendment(ctx context.Context, raw []byte) (*Appended, *Amendment, error) {
	if err := Validate("amendment.v1", raw); err != nil {
		return nil, nil, err
	}
	var a Amendment
	if err := decodeStrict(raw, &a); err != nil {
		return nil, nil, err
	}
	base, err := b.constitution(a.Constitution.Ref())
	if errors.Is(err, ErrNotFound) {
		return nil, nil, &ValidationError{Field: "constitution", Message: fmt.Sprintf("constitution %s is not published in this log", a.Constitution.Ref())}
	}
	if err != nil {
		return nil, nil, err
	}
	for i, ch := range a.Changes {
		if slices.ContainsFunc(a.Changes[:i], func(o record.AmendmentChange) bool { return o.RuleID == ch.RuleID }) {
			return nil, nil, &ValidationError{Field: fmt.Sprintf("changes.%d.rule_id", i), Message: fmt.Sprintf("rule %s is changed twice; give one change per rule", ch.RuleID)}
		}
	}
	if _, cerr := record.ApplyChanges(base.Rules, a.Changes); cerr != nil {
		return nil, nil, &ValidationError{Field: fmt.Sprintf("changes.%d", cerr.Change), Message: fmt.Sprintf("%s (rule %s of %s)", cerr.Message, cerr.RuleID, base.Ref())}
	}
	for i, m := range a.MotivatedBy {
		idx, err := b.lookup(m.Kind, m.ID)
		if errors.Is(err, ErrNotFound) || err == nil && idx != m.Index {
			return nil, nil, &ValidationError{Field: fmt.Sprintf("motivated_by.%d", i), Message: fmt.Sprintf("no %s %q is logged at index %d", m.Kind, m.ID, m.Index)}
		}
		if err != nil {
			return nil, nil, err
		}
	}
	if a.MotivatedBy == nil {
		a.MotivatedBy = []record.Motivation{}
	}
	body, err := canonicalRecord(a)
	if err != nil {
		return nil, nil, err
	}
	out, err := b.appendRecord(ctx, &pendingRecord{kind: KindAmendment, id: a.AmendmentID, body: body, digest: b.digest(body),
		index: func(i uint64, _ time.Time) []ledger.KV { return amendmentIndex(i, &a) }})
	if err != nil {
		return nil, nil, err
	}
	return out, &a, nil
}

// constitution returns the logged constitution ref ("id@version").
func (b *Book) constitution(ref string) (*Constitution, error) {
	_, c, err := getBody[Constitution](b, KindConstitution, ref)
	return c, err
}

// checkAdopts applies the rules of a constitution version c that adopts
// amendments: it supersedes a logged version, each adopted amendment is
// logged (once in adopts) and amends that version, and c's rules are that
// version's with exactly the amendments' changes (record.CheckAdoption).
// It returns the latest end of the adopted amendments' comment periods
// (zero when none has one): c may be logged only after it.
func (b *Book) checkAdopts(c *Constitution) (time.Time, error) {
	var until time.Time
	if len(c.Adopts) == 0 {
		return until, nil
	}
	if c.Supersedes == nil || *c.Supersedes == "" {
		return until, &ValidationError{Field: "supersedes", Message: "is required when adopts is given: the version whose rules the adopted amendments change"}
	}
	prev, err := b.constitution(c.ConstitutionID + "@" + *c.Supersedes)
	if errors.Is(err, ErrNotFound) {
		return until, &ValidationError{Field: "supersedes", Message: fmt.Sprintf("constitution %s@%s is not published in this log", c.ConstitutionID, *c.Supersedes)}
	}
	if err != nil {
		return until, err
	}
	ams := make([]Amendment, len(c.Adopts))
	for i, id := range c.Adopts {
		field := fmt.Sprintf("adopts.%d", i)
		if slices.Contains(c.Adopts[:i], id) {
			return until, &ValidationError{Field: field, Message: fmt.Sprintf("amendment %s is adopted twice", id)}
		}
		_, am, err := getBody[Amendment](b, KindAmendment, id)
		if errors.Is(err, ErrNotFound) {
			return until, &ValidationError{Field: field, Message: fmt.Sprintf("amendment %s is not logged; propose it first (POST /v1/amendments)", id)}
		}
		if err != nil {
			return until, err
		}
		ams[i] = *am
		if ams[i].CommentUntil != "" {
			t, err := time.Parse(time.RFC3339Nano, ams[i].CommentUntil)
			if err != nil {
				return until, err
			}
			if t.After(until) {
				until = t
			}
		}
	}
	if m := record.CheckAdoption(prev, c, ams); m != nil {
		return until, &ValidationError{Field: m.Field, Message: m.Message}
	}
	return until, nil
}

// commentOpen refuses a version logged at t before the comment period
// of an adopted amendment ends.
func commentOpen(c *Constitution, until, t time.Time) error {
	if t.Before(until) {
		return &StateError{"comment_period_open", fmt.Sprintf("constitution %s adopts an amendment whose comment period runs until %s",
			c.Ref(), until.UTC().Format(time.RFC3339))}
	}
	return nil
}
