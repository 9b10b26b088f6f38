package client

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/fjaledger/fja/verify/record"
)

// NewContestID is a fresh contest id: "con-" and 16 random hex digits.
func NewContestID() (string, error) {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", err
	}
	return "con-" + hex.EncodeToString(rnd[:]), nil
}

// CheckGrounds checks a contest's grounds text as the contest schema
// does: not blank, UTF-8, at most record.MaxGroundsText characters.
func CheckGrounds(text string) error {
	if strings.TrimSpace(text) == "" {
		return errors.New("the grounds are empty: say why the decision is wrong")
	}
	if !utf8.ValidString(text) || utf8.RuneCountInString(text) > record.MaxGroundsText {
		return fmt.Errorf("the grounds must be UTF-8 text of at most %d characters", record.MaxGroundsText)
	}
	return nil
}

// ParseRuleChange parses RULE_ID:CHANGE:VERSION (CHANGE one of
// record.RuleChangeKinds) and checks it with CheckRuleChange. Rule ids may
// hold ':', so the change and version are the last two fields.
func ParseRuleChange(s string) (record.RuleChange, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 3 {
		return record.RuleChange{}, errors.New("want RULE_ID:CHANGE:VERSION, e.g. H-12:amend:2026.12")
	}
	n := len(parts)
	rc := record.RuleChange{RuleID: strings.Join(parts[:n-2], ":"), Change: parts[n-2], ConstitutionVersion: parts[n-1]}
	return rc, CheckRuleChange(rc)
}

// ParseRuleChanges parses each of ss with ParseRuleChange; the error
// quotes the first one refused. The result is never nil.
func ParseRuleChanges(ss []string) ([]record.RuleChange, error) {
	out := []record.RuleChange{}
	for _, s := range ss {
		rc, err := ParseRuleChange(s)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		out = append(out, rc)
	}
	return out, nil
}

// CheckRuleChange checks a rule change as the resolution schema does: an
// id, a known change, a version.
func CheckRuleChange(rc record.RuleChange) error {
	switch {
	case !record.IsID(rc.RuleID):
		return fmt.Errorf("rule id %q is not an id", rc.RuleID)
	case !record.OneOf(rc.Change, record.RuleChangeKinds):
		return fmt.Errorf("change must be one of %s, not %q", strings.Join(record.RuleChangeKinds, ", "), rc.Change)
	case rc.ConstitutionVersion == "" || !record.IsID(rc.ConstitutionVersion):
		return fmt.Errorf("constitution version %q is not a version", rc.ConstitutionVersion)
	}
	return nil
}

// ErrNotResolution is wrapped by ParseResolution's error for a text that
// is not a resolution body at all.
var ErrNotResolution = errors.New("not a resolution body")

// ParseResolution parses a resolution body kept in a file (outcome,
// rationale, human_reviewed, rule_changes, and optionally contest_id,
// which must then be id; see examples/resolution.json) into the request
// that resolves contest id. Unknown members are refused; every rule
// change is checked (CheckRuleChange); RuleChanges is never nil.
func ParseResolution(b []byte, id string) (*record.ResolutionRequest, error) {
	var fb record.Resolution
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fb); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotResolution, err)
	}
	if fb.ContestID != "" && fb.ContestID != id {
		return nil, fmt.Errorf("it is a resolution of contest %q, not %q", fb.ContestID, id)
	}
	req := &record.ResolutionRequest{HumanReviewed: fb.HumanReviewed, Outcome: fb.Outcome, Rationale: fb.Rationale, RuleChanges: fb.RuleChanges}
	if req.RuleChanges == nil {
		req.RuleChanges = []record.RuleChange{}
	}
	for i, rc := range req.RuleChanges {
		if err := CheckRuleChange(rc); err != nil {
			return nil, fmt.Errorf("rule_changes[%d]: %w", i, err)
		}
	}
	return req, nil
}
