package monitor

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
)

// The rules of participatory constitutions (DESIGN.md §4), checked on
// every logged challenge, challenge_response, amendment and constitution
// version that adopts amendments:
//
//   - a challenge names a rule of a constitution version published
//     earlier, its evidence entries are earlier entries with those leaf
//     hashes, and its id is used once;
//   - a challenge_response is human_reviewed, answers a challenge logged
//     earlier that has no answer yet, and names an amendment id when
//     accepted;
//   - an amendment amends a version published earlier, its changes apply
//     to that version's rules, and its id is used once;
//   - a constitution version that adopts amendments supersedes a version
//     published earlier, adopts amendments logged earlier whose comment
//     periods ended before it was logged, and its rules
//     are the superseded version's with exactly the adopted changes
//     (record.CheckAdoption, the function the ledger applies at append).
//     The alarm's evidence holds both constitution entries and the
//     adopted amendments, each with its inclusion proof.

// GovernanceState is what the monitor keeps of constitutions, challenges
// and amendments beyond State.Constitutions: where each record is, so that
// a check can read it again from the authenticated tiles.
type GovernanceState struct {
	// ConstitutionAt maps "id@version" to the index of its record.
	ConstitutionAt map[string]uint64 `json:"constitution_at"`
	// Amendments maps an amendment id to the index of its record.
	Amendments map[string]uint64 `json:"amendments"`
	// Challenges maps a challenge id to the index of its record and, once
	// answered, of its response.
	Challenges map[string]*ChallengeState `json:"challenges"`
}

// ChallengeState is what the monitor keeps of one challenge.
type ChallengeState struct {
	Index    uint64  `json:"index"`
	Response *uint64 `json:"response,omitempty"`
}

func (g *GovernanceState) clone() *GovernanceState {
	if g == nil {
		return nil
	}
	c := &GovernanceState{ConstitutionAt: maps.Clone(g.ConstitutionAt), Amendments: maps.Clone(g.Amendments),
		Challenges: make(map[string]*ChallengeState, len(g.Challenges))}
	for k, v := range g.Challenges {
		cc := *v
		if v.Response != nil {
			r := *v.Response
			cc.Response = &r
		}
		c.Challenges[k] = &cc
	}
	return c
}

// gov returns the governance state, its maps made on first use (a state
// saved before they existed has none).
func (r *ruleChecker) gov() *GovernanceState {
	if r.st.Governance == nil {
		r.st.Governance = &GovernanceState{}
	}
	g := r.st.Governance
	if g.ConstitutionAt == nil {
		g.ConstitutionAt = map[string]uint64{}
	}
	if g.Amendments == nil {
		g.Amendments = map[string]uint64{}
	}
	if g.Challenges == nil {
		g.Challenges = map[string]*ChallengeState{}
	}
	return g
}

// logged decodes the body of the earlier entry idx of kind into v.
func (r *ruleChecker) logged(idx uint64, kind record.Kind, v any) error {
	e, err := r.entry(idx)
	if err != nil {
		return err
	}
	var env record.Envelope
	if err := json.Unmarshal(e, &env); err != nil || env.Kind != kind {
		return fmt.Errorf("entry %d is not a %s record", idx, kind)
	}
	return json.Unmarshal(env.Body, v)
}

// constitutionLogged records where constitution c is, and checks its
// adoption of amendments.
func (r *ruleChecker) constitutionLogged(idx uint64, c *record.Constitution) []broken {
	g := r.gov()
	g.ConstitutionAt[c.Ref()] = idx
	if len(c.Adopts) == 0 {
		return nil
	}
	bad := func(related []uint64, format string, a ...any) []broken {
		return []broken{{rule: "adoption", msg: fmt.Sprintf("constitution %s: ", c.Ref()) + fmt.Sprintf(format, a...), related: related}}
	}
	if c.Supersedes == nil || *c.Supersedes == "" {
		return bad(nil, "adopts %v but supersedes no version", c.Adopts)
	}
	prevRef := c.ConstitutionID + "@" + *c.Supersedes
	pi, ok := g.ConstitutionAt[prevRef]
	if !ok || pi >= idx {
		return bad(nil, "supersedes %s, which was not published earlier in the log", prevRef)
	}
	var prev record.Constitution
	if err := r.logged(pi, record.KindConstitution, &prev); err != nil {
		return bad([]uint64{pi}, "cannot read the superseded version: %v", err)
	}
	related := []uint64{pi}
	ams := make([]record.Amendment, len(c.Adopts))
	for i, id := range c.Adopts {
		ai, ok := g.Amendments[id]
		if !ok {
			return bad(related, "adopts amendment %s, which was not logged earlier", id)
		}
		related = append(related, ai)
		if err := r.logged(ai, record.KindAmendment, &ams[i]); err != nil {
			return bad(related, "cannot read amendment %s: %v", id, err)
		}
		// r.st.LastLoggedAt is this entry's logged_at (check sets it first).
		until, err1 := time.Parse(time.RFC3339Nano, ams[i].CommentUntil)
		at, err2 := time.Parse(time.RFC3339Nano, r.st.LastLoggedAt)
		if ams[i].CommentUntil != "" && err1 == nil && err2 == nil && at.Before(until) {
			return bad(related, "adopts amendment %s (entry %d) at %s, before its comment period ends (%s)", id, ai, r.st.LastLoggedAt, ams[i].CommentUntil)
		}
	}
	if m := record.CheckAdoption(&prev, c, ams); m != nil {
		return bad(related, "its rules are not %s (entry %d) with exactly the changes of the adopted amendments %v (entries %v): %s: %s",
			prevRef, pi, c.Adopts, related[1:], m.Field, m.Message)
	}
	return nil
}

