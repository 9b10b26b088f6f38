package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/recount"
)

//go:embed report.html.tmpl
var rptTemplateText string

var rptTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"f1": func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
}).Parse(rptTemplateText))

// rptTries is how often report re-asks every stats call when the answers
// cover different index ranges (the log grew inside a window still open).
const rptTries = 3

func newReportCmd() *cobra.Command {
	var (
		from, to, out string
		vo            verifyOptions
	)
	cmd := &cobra.Command{
		Use:   "report --from T --to T [--out report.html] [--key VKEY]",
		Short: "Write a self-contained HTML transparency report for a time window",
		Long: `report asks GET /v1/stats (regulator --token) for the decisions logged in
[--from, --to) (RFC 3339, on logged_at, --to exclusive) and writes a
self-contained HTML transparency report: refusal rates by category and by
jurisdiction, provenance-flag rates, contest and overturn rates per rule, and
overdue contests, each as an inline SVG chart with a table of the same numbers.

Every figure names the signed checkpoint (origin, tree size, root hash) and
the index range [from, to) it was computed from, and the ledgerctl
audit-query command that recounts it from the public tiles. All stats calls
must cover the same index range (they are asked again, up to 3 times, if the
log grew inside a window that is still open); if the checkpoint moved between
calls the report says so and names each section's checkpoint.

With --key every checkpoint is verified with the log's verifier key, and two
different checkpoints are checked to be consistent (GET /v1/proofs/consistency).
--out - writes the HTML to standard output.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fromT, toT, err := rptWindow(from, to)
			if err != nil {
				return err
			}
			var keys *rptKeys
			if len(vo.keys) > 0 {
				origin, key, others, err := vo.resolve()
				if err != nil {
					return err
				}
				keys = &rptKeys{origin: origin, key: key, others: others}
			}
			g := globals(cmd)
			r := &rptBuilder{c: g.client(), g: g, keys: keys, from: fromT, to: toT}
			data, err := r.build(cmd.Context())
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			if err := rptTemplate.Execute(&buf, data); err != nil {
				return fmt.Errorf("rendering the report: %w", err)
			}
			if out == "-" {
				_, err := cmd.OutOrStdout().Write(buf.Bytes())
				return err
			}
			if err := writeFile(out, buf.Bytes()); err != nil {
				return err
			}
			cp := data.Checkpoints[len(data.Checkpoints)-1]
			return printResult(cmd, map[string]any{
				"out": out, "decisions": data.Total, "scanned": map[string]uint64{"from": data.Scanned.From, "to": data.Scanned.To},
				"checkpoints": data.Checkpoints, "checkpoint_changed": data.CheckpointChanged, "verified": keys != nil,
			}, fmt.Sprintf("wrote %s: %d decisions in entries [%d, %d) at checkpoint %s size %d%s",
				out, data.Total, data.Scanned.From, data.Scanned.To, cp.Origin, cp.Size, map[bool]string{true: " (verified)", false: ""}[keys != nil]))
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "start of the window, RFC 3339, on logged_at (required)")
	f.StringVar(&to, "to", "", "end of the window, RFC 3339, exclusive (required)")
	f.StringVar(&out, "out", "report.html", "write the report to `FILE` (- for standard output)")
	vo.register(cmd)
	f.Lookup("key").Usage = "verify every checkpoint with the log verifier `key` (vkey text, or a file holding it); repeatable" // optional here
	return cmd
}

// rptWindow parses --from and --to (both required).
func rptWindow(from, to string) (time.Time, time.Time, error) {
	if from == "" || to == "" {
		return time.Time{}, time.Time{}, usageErrorf("--from and --to are required (RFC 3339, e.g. 2026-11-01T00:00:00Z)")
	}
	ft, err := time.Parse(time.RFC3339Nano, from)
	if err != nil {
		return time.Time{}, time.Time{}, usageErrorf("--from %q is not an RFC 3339 time", from)
	}
	tt, err := time.Parse(time.RFC3339Nano, to)
	if err != nil {
		return time.Time{}, time.Time{}, usageErrorf("--to %q is not an RFC 3339 time", to)
	}
	if tt.Before(ft) {
		return time.Time{}, time.Time{}, usageErrorf("--to %s is before --from %s", to, from)
	}
	return ft.UTC(), tt.UTC(), nil
}

// rptTime is the canonical form of a window bound sent to the server and
// printed in the report's commands.
func rptTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// rptKeys are the verifier keys given with --key.
type rptKeys struct {
	origin, key string
	others      []string
}

// rptGroup is one group of a GET /v1/stats answer.
type rptGroup struct {
	Key        map[string]string `json:"key"`
	Count      int               `json:"count"`
	Contests   int               `json:"contests"`
	Overturned int               `json:"overturned"`
	Overdue    int               `json:"overdue"`
}

// rptStats is a GET /v1/stats answer.
type rptStats struct {
	Groups     []rptGroup    `json:"groups"`
	Checkpoint string        `json:"checkpoint"`
	Scanned    recount.Range `json:"scanned"`

	cp rptCheckpoint
}

// rptCheckpoint is what the report states of a checkpoint.
type rptCheckpoint struct {
	Origin   string `json:"origin"`
	Size     uint64 `json:"size"`
	Root     string `json:"root"` // base64, as in the checkpoint
	Verified bool   `json:"verified"`
	Text     string `json:"-"`

	hash []byte
}

// rptParseCheckpoint reads the body of a signed checkpoint note: origin,
// size and root hash. With keys it opens the note with verify.OpenCheckpoint
// first.
func rptParseCheckpoint(text string, keys *rptKeys) (rptCheckpoint, error) {
	if keys != nil {
		cp, err := verify.OpenCheckpoint([]byte(text), keys.origin, keys.key, keys.others...)
		if err != nil {
			return rptCheckpoint{}, fmt.Errorf("the checkpoint does NOT verify: %w", err)
		}
		return rptCheckpoint{Origin: cp.Origin, Size: cp.Size, Root: b64(cp.Hash), Verified: true, Text: text, hash: cp.Hash}, nil
	}
	body, _, ok := strings.Cut(text, "\n\n")
	if !ok {
		return rptCheckpoint{}, errors.New("the checkpoint is not a signed note (no blank line before the signatures)")
	}
	lines := strings.Split(body, "\n")
	if len(lines) < 3 || lines[0] == "" {
		return rptCheckpoint{}, fmt.Errorf("the checkpoint body has %d lines, want origin, size and root hash", len(lines))
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		return rptCheckpoint{}, fmt.Errorf("the checkpoint size %q is not a number", lines[1])
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != 32 {
		return rptCheckpoint{}, fmt.Errorf("the checkpoint root %q is not a base64 32-byte hash", lines[2])
	}
	return rptCheckpoint{Origin: lines[0], Size: size, Root: lines[2], Text: text, hash: h}, nil
}

// rptQuery is one GET /v1/stats call of the report.
type rptQuery struct {
	GroupBy string // "" for the totals
	Action  string // "" for every decision
}

func (q rptQuery) values(from, to time.Time) url.Values {
	v := url.Values{"from": {rptTime(from)}, "to": {rptTime(to)}}
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
func (q rptQuery) command(from, to time.Time) string {
	s := "ledgerctl audit-query --stats --from " + rptTime(from) + " --to " + rptTime(to)
	if q.GroupBy != "" {
		s += " --group-by " + q.GroupBy
	}
	if q.Action != "" {
		s += " --action " + q.Action
	}
	return s + " --key VKEY"
}

// The stats calls of one report.
var (
	rptTotals      = rptQuery{}
	rptOutcome     = rptQuery{GroupBy: "outcome"}
	rptCategory    = rptQuery{GroupBy: "category"}
	rptCategoryRef = rptQuery{GroupBy: "category", Action: "refused"}
	rptJuris       = rptQuery{GroupBy: "jurisdiction"}
	rptJurisRef    = rptQuery{GroupBy: "jurisdiction", Action: "refused"}
	rptFlag        = rptQuery{GroupBy: "flag"}
	rptRule        = rptQuery{GroupBy: "rule"}
	rptQueries     = []rptQuery{rptTotals, rptOutcome, rptCategory, rptCategoryRef, rptJuris, rptJurisRef, rptFlag, rptRule}
)

type rptBuilder struct {
	c        *client.Client
	g        globalOptions
	keys     *rptKeys
	from, to time.Time
}

// fetch asks every stats call once.
func (r *rptBuilder) fetch(ctx context.Context) (map[rptQuery]*rptStats, error) {
	res := map[rptQuery]*rptStats{}
	for _, q := range rptQueries {
		path := "/v1/stats?" + q.values(r.from, r.to).Encode()
		_, body, err := r.c.Do(ctx, http.MethodGet, path, nil, nil)
		if err != nil {
			return nil, serverErr("GET", path, err)
		}
		var st rptStats
		if err := json.Unmarshal(body, &st); err != nil {
			return nil, fmt.Errorf("GET %s: %w", path, err)
		}
		if st.cp, err = rptParseCheckpoint(st.Checkpoint, r.keys); err != nil {
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
func (r *rptBuilder) fetchSame(ctx context.Context) (map[rptQuery]*rptStats, error) {
	var ranges []string
	for try := 1; try <= rptTries; try++ {
		res, err := r.fetch(ctx)
		if err != nil {
			return nil, err
		}
		first := res[rptQueries[0]].Scanned
		same := true
		for _, q := range rptQueries {
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

// rptData is what the template renders.
type rptData struct {
	From, To          string
	Generated         string
	Server            string
	Scanned           recount.Range
	Total             int
	Checkpoints       []rptCheckpoint // distinct, by size
	CheckpointChanged bool
	Verified          bool
	Sections          []*rptSection
}

type rptSection struct {
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
	Checkpoints []rptCheckpoint
	Scanned     recount.Range
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

func (r *rptBuilder) build(ctx context.Context) (*rptData, error) {
	res, err := r.fetchSame(ctx)
	if err != nil {
		return nil, err
	}
	d := &rptData{From: rptTime(r.from), To: rptTime(r.to), Generated: time.Now().UTC().Format(time.RFC3339),
		Server: r.g.URL, Scanned: res[rptTotals].Scanned, Verified: r.keys != nil}
	// distinct checkpoints, by size
	seen := map[string]bool{}
	for _, q := range rptQueries {
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
	prov := func(qs ...rptQuery) rptProv {
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
	recompute := func(qs ...rptQuery) []rptRecompute {
		var out []rptRecompute
		for _, q := range qs {
			out = append(out, rptRecompute{Command: q.command(r.from, r.to), HTTP: "GET /v1/stats?" + q.values(r.from, r.to).Encode()})
		}
		return out
	}
	totals := rptGroup{}
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
	ov := &rptSection{ID: "overview", Title: "Decisions by outcome",
		Intro: "Every decision logged in the window, by what the system did with the request.",
		Prov:  prov(rptTotals, rptOutcome), Queries: recompute(rptTotals, rptOutcome)}
	ov.Stats = []rptStatLine{{"Decisions", strconv.Itoa(totals.Count)}, {"Contests filed against them", strconv.Itoa(totals.Contests)},
		{"Contests overturned (fully or partly)", strconv.Itoa(totals.Overturned)}, {"Contests overdue", strconv.Itoa(totals.Overdue)}}
	ov.Charts = []*rptChart{rptRateChart("chart-outcome", "Share of decisions by outcome", "decisions", outcomes)}
	ov.Table = rptRateTable("Decisions by outcome", "Outcome", "Decisions", "All decisions", "Share", outcomes)
	d.Sections = append(d.Sections, ov)

	// refusal rates
	var inconsistent error
	refusals := func(id, field, title, noun string, all, ref rptQuery) *rptSection {
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
		s := &rptSection{ID: id, Title: title,
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
	fs := &rptSection{ID: "flags", Title: "Provenance-flag rates",
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
	cs := &rptSection{ID: "contests", Title: "Contest and overturn rates per rule",
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
	od := &rptSection{ID: "overdue", Title: "Overdue contests",
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
func (r *rptBuilder) checkConsistent(ctx context.Context, cps []rptCheckpoint) error {
	if r.keys == nil {
		return nil
	}
	for i := 1; i < len(cps); i++ {
		if err := rptConsistent(ctx, r.g, cps[i-1], cps[i]); err != nil {
			return err
		}
	}
	return nil
}

// rptConsistent verifies that the checkpoint nw extends old, fetching the
// proof from the server.
func rptConsistent(ctx context.Context, g globalOptions, old, nw rptCheckpoint) error {
	if old.Size > nw.Size {
		old, nw = nw, old
	}
	var proof [][]byte
	var err error
	if old.Size != nw.Size && old.Size != 0 {
		if proof, err = fetchConsistency(ctx, g, old.Size, nw.Size); err != nil {
			return err
		}
	}
	if err := verify.Consistency(old.Size, nw.Size, proof, old.hash, nw.hash); err != nil {
		return fmt.Errorf("the checkpoints at sizes %d and %d are NOT consistent: %w", old.Size, nw.Size, err)
	}
	return nil
}
