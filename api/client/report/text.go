package report

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
	"github.com/fjaledger/fja/verify/recount"
)

// recordView is a record as query --json prints it.
type recordView struct {
	Index          uint64          `json:"index"`
	Entry          json.RawMessage `json:"entry"`
	LeafHash       []byte          `json:"leaf_hash"`
	InclusionProof [][]byte        `json:"inclusion_proof"`
	// Checkpoint is set when the record is proven against another
	// checkpoint than the answer's (an earlier page, with --all).
	Checkpoint string `json:"checkpoint,omitempty"`
}

// WriteQuery writes the pages of a query: as a table (index, logged_at,
// kind, id, action, category, jurisdiction, rules) and a summary line, or
// asJSON as one object whose records carry their entries decoded.
func WriteQuery(w io.Writer, run *client.QueryRun, asJSON, verified bool) error {
	last := run.Pages[len(run.Pages)-1]
	if asJSON {
		out := struct {
			Records    []recordView `json:"records"`
			Checkpoint string       `json:"checkpoint"`
			Scanned    record.Range `json:"scanned"`
			NextCursor string       `json:"next_cursor,omitempty"`
			Verified   bool         `json:"verified"`
		}{Records: []recordView{}, Checkpoint: last.Checkpoint, Scanned: last.Scanned, NextCursor: last.NextCursor, Verified: verified}
		for _, p := range run.Pages {
			for _, r := range p.Records {
				v := recordView{Index: r.Index, LeafHash: r.LeafHash, InclusionProof: r.InclusionProof}
				if json.Valid(r.Entry) {
					v.Entry = r.Entry
				} else {
					v.Entry, _ = json.Marshal(string(r.Entry))
				}
				if p.Checkpoint != last.Checkpoint {
					v.Checkpoint = p.Checkpoint
				}
				out.Records = append(out.Records, v)
			}
		}
		return json.NewEncoder(w).Encode(out)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tLOGGED_AT\tKIND\tID\tACTION\tCATEGORY\tJURISDICTION\tRULES")
	n := 0
	for _, p := range run.Pages {
		for _, r := range p.Records {
			s := summarize(r.Entry)
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Index, dash(s.loggedAt), dash(s.kind), dash(s.id), dash(s.action), dash(s.category), dash(s.jurisdiction), dash(strings.Join(s.rules, ",")))
			n++
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	size := ""
	if cp, err := CheckpointSize(last.Checkpoint); err == nil {
		size = fmt.Sprintf(" of tree size %d", cp)
	}
	v := ""
	if verified {
		v = "; checkpoint and every proof verified"
	}
	fmt.Fprintf(w, "%d records; scanned entries [%d, %d)%s%s\n", n, last.Scanned.From, last.Scanned.To, size, v)
	if last.NextCursor != "" {
		fmt.Fprintf(w, "more: --cursor %s (or --all)\n", last.NextCursor)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// CheckpointSize reads the (unverified) size line of a checkpoint.
func CheckpointSize(text string) (uint64, error) {
	lines := strings.SplitN(text, "\n", 3)
	if len(lines) < 2 {
		return 0, fmt.Errorf("no size line")
	}
	return strconv.ParseUint(lines[1], 10, 64)
}

type entrySummary struct {
	kind, loggedAt, id, action, category, jurisdiction string
	rules                                              []string
}

// summarize extracts the table columns of an entry.
func summarize(entry []byte) entrySummary {
	var env record.Envelope
	if json.Unmarshal(entry, &env) != nil {
		return entrySummary{kind: "?"}
	}
	s := entrySummary{kind: string(env.Kind), loggedAt: env.LoggedAt}
	switch env.Kind {
	case record.KindDecision:
		var d record.Decision
		_ = json.Unmarshal(env.Body, &d)
		s.id, s.action, s.category, s.jurisdiction = d.DecisionID, d.Outcome.Action, d.Outcome.Category, d.Subject.Jurisdiction
		for _, r := range d.Rules {
			s.rules = append(s.rules, r.RuleID)
		}
	case record.KindContest:
		var c record.Contest
		_ = json.Unmarshal(env.Body, &c)
		s.id, s.action = c.Decision.DecisionID, "contest "+c.ContestID
	case record.KindResolution:
		var r record.Resolution
		_ = json.Unmarshal(env.Body, &r)
		s.id, s.action = r.ContestID, r.Outcome
	case record.KindConstitution:
		var c record.Constitution
		_ = json.Unmarshal(env.Body, &c)
		s.id = c.Ref()
		for _, r := range c.Rules {
			s.rules = append(s.rules, r.RuleID)
		}
	}
	return s
}

// WriteDecision writes a decision record as pretty JSON: decision_id,
// index, record, and the private content when the answer holds it.
func WriteDecision(w io.Writer, v *record.DecisionView) error {
	out, err := json.MarshalIndent(struct {
		DecisionID string            `json:"decision_id"`
		Index      uint64            `json:"index"`
		Record     json.RawMessage   `json:"record"`
		Private    map[string]string `json:"private,omitempty"`
	}{v.DecisionID, v.Index, v.Record, v.Private}, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(out, '\n'))
	return err
}

// WriteGroups writes stats groups as a table: one column per group field
// (and the constitution beside a rule, the role beside an actor), then
// the figures: of decisions, or with access those of reads of private
// content (count and records read).
func WriteGroups(w io.Writer, fields []string, groups []record.Group, access bool) {
	cols := []string{}
	for _, f := range fields {
		cols = append(cols, f)
		if f == "rule" {
			cols = append(cols, "constitution")
		}
		if f == "actor" {
			cols = append(cols, "role")
		}
	}
	// keys the server sent that the fields do not name, in a stable order
	extra := map[string]bool{}
	for _, g := range groups {
		for k := range g.Key {
			known := false
			for _, c := range cols {
				known = known || c == k
			}
			if !known {
				extra[k] = true
			}
		}
	}
	var ex []string
	for k := range extra {
		ex = append(ex, k)
	}
	sort.Strings(ex)
	cols = append(cols, ex...)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range cols {
		fmt.Fprintf(tw, "%s\t", strings.ToUpper(c))
	}
	if access {
		fmt.Fprintln(tw, "READS\tRECORDS")
	} else {
		fmt.Fprintln(tw, "COUNT\tCONTESTS\tOVERTURNED\tOVERDUE")
	}
	for _, g := range groups {
		for _, c := range cols {
			v, ok := g.Key[c]
			switch {
			case !ok:
				v = "-"
			case v == "":
				v = `""`
			}
			fmt.Fprintf(tw, "%s\t", v)
		}
		if access {
			fmt.Fprintf(tw, "%d\t%d\n", g.Count, g.Records)
			continue
		}
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\n", g.Count, g.Contests, g.Overturned, g.Overdue)
	}
	_ = tw.Flush()
}

// auditJSON is the JSON report of one audited answer (or shard's part).
type auditJSON struct {
	N        int    `json:"n,omitempty"` // the shard, in Shards
	OK       bool   `json:"ok"`
	What     string `json:"what"`
	Origin   string `json:"origin"`
	Root     []byte `json:"root"`
	Answered int    `json:"answered"`
	*recount.Report
	Shards []auditJSON `json:"shards,omitempty"`
}

// WriteAudit writes the outcome of an audit of a query, stats or rules
// answer (what): every discrepancy and note and the verdict, or asJSON one
// object. An answer across temporal shards (a.Shards) is reported shard
// by shard, each frozen shard's part first ("shard N:" before its lines;
// in JSON under "shards", each with its "n"), then the active shard's.
func WriteAudit(w io.Writer, asJSON bool, what string, a *client.Audit) error {
	if asJSON {
		v := auditJSON{OK: a.Report.OK(), What: what, Origin: a.Checkpoint.Origin, Root: a.Checkpoint.Hash, Answered: a.Answered, Report: a.Report}
		for _, s := range a.Shards {
			v.Shards = append(v.Shards, auditJSON{N: s.N, OK: s.Report.OK(), What: what, Origin: s.Checkpoint.Origin, Root: s.Checkpoint.Hash, Answered: s.Answered, Report: s.Report})
		}
		return json.NewEncoder(w).Encode(v)
	}
	for _, s := range a.Shards {
		fmt.Fprintf(w, "shard %d:\n", s.N)
		writeAuditText(w, what, s.Checkpoint, s.Report, s.Answered)
	}
	if len(a.Shards) > 0 {
		fmt.Fprintln(w, "active shard:")
	}
	writeAuditText(w, what, a.Checkpoint, a.Report, a.Answered)
	return nil
}

// writeAuditText writes one part's discrepancies, notes and verdict.
func writeAuditText(w io.Writer, what string, cp *verify.Checkpoint, rep *recount.Report, answered int) {
	for _, p := range rep.Problems {
		fmt.Fprintln(w, "DISCREPANCY", p.String())
	}
	for _, n := range rep.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	unit := map[string]string{"query": "records", "stats": "groups", "rules": "rules"}[what]
	verdict := "NOT complete and correct"
	if rep.OK() {
		verdict = "complete and correct"
	}
	fmt.Fprintf(w, "%s answer %s: %d %s answered, %d matching in entries [%d, %d); %d entries read from the tiles and authenticated against the checkpoint of %s at size %d, root %s\n",
		what, verdict, answered, unit, rep.Matched, rep.Scanned.From, rep.Scanned.To, rep.Read, cp.Origin, cp.Size, base64.StdEncoding.EncodeToString(cp.Hash))
}
