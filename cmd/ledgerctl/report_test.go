package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
	rpt "github.com/fjaledger/fja/api/client/report"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/ledger/signer"
	"github.com/fjaledger/fja/verify/recount"
)

// rptFixture is a real server holding a constitution (entry 0, before the
// window) and, in the window [from, to): seven decisions in four
// jurisdictions and three categories, a contest that was overturned and a
// contest left overdue (the response window is 1ms).
//
//	#  id              jurisdiction category  action    flags               rules
//	1  dec-...-000001  DE           medical   refused   -                   H-12 A-03  contested, overturned
//	2  dec-rpt-002     FR           medical   refused   -                   H-12 A-03  contested, overdue
//	3  dec-rpt-003     DE           medical   answered  western-sources     J-01 F-02
//	4  dec-...-000002  KE           education answered  western-sources     J-01 F-02
//	5  dec-rpt-005     IN           education answered  -                   J-01 F-02
//	6  dec-...-000003  IN           finance   modified  -                   O-04 A-03
//	7  dec-rpt-007     KE           finance   refused   machine-translated  H-12 A-03
type rptFixture struct {
	s        *apitest.Server
	from, to string
	size     uint64 // tree size after the fixture: 11
}

func newRptFixture(t *testing.T) *rptFixture {
	t.Helper()
	t.Setenv("LEDGER_TOKEN", "")
	t.Setenv("LEDGER_URL", "")
	s := apitest.New(t, apitest.WithBook(func(c *audit.Config) { c.ResponseWindow = time.Millisecond }))
	post := s.MustPost
	post("/v1/constitutions", auth.Producer, apitest.Example(t, "constitution.json"))
	from := time.Now().UTC()

	edit := func(name string, f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(apitest.Example(t, name), &m); err != nil {
			t.Fatal(err)
		}
		if f != nil {
			f(m)
		}
		b, _ := json.Marshal(m)
		return b
	}
	set := func(id, jur, cat string, flags ...string) func(map[string]any) {
		return func(m map[string]any) {
			m["decision_id"] = id
			m["subject"].(map[string]any)["jurisdiction"] = jur
			m["outcome"].(map[string]any)["category"] = cat
			fl := []any{}
			for _, c := range flags {
				fl = append(fl, map[string]any{"code": c, "message": "flag " + c, "severity": "info"})
			}
			m["provenance_flags"] = fl
		}
	}
	tokens := map[string]string{}
	for _, d := range []struct {
		id   string
		body []byte
	}{
		{"dec-2026-11-27-000001", edit("decision-refused.json", nil)},
		{"dec-rpt-002", edit("decision-refused.json", set("dec-rpt-002", "FR", "medical"))},
		{"dec-rpt-003", edit("decision-answered.json", set("dec-rpt-003", "DE", "medical", "western-sources"))},
		{"dec-2026-11-27-000002", edit("decision-answered.json", nil)},
		{"dec-rpt-005", edit("decision-answered.json", set("dec-rpt-005", "IN", "education"))},
		{"dec-2026-11-27-000003", edit("decision-modified-private.json", nil)},
		{"dec-rpt-007", edit("decision-refused.json", set("dec-rpt-007", "KE", "finance", "machine-translated"))},
	} {
		var r struct {
			ContestToken string `json:"contest_token"`
		}
		json.Unmarshal(post("/v1/decisions", auth.Producer, d.body), &r)
		tokens[d.id] = r.ContestToken
	}
	contest := func(id, decision string) {
		t.Helper()
		var m map[string]any
		json.Unmarshal(apitest.Example(t, "contest.json"), &m)
		m["contest_id"], m["decision_id"], m["contest_token"] = id, decision, tokens[decision]
		b, _ := json.Marshal(m)
		post("/v1/contests", "", b)
	}
	contest("con-2026-11-27-000001", "dec-2026-11-27-000001")
	post("/v1/contests/con-2026-11-27-000001/resolution", auth.Reviewer, apitest.Example(t, "resolution.json"))
	contest("con-rpt-2", "dec-rpt-002")
	time.Sleep(5 * time.Millisecond) // past con-rpt-2's due_by
	to := time.Now().UTC()
	f := &rptFixture{s: s, from: from.Format(time.RFC3339Nano), to: to.Format(time.RFC3339Nano), size: s.Log.Head().Size}
	if f.size != 11 {
		t.Fatalf("the fixture has %d entries, want 11", f.size)
	}
	return f
}

