// Package report builds a regulator's self-contained HTML transparency
// report for a time window from GET /v1/stats answers: every figure names
// the signed checkpoint and the index range it was computed from, and the
// ledgerctl audit-query command that recounts it from the public tiles.
// All stats answers MUST cover one index range (they are asked again, up
// to 3 times, while the log grows inside a window still open); with keys,
// every checkpoint is verified and each two checked consistent.
//
// It also holds what ledgerctl prints of the client's answers (query
// pages, stats groups, audits, contests, decisions, the lines of an
// append run) and the JSON-lines Exporter, so that the command is wiring
// and other programs print the same.
package report

import (
	"context"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
)

//go:embed report.html.tmpl
var rptTemplateText string

var rptTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"f1": func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
}).Parse(rptTemplateText))

// rptTries is how often report re-asks every stats call when the answers
// cover different index ranges (the log grew inside a window still open).
const rptTries = 3

// ParseWindow parses a time window's bounds, from and to (RFC 3339, both
// required, to not before from), as given on a command line.
func ParseWindow(from, to string) (time.Time, time.Time, error) {
	if from == "" || to == "" {
		return time.Time{}, time.Time{}, errors.New("--from and --to are required (RFC 3339, e.g. 2026-11-01T00:00:00Z)")
	}
	ft, err := time.Parse(time.RFC3339Nano, from)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("--from %q is not an RFC 3339 time", from)
	}
	tt, err := time.Parse(time.RFC3339Nano, to)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("--to %q is not an RFC 3339 time", to)
	}
	if tt.Before(ft) {
		return time.Time{}, time.Time{}, fmt.Errorf("--to %s is before --from %s", to, from)
	}
	return ft.UTC(), tt.UTC(), nil
}

