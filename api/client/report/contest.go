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