func (f *rptFixture) args(url string, role auth.Role, args ...string) []string {
	return append([]string{"--url", url, "--token", f.s.Tokens[role]}, args...)
}

func TestReport(t *testing.T) {
	apitest.RequireChromium(t)
	f := newRptFixture(t)
	out := filepath.Join(t.TempDir(), "report.html")
	code, stdout, _ := ctl(t, "", f.args(f.s.URL, auth.Regulator, "report", "--from", f.from, "--to", f.to, "--out", out, "--key", f.s.VKey)...)
	if code != 0 || !strings.Contains(stdout, "7 decisions in entries [1, 11) at checkpoint "+apitest.DefaultOrigin+" size 11 (verified)") {
		t.Fatalf("report: %d %q", code, stdout)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	// the rows, less the column names narrow screens show in each cell
	rowsHTML := regexp.MustCompile(` data-label="[^"]*"`).ReplaceAllString(html, "")
	for _, want := range []string{
		`<span class="mono" id="scanned">[1, 11)</span>`,
		`tree size <span class="mono cp-size">11</span>`,
		`origin <span class="mono">` + apitest.DefaultOrigin + `</span>`,
		"signature verified with the log's key",
		"ledgerctl audit-query --stats --from " + f.from + " --to " + f.to + " --group-by category --action refused --key VKEY",
		"How to recompute this",
		// the numbers, as table rows
		rptHTMLRow("medical", "2", "3", "66.7%"),
		rptHTMLRow("education", "0", "2", "0.0%"),
		rptHTMLRow("finance", "1", "2", "50.0%"),
		rptHTMLRow("FR", "1", "1", "100.0%"),
		rptHTMLRow("DE", "1", "2", "50.0%"),
		rptHTMLRow("IN", "0", "2", "0.0%"),
		rptHTMLRow("western-sources", "2", "7", "28.6%"),
		rptHTMLRow("machine-translated", "1", "7", "14.3%"),
		rptHTMLRow("(no flag)", "4", "7", "57.1%"),
		rptHTMLRow("H-12 (fja-default@2026.11)", "3", "2", "66.7%", "1", "50.0%", "1"),
		rptHTMLRow("A-03 (fja-default@2026.11)", "4", "2", "50.0%", "1", "50.0%", "1"),
		rptHTMLRow("Total (each contest once)", "1"),
		"Contests overdue<strong>1</strong>",
		// the text alternative of a chart
		"medical: 66.7% (2 of 3)",
	} {
		if !strings.Contains(rowsHTML, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if strings.Contains(html, "checkpoint-changed") {
		t.Error("the report says the checkpoint changed; it did not")
	}
	// self-contained: nothing is loaded from anywhere (the server's URL is
	// named, not loaded)
	bare := strings.NewReplacer(`xmlns="http://www.w3.org/2000/svg"`, "", f.s.URL, "").Replace(html)
	for _, bad := range []string{"<script", "http://", "https://", "@import", "url(", " src=", "<link"} {
		if strings.Contains(bare, bad) {
			t.Errorf("the report is not self-contained: it has %q", bad)
		}
	}

	// the "how to recompute this" commands work, and confirm the answers
	cmds := map[string]bool{}
	for _, m := range regexp.MustCompile(`<code>ledgerctl (audit-query [^<]*) --key VKEY</code>`).FindAllStringSubmatch(html, -1) {
		cmds[m[1]] = true
	}
	if len(cmds) != len(rpt.Queries) {
		t.Errorf("%d distinct recompute commands, want %d: %v", len(cmds), len(rpt.Queries), cmds)
	}
	for c := range cmds {
		code, stdout, _ := ctl(t, "", f.args(f.s.URL, auth.Regulator, append(strings.Fields(c), "--key", f.s.VKey)...)...)
		if code != 0 || !strings.Contains(stdout, "complete and correct") {
			t.Errorf("ledgerctl %s: %d %q", c, code, stdout)
		}
	}

	// in the browser: the charts render, the tables hold the numbers
	br := apitest.NewBrowser(t, 1100, 900)
	br.MinScreenshot.Y = 600 // the report is long
	br.Do(chromedp.Navigate("file://" + out))
	br.Poll(`document.readyState === 'complete'`)
	var charts []struct {
		ID          string
		W, H, Bars  float64
		BarsNonZero int
	}
	br.EvalJSON(`Array.from(document.querySelectorAll('svg.chart')).map(s => {
		const r = s.getBoundingClientRect();
		const bars = Array.from(s.querySelectorAll('rect.bar'));
		return {ID: s.id, W: r.width, H: r.height, Bars: bars.length,
			BarsNonZero: bars.filter(b => b.getBoundingClientRect().width > 0 && b.getBoundingClientRect().height > 0).length};
	})`, &charts)
	wantCharts := []string{"chart-outcome", "chart-refusals-category", "chart-refusals-jurisdiction", "chart-flags", "chart-contest-rate", "chart-overturn-rate", "chart-overdue"}
	if len(charts) != len(wantCharts) {
		t.Fatalf("%d charts rendered, want %d: %+v", len(charts), len(wantCharts), charts)
	}
	for i, c := range charts {
		if c.ID != wantCharts[i] || c.W < 300 || c.H < 40 || c.Bars == 0 || c.BarsNonZero == 0 {
			t.Errorf("chart %d: %+v, want %s rendered with bars", i, c, wantCharts[i])
		}
	}
	// the medical bar is 2/3 of its track
	var ratio float64
	br.EvalJSON(`(() => { const g = Array.from(document.querySelectorAll('#chart-refusals-category g.row')).find(g => g.querySelector('text.label').textContent.startsWith('medical'));
		return g.querySelector('rect.bar').getBoundingClientRect().width / g.querySelector('rect.track').getBoundingClientRect().width; })()`, &ratio)
	if ratio < 0.66 || ratio > 0.67 {
		t.Errorf("the medical refusal bar is %.3f of the scale, want 0.667", ratio)
	}
	var rows []string
	br.EvalJSON(`Array.from(document.querySelectorAll('#refusals-jurisdiction tbody tr')).map(r => Array.from(r.cells).map(c => c.textContent).join('|'))`, &rows)
	if got, want := strings.Join(rows, "\n"), "FR|1|1|100.0%\nDE|1|2|50.0%\nKE|1|2|50.0%\nIN|0|2|0.0%"; got != want {
		t.Errorf("jurisdiction table:\n%s\nwant\n%s", got, want)
	}
	// every chart is labelled by its title and text alternative
	var unlabelled int
	br.EvalJSON(`Array.from(document.querySelectorAll('svg.chart')).filter(s => s.getAttribute('role') !== 'img' ||
		!s.getAttribute('aria-labelledby').split(' ').every(id => document.getElementById(id) && document.getElementById(id).textContent.length > 10)).length`, &unlabelled)
	if unlabelled != 0 {
		t.Errorf("%d charts lack a title or text alternative", unlabelled)
	}
	br.Screenshot("report.png")
	br.Do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulatePortrait))
	if w := br.Eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("at 390px the page is %spx wide", w)
	}
	// every table fits its region at any width from 360px: no column is
	// cut off or hidden behind a scroll bar
	for _, w := range []int64{360, 390, 600, 800, 1100} {
		br.Do(chromedp.EmulateViewport(w, 900))
		var clipped []string
		br.EvalJSON(`Array.from(document.querySelectorAll('table')).filter(t => {
			const r = t.parentElement; return r.scrollWidth > r.clientWidth + 1 || t.getBoundingClientRect().right > document.documentElement.clientWidth + 1;
		}).map(t => t.caption.textContent)`, &clipped)
		if len(clipped) > 0 {
			t.Errorf("at %dpx these tables do not fit: %q", w, clipped)
		}
		var labels int
		br.EvalJSON(`document.querySelectorAll('td[data-label=""]').length`, &labels)
		if labels != 0 {
			t.Errorf("%d cells without their column name", labels)
		}
	}
	br.Do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulatePortrait))
	br.Screenshot("report-390px.png")
	br.NoConsoleErrors()

	// --out - and no --key: the same numbers, "not verified"
	code, stdout, _ = ctl(t, "", f.args(f.s.URL, auth.Regulator, "report", "--from", f.from, "--to", f.to, "--out", "-")...)
	if code != 0 || !strings.Contains(regexp.MustCompile(` data-label="[^"]*"`).ReplaceAllString(stdout, ""), rptHTMLRow("medical", "2", "3", "66.7%")) || !strings.Contains(stdout, "signature not verified") {
		t.Errorf("report --out -: %d", code)
	}
	// a wrong key, a producer token, bad windows
	_, other, _ := signer.GenerateKey(rand.Reader, apitest.DefaultOrigin)
	if code, _, stderr := ctl(t, "", f.args(f.s.URL, auth.Regulator, "report", "--from", f.from, "--to", f.to, "--out", out+".2", "--key", other)...); code != 1 || !strings.Contains(stderr, "does NOT verify") {
		t.Errorf("report with a wrong key: %d %q", code, stderr)
	}
	if _, err := os.Stat(out + ".2"); err == nil {
		t.Error("a report that failed was written")
	}
	if code, _, stderr := ctl(t, "", f.args(f.s.URL, auth.Producer, "report", "--from", f.from, "--to", f.to, "--out", out+".2")...); code != 1 || !strings.Contains(stderr, "403") {
		t.Errorf("report with a producer token: %d %q", code, stderr)
	}
	for _, args := range [][]string{{"--from", f.from}, {"--from", "yesterday", "--to", f.to}, {"--from", f.to, "--to", f.from}} {
		if code, _, _ := ctl(t, "", f.args(f.s.URL, auth.Regulator, append([]string{"report"}, args...)...)...); code != 2 {
			t.Errorf("report %q: exit %d, want 2", args, code)
		}
	}
}

