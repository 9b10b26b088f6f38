package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/fjaledger/fja/verify/explanation"
	"github.com/fjaledger/fja/verify/record"
)

// Explanation returns GET /v1/decisions/{id}/explanation: the decision
// explained for the person concerned, as the file to save (raw, exactly
// the bytes answered) and decoded. The subject proves standing with its
// contest token (token != ""); a regulator's token goes in Config.Token.
//
// When the client verifies, the file is checked offline as
// explanation.Verify does with the pinned key(s): its checkpoint signed
// for the pinned origin, every record proven, everything shown derived
// from the proven entries; and it MUST explain decision id. Otherwise it
// is only decoded.
func (c *Client) Explanation(ctx context.Context, id, token string) (e *record.Explanation, raw []byte, err error) {
	path := "/v1/decisions/" + url.PathEscape(id) + "/explanation"
	_, raw, err = c.Do(ctx, "GET", path, nil, withToken(nil, token))
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if !c.Verifies() {
		if e, err = explanation.Decode(raw); err != nil {
			return nil, nil, fmt.Errorf("GET %s: %w", path, err)
		}
		return e, raw, nil
	}
	e, cp, err := explanation.Verify(raw, c.cfg.VerifierKey, c.cfg.OtherKeys...)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: the explanation of %s does NOT verify: %v", ErrReceipt, id, err)
	}
	if cp.Origin != c.origin {
		return nil, nil, fmt.Errorf("%w: the explanation is for origin %q, want %q", ErrReceipt, cp.Origin, c.origin)
	}
	if e.DecisionID != id {
		return nil, nil, fmt.Errorf("%w: asked for the explanation of %s, got that of %s", ErrReceipt, id, e.DecisionID)
	}
	return e, raw, nil
}

// IsExplanation reports whether b looks like an explanation file (a JSON
// object whose format is record.ExplanationFormat), as opposed to a
// receipt; it verifies nothing.
func IsExplanation(b []byte) bool {
	var v struct {
		Format string `json:"format"`
	}
	return json.Unmarshal(b, &v) == nil && v.Format == record.ExplanationFormat
}

// WriteExplanation writes e for a person to read: the outcome, each rule
// cited with its full text, weights, candidate scores, provenance flags
// in plain words, the contest window and the contests.
func WriteExplanation(w io.Writer, e *record.Explanation) error {
	var d record.Decision
	if err := Logged(e.Decision.Entry, record.KindDecision, &d); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "decision %s (entry %d of %s): %s, category %s\n", e.DecisionID, e.Decision.Index, e.Origin, d.Outcome.Action, d.Outcome.Category)
	fmt.Fprintf(&b, "  %s\n", d.Outcome.Explanation)
	fmt.Fprintf(&b, "constitution %s version %s (entry %d); rules cited:\n", d.Constitution.ID, d.Constitution.Version, e.Constitution.Index)
	for _, r := range e.Rules {
		fmt.Fprintf(&b, "  %s (%s, %s): %s\n    applied because: %s\n", r.RuleID, r.Effect, r.Pillar, r.Text, r.Rationale)
	}
	fmt.Fprintf(&b, "weights: %s\n", scores(e.Weights))
	for _, c := range e.Candidates {
		sel := ""
		if c.Selected {
			sel = " (selected)"
		}
		fmt.Fprintf(&b, "candidate %s%s: %s\n", c.ID, sel, scores(c.Scores))
	}
	for _, f := range e.Flags {
		fmt.Fprintf(&b, "provenance %s (%s): %s\n", f.Code, f.Severity, f.PlainWords)
	}
	if cw := e.ContestWindow; cw != nil {
		fmt.Fprintf(&b, "contestable until %s (%d days after it was logged)\n", cw.ContestableUntil, cw.WindowSeconds/86400)
	} else {
		b.WriteString("not contestable\n")
	}
	for _, pc := range e.Contests {
		var c record.Contest
		if err := Logged(pc.Contest.Entry, record.KindContest, &c); err != nil {
			return err
		}
		state := "open, answer due by " + c.DueBy
		var r record.Resolution
		if pc.Resolution != nil && Logged(pc.Resolution.Entry, record.KindResolution, &r) == nil {
			state = "resolved: " + r.Outcome
		}
		fmt.Fprintf(&b, "contest %s (entry %d): %s\n", c.ContestID, pc.Contest.Index, state)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// scores renders name → number in name order.
func scores(m map[string]float64) string {
	names := slices.Sorted(maps.Keys(m))
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + " " + strconv.FormatFloat(m[n], 'g', -1, 64)
	}
	return strings.Join(parts, ", ")
}