// Time is the canonical form of a window bound sent to the server and
// printed in the report's commands.
func Time(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Keys are the verifier keys checkpoints are verified with: the log's,
// others (witnesses), and the origin they must carry.
type Keys = client.Keys

// rptStats is a GET /v1/stats answer and its checkpoint.
type rptStats struct {
	record.StatsAnswer
	cp Checkpoint
}

// Checkpoint is what the report states of a checkpoint.
type Checkpoint struct {
	Origin   string `json:"origin"`
	Size     uint64 `json:"size"`
	Root     string `json:"root"` // base64, as in the checkpoint
	Verified bool   `json:"verified"`
	Text     string `json:"-"`

	hash []byte
}

// ParseCheckpoint reads the body of a signed checkpoint note: origin,
// size and root hash. With keys it opens the note with verify.OpenCheckpoint
// first.
func ParseCheckpoint(text string, keys *Keys) (Checkpoint, error) {
	if keys != nil {
		cp, err := keys.OpenCheckpoint([]byte(text))
		if err != nil {
			return Checkpoint{}, fmt.Errorf("the checkpoint does NOT verify: %w", err)
		}
		return Checkpoint{Origin: cp.Origin, Size: cp.Size, Root: base64.StdEncoding.EncodeToString(cp.Hash), Verified: true, Text: text, hash: cp.Hash}, nil
	}
	body, _, ok := strings.Cut(text, "\n\n")
	if !ok {
		return Checkpoint{}, errors.New("the checkpoint is not a signed note (no blank line before the signatures)")
	}
	lines := strings.Split(body, "\n")
	if len(lines) < 3 || lines[0] == "" {
		return Checkpoint{}, fmt.Errorf("the checkpoint body has %d lines, want origin, size and root hash", len(lines))
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("the checkpoint size %q is not a number", lines[1])
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != 32 {
		return Checkpoint{}, fmt.Errorf("the checkpoint root %q is not a base64 32-byte hash", lines[2])
	}
	return Checkpoint{Origin: lines[0], Size: size, Root: lines[2], Text: text, hash: h}, nil
}

// Query is one GET /v1/stats call of the report.
type Query struct {
	GroupBy string // "" for the totals
	Action  string // "" for every decision
}

func (q Query) values(from, to time.Time) url.Values {
	v := url.Values{"from": {Time(from)}, "to": {Time(to)}}
	if q.GroupBy != "" {
		v.Set("group_by", q.GroupBy)
	}
	if q.Action != "" {
		v.Set("action", q.Action)
	}
	return v
}

// command is the ledgerctl audit-query invocation that recounts q from the
// public tiles.
func (q Query) command(from, to time.Time) string {
	s := "ledgerctl audit-query --stats --from " + Time(from) + " --to " + Time(to)
	if q.GroupBy != "" {
		s += " --group-by " + q.GroupBy
	}
	if q.Action != "" {
		s += " --action " + q.Action
	}
	return s + " --key VKEY"
}

// The stats calls of one report; Queries are all of them.
var (
	rptTotals      = Query{}
	rptOutcome     = Query{GroupBy: "outcome"}
	rptCategory    = Query{GroupBy: "category"}
	rptCategoryRef = Query{GroupBy: "category", Action: "refused"}
	rptJuris       = Query{GroupBy: "jurisdiction"}
	rptJurisRef    = Query{GroupBy: "jurisdiction", Action: "refused"}
	rptFlag        = Query{GroupBy: "flag"}
	rptRule        = Query{GroupBy: "rule"}
	Queries        = []Query{rptTotals, rptOutcome, rptCategory, rptCategoryRef, rptJuris, rptJurisRef, rptFlag, rptRule}
)

// Builder builds the report of [from, to) from the answers of one server.
type Builder struct {
	c        *client.Client
	keys     *Keys
	from, to time.Time
}

// New returns the builder of the report of [from, to) from c's server;
// with keys (nil for none) every checkpoint is verified.
func New(c *client.Client, keys *Keys, from, to time.Time) *Builder {
	return &Builder{c: c, keys: keys, from: from, to: to}
}

// Render writes the report of d as HTML.
func Render(w io.Writer, d *Data) error {
	if err := rptTemplate.Execute(w, d); err != nil {
		return fmt.Errorf("rendering the report: %w", err)
	}
	return nil
}

// fetch asks every stats call once.
func (r *Builder) fetch(ctx context.Context) (map[Query]*rptStats, error) {
	res := map[Query]*rptStats{}
	for _, q := range Queries {
		path := "/v1/stats?" + q.values(r.from, r.to).Encode()
		ans, _, err := r.c.Stats(ctx, q.values(r.from, r.to))
		if err != nil {
			return nil, err
		}
		st := rptStats{StatsAnswer: *ans}
		if st.cp, err = ParseCheckpoint(st.Checkpoint, r.keys); err != nil {
			return nil, fmt.Errorf("GET %s: %w", path, err)
		}
		if st.Scanned.From > st.Scanned.To || st.Scanned.To > st.cp.Size {
			return nil, fmt.Errorf("GET %s: scanned range [%d, %d) does not lie in the tree of size %d", path, st.Scanned.From, st.Scanned.To, st.cp.Size)
		}
		res[q] = &st
	}
	return res, nil
}

// fetchSame asks every stats call until all answers cover one index range.
func (r *Builder) fetchSame(ctx context.Context) (map[Query]*rptStats, error) {
	var ranges []string
	for try := 1; try <= rptTries; try++ {
		res, err := r.fetch(ctx)
		if err != nil {
			return nil, err
		}
		first := res[Queries[0]].Scanned
		same := true
		for _, q := range Queries {
			if res[q].Scanned != first {
				same = false
				ranges = append(ranges, fmt.Sprintf("[%d, %d) and [%d, %d)", first.From, first.To, res[q].Scanned.From, res[q].Scanned.To))
				break
			}
		}
		if same {
			return res, nil
		}
	}
	return nil, fmt.Errorf("the stats answers covered different index ranges in %d tries (%s): the log is growing inside the window; use a --to in the past",
		rptTries, strings.Join(ranges, "; "))
}

// Data is what the template renders.
type Data struct {
	From, To          string
	Generated         string
	Server            string
	Scanned           record.Range
	Total             int
	Checkpoints       []Checkpoint // distinct, by size
	CheckpointChanged bool
	Verified          bool
	Sections          []*Section
}

// Summary is what is said of the report once written to out: its
// figures' provenance as JSON members, and as one line.
func (d *Data) Summary(out string) (map[string]any, string) {
	cp := d.Checkpoints[len(d.Checkpoints)-1]
	v := map[string]any{
		"out": out, "decisions": d.Total, "scanned": map[string]uint64{"from": d.Scanned.From, "to": d.Scanned.To},
		"checkpoints": d.Checkpoints, "checkpoint_changed": d.CheckpointChanged, "verified": d.Verified,
	}
	return v, fmt.Sprintf("wrote %s: %d decisions in entries [%d, %d) at checkpoint %s size %d%s",
		out, d.Total, d.Scanned.From, d.Scanned.To, cp.Origin, cp.Size, map[bool]string{true: " (verified)", false: ""}[d.Verified])
}

type Section struct {
	ID, Title string
	Intro     string
	Stats     []rptStatLine // headline figures
	Charts    []*rptChart
	Table     *rptTable
	Prov      rptProv
	Queries   []rptRecompute
	Note      string
}

// rptProv lists the checkpoints a section's numbers were computed at, and
// the index range.
type rptProv struct {
	Checkpoints []Checkpoint
	Scanned     record.Range
}

type rptStatLine struct{ Label, Value string }

type rptRecompute struct{ Command, HTTP string }

type rptTable struct {
	Caption string
	Head    []string
	Rows    [][]string
}

// rptChart is a horizontal bar chart drawn as inline SVG.
type rptChart struct {
	ID, Title, Desc string
	Width, Height   int
	LabelW          int // width of the label column
	BarW            int // width of the full scale
	LabelX, ValueX  int // where labels end and values start
	Ticks           []rptTick
	Bars            []rptBar
	Empty           string
}

type rptTick struct {
	X     float64
	Label string
}

type rptBar struct {
	Label, FullLabel, Value string
	Y, W                    float64
	TextY                   float64
}

// rptRow is one group of a chart and table: a numerator over a
// denominator.
type rptRow struct {
	Label    string
	Num, Den int
}

func (r rptRow) rate() float64 {
	if r.Den == 0 {
		return 0
	}
	return float64(r.Num) / float64(r.Den)
}

func rptPct(num, den int) string {
	if den == 0 {
		return "n/a"
	}
	return strconv.FormatFloat(100*float64(num)/float64(den), 'f', 1, 64) + "%"
}

const (
	rptChartW   = 720
	rptLabelW   = 190
	rptBarW     = 400
	rptRowH     = 30
	rptTop      = 28
	rptBottom   = 8
	rptMaxLabel = 26
)

func rptShort(s string) string {
	if r := []rune(s); len(r) > rptMaxLabel {
		return string(r[:rptMaxLabel-1]) + "…"
	}
	return s
}

// rptRateChart draws rows as rates on a 0–100% scale.
func rptRateChart(id, title, what string, rows []rptRow) *rptChart {
	c := &rptChart{ID: id, Title: title, Width: rptChartW, LabelW: rptLabelW, BarW: rptBarW}
	for _, p := range []int{0, 25, 50, 75, 100} {
		c.Ticks = append(c.Ticks, rptTick{X: float64(rptLabelW) + float64(rptBarW*p)/100, Label: strconv.Itoa(p) + "%"})
	}
	var desc []string
	for i, r := range rows {
		v := rptPct(r.Num, r.Den) + " (" + strconv.Itoa(r.Num) + " of " + strconv.Itoa(r.Den) + ")"
		c.Bars = append(c.Bars, rptBar{Label: rptShort(r.Label), FullLabel: r.Label, Value: v,
			Y: float64(rptTop + i*rptRowH + 6), W: r.rate() * rptBarW, TextY: float64(rptTop + i*rptRowH + 20)})
		desc = append(desc, r.Label+": "+v)
	}
	c.finish(what, desc)
	return c
}

// rptCountChart draws rows as counts on a 0–max scale.
func rptCountChart(id, title, what string, rows []rptRow) *rptChart {
	c := &rptChart{ID: id, Title: title, Width: rptChartW, LabelW: rptLabelW, BarW: rptBarW}
	hi := 1
	for _, r := range rows {
		hi = max(hi, r.Num)
	}
	for _, v := range []int{0, hi} {
		c.Ticks = append(c.Ticks, rptTick{X: float64(rptLabelW) + float64(rptBarW*v)/float64(hi), Label: strconv.Itoa(v)})
	}
	var desc []string
	for i, r := range rows {
		v := strconv.Itoa(r.Num)
		c.Bars = append(c.Bars, rptBar{Label: rptShort(r.Label), FullLabel: r.Label, Value: v,
			Y: float64(rptTop + i*rptRowH + 6), W: float64(r.Num) / float64(hi) * rptBarW, TextY: float64(rptTop + i*rptRowH + 20)})
		desc = append(desc, r.Label+": "+v)
	}
	c.finish(what, desc)
	return c
}

func (c *rptChart) finish(what string, desc []string) {
	c.LabelX, c.ValueX = c.LabelW-8, c.LabelW+c.BarW+8
	c.Height = rptTop + max(len(c.Bars), 1)*rptRowH + rptBottom
	if len(c.Bars) == 0 {
		c.Empty = "No " + what + " in this window."
		c.Desc = c.Title + ": no data."
		return
	}
	c.Desc = c.Title + ". " + strings.Join(desc, "; ") + "."
}

// rptSortRows orders rows by rate, then denominator, then label.
func rptSortRows(rows []rptRow, byNum bool) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if byNum {
			if a.Num != b.Num {
				return a.Num > b.Num
			}
		} else if a.rate() != b.rate() {
			return a.rate() > b.rate()
		}
		if a.Den != b.Den {
			return a.Den > b.Den
		}
		return a.Label < b.Label
	})
}

