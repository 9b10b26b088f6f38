package audit

import (
	"context"
	"errors"
	"fmt"

	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/verify/calibration"
)

// RulesFilter selects the decisions whose figures GET /v1/rules counts:
// Filter's fields (Action and ContestStatus must be empty: a refusal rate
// of refusals only means nothing, and a contest status depends on the
// clock), the subject's Locale, and the cited Constitution ("id@version").
type RulesFilter struct {
	Filter
	Locale, Constitution string
}

// RulesResult is what GET /v1/rules is made of: every constitution version
// logged before Head.Size, in log order, and the counts of the decisions of
// the index range [From, To) matching the filter, with their contests and
// resolutions up to the head.
type RulesResult struct {
	// Records are the constitutions, challenges (with their responses) and
	// amendments logged before Head.Size.
	Records  calibration.Records
	Counts   *calibration.Counts
	From, To uint64
	Head     ledger.Head
}

// Rules counts, for every rule and constitution version, the decisions of
// the window matching f that cite it, those citing it with effect refuse,
// those of them contested, and their contests resolved and overturned
// (or partially overturned); and, per outcome category, the decisions and
// refusals of each jurisdiction and each locale (record.RuleCounts,
// calibration.Tally). It reads the summary list and the contest facts
// (index.go) as Stats does, never the decisions' entries, and the entries
// of the constitution, challenge and amendment records. Its counts do not
// depend on the clock: a recount from the tiles (verify/recount) gives the
// same numbers. More than MaxGroups rule and sensitivity groups fail with
// ErrTooManyGroups, as for Stats.
func (b *Book) Rules(ctx context.Context, f RulesFilter) (*RulesResult, error) {
	for _, v := range []struct{ name, value string }{{"action", f.Action}, {"contest_status", f.ContestStatus}} {
		if v.value != "" {
			return nil, &ValidationError{Field: v.name, Message: "is not a filter of GET /v1/rules: calibration counts every outcome of the rules' decisions, and does not depend on the clock"}
		}
	}
	for _, v := range []struct{ name, value string }{{"locale", f.Locale}, {"constitution", f.Constitution}} {
		if len(v.value) > MaxFilterValue {
			return nil, &ValidationError{Field: v.name, Message: fmt.Sprintf("is %d bytes long, want at most %d", len(v.value), MaxFilterValue)}
		}
	}
	if err := f.Check(); err != nil {
		return nil, err
	}
	head := b.cfg.Log.Head()
	recs, err := b.ruleRecordsBefore(ctx, head.Size)
	if err != nil {
		return nil, err
	}
	from, to, err := b.window(f.Filter, head.Size)
	if err != nil {
		return nil, err
	}
	facts := b.newCursor(ctx, []byte(prefixContestFacts), to)
	facts.facts = true
	counts := calibration.NewCounts()
	var (
		perr error
		sv   summaryView
	)
	err = scanList(ctx, b.cfg.Index, []byte(prefixSummary), from, to, func(idx uint64, v []byte) bool {
		if err := sv.decode(v); err != nil {
			perr = fmt.Errorf("summary of entry %d: %w", idx, err)
			return false
		}
		if !f.matchesView(&sv) || (f.Locale != "" && f.Locale != string(sv.locale)) ||
			(f.Constitution != "" && f.Constitution != string(sv.fields[5])) {
			return true
		}
		fs, err := facts.factsAt(idx)
		if err != nil {
			perr = err
			return false
		}
		category, refused := string(sv.fields[1]), string(sv.fields[0]) == "refused"
		for _, g := range []calibration.GroupKey{{Category: category, By: "jurisdiction", Value: string(sv.fields[2])},
			{Category: category, By: "locale", Value: string(sv.locale)}} {
			t := counts.Groups[g]
			t.Decisions++
			if refused {
				t.Refused++
			}
			counts.Groups[g] = t
		}
		for i, r := range sv.rules {
			if seenBefore(sv.rules[:i], r) {
				continue
			}
			k := calibration.RuleKey{Constitution: string(sv.fields[5]), RuleID: string(r)}
			c := counts.Rules[k]
			c.Cited++
			if seenBefore(sv.refusing, r) {
				c.Refusing++
				if len(fs) > 0 {
					c.Contested++
				}
				for _, x := range fs {
					if x.resolved {
						c.Resolved++
						if x.overturned {
							c.Overturned++
						}
					}
				}
			}
			counts.Rules[k] = c
		}
		if len(counts.Rules)+len(counts.Groups) > maxGroups {
			perr = tooManyGroups()
			return false
		}
		return true
	})
	if err := errors.Join(err, perr); err != nil {
		return nil, err
	}
	return &RulesResult{Records: recs, Counts: counts, From: from, To: to, Head: head}, nil
}

// ruleRecordsBefore reads every constitution, challenge, challenge
// response and amendment below size through the kind posting lists.
func (b *Book) ruleRecordsBefore(ctx context.Context, size uint64) (calibration.Records, error) {
	var recs calibration.Records
	responses := map[string]*ChallengeResponse{}
	// Go evaluates the arguments left to right: the responses are read
	// before the challenges that look them up.
	err := errors.Join(
		eachOfKind(ctx, b, KindChallengeResponse, size, func(_ uint64, r *ChallengeResponse) {
			if responses[r.ChallengeID] == nil {
				responses[r.ChallengeID] = r
			}
		}),
		eachOfKind(ctx, b, KindConstitution, size, func(idx uint64, c *Constitution) {
			recs.Constitutions = append(recs.Constitutions, calibration.Published{Index: idx, Constitution: *c})
		}),
		eachOfKind(ctx, b, KindChallenge, size, func(idx uint64, c *Challenge) {
			recs.Challenges = append(recs.Challenges, calibration.Filed{Index: idx, Challenge: *c, Response: responses[c.ChallengeID]})
		}),
		eachOfKind(ctx, b, KindAmendment, size, func(idx uint64, a *Amendment) {
			recs.Amendments = append(recs.Amendments, calibration.Proposed{Index: idx, Amendment: *a})
		}))
	return recs, err
}

// eachOfKind calls fn with the index and decoded body of every record of
// kind below size, in log order, through the kind posting list.
func eachOfKind[T any](ctx context.Context, b *Book, kind Kind, size uint64, fn func(idx uint64, v *T)) error {
	var idxs []uint64
	err := scanList(ctx, b.cfg.Index, postingPrefix(fieldKind, string(kind)), 0, size, func(idx uint64, _ []byte) bool {
		idxs = append(idxs, idx)
		return true
	})
	if err != nil {
		return err
	}
	for _, idx := range idxs {
		if err := ctx.Err(); err != nil {
			return err
		}
		v, err := bodyAt[T](b, idx)
		if err != nil {
			return fmt.Errorf("%s at entry %d: %w", kind, idx, err)
		}
		fn(idx, v)
	}
	return nil
}
