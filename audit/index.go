package audit

import (
	"context"
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
//	"q/" field(1) len(2) value            a posting list: the records with field = value
//	"s/"                                  the summary list: each decision's summary (for stats)
//	"cs/" decision idx(8) contest id      a contest's facts, updated by its resolution
//	"a/", "sa/"                           access records (access.go)
//
// Posting lists and the summary list are ledger index lists (ledger/list.go):
// each record is an item (its index; no value in a posting list, its
// summary in the summary list), stored one block per list per commit, so a
// decision costs one stored key per commit of its batch, not one per
// field. Fields: k kind, o operator, m model, a outcome action, c category,
// r cited rule id, f provenance flag code, j jurisdiction. Values are
// length-prefixed so that no list name is a prefix of another's block keys.
const (
	prefixPosting      = "q/"
	prefixSummary      = "s/"
	prefixContestFacts = "cs/"
)

// The index format: written once to a new index (and by Reindex), so that
// an index laid out by an earlier version (one key per posting and per
// summary) is refused at Open, not read as malformed lists.
const (
	indexFormatKey = "meta/index-format"
	indexFormat    = "lists-2" // lists-2: summaries carry the locale and the refusing rules
)

// ErrIndexFormat is returned by Open for a log whose query indexes are not
// in this version's format: Reindex (ledgerctl reindex) rebuilds them.
var ErrIndexFormat = errors.New("audit: the query indexes are not in this version's format; stop the server and rebuild them with ledgerctl reindex --data DIR")

// checkIndexFormat marks the index of an empty log with this version's
// format, and refuses that of a log with entries unless it is so marked.
func checkIndexFormat(index ledger.IndexStore, size uint64) error {
	v, err := index.Get([]byte(indexFormatKey))
	switch {
	case err == nil && string(v) == indexFormat:
		return nil
	case err == nil:
		return fmt.Errorf("%w (it is %q, this version reads %q)", ErrIndexFormat, v, indexFormat)
	case !errors.Is(err, ledger.ErrNotFound):
		return err
	case size > 0:
		return fmt.Errorf("%w (a log of %d entries whose index carries no format mark, from before %q)", ErrIndexFormat, size, indexFormat)
	}
	return index.Update([]ledger.KV{{Key: []byte(indexFormatKey), Value: []byte(indexFormat)}}, nil)
}

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

// postingPrefix is the name of the posting list of field = value.
func postingPrefix(field byte, value string) []byte {
	return appendPostingPrefix(make([]byte, 0, postingPrefixLen(value)+8), field, value)
}

// postingPrefixLen is the length of the name of a posting list of value.
func postingPrefixLen(value string) int { return len(prefixPosting) + 3 + len(value) }

func appendPostingPrefix(b []byte, field byte, value string) []byte {
	b = append(b, prefixPosting...)
	b = append(b, field)
	b = binary.BigEndian.AppendUint16(b, uint16(min(len(value), 0xffff)))
	return append(b, value...)
}

// indexScanner is the part of ledger.IndexStore that reads lists.
type indexScanner interface {
	Scan(ctx context.Context, prefix, start []byte, fn func(key, value []byte) bool) error
}

// scanList calls fn for each item of the index list name whose index is in
// [from, to), in index order, until fn returns false, on one snapshot of
// store. A malformed block is an error naming it.
func scanList(ctx context.Context, store indexScanner, name []byte, from, to uint64, fn func(idx uint64, value []byte) bool) error {
	var perr error
	err := store.Scan(ctx, name, ledger.ListBlockKey(name, from), func(k, v []byte) bool {
		if !ledger.IsListBlockOf(name, k) {
			return true // a longer name sharing the prefix cannot happen: values are length-prefixed
		}
		more := true
		if err := ledger.ListItems(k, v, func(idx uint64, value []byte) bool {
			if idx < from {
				return true
			}
			if idx >= to {
				more = false
				return false
			}
			more = fn(idx, value)
			return more
		}); err != nil {
			perr = fmt.Errorf("audit: %w", err)
			return false
		}
		return more
	})
	return errors.Join(err, perr)
}

// decisionIndex returns the index keys of decision d logged at idx.
func decisionIndex(idx uint64, d *Decision) []ledger.KV {
	return newDecisionIndexer(d).at(idx)
}

// decisionIndexer holds what a decision's index keys are made of but its
// index, so that the keys are made cheaply once the index is known (the
// log calls for them in its sequencer, one record after another).
type decisionIndexer struct {
	prefixes [][]byte // posting list names, without duplicates
	summary  []byte   // the summary's value
}

func newDecisionIndexer(d *Decision) *decisionIndexer {
	fixed := [...]struct {
		field byte
		value string
	}{
		{fieldKind, string(KindDecision)},
		{fieldOperator, d.System.Operator},
		{fieldModel, d.System.Model},
		{fieldAction, d.Outcome.Action},
		{fieldCategory, d.Outcome.Category},
		{fieldJurisdiction, d.Subject.Jurisdiction},
	}
	// Every name goes into one buffer, sized for all of them up front (so
	// that it never moves): one allocation a decision, not one a name.
	size := 0
	for _, f := range fixed {
		size += postingPrefixLen(f.value)
	}
	for _, r := range d.Rules {
		size += postingPrefixLen(r.RuleID)
	}
	for _, f := range d.ProvenanceFlags {
		size += postingPrefixLen(f.Code)
	}
	x := &decisionIndexer{summary: encodeSummary(summarize(d)), prefixes: make([][]byte, 0, len(fixed)+len(d.Rules)+len(d.ProvenanceFlags))}
	buf := make([]byte, 0, size)
	add := func(field byte, value string) {
		start := len(buf)
		buf = appendPostingPrefix(buf, field, value)
		x.prefixes = append(x.prefixes, buf[start:len(buf):len(buf)])
	}
	for _, f := range fixed {
		add(f.field, f.value)
	}
	// A rule cited twice, or a flag raised twice: one posting (the ledger
	// refuses two items of one list from one entry).
	eachDistinct(d.Rules, func(r AppliedRule) string { return r.RuleID }, func(id string) { add(fieldRule, id) })
	eachDistinct(d.ProvenanceFlags, func(f ProvenanceFlag) string { return f.Code }, func(id string) { add(fieldFlag, id) })
	return x
}

// eachDistinct calls fn with the ids of l, each once, in order. Up to 16
// items it scans the ones before (a decision cites a handful of rules and
// flags: no map to allocate); past that, a map keeps it linear.
func eachDistinct[T any](l []T, id func(T) string, fn func(string)) {
	var seen map[string]bool
	if len(l) > 16 {
		seen = make(map[string]bool, len(l))
	}
	for i, v := range l {
		s := id(v)
		dup := seen[s]
		for j := 0; seen == nil && j < i && !dup; j++ {
			dup = id(l[j]) == s
		}
		if !dup {
			if seen != nil {
				seen[s] = true
			}
			fn(s)
		}
	}
}

// at returns the index list items of the decision logged at idx: its
// postings, then its summary. (The index is the one the stamp is given;
// the ledger adds it to each item.)
func (x *decisionIndexer) at(uint64) []ledger.KV {
	kvs := make([]ledger.KV, 0, len(x.prefixes)+1)
	for _, p := range x.prefixes {
		kvs = append(kvs, ledger.KV{Key: p, List: true})
	}
	return append(kvs, ledger.KV{Key: []byte(prefixSummary), Value: x.summary, List: true})
}

// kindIndex is the posting of a record of kind other than decision.
func kindIndex(kind Kind) []ledger.KV {
	return []ledger.KV{{Key: postingPrefix(fieldKind, string(kind)), List: true}}
}

func contestFactsKey(decisionIdx uint64, contestID string) []byte {
	return append(binary.BigEndian.AppendUint64([]byte(prefixContestFacts), decisionIdx), contestID...)
}

// summary is what stats and calibration (GET /v1/rules) need of a
// decision. refusing are the rules it cites with effect refuse.
type summary struct {
	action, category, jurisdiction, model, operator, constitution string
	rules, flags                                                  []string
	locale                                                        string
	refusing                                                      []string
}

func summarize(d *Decision) summary {
	s := summary{action: d.Outcome.Action, category: d.Outcome.Category, jurisdiction: d.Subject.Jurisdiction,
		model: d.System.Model, operator: d.System.Operator, constitution: d.Constitution.ID + "@" + d.Constitution.Version}
	for _, r := range d.Rules {
		s.rules = append(s.rules, r.RuleID)
		if r.Effect == "refuse" {
			s.refusing = append(s.refusing, r.RuleID)
		}
	}
	for _, f := range d.ProvenanceFlags {
		s.flags = append(s.flags, f.Code)
	}
	s.locale = d.Subject.Locale
	return s
}

// encodeSummary: six strings, then the rules and the flags, each a uvarint
// count of uvarint-length-prefixed strings, then the locale and the
// refusing rules, in the same encodings.
func encodeSummary(s summary) []byte {
	fixed := [...]string{s.action, s.category, s.jurisdiction, s.model, s.operator, s.constitution, s.locale}
	size := 3 * binary.MaxVarintLen64
	for _, l := range [][]string{fixed[:], s.rules, s.flags, s.refusing} {
		for _, v := range l {
			size += binary.MaxVarintLen64 + len(v)
		}
	}
	b := make([]byte, 0, size) // one allocation: the appends below never outgrow it
	str := func(v string) {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	for _, v := range fixed[:6] {
		str(v)
	}
	list := func(l []string) {
		b = binary.AppendUvarint(b, uint64(len(l)))
		for _, v := range l {
			str(v)
		}
	}
	list(s.rules)
	list(s.flags)
	str(fixed[6])
	list(s.refusing)
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
		if c.Decision.Shard != "" { // a decision of an earlier shard: no facts here
			return kindIndex(KindContest), nil
		}
		return append(kindIndex(KindContest), ledger.KV{Key: contestFactsKey(c.Decision.Index, c.ContestID), Value: encodeFacts(due, false, false)}), nil
	case KindResolution:
		var r Resolution
		if err := decodeStrict(env.Body, &r); err != nil {
			return nil, err
		}
		if r.ContestShard != "" { // a contest of an earlier shard: no facts here
			return kindIndex(KindResolution), nil
		}
		c, err := contestOf(r.ContestID)
		if err != nil {
			return nil, err
		}
		due, err := time.Parse(time.RFC3339Nano, c.DueBy)
		if err != nil {
			return nil, err
		}
		if c.Decision.Shard != "" {
			return kindIndex(KindResolution), nil
		}
		return append(kindIndex(KindResolution), ledger.KV{Key: contestFactsKey(c.Decision.Index, c.ContestID), Value: encodeFacts(due, true, overturns(r.Outcome))}), nil
	case KindChallenge:
		var c Challenge
		if err := decodeStrict(env.Body, &c); err != nil {
			return nil, err
		}
		return challengeIndex(idx, &c), nil
	case KindAmendment:
		var a Amendment
		if err := decodeStrict(env.Body, &a); err != nil {
			return nil, err
		}
		return amendmentIndex(idx, &a), nil
	case KindAccess:
		var a Access
		if err := decodeStrict(env.Body, &a); err != nil {
			return nil, err
		}
		return accessIndex(idx, &a), nil
	}
	return kindIndex(env.Kind), nil
}

func overturns(outcome string) bool {
	return outcome == "overturned" || outcome == "partially_overturned"
}
