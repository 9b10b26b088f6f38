package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/audit"
)

// queryLog is a server holding a constitution, 15 decisions varied from
// the shared examples (window [t0, t1) holds the constitution and the first
// 8), a resolved (overturned) contest and an overdue one.
type queryLog struct {
	s       *apitest.Server
	t0, t1  string
	indexOf map[string]uint64 // decision id -> index
	size    uint64
}

var qJurisdictions = []string{"DE", "FR", "KE", "IN", "BR"}

func newQueryLog(t *testing.T) *queryLog {
	t.Helper()
	t.Setenv("LEDGER_TOKEN", "")
	t.Setenv("LEDGER_URL", "")
	s := apitest.New(t, apitest.WithBook(func(c *audit.Config) { c.ResponseWindow = 1500 * time.Millisecond }))
	q := &queryLog{s: s, indexOf: map[string]uint64{}}
	post := s.MustPost
	post("/v1/constitutions", auth.Producer, apitest.Example(t, "constitution.json"))
	templates := []string{"decision-refused.json", "decision-answered.json", "decision-modified-private.json"}
	tokens := map[string]string{}
	q.t0 = time.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano)
	for i := range 15 {
		if i == 8 {
			time.Sleep(20 * time.Millisecond)
			q.t1 = time.Now().UTC().Format(time.RFC3339Nano)
			time.Sleep(20 * time.Millisecond)
		}
		var d map[string]any
		if err := json.Unmarshal(apitest.Example(t, templates[i%3]), &d); err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("dec-q-%03d", i)
		d["decision_id"] = id
		d["subject"].(map[string]any)["jurisdiction"] = qJurisdictions[i%5]
		if i%3 == 1 && i%2 == 0 {
			d["provenance_flags"] = []any{} // some answers without the flag
		}
		body, _ := json.Marshal(d)
		var r struct {
			Index        uint64 `json:"index"`
			ContestToken string `json:"contest_token"`
		}
		if err := json.Unmarshal(post("/v1/decisions", auth.Producer, body), &r); err != nil {
			t.Fatal(err)
		}
		q.indexOf[id], tokens[id] = r.Index, r.ContestToken
	}
	contest := func(cid, did string) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"contest_id": cid, "decision_id": did, "contest_token": tokens[did],
			"grounds": map[string]string{"category": "false-refusal", "text": "not self-harm"}, "remedy": "reconsider"})
		post("/v1/contests", "", body)
	}
	contest("con-q-1", "dec-q-000")
	post("/v1/contests/con-q-1/resolution", auth.Reviewer, apitest.Example(t, "resolution.json"))
	contest("con-q-2", "dec-q-003")
	// con-q-2 is overdue 1.5s after it was logged; be past that by more
	// than the --slack the audits use
	time.Sleep(1800 * time.Millisecond)
	q.size = s.Log.Head().Size
	return q
}

func (q *queryLog) regulator(url string) []string {
	return []string{"--url", url, "--token", q.s.Tokens[auth.Regulator]}
}