// Build asks the stats calls and computes the report.
func (r *Builder) Build(ctx context.Context) (*Data, error) {
	res, err := r.fetchSame(ctx)
	if err != nil {
		return nil, err
	}
	d := &Data{From: Time(r.from), To: Time(r.to), Generated: time.Now().UTC().Format(time.RFC3339),
		Server: r.c.URL(), Scanned: res[rptTotals].Scanned, Verified: r.keys != nil}
	// distinct checkpoints, by size
	seen := map[string]bool{}
	for _, q := range Queries {
		cp := res[q].cp
		if !seen[cp.Text] {
			seen[cp.Text] = true
			d.Checkpoints = append(d.Checkpoints, cp)
		}
	}
	sort.SliceStable(d.Checkpoints, func(i, j int) bool { return d.Checkpoints[i].Size < d.Checkpoints[j].Size })
	d.CheckpointChanged = len(d.Checkpoints) > 1
	if err := r.checkConsistent(ctx, d.Checkpoints); err != nil {
		return nil, err
	}
	for _, g := range res[rptTotals].Groups {
		d.Total += g.Count
	}
	prov := func(qs ...Query) rptProv {
		p := rptProv{Scanned: d.Scanned}
		seen := map[string]bool{}
		for _, q := range qs {
			if cp := res[q].cp; !seen[cp.Text] {
				seen[cp.Text] = true
				p.Checkpoints = append(p.Checkpoints, cp)
			}
		}
		return p
	}
	recompute := func(qs ...Query) []rptRecompute {
		var out []rptRecompute
		for _, q := range qs {
			out = append(out, rptRecompute{Command: q.command(r.from, r.to), HTTP: "GET /v1/stats?" + q.values(r.from, r.to).Encode()})
		}
		return out
	}
	totals := record.Group{}
	for _, g := range res[rptTotals].Groups {
		totals.Count += g.Count
		totals.Contests += g.Contests
		totals.Overturned += g.Overturned
		totals.Overdue += g.Overdue
	}

	// overview: outcomes
	var outcomes []rptRow
	for _, g := range res[rptOutcome].Groups {
		outcomes = append(outcomes, rptRow{Label: g.Key["outcome"], Num: g.Count, Den: totals.Count})
	}
	rptSortRows(outcomes, false)
	ov := &Section{ID: "overview", Title: "Decisions by outcome",
		Intro: "Every decision logged in the window, by what the system did with the request.",
		Prov:  prov(rptTotals, rptOutcome), Queries: recompute(rptTotals, rptOutcome)}
	ov.Stats = []rptStatLine{{"Decisions", strconv.Itoa(totals.Count)}, {"Contests filed against them", strconv.Itoa(totals.Contests)},
		{"Contests overturned (fully or partly)", strconv.Itoa(totals.Overturned)}, {"Contests overdue", strconv.Itoa(totals.Overdue)}}
	ov.Charts = []*rptChart{rptRateChart("chart-outcome", "Share of decisions by outcome", "decisions", outcomes)}
	ov.Table = rptRateTable("Decisions by outcome", "Outcome", "Decisions", "All decisions", "Share", outcomes)
	d.Sections = append(d.Sections, ov)

	// refusal rates
	var inconsistent error
	refusals := func(id, field, title, noun string, all, ref Query) *Section {
		refused := map[string]int{}
		for _, g := range res[ref].Groups {
			refused[g.Key[field]] += g.Count
		}
		var rows []rptRow
		for _, g := range res[all].Groups {
			k := g.Key[field]
			if refused[k] > g.Count && inconsistent == nil {
				inconsistent = fmt.Errorf("the server counts %d refused decisions of %s %q but %d decisions in all, over the same range", refused[k], field, k, g.Count)
			}
			rows = append(rows, rptRow{Label: k, Num: refused[k], Den: g.Count})
			delete(refused, k)
		}
		for k := range refused {
			if inconsistent == nil {
				inconsistent = fmt.Errorf("the server counts refused decisions of %s %q but no decisions of it in all, over the same range", field, k)
			}
		}
		rptSortRows(rows, false)
		s := &Section{ID: id, Title: title,
			Intro: "Refusal rate = decisions refused ÷ all decisions, per " + noun + ". One stats call with action=refused and one without, both grouped by " + field + ".",
			Prov:  prov(all, ref), Queries: recompute(ref, all)}
		s.Charts = []*rptChart{rptRateChart("chart-"+id, title, "decisions", rows)}
		s.Table = rptRateTable(title, strings.ToUpper(noun[:1])+noun[1:], "Refused", "Decisions", "Refusal rate", rows)
		return s
	}
	d.Sections = append(d.Sections,
		refusals("refusals-category", "category", "Refusal rate by category", "category", rptCategory, rptCategoryRef),
		refusals("refusals-jurisdiction", "jurisdiction", "Refusal rate by jurisdiction", "jurisdiction", rptJuris, rptJurisRef))
	if inconsistent != nil {
		return nil, inconsistent
	}

	// provenance flags
	var flags []rptRow
	for _, g := range res[rptFlag].Groups {
		label := g.Key["flag"]
		if label == "" {
			label = "(no flag)"
		}
		flags = append(flags, rptRow{Label: label, Num: g.Count, Den: totals.Count})
	}
	rptSortRows(flags, false)
	fs := &Section{ID: "flags", Title: "Provenance-flag rates",
		Intro: "Share of all decisions that carry each provenance flag (a decision with several flags counts once for each; \"(no flag)\" is the decisions without any), grouped by flag.",
		Prov:  prov(rptTotals, rptFlag), Queries: recompute(rptFlag, rptTotals)}
	fs.Charts = []*rptChart{rptRateChart("chart-flags", "Share of decisions carrying each provenance flag", "decisions", flags)}
	fs.Table = rptRateTable("Provenance-flag rates", "Flag", "Decisions with the flag", "All decisions", "Share", flags)
	d.Sections = append(d.Sections, fs)

	// contests and overturns per rule
	type ruleRow struct {
		label                                string
		count, contests, overturned, overdue int
	}
	var rules []ruleRow
	for _, g := range res[rptRule].Groups {
		label := g.Key["rule"]
		if c := g.Key["constitution"]; c != "" {
			label += " (" + c + ")"
		}
		rules = append(rules, ruleRow{label, g.Count, g.Contests, g.Overturned, g.Overdue})
	}
	sort.SliceStable(rules, func(i, j int) bool { return rules[i].label < rules[j].label })
	var contestRows, overturnRows, overdueRows []rptRow
	rt := &rptTable{Caption: "Contests and overturns per rule", Head: []string{"Rule (constitution)", "Decisions citing it", "Contests", "Contest rate", "Overturned", "Overturn rate", "Overdue"}}
	for _, x := range rules {
		contestRows = append(contestRows, rptRow{Label: x.label, Num: x.contests, Den: x.count})
		if x.contests > 0 {
			overturnRows = append(overturnRows, rptRow{Label: x.label, Num: x.overturned, Den: x.contests})
		}
		overdueRows = append(overdueRows, rptRow{Label: x.label, Num: x.overdue})
		rt.Rows = append(rt.Rows, []string{x.label, strconv.Itoa(x.count), strconv.Itoa(x.contests), rptPct(x.contests, x.count),
			strconv.Itoa(x.overturned), rptPct(x.overturned, x.contests), strconv.Itoa(x.overdue)})
	}
	rptSortRows(contestRows, false)
	rptSortRows(overturnRows, false)
	cs := &Section{ID: "contests", Title: "Contest and overturn rates per rule",
		Intro: "Contest rate = contests filed ÷ decisions citing the rule; overturn rate = contests overturned (fully or partly) ÷ contests filed. " +
			"A decision citing several rules counts for each. Contests and resolutions are counted wherever they were logged up to the checkpoint, for the decisions in the range.",
		Prov: prov(rptRule), Queries: recompute(rptRule), Table: rt}
	cs.Charts = []*rptChart{
		rptRateChart("chart-contest-rate", "Contest rate per rule", "decisions citing a rule", contestRows),
		rptRateChart("chart-overturn-rate", "Overturn rate per rule (rules with contests)", "contests", overturnRows),
	}
	d.Sections = append(d.Sections, cs)

	// overdue contests
	rptSortRows(overdueRows, true)
	od := &Section{ID: "overdue", Title: "Overdue contests",
		Intro: "Contests still unresolved after their due_by deadline when the server counted them, per rule cited by the contested decision (a decision citing several rules counts for each), and in total.",
		Prov:  prov(rptRule, rptTotals), Queries: recompute(rptRule, rptTotals)}
	od.Stats = []rptStatLine{{"Overdue contests in total", strconv.Itoa(totals.Overdue)}, {"Contests in total", strconv.Itoa(totals.Contests)},
		{"Share of contests overdue", rptPct(totals.Overdue, totals.Contests)}}
	od.Charts = []*rptChart{rptCountChart("chart-overdue", "Overdue contests per rule", "rules", overdueRows)}
	ot := &rptTable{Caption: "Overdue contests per rule", Head: []string{"Rule (constitution)", "Overdue contests"}}
	for _, x := range overdueRows {
		ot.Rows = append(ot.Rows, []string{x.Label, strconv.Itoa(x.Num)})
	}
	ot.Rows = append(ot.Rows, []string{"Total (each contest once)", strconv.Itoa(totals.Overdue)})
	od.Table = ot
	d.Sections = append(d.Sections, od)

	if d.CheckpointChanged {
		for _, s := range d.Sections {
			if len(s.Prov.Checkpoints) > 1 {
				s.Note = "The log grew between the stats calls of this section: its numbers come from the checkpoints listed, over the same index range."
			}
		}
	}
	return d, nil
}

