package audit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/fjaledger/fja/ledger"
)

// Query indexes, written in the same commit as the record they describe
// (ledger.KV from the stamp, which knows the record's index), and
// rebuildable from the log alone (Reindex):
//
//	"q/" field(1) len(2) value idx(8)    a posting: record idx has field = value
//	"s/" idx(8)                           a decision's summary (for stats)
//	"cs/" decision idx(8) contest id      a contest's facts, updated by its resolution
//	"a/", "sa/"                           access records (access.go)
//
// Fields: k kind, o operator, m model, a outcome action, c category,
// r cited rule id, f provenance flag code, j jurisdiction. Values are
// length-prefixed so that no value is a key prefix of another; indices are
// big-endian so that a posting list is in index (and so log time) order.
const (
	prefixPosting      = "q/"
	prefixSummary      = "s/"
	prefixContestFacts = "cs/"
)

// Posting fields.
const (
	fieldKind         = 'k'
	fieldOperator     = 'o'
	fieldModel        = 'm'
	fieldAction       = 'a'
	fieldCategory     = 'c'
	fieldRule         = 'r'
	fieldFlag         = 'f'
	fieldJurisdiction = 'j'
)

// postingPrefix is the key prefix of the posting list of field = value.
func postingPrefix(field byte, value string) []byte {
	b := make([]byte, 0, len(prefixPosting)+3+len(value)+8)
	b = append(b, prefixPosting...)
	b = append(b, field)
	b = binary.BigEndian.AppendUint16(b, uint16(min(len(value), 0xffff)))
	return append(b, value...)
}

func postingKey(field byte, value string, idx uint64) []byte {
	return binary.BigEndian.AppendUint64(postingPrefix(field, value), idx)
}

// decisionIndex returns the index keys of decision d logged at idx.
func decisionIndex(idx uint64, d *Decision) []ledger.KV {
	return newDecisionIndexer(d).at(idx)
}

// decisionIndexer holds what a decision's index keys are made of but its
// index, so that the keys are made cheaply once the index is known (the
// log calls for them in its sequencer, one record after another).
type decisionIndexer struct {
	prefixes [][]byte // posting list prefixes, without duplicates
	size     int      // of the prefixes, plus 8 bytes of index each
	summary  []byte   // the summary's value
}

func newDecisionIndexer(d *Decision) *decisionIndexer {
	x := &decisionIndexer{summary: encodeSummary(summarize(d)), prefixes: make([][]byte, 0, 6+len(d.Rules)+len(d.ProvenanceFlags))}
	add := func(field byte, value string) {
		p := postingPrefix(field, value)
		x.prefixes = append(x.prefixes, p)
		x.size += len(p) + 8
	}
	add(fieldKind, string(KindDecision))
	add(fieldOperator, d.System.Operator)
	add(fieldModel, d.System.Model)
	add(fieldAction, d.Outcome.Action)
	add(fieldCategory, d.Outcome.Category)
	add(fieldJurisdiction, d.Subject.Jurisdiction)
	seen := map[string]bool{}
	for _, r := range d.Rules {
		if !seen[r.RuleID] {
			seen[r.RuleID] = true
			add(fieldRule, r.RuleID)
		}
	}
	clear(seen)
	for _, f := range d.ProvenanceFlags {
		if !seen[f.Code] {
			seen[f.Code] = true
			add(fieldFlag, f.Code)
		}
	}
	return x
}

// at returns the index keys of the decision logged at idx: its postings,
// then its summary.
func (x *decisionIndexer) at(idx uint64) []ledger.KV {
	kvs := make([]ledger.KV, 0, len(x.prefixes)+1)
	buf := make([]byte, 0, x.size) // every posting key, one after another
	for _, p := range x.prefixes {
		start := len(buf)
		buf = append(buf, p...)
		buf = binary.BigEndian.AppendUint64(buf, idx)
		kvs = append(kvs, ledger.KV{Key: buf[start:len(buf):len(buf)]})
	}
	return append(kvs, ledger.KV{Key: summaryKey(idx), Value: x.summary})
}