// governance checks a challenge, challenge_response or amendment at idx.
func (r *ruleChecker) governance(idx uint64, env *record.Envelope) []broken {
	var out []broken
	bad := func(format string, a ...any) {
		out = append(out, broken{rule: string(env.Kind), msg: fmt.Sprintf(format, a...)})
	}
	g := r.gov()
	switch env.Kind {
	case record.KindChallenge:
		var c record.Challenge
		if err := json.Unmarshal(env.Body, &c); err != nil || c.ChallengeID == "" {
			bad("not a challenge body (challenge_id required): %v", err)
			break
		}
		if _, dup := g.Challenges[c.ChallengeID]; dup {
			bad("challenge id %s is logged a second time", c.ChallengeID)
			break
		}
		g.Challenges[c.ChallengeID] = &ChallengeState{Index: idx}
		if has, ok := r.published(c.Rule.Ref()); !ok || !has(c.Rule.RuleID) {
			bad("challenge %s names rule %s of %s, which is not in a constitution published earlier", c.ChallengeID, c.Rule.RuleID, c.Rule.Ref())
		}
		for i, e := range c.Evidence {
			if msg := r.earlierLeaf(idx, e.Index, e.LeafHash); msg != "" {
				bad("challenge %s evidence.%d: %s", c.ChallengeID, i, msg)
			}
		}
	case record.KindChallengeResponse:
		var cr record.ChallengeResponse
		if err := json.Unmarshal(env.Body, &cr); err != nil || cr.ChallengeID == "" {
			bad("not a challenge_response body (challenge_id required): %v", err)
			break
		}
		if !cr.HumanReviewed {
			bad("the response to challenge %s is not human_reviewed", cr.ChallengeID)
		}
		if cr.Outcome == "accepted" && cr.AmendmentID == "" {
			bad("the response to challenge %s accepts it without naming an amendment", cr.ChallengeID)
		}
		switch c, ok := g.Challenges[cr.ChallengeID]; {
		case !ok:
			bad("answers challenge %s, which was not logged earlier", cr.ChallengeID)
		case c.Response != nil:
			bad("answers challenge %s, which was answered already at index %d", cr.ChallengeID, *c.Response)
		default:
			i := idx
			c.Response = &i
		}
	case record.KindAmendment:
		var a record.Amendment
		if err := json.Unmarshal(env.Body, &a); err != nil || a.AmendmentID == "" {
			bad("not an amendment body (amendment_id required): %v", err)
			break
		}
		if _, dup := g.Amendments[a.AmendmentID]; dup {
			bad("amendment id %s is logged a second time", a.AmendmentID)
			break
		}
		g.Amendments[a.AmendmentID] = idx
		ci, ok := g.ConstitutionAt[a.Constitution.Ref()]
		var base record.Constitution
		switch {
		case !ok:
			bad("amendment %s amends %s, which was not published earlier", a.AmendmentID, a.Constitution.Ref())
		case r.logged(ci, record.KindConstitution, &base) != nil:
			bad("amendment %s: cannot read constitution %s at entry %d", a.AmendmentID, a.Constitution.Ref(), ci)
		default:
			if _, err := record.ApplyChanges(base.Rules, a.Changes); err != nil {
				bad("amendment %s does not apply to %s: %v", a.AmendmentID, a.Constitution.Ref(), err)
			}
		}
	}
	return out
}

// earlierLeaf checks that entry at is before idx and has leaf hash lh.
func (r *ruleChecker) earlierLeaf(idx, at uint64, lh []byte) string {
	if at >= idx {
		return fmt.Sprintf("names index %d, not an earlier entry", at)
	}
	e, err := r.entry(at)
	if err != nil {
		return fmt.Sprintf("cannot read entry %d: %v", at, err)
	}
	if got := verify.LeafHash(e); !bytes.Equal(got, lh) {
		return fmt.Sprintf("names entry %d with leaf hash %s, but its leaf hash is %s", at, b64(lh), b64(got))
	}
	return ""
}

// writeRelated adds to an alarm's evidence an earlier entry it concerns,
// with its inclusion proof against the checkpoint.
func (r *ruleChecker) writeRelated(b *strings.Builder, idx uint64) {
	e, err := r.entry(idx)
	if err != nil {
		fmt.Fprintf(b, "related entry %d: cannot be read from the tiles: %v\n\n", idx, err)
		return
	}
	fmt.Fprintf(b, "related entry %d\nleaf hash: %s\nentry (base64): %s\nentry (text):\n%s\n", idx, b64(verify.LeafHash(e)), b64(e), e)
	p, err := tlog.ProveRecord(int64(r.cp.Size), int64(idx), r.hr)
	if err != nil {
		fmt.Fprintf(b, "inclusion proof: could not be computed from the tiles: %v\n\n", err)
		return
	}
	fmt.Fprintf(b, "inclusion proof of index %d in the tree of size %d:\n", idx, r.cp.Size)
	for _, h := range p {
		fmt.Fprintf(b, "  %s\n", b64(h[:]))
	}
	b.WriteString("\n")
}

// sortedRelated is a violation's related indices, ascending, once each.
func sortedRelated(v broken) []uint64 {
	out := slices.Clone(v.related)
	slices.Sort(out)
	return slices.Compact(out)
}
