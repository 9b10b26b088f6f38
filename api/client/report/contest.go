package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/verify/record"
)

// WriteContest writes a contest's status as text: status, filing time,
// deadline, grounds (category and commitment), remedy and entry, then its
// resolution (outcome, whether a person reviewed it, entry, rationale,
// each rule change) or "none yet". verifiedIn, when not "", is the origin
// whose signed checkpoint the records were verified under (Client.
// ContestRecords), said on a last line.
func WriteContest(w io.Writer, v *record.ContestView, recs *client.ContestRecords, verifiedIn string) error {
	ct, res := recs.Contest, recs.Resolution
	var b strings.Builder
	fmt.Fprintf(&b, "contest %s against %s: %s\n", v.ContestID, v.DecisionID, v.Status)
	filed := v.FiledAt
	if filed == "" {
		filed = ct.FiledAt
	}
	if filed != "" {
		fmt.Fprintf(&b, "  filed:       %s\n", filed)
	}
	fmt.Fprintf(&b, "  due by:      %s\n", v.DueBy)
	fmt.Fprintf(&b, "  grounds:     %s (commitment %s)\n", ct.Grounds.Category, ct.Grounds.Commitment)
	fmt.Fprintf(&b, "  remedy:      %s\n", ct.Remedy)
	fmt.Fprintf(&b, "  contest:     entry %d\n", v.Contest.Index)
	if res != nil {
		reviewed := "human reviewed"
		if !res.HumanReviewed {
			reviewed = "NOT human reviewed"
		}
		fmt.Fprintf(&b, "  resolution:  %s (%s), entry %d\n", res.Outcome, reviewed, v.Resolution.Index)
		fmt.Fprintf(&b, "  rationale:   %s\n", res.Rationale)
		for _, rc := range res.RuleChanges {
			fmt.Fprintf(&b, "  rule change: %s %s in constitution version %s\n", rc.RuleID, rc.Change, rc.ConstitutionVersion)
		}
	} else {
		fmt.Fprintf(&b, "  resolution:  none yet\n")
	}
	if verifiedIn != "" {
		fmt.Fprintf(&b, "verified: the records are in %s under the signed checkpoint served with them\n", verifiedIn)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteStats writes a stats answer as text: the groups (WriteGroups), then
// "N groups; scanned entries [from, to)" with the checkpoint's tree size
// when it parses, and "; checkpoint verified" when verified.
func WriteStats(w io.Writer, fields []string, ans *record.StatsAnswer, access, verified bool) error {
	WriteGroups(w, fields, ans.Groups, access)
	size, note := "", ""
	if n, err := CheckpointSize(ans.Checkpoint); err == nil {
		size = fmt.Sprintf(" of tree size %d", n)
	}
	if verified {
		note = "; checkpoint verified"
	}
	_, err := fmt.Fprintf(w, "%d groups; scanned entries [%d, %d)%s%s\n", len(ans.Groups), ans.Scanned.From, ans.Scanned.To, size, note)
	return err
}

// ContestFiled says what filing contest res against the decision of d
// did: the summary ("contest ID filed against DECISION, due by T", "
// (filed before)" for a repeat) and what was verified offline with the
// key of origin (NotVerified when the client does not verify).
func ContestFiled(res *client.Contest, d *client.DecisionReceipt, origin string) (summary, verified string) {
	id, r := res.Filed.ContestID, res.Appended
	verified = NotVerified("contest")
	if lc := res.Logged; lc != nil {
		verified = fmt.Sprintf("verified offline with the key of %s: the contest receipt (entry %d in the tree of size %d), and its logged entry is contest %s against decision %s (entry %d), asking %s on %s grounds, due by %s",
			origin, r.Index(), r.Checkpoint.Size, id, d.DecisionID, d.Index, lc.Remedy, lc.Grounds.Category, lc.DueBy)
	}
	summary = fmt.Sprintf("contest %s filed against %s, due by %s", id, d.DecisionID, res.Filed.DueBy)
	if r.Duplicate {
		summary += " (filed before)"
	}
	return summary, verified
}

// ResolutionLogged says what logging req, the resolution of contest id,
// did (ans and a: Client.ResolveContest's answer): the summary ("contest
// ID resolved: OUTCOME (entry N)", " (logged before)" for a repeat) and
// what was verified offline with the key of origin.
func ResolutionLogged(id string, req *record.ResolutionRequest, ans *record.ResolutionLogged, a *client.Appended, origin string) (summary, verified string) {
	verified = NotVerified("resolution")
	if a.Checkpoint != nil {
		verified = fmt.Sprintf("verified offline with the key of %s: the resolution receipt (entry %d in the tree of size %d), and its logged entry is the resolution sent: contest %s, %s, human reviewed, %d rule changes",
			origin, a.Index(), a.Checkpoint.Size, id, req.Outcome, len(req.RuleChanges))
	}
	summary = fmt.Sprintf("contest %s resolved: %s (entry %d)", id, ans.Outcome, a.Index())
	if a.Duplicate {
		summary += " (logged before)"
	}
	return summary, verified
}

// ChallengeFiled says what filing challenge id of rule (ID@VERSION/RULE)
// did (filed and a: Client.FileChallenge's answer): the summary
// ("challenge ID of RULE filed, due by T") and what was verified offline.
func ChallengeFiled(id, rule string, filed *record.ChallengeFiled, a *client.Appended) (summary, verified string) {
	verified = NotVerified("challenge")
	if a.Checkpoint != nil {
		verified = fmt.Sprintf("verified offline: the receipt (entry %d) and its entry, challenge %s of %s", a.Index(), id, rule)
	}
	return fmt.Sprintf("challenge %s of %s filed, due by %s", id, rule, filed.DueBy), verified
}

// AmendmentLogged is the line said of a proposed amendment (v and a:
// Client.ProposeAmendment's answer): its entry and its comment period, or
// that it has none.
func AmendmentLogged(v *record.AmendmentLogged, a *client.Appended) string {
	period := "no comment period"
	if v.CommentUntil != "" {
		period = "comments until " + v.CommentUntil
	}
	return fmt.Sprintf("amendment %s of %s logged at entry %d; %s", v.AmendmentID, v.Constitution, a.Index(), period)
}

// NotVerified is what a write without a key says it checked: nothing.
func NotVerified(what string) string {
	return "the " + what + " receipt was NOT verified (no --key): check it with ledgerctl verify FILE --key VKEY"
}