func kindIndex(kind Kind, idx uint64) []ledger.KV {
	return []ledger.KV{{Key: postingKey(fieldKind, string(kind), idx)}}
}

func summaryKey(idx uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(prefixSummary), idx)
}

func contestFactsKey(decisionIdx uint64, contestID string) []byte {
	return append(binary.BigEndian.AppendUint64([]byte(prefixContestFacts), decisionIdx), contestID...)
}

// summary is what stats need of a decision.
type summary struct {
	action, category, jurisdiction, model, operator, constitution string
	rules, flags                                                  []string
}

func summarize(d *Decision) summary {
	s := summary{action: d.Outcome.Action, category: d.Outcome.Category, jurisdiction: d.Subject.Jurisdiction,
		model: d.System.Model, operator: d.System.Operator, constitution: d.Constitution.ID + "@" + d.Constitution.Version}
	for _, r := range d.Rules {
		s.rules = append(s.rules, r.RuleID)
	}
	for _, f := range d.ProvenanceFlags {
		s.flags = append(s.flags, f.Code)
	}
	return s
}

// encodeSummary: six strings, then the rules and the flags, each a uvarint
// count of uvarint-length-prefixed strings.
func encodeSummary(s summary) []byte {
	var b []byte
	str := func(v string) {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	for _, v := range []string{s.action, s.category, s.jurisdiction, s.model, s.operator, s.constitution} {
		str(v)
	}
	for _, list := range [][]string{s.rules, s.flags} {
		b = binary.AppendUvarint(b, uint64(len(list)))
		for _, v := range list {
			str(v)
		}
	}
	return b
}

var errBadSummary = errors.New("audit: malformed decision summary")

// contestFacts value: due_by (unix nanoseconds, 8), resolved (1),
// overturned (1).
func encodeFacts(due time.Time, resolved, overturned bool) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(due.UnixNano()))
	return append(b, boolByte(resolved), boolByte(overturned))
}

func decodeFacts(b []byte) (contestFacts, error) {
	if len(b) != 10 {
		return contestFacts{}, fmt.Errorf("audit: contest facts have %d bytes, want 10", len(b))
	}
	return contestFacts{dueBy: time.Unix(0, int64(binary.BigEndian.Uint64(b))), resolved: b[8] == 1, overturned: b[9] == 1}, nil
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// recordIndex returns the index keys of any logged record (for Reindex
// and fsck), from its envelope.
func recordIndex(idx uint64, env *Envelope, contestOf func(id string) (*Contest, error)) ([]ledger.KV, error) {
	switch env.Kind {
	case KindDecision:
		var d Decision
		if err := decodeStrict(env.Body, &d); err != nil {
			return nil, err
		}
		return decisionIndex(idx, &d), nil
	case KindContest:
		var c Contest
		if err := decodeStrict(env.Body, &c); err != nil {
			return nil, err
		}
		due, err := time.Parse(time.RFC3339Nano, c.DueBy)
		if err != nil {
			return nil, err
		}
		return append(kindIndex(KindContest, idx), ledger.KV{Key: contestFactsKey(c.Decision.Index, c.ContestID), Value: encodeFacts(due, false, false)}), nil
	case KindResolution:
		var r Resolution
		if err := decodeStrict(env.Body, &r); err != nil {
			return nil, err
		}
		c, err := contestOf(r.ContestID)
		if err != nil {
			return nil, err
		}
		due, err := time.Parse(time.RFC3339Nano, c.DueBy)
		if err != nil {
			return nil, err
		}
		return append(kindIndex(KindResolution, idx), ledger.KV{Key: contestFactsKey(c.Decision.Index, c.ContestID), Value: encodeFacts(due, true, overturns(r.Outcome))}), nil
	case KindAccess:
		var a Access
		if err := decodeStrict(env.Body, &a); err != nil {
			return nil, err
		}
		return accessIndex(idx, &a), nil
	}
	return kindIndex(env.Kind, idx), nil
}

func overturns(outcome string) bool {
	return outcome == "overturned" || outcome == "partially_overturned"
}