func rptRateTable(caption, label, num, den, rate string, rows []rptRow) *rptTable {
	t := &rptTable{Caption: caption, Head: []string{label, num, den, rate}}
	for _, r := range rows {
		t.Rows = append(t.Rows, []string{r.Label, strconv.Itoa(r.Num), strconv.Itoa(r.Den), rptPct(r.Num, r.Den)})
	}
	return t
}

// checkConsistent checks, with --key, that each checkpoint (sorted by size)
// extends the one before it.
func (r *Builder) checkConsistent(ctx context.Context, cps []Checkpoint) error {
	if r.keys == nil {
		return nil
	}
	for i := 1; i < len(cps); i++ {
		if err := Consistent(ctx, r.c, cps[i-1], cps[i]); err != nil {
			return err
		}
	}
	return nil
}

// Consistent verifies that the checkpoint nw extends old (either order),
// fetching the proof from c's server (Client.CheckConsistent).
func Consistent(ctx context.Context, c *client.Client, old, nw Checkpoint) error {
	return c.CheckConsistent(ctx, &verify.Checkpoint{Size: old.Size, Hash: old.hash}, &verify.Checkpoint{Size: nw.Size, Hash: nw.hash})
}

// RootHash is the checkpoint's root hash.
func (c Checkpoint) RootHash() []byte { return c.hash }