// rptHTMLRow is a report table row as the template writes it.
func rptHTMLRow(label string, cells ...string) string {
	s := `<tr><th scope="row">` + label + `</th>`
	for _, c := range cells {
		s += `<td class="num">` + c + `</td>`
	}
	return s + "</tr>"
}

// TestReportLogGrows: the log grows between the stats calls (after the
// window): every section has the same index range, and the report says the
// checkpoint changed. Answers for different ranges fail the report.
func TestReportLogGrows(t *testing.T) {
	f := newRptFixture(t)
	var n atomic.Int32
	grow := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			u, _ := url.Parse(f.s.URL)
			r.SetURL(u)
			if r.In.URL.Path == "/v1/stats" && n.Add(1) == 4 {
				var m map[string]any
				json.Unmarshal(apitest.Example(t, "decision-answered.json"), &m)
				m["decision_id"] = "dec-rpt-late"
				b, _ := json.Marshal(m)
				if code, body := f.s.Do("POST", "/v1/decisions", auth.Producer, b); code != http.StatusCreated {
					t.Errorf("late decision: %d %s", code, body)
				}
			}
		},
	})
	defer grow.Close()
	out := filepath.Join(t.TempDir(), "report.html")
	code, _, _ := ctl(t, "", f.args(grow.URL, auth.Regulator, "report", "--from", f.from, "--to", f.to, "--out", out, "--key", f.s.VKey)...)
	if code != 0 {
		t.Fatalf("report: %d", code)
	}
	b, _ := os.ReadFile(out)
	html := regexp.MustCompile(` data-label="[^"]*"`).ReplaceAllString(string(b), "") // less the column names of narrow screens
	for _, want := range []string{`id="checkpoint-changed"`, "The log grew while this report was made", "each consistent with the one before",
		`tree size <span class="mono cp-size">11</span>`, `tree size <span class="mono cp-size">12</span>`, `id="scanned">[1, 11)`,
		rptHTMLRow("medical", "2", "3", "66.7%")} {
		if !strings.Contains(html, want) {
			t.Errorf("the report lacks %q", want)
		}
	}

	// a server whose answers cover different ranges
	var m atomic.Int32
	lying := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			u, _ := url.Parse(f.s.URL)
			r.SetURL(u)
			r.Out.Header.Del("Accept-Encoding")
		},
		ModifyResponse: func(resp *http.Response) error {
			if resp.Request.URL.Path != "/v1/stats" || m.Add(1)%2 == 1 {
				return nil
			}
			b, _ := io.ReadAll(resp.Body)
			b = bytes.Replace(b, []byte(`"scanned":{"from":1,"to":11}`), []byte(`"scanned":{"from":1,"to":10}`), 1)
			resp.Body = io.NopCloser(bytes.NewReader(b))
			resp.ContentLength = int64(len(b))
			resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
			return nil
		},
	})
	defer lying.Close()
	code, _, stderr := ctl(t, "", f.args(lying.URL, auth.Regulator, "report", "--from", f.from, "--to", f.to, "--out", out+".2")...)
	if code != 1 || !strings.Contains(stderr, "different index ranges in 3 tries") {
		t.Errorf("report against answers for different ranges: %d %q", code, stderr)
	}
}

