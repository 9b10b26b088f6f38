package audit

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The RFC 8785 (JCS) form of a Decision, written by hand: the append path
// needs it twice per decision (the digest of what was sent, and the leaf
// body, which respliceDecisionJCS makes from the first), and reflection was
// most of that cost. It MUST equal what the JCS library makes of
// encoding/json's output for the same value (null for a nil slice or map,
// members in the order of their names, JCS strings and numbers);
// TestCanonicalRecordMatchesJCS holds it to that, and TestResplicedDecision
// the resplice to a fresh write.

// appendDecisionJCS appends the JCS form of d to b.
func appendDecisionJCS(b []byte, d *Decision) ([]byte, error) {
	return appendDecisionJCSSpans(b, d, nil)
}

// decisionSpans locate, in a decision's JCS form, the members the ledger
// may fill in before it logs a decision (decision.go): contest is the
// contest member and commitments the request and response members, each
// [start, end) in bytes with its leading comma, empty where d has none.
type decisionSpans struct{ contest, commitments [2]int }

// appendDecisionJCSSpans is appendDecisionJCS that also notes, in sp (if
// not nil), the spans of the returned slice that hold the contest and the
// commitment members.
func appendDecisionJCSSpans(b []byte, d *Decision, sp *decisionSpans) ([]byte, error) {
	var err error
	b = append(b, `{"candidates":`...)
	if d.Candidates == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range d.Candidates {
			c := &d.Candidates[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = appendJCSString(b, c.ID)
			b = append(b, `,"scores":`...)
			if b, err = appendJCSNumberMap(b, c.Scores); err != nil {
				return nil, err
			}
			b = append(b, `,"selected":`...)
			b = strconv.AppendBool(b, c.Selected)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"constitution":{"id":`...)
	b = appendJCSString(b, d.Constitution.ID)
	b = append(b, `,"version":`...)
	b = appendJCSString(b, d.Constitution.Version)
	b = append(b, '}')
	if sp != nil {
		sp.contest[0] = len(b)
	}
	b = appendContestJCS(b, d)
	if sp != nil {
		sp.contest[1] = len(b)
	}
	b = append(b, `,"decision_id":`...)
	b = appendJCSString(b, d.DecisionID)
	b = append(b, `,"objectives":`...)
	if d.Objectives == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range d.Objectives {
			o := &d.Objectives[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"confidence":`...)
			if b, err = appendJCSNumber(b, o.Confidence); err != nil {
				return nil, err
			}
			b = append(b, `,"description":`...)
			b = appendJCSString(b, o.Description)
			b = append(b, `,"id":`...)
			b = appendJCSString(b, o.ID)
			b = append(b, `,"source":`...)
			b = appendJCSString(b, o.Source)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"occurred_at":`...)
	b = appendJCSString(b, d.OccurredAt)
	b = append(b, `,"outcome":{"action":`...)
	b = appendJCSString(b, d.Outcome.Action)
	b = append(b, `,"category":`...)
	b = appendJCSString(b, d.Outcome.Category)
	b = append(b, `,"contestable":`...)
	b = strconv.AppendBool(b, d.Outcome.Contestable)
	b = append(b, `,"explanation":`...)
	b = appendJCSString(b, d.Outcome.Explanation)
	b = append(b, `},"provenance_flags":`...)
	if d.ProvenanceFlags == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range d.ProvenanceFlags {
			f := &d.ProvenanceFlags[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"code":`...)
			b = appendJCSString(b, f.Code)
			b = append(b, `,"message":`...)
			b = appendJCSString(b, f.Message)
			b = append(b, `,"severity":`...)
			b = appendJCSString(b, f.Severity)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if sp != nil {
		sp.commitments[0] = len(b)
	}
	b = appendCommitmentsJCS(b, d)
	if sp != nil {
		sp.commitments[1] = len(b)
	}
	b = append(b, `,"rules":`...)
	if d.Rules == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range d.Rules {
			r := &d.Rules[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"effect":`...)
			b = appendJCSString(b, r.Effect)
			b = append(b, `,"rationale":`...)
			b = appendJCSString(b, r.Rationale)
			b = append(b, `,"rule_id":`...)
			b = appendJCSString(b, r.RuleID)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"subject":{"jurisdiction":`...)
	b = appendJCSString(b, d.Subject.Jurisdiction)
	b = append(b, `,"locale":`...)
	b = appendJCSString(b, d.Subject.Locale)
	b = append(b, `,"ref":`...)
	b = appendJCSString(b, d.Subject.Ref)
	b = append(b, `},"system":{"deployment":`...)
	b = appendJCSString(b, d.System.Deployment)
	b = append(b, `,"model":`...)
	b = appendJCSString(b, d.System.Model)
	b = append(b, `,"model_version":`...)
	b = appendJCSString(b, d.System.ModelVersion)
	b = append(b, `,"operator":`...)
	b = appendJCSString(b, d.System.Operator)
	b = append(b, `},"weights":`...)
	if b, err = appendJCSNumberMap(b, d.Weights); err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// appendContestJCS appends d's contest member, with its leading comma, if
// d has one.
func appendContestJCS(b []byte, d *Decision) []byte {
	if d.Contest == nil {
		return b
	}
	b = append(b, `,"contest":{"token_sha256":`...)
	b = appendJCSString(b, d.Contest.TokenSHA256)
	return append(b, '}')
}

// appendCommitmentsJCS appends d's request and response members, each with
// its leading comma, those d has ("request" sorts before "response").
func appendCommitmentsJCS(b []byte, d *Decision) []byte {
	if d.Request != nil {
		b = append(b, `,"request":{"commitment":`...)
		b = appendJCSString(b, d.Request.Commitment)
		b = append(b, '}')
	}
	if d.Response != nil {
		b = append(b, `,"response":{"commitment":`...)
		b = appendJCSString(b, d.Response.Commitment)
		b = append(b, '}')
	}
	return b
}

// respliceDecisionJCS returns the JCS form of d made from sent, the JCS
// form of a decision that differs from d in its contest, request and
// response members at most, and sp, the spans of those members in sent
// (appendDecisionJCSSpans): the rest of sent is copied, not written again.
func respliceDecisionJCS(sent []byte, sp *decisionSpans, d *Decision) []byte {
	// Room for the members filled in: a contest token hash and two
	// commitments, about 300 bytes.
	b := make([]byte, 0, len(sent)+384)
	b = append(b, sent[:sp.contest[0]]...)
	b = appendContestJCS(b, d)
	b = append(b, sent[sp.contest[1]:sp.commitments[0]]...)
	b = appendCommitmentsJCS(b, d)
	return append(b, sent[sp.commitments[1]:]...)
}

// appendJCSNumberMap appends a map's members in JCS order: keys sorted by
// their UTF-16 code units.
func appendJCSNumberMap(b []byte, m map[string]float64) ([]byte, error) {
	if m == nil {
		return append(b, "null"...), nil
	}
	var small [64]string
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareUTF16)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJCSString(b, k)
		b = append(b, ':')
		var err error
		if b, err = appendJCSNumber(b, m[k]); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// compareUTF16 orders strings by their UTF-16 code units (RFC 8785 §3.2.3).
// Byte order is the same except where a character above U+FFFF (a
// surrogate pair, 0xD800-0xDFFF) meets one in U+E000-U+FFFF.
func compareUTF16(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			if a[i] < utf8.RuneSelf && b[i] < utf8.RuneSelf {
				return int(a[i]) - int(b[i])
			}
			return slices.Compare(utf16.Encode([]rune(a[i:])), utf16.Encode([]rune(b[i:])))
		}
	}
	return len(a) - len(b)
}

// appendJCSNumber appends f as JCS writes it: ECMAScript's
// Number.prototype.toString, which is what encoding/json writes for a
// float64, except that negative zero is 0.
func appendJCSNumber(b []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("audit: %v has no JSON form", f)
	}
	if f == 0 {
		return append(b, '0'), nil
	}
	format := byte('f')
	if abs := math.Abs(f); abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-07 -> e-7
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

// appendJCSString appends s as a JCS string: only '"', '\\' and control
// characters are escaped (\b \t \n \f \r, others as \u00xx); invalid UTF-8
// becomes U+FFFD, as encoding/json writes it.
func appendJCSString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, "\ufffd"...)
				i += size
				start = i
				continue
			}
			i += size
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\t':
			b = append(b, '\\', 't')
		case '\n':
			b = append(b, '\\', 'n')
		case '\f':
			b = append(b, '\\', 'f')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