func TestQueryAndStats(t *testing.T) {
	q := newQueryLog(t)
	reg := q.regulator(q.s.URL)

	// table: the refusals, index order
	code, out, _ := ctl(t, "", append(reg, "query", "--action", "refused", "--key", q.s.VKey)...)
	if code != 0 {
		t.Fatalf("query: %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1+5+1 || !strings.HasPrefix(lines[0], "INDEX") || !strings.Contains(out, "5 records; scanned entries [0, "+fmt.Sprint(q.size)+")") ||
		!strings.Contains(out, "every proof verified") {
		t.Fatalf("query table: %q", out)
	}
	for n, id := range []string{"dec-q-000", "dec-q-003", "dec-q-006", "dec-q-009", "dec-q-012"} {
		f := strings.Fields(lines[1+n])
		if f[0] != fmt.Sprint(q.indexOf[id]) || f[2] != "decision" || f[3] != id || f[4] != "refused" || f[5] != "medical" || f[6] != qJurisdictions[n*3%5] || f[7] != "H-12,A-03" {
			t.Errorf("row %d: %q", n, lines[1+n])
		}
	}

	// --json, paged with --limit 2 --all: the same five, each with its proof
	code, out, _ = ctl(t, "", append(reg, "query", "--action", "refused", "--limit", "2", "--all", "--json", "--key", q.s.VKey)...)
	var ans struct {
		Records []struct {
			Index          uint64          `json:"index"`
			Entry          json.RawMessage `json:"entry"`
			LeafHash       []byte          `json:"leaf_hash"`
			InclusionProof [][]byte        `json:"inclusion_proof"`
		} `json:"records"`
		Checkpoint string `json:"checkpoint"`
		Scanned    struct{ From, To uint64 }
		NextCursor string `json:"next_cursor"`
		Verified   bool   `json:"verified"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &ans) != nil || len(ans.Records) != 5 || ans.NextCursor != "" || !ans.Verified || ans.Scanned.To != q.size {
		t.Fatalf("query --all --json: %d %q", code, out)
	}
	var env struct {
		Kind string `json:"kind"`
		Body struct {
			DecisionID string `json:"decision_id"`
		} `json:"body"`
	}
	if json.Unmarshal(ans.Records[4].Entry, &env) != nil || env.Kind != "decision" || env.Body.DecisionID != "dec-q-012" {
		t.Fatalf("decoded entry: %s", ans.Records[4].Entry)
	}

	// one page of two, with the cursor to go on
	code, out, _ = ctl(t, "", append(reg, "query", "--action", "refused", "--limit", "2")...)
	if code != 0 || strings.Count(out, "\n") != 1+2+2 || !strings.Contains(out, "more: --cursor ") {
		t.Fatalf("one page: %d %q", code, out)
	}
	cursor := strings.TrimSpace(strings.TrimSuffix(strings.SplitN(out, "more: --cursor ", 2)[1], "(or --all)\n"))
	code, out, _ = ctl(t, "", append(reg, "query", "--action", "refused", "--limit", "2", "--cursor", cursor)...)
	if code != 0 || !strings.Contains(out, "dec-q-006") || strings.Contains(out, "dec-q-003") {
		t.Fatalf("second page: %d %q", code, out)
	}

	// time window and several filters
	code, out, _ = ctl(t, "", append(reg, "query", "--from", q.t0, "--to", q.t1, "--rule", "A-03", "--jurisdiction", "DE")...)
	if code != 0 || !strings.Contains(out, "dec-q-000") || !strings.Contains(out, "dec-q-005") || strings.Contains(out, "dec-q-010") ||
		!strings.Contains(out, "2 records; scanned entries [0, 9)") {
		t.Fatalf("window: %d %q", code, out)
	}
	// contests by kind; contest status
	code, out, _ = ctl(t, "", append(reg, "query", "--kind", "contest")...)
	if code != 0 || !strings.Contains(out, "contest con-q-1") || !strings.Contains(out, "2 records") {
		t.Fatalf("kind contest: %d %q", code, out)
	}
	code, out, _ = ctl(t, "", append(reg, "query", "--contest-status", "overdue")...)
	if code != 0 || !strings.Contains(out, "dec-q-003") || !strings.Contains(out, "1 records") {
		t.Fatalf("contest status: %d %q", code, out)
	}

	// usage errors
	for _, args := range [][]string{{"--from", "yesterday"}, {"--contest-status", "pending"}, {"--limit", "1001"}, {"--kind", "vote"}} {
		if code, _, _ := ctl(t, "", append(append(reg, "query"), args...)...); code != 2 {
			t.Errorf("query %v: exit %d, want 2", args, code)
		}
	}
	// a wrong key: the checkpoint does not verify
	if code, _, errOut := ctl(t, "", append(reg, "query", "--key", otherVKey(t))...); code != 1 || !strings.Contains(errOut, "does NOT verify") {
		t.Fatalf("query with a wrong key: %d %q", code, errOut)
	}

	// stats
	code, out, _ = ctl(t, "", append(reg, "stats", "--group-by", "rule", "--key", q.s.VKey)...)
	if code != 0 || !strings.HasPrefix(out, "RULE") || !strings.Contains(out, "checkpoint verified") {
		t.Fatalf("stats: %d %q", code, out)
	}
	// H-12: 5 refusals, 2 contests, 1 overturned, 1 overdue
	if !regexpLine(out, `H-12\s+fja-default@2026.11\s+5\s+2\s+1\s+1`) || !regexpLine(out, `A-03\s+fja-default@2026.11\s+10\s+2\s+1\s+1`) {
		t.Fatalf("stats figures: %q", out)
	}
	code, out, _ = ctl(t, "", append(reg, "stats", "--group-by", "outcome,jurisdiction", "--json")...)
	var st struct {
		Groups []struct {
			Key   map[string]string `json:"key"`
			Count int               `json:"count"`
		} `json:"groups"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || len(st.Groups) != 15 {
		t.Fatalf("stats --json: %d %q", code, out)
	}
	if code, _, _ := ctl(t, "", append(reg, "stats", "--group-by", "colour")...); code != 2 {
		t.Fatalf("stats --group-by colour: exit %d, want 2", code)
	}
}

func regexpLine(out, re string) bool {
	for l := range strings.Lines(out) {
		if ok, _ := regexp.MatchString(re, l); ok {
			return true
		}
	}
	return false
}

func otherVKey(t *testing.T) string {
	t.Helper()
	// same origin, another key
	code, out, _ := ctl(t, "", "keygen", "--origin", apitest.DefaultOrigin, "--out", t.TempDir()+"/k")
	if code != 0 {
		t.Fatal("keygen")
	}
	return strings.TrimSpace(out)
}

func TestAuditQueryHonest(t *testing.T) {
	q := newQueryLog(t)
	reg := q.regulator(q.s.URL)
	for _, args := range [][]string{
		{},
		{"--action", "refused", "--limit", "2"},
		{"--from", q.t0, "--to", q.t1, "--rule", "A-03"},
		{"--from", q.t1},
		{"--to", q.t1, "--jurisdiction", "KE"},
		{"--kind", "contest"},
		{"--kind", "resolution", "--from", q.t0},
		{"--contest-status", "overdue", "--slack", "100ms"},
		{"--contest-status", "resolved"},
		{"--contest-status", "none", "--flag", "western-sources"},
		{"--operator", "nobody"},
		{"--stats"},
		{"--stats", "--group-by", "rule", "--slack", "100ms"},
		{"--stats", "--group-by", "outcome,jurisdiction,flag", "--from", q.t0, "--to", q.t1},
		{"--stats", "--group-by", "rule", "--contest-status", "overdue", "--slack", "100ms"},
		{"--stats", "--group-by", "category,model,operator", "--action", "refused"},
	} {
		code, out, _ := ctl(t, "", append(append(reg, "audit-query", "--key", q.s.VKey), args...)...)
		if code != 0 || !strings.Contains(out, "answer complete and correct") {
			t.Errorf("audit-query %v: %d %q", args, code, out)
		}
	}
	code, out, _ := ctl(t, "", append(reg, "audit-query", "--key", q.s.VKey, "--action", "refused", "--json", "--progress")...)
	var rep struct {
		OK       bool   `json:"ok"`
		Answered int    `json:"answered"`
		Matched  int    `json:"matched"`
		Read     uint64 `json:"read"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || !rep.OK || rep.Answered != 5 || rep.Matched != 5 || rep.Read != q.size {
		t.Fatalf("audit-query --json: %d %q", code, out)
	}
	// usage: --key is required; --group-by needs --stats
	if code, _, _ := ctl(t, "", append(reg, "audit-query")...); code != 2 {
		t.Errorf("audit-query without --key: %d", code)
	}
	if code, _, _ := ctl(t, "", append(reg, "audit-query", "--key", q.s.VKey, "--group-by", "rule")...); code != 2 {
		t.Errorf("audit-query --group-by without --stats: %d", code)
	}
}

// answerProxy serves the real server's answers through edit, which may
// rewrite the JSON of /v1/query and /v1/stats; tiles pass unchanged.
func answerProxy(t *testing.T, target string, edit func(path string, ans map[string]any)) string {
	t.Helper()
	u, _ := url.Parse(target)
	p := httputil.NewSingleHostReverseProxy(u)
	p.ModifyResponse = func(resp *http.Response) error {
		path := resp.Request.URL.Path
		if resp.StatusCode != http.StatusOK || (path != "/v1/query" && path != "/v1/stats") {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		var ans map[string]any
		if err := json.Unmarshal(b, &ans); err != nil {
			return err
		}
		edit(path, ans)
		b, _ = json.Marshal(ans)
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	hs := httptest.NewServer(p)
	t.Cleanup(hs.Close)
	return hs.URL
}

func TestAuditQueryCatchesLies(t *testing.T) {
	q := newQueryLog(t)
	drop := q.indexOf["dec-q-006"]

	// drops one matching record from every query page
	dropper := answerProxy(t, q.s.URL, func(path string, ans map[string]any) {
		if path != "/v1/query" {
			return
		}
		recs, _ := ans["records"].([]any)
		kept := []any{}
		for _, r := range recs {
			if uint64(r.(map[string]any)["index"].(float64)) != drop {
				kept = append(kept, r)
			}
		}
		ans["records"] = kept
	})
	// the plain query does not notice: every record it got verifies
	if code, out, _ := ctl(t, "", append(q.regulator(dropper), "query", "--action", "refused", "--all", "--key", q.s.VKey)...); code != 0 || !strings.Contains(out, "4 records") {
		t.Fatalf("query through the dropper: %d %q", code, out)
	}
	for _, args := range [][]string{{"--action", "refused"}, {"--action", "refused", "--limit", "2"}, {"--rule", "H-12", "--from", q.t0, "--to", q.t1}, {}} {
		code, out, errOut := ctl(t, "", append(append(q.regulator(dropper), "audit-query", "--key", q.s.VKey), args...)...)
		want := fmt.Sprintf("DISCREPANCY missing: index %d matches the filter but is missing from the answer", drop)
		if code != 1 || !strings.Contains(out, want) || !strings.Contains(out, "NOT complete and correct") || !strings.Contains(errOut, "1 discrepancies") {
			t.Errorf("audit-query %v through the dropper: %d %q %q", args, code, out, errOut)
		}
	}
	code, out, _ := ctl(t, "", append(q.regulator(dropper), "audit-query", "--key", q.s.VKey, "--action", "refused", "--json")...)
	var rep struct {
		OK       bool `json:"ok"`
		Problems []struct {
			Kind  string  `json:"kind"`
			Index *uint64 `json:"index"`
		} `json:"problems"`
	}
	if code != 1 || json.Unmarshal([]byte(out), &rep) != nil || rep.OK || len(rep.Problems) != 1 || rep.Problems[0].Kind != "missing" || *rep.Problems[0].Index != drop {
		t.Fatalf("audit-query --json through the dropper: %d %q", code, out)
	}

	// changes one stats count
	inflater := answerProxy(t, q.s.URL, func(path string, ans map[string]any) {
		if path != "/v1/stats" {
			return
		}
		for _, g := range ans["groups"].([]any) {
			g := g.(map[string]any)
			if g["key"].(map[string]any)["rule"] == "H-12" {
				g["count"] = g["count"].(float64) - 1
			}
		}
	})
	code, out, _ = ctl(t, "", append(q.regulator(inflater), "audit-query", "--key", q.s.VKey, "--stats", "--group-by", "rule")...)
	if code != 1 || !strings.Contains(out, `DISCREPANCY group: group {"constitution":"fja-default@2026.11","rule":"H-12"}: count is 4, recount gives 5`) {
		t.Fatalf("audit-query --stats through the inflater: %d %q", code, out)
	}

	// shrinks the scanned range by one at its end
	for _, path := range []string{"/v1/query", "/v1/stats"} {
		shrinker := answerProxy(t, q.s.URL, func(p string, ans map[string]any) {
			if p == path {
				sc := ans["scanned"].(map[string]any)
				sc["to"] = sc["to"].(float64) - 1
			}
		})
		args := []string{"audit-query", "--key", q.s.VKey, "--from", q.t0, "--to", q.t1}
		if path == "/v1/stats" {
			args = append(args, "--stats")
		}
		code, out, _ = ctl(t, "", append(q.regulator(shrinker), args...)...)
		// the window [t0, t1) is entries [0, 9): entry 8 was left out
		if code != 1 || !strings.Contains(out, "DISCREPANCY window: entry 8 (logged_at ") || !strings.Contains(out, "is in the window but after the scanned range [0, 8)") {
			t.Errorf("audit-query through the %s shrinker: %d %q", path, code, out)
		}
	}

	// answers for a wider filter than asked: extra records
	u, _ := url.Parse(q.s.URL)
	widen := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(u)
		v := r.Out.URL.Query()
		if v.Get("jurisdiction") == "DE" {
			v.Del("jurisdiction")
			r.Out.URL.RawQuery = v.Encode()
		}
	}}
	hs := httptest.NewServer(widen)
	defer hs.Close()
	code, out, _ = ctl(t, "", append(q.regulator(hs.URL), "audit-query", "--key", q.s.VKey, "--action", "refused", "--jurisdiction", "DE")...)
	if code != 1 || !strings.Contains(out, fmt.Sprintf("DISCREPANCY extra: index %d was answered but does not match the filter", q.indexOf["dec-q-003"])) {
		t.Fatalf("audit-query through the widener: %d %q", code, out)
	}
}