// rptQueryStub serves GET /v1/query by the contract of DESIGN.md §6 from the
// real server's public entries (each with its proof to the latest
// checkpoint), two records a page, filters kind and jurisdiction only;
// everything else goes to the real server. tamper, if set, changes a page's
// answer.
func rptQueryStub(t *testing.T, f *rptFixture, tamper func(page int, p map[string]any)) string {
	t.Helper()
	real, _ := url.Parse(f.s.URL)
	proxy := httputil.NewSingleHostReverseProxy(real)
	var pages atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/query" {
			proxy.ServeHTTP(w, r)
			return
		}
		q := r.URL.Query()
		if r.Header.Get("Authorization") != "Bearer "+f.s.Tokens[auth.Regulator] {
			http.Error(w, `{"error":{"code":"forbidden","message":"regulator"}}`, http.StatusForbidden)
			return
		}
		if l, _ := strconv.Atoi(q.Get("limit")); l != 1000 {
			t.Errorf("export asked limit %q, want 1000", q.Get("limit"))
		}
		// the window's range, from the real stats
		sv := url.Values{"from": {q.Get("from")}, "to": {q.Get("to")}}
		code, b := f.s.Do("GET", "/v1/stats?"+sv.Encode(), auth.Regulator, nil)
		var st struct {
			Checkpoint string
			Scanned    recount.Range
		}
		if code != 200 || json.Unmarshal(b, &st) != nil {
			t.Errorf("stub: stats %d %s", code, b)
		}
		start := st.Scanned.From
		if c := q.Get("cursor"); c != "" {
			start, _ = strconv.ParseUint(c, 10, 64)
		}
		recs := []any{}
		next := ""
		for i := start; i < st.Scanned.To; i++ {
			if len(recs) == 2 {
				next = strconv.FormatUint(i, 10)
				break
			}
			code, b := f.s.Do("GET", fmt.Sprintf("/v1/entries/%d", i), "", nil)
			var e struct {
				Index          uint64   `json:"index"`
				Entry          []byte   `json:"entry"`
				LeafHash       []byte   `json:"leaf_hash"`
				InclusionProof [][]byte `json:"inclusion_proof"`
				Checkpoint     string   `json:"checkpoint"`
			}
			if code != 200 || json.Unmarshal(b, &e) != nil || e.Checkpoint != st.Checkpoint {
				t.Errorf("stub: entry %d: %d %s", i, code, b)
			}
			var env struct {
				Kind string
				Body struct{ Subject struct{ Jurisdiction string } }
			}
			json.Unmarshal(e.Entry, &env)
			if (q.Get("kind") != "" && env.Kind != q.Get("kind")) || (q.Get("jurisdiction") != "" && env.Body.Subject.Jurisdiction != q.Get("jurisdiction")) {
				continue
			}
			recs = append(recs, map[string]any{"index": e.Index, "entry": e.Entry, "leaf_hash": e.LeafHash, "inclusion_proof": e.InclusionProof})
		}
		p := map[string]any{"records": recs, "checkpoint": st.Checkpoint, "scanned": st.Scanned, "next_cursor": next}
		if tamper != nil {
			tamper(int(pages.Add(1)), p)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(p)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// rptQueryExists reports whether the real server has GET /v1/query yet.
func rptQueryExists(t *testing.T, f *rptFixture) bool {
	code, b := f.s.Do("GET", "/v1/query?"+url.Values{"from": {f.from}, "to": {f.to}, "limit": {"1"}}.Encode(), auth.Regulator, nil)
	if code == http.StatusNotFound {
		return false
	}
	if code != http.StatusOK {
		t.Fatalf("GET /v1/query: %d %s", code, b)
	}
	return true
}

type rptExportLine struct {
	Index          uint64          `json:"index"`
	LoggedAt       string          `json:"logged_at"`
	Kind           string          `json:"kind"`
	Record         json.RawMessage `json:"record"`
	LeafHash       string          `json:"leaf_hash"`
	InclusionProof []string        `json:"inclusion_proof"`
	Checkpoint     string          `json:"checkpoint"`
}

func rptReadExport(t *testing.T, data string) []rptExportLine {
	t.Helper()
	var lines []rptExportLine
	sc := bufio.NewScanner(strings.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l rptExportLine
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	return lines
}

func TestExport(t *testing.T) {
	f := newRptFixture(t)
	targets := map[string]string{"stub": rptQueryStub(t, f, nil)}
	if rptQueryExists(t, f) {
		targets["server"] = f.s.URL
	} else {
		t.Log("GET /v1/query is not on the server yet: export is tested against a stub of the DESIGN.md §6 contract only")
	}
	from, _ := time.Parse(time.RFC3339Nano, f.from)
	to, _ := time.Parse(time.RFC3339Nano, f.to)
	parent := t
	for name, u := range targets {
		t.Run(name, func(t *testing.T) {
			f.s.T = t
			defer func() { f.s.T = parent }()
			out := filepath.Join(t.TempDir(), "export.jsonl")
			code, stdout, _ := ctl(t, "", f.args(u, auth.Regulator, "export", "--format", "jsonl", "--from", f.from, "--to", f.to, "--out", out, "--key", f.s.VKey, "--progress")...)
			if code != 0 || !strings.Contains(stdout, "exported 10 records from entries [1, 11) at checkpoint size 11, every proof verified") {
				t.Fatalf("export: %d %q", code, stdout)
			}
			b, _ := os.ReadFile(out)
			lines := rptReadExport(t, string(b))
			if len(lines) != 10 {
				t.Fatalf("%d lines, want 10", len(lines))
			}
			kinds := map[string]int{}
			for i, l := range lines {
				kinds[l.Kind]++
				var env struct {
					Kind     string         `json:"kind"`
					LoggedAt string         `json:"logged_at"`
					V        int            `json:"v"`
					Body     map[string]any `json:"body"`
				}
				json.Unmarshal(l.Record, &env)
				lh, _ := base64.StdEncoding.DecodeString(l.LeafHash)
				at, _ := time.Parse(time.RFC3339Nano, l.LoggedAt)
				if l.Index != uint64(i+1) || env.LoggedAt != l.LoggedAt || env.Kind != l.Kind || at.Before(from) || !at.Before(to) || len(lh) != 32 ||
					!strings.HasPrefix(l.Checkpoint, apitest.DefaultOrigin+"\n11\n") || len(l.InclusionProof) == 0 || env.V != 1 || env.Body == nil {
					t.Errorf("line %d: %+v", i, l)
				}
			}
			if kinds["decision"] != 7 || kinds["contest"] != 2 || kinds["resolution"] != 1 {
				t.Errorf("kinds %v", kinds)
			}
			// filters, to standard output
			code, stdout, _ = ctl(t, "", f.args(u, auth.Regulator, "export", "--from", f.from, "--to", f.to, "--kind", "decision", "--jurisdiction", "DE")...)
			lines = rptReadExport(t, stdout)
			if code != 0 || len(lines) != 2 || lines[0].Index != 1 || lines[1].Index != 3 {
				t.Errorf("export --jurisdiction DE: %d %+v", code, lines)
			}
		})
	}
	f.s.T = t

	// a changed proof, a record out of range: nothing written, exit 1
	for name, tamper := range map[string]func(int, map[string]any){
		"proof": func(page int, p map[string]any) {
			if page == 2 {
				pr := p["records"].([]any)[1].(map[string]any)["inclusion_proof"].([][]byte)
				pr[0] = bytes.Repeat([]byte{7}, 32)
			}
		},
		"range": func(page int, p map[string]any) {
			if page == 3 {
				p["records"].([]any)[0].(map[string]any)["index"] = uint64(0)
			}
		},
	} {
		u := rptQueryStub(t, f, tamper)
		out := filepath.Join(t.TempDir(), "export.jsonl")
		code, _, stderr := ctl(t, "", f.args(u, auth.Regulator, "export", "--from", f.from, "--to", f.to, "--out", out, "--key", f.s.VKey)...)
		if code != 1 || !strings.Contains(stderr, map[string]string{"proof": "entry 4 does NOT verify", "range": "out of order or outside the scanned range"}[name]) {
			t.Errorf("%s: export: %d %q", name, code, stderr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: a failed export was written", name)
		}
	}
	if code, _, _ := ctl(t, "", f.args(f.s.URL, auth.Regulator, "export", "--format", "csv", "--from", f.from, "--to", f.to)...); code != 2 {
		t.Errorf("export --format csv: exit %d, want 2", code)
	}
}
