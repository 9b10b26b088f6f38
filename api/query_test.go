package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fjaledger/fja/api"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/verify"
)

// queryFixture logs decisions with varied fields at known log times (a
// clock that steps one minute per decision) and remembers each one.
type queryFixture struct {
	*server
	decisions map[uint64]audit.Decision
	loggedAt  map[uint64]time.Time
}

func newQueryFixture(t *testing.T, n int) *queryFixture {
	t.Helper()
	s := newServer(t)
	s.publishConstitution()
	q := &queryFixture{server: s, decisions: map[uint64]audit.Decision{}, loggedAt: map[uint64]time.Time{}}
	r := rand.New(rand.NewPCG(7, 11))
	base := example(t, "decision-refused.json")
	for i := 0; i < n; i++ {
		var d map[string]any
		json.Unmarshal(base, &d)
		d["decision_id"] = fmt.Sprintf("dec-q-%d", i)
		d["subject"].(map[string]any)["jurisdiction"] = []string{"DE", "FR", "KE", "IN"}[r.IntN(4)]
		out := d["outcome"].(map[string]any)
		out["category"] = []string{"medical", "finance", "education"}[r.IntN(3)]
		if r.IntN(3) == 0 {
			out["action"] = "answered"
			d["rules"] = []any{map[string]any{"rule_id": "A-03", "effect": "allow", "rationale": "adult"}}
		}
		if r.IntN(4) == 0 {
			d["provenance_flags"] = []any{map[string]any{"code": "western-sources", "message": "mostly Western sources", "severity": "info"}}
		}
		b, _ := json.Marshal(d)
		code, body := s.do("POST", "/v1/decisions", auth.Producer, b)
		if code != 201 {
			t.Fatalf("decision %d: %d %s", i, code, body)
		}
		rc := s.receipt(body)
		var env audit.Envelope
		json.Unmarshal(rc.Entry, &env)
		var dec audit.Decision
		json.Unmarshal(env.Body, &dec)
		at, _ := time.Parse(time.RFC3339Nano, env.LoggedAt)
		q.decisions[rc.Index], q.loggedAt[rc.Index] = dec, at
	}
	return q
}

// brute filters the remembered decisions the slow way.
func (q *queryFixture) brute(f audit.Filter) []uint64 {
	var out []uint64
	for idx, d := range q.decisions {
		at := q.loggedAt[idx]
		if (!f.From.IsZero() && at.Before(f.From)) || (!f.To.IsZero() && !at.Before(f.To)) ||
			(f.Jurisdiction != "" && d.Subject.Jurisdiction != f.Jurisdiction) || (f.Action != "" && d.Outcome.Action != f.Action) ||
			(f.Category != "" && d.Outcome.Category != f.Category) {
			continue
		}
		if f.Rule != "" && !slices.ContainsFunc(d.Rules, func(r audit.AppliedRule) bool { return r.RuleID == f.Rule }) {
			continue
		}
		if f.Flag != "" && !slices.ContainsFunc(d.ProvenanceFlags, func(p audit.ProvenanceFlag) bool { return p.Code == f.Flag }) {
			continue
		}
		out = append(out, idx)
	}
	slices.Sort(out)
	return out
}

// query pages through GET /v1/query and checks every proof against the
// answer's checkpoint.
func (q *queryFixture) query(t *testing.T, params url.Values, limit int) ([]uint64, api.Scanned) {
	t.Helper()
	var got []uint64
	var scanned *api.Scanned
	params.Set("limit", fmt.Sprint(limit))
	for page := 0; ; page++ {
		code, b := q.do("GET", "/v1/query?"+params.Encode(), auth.Regulator, nil)
		if code != 200 {
			t.Fatalf("query %s: %d %s", params.Encode(), code, b)
		}
		a := decode[api.QueryAnswer](t, b)
		cp, err := verify.OpenCheckpoint([]byte(a.Checkpoint), origin, q.vkey)
		if err != nil {
			t.Fatal(err)
		}
		if scanned != nil && *scanned != a.Scanned {
			t.Fatalf("scanned moved between pages: %+v then %+v", *scanned, a.Scanned)
		}
		scanned = &a.Scanned
		if len(a.Records) > limit {
			t.Fatalf("%d records for limit %d", len(a.Records), limit)
		}
		for _, r := range a.Records {
			if err := verify.Inclusion(r.Index, cp.Size, verify.LeafHash(r.Entry), r.InclusionProof, cp.Hash); err != nil {
				t.Fatalf("record %d: %v", r.Index, err)
			}
			got = append(got, r.Index)
		}
		if a.NextCursor == "" {
			break
		}
		params.Set("cursor", a.NextCursor)
	}
	return got, *scanned
}

// TestQueryMatchesBruteForce: every filter combination answers exactly the
// decisions a brute-force filter finds, over pages, with proofs, and the
// scanned range of a time window is exactly the indices logged in it.
func TestQueryMatchesBruteForce(t *testing.T) {
	q := newQueryFixture(t, 60)
	var idxs []uint64
	for i := range q.decisions {
		idxs = append(idxs, i)
	}
	slices.Sort(idxs)
	mid, late := q.loggedAt[idxs[15]], q.loggedAt[idxs[45]]
	cases := []audit.Filter{
		{}, {Jurisdiction: "DE"}, {Action: "refused", Category: "medical"}, {Rule: "H-12", Jurisdiction: "KE"},
		{Flag: "western-sources"}, {Flag: "western-sources", Action: "answered"}, {Jurisdiction: "XX"},
		{From: mid, To: late}, {From: mid, To: late, Jurisdiction: "FR"}, {From: late}, {To: mid, Rule: "A-03"},
	}
	for _, f := range cases {
		p := url.Values{}
		for k, v := range map[string]string{"jurisdiction": f.Jurisdiction, "action": f.Action, "category": f.Category, "rule": f.Rule, "flag": f.Flag} {
			if v != "" {
				p.Set(k, v)
			}
		}
		if !f.From.IsZero() {
			p.Set("from", f.From.Format(time.RFC3339Nano))
		}
		if !f.To.IsZero() {
			p.Set("to", f.To.Format(time.RFC3339Nano))
		}
		p.Set("kind", "decision")
		want := q.brute(f)
		for _, limit := range []int{1000, 7} {
			got, scanned := q.query(t, p, limit)
			if !slices.Equal(got, want) {
				t.Errorf("%s (limit %d): got %v, want %v", p.Encode(), limit, got, want)
			}
			// scanned is exactly the window
			for idx, at := range q.loggedAt {
				in := (f.From.IsZero() || !at.Before(f.From)) && (f.To.IsZero() || at.Before(f.To))
				if inRange := idx >= scanned.From && idx < scanned.To; in != inRange {
					t.Errorf("%s: decision %d logged %s is in window %v, in scanned %+v %v", p.Encode(), idx, at, in, scanned, inRange)
				}
			}
		}
	}
	// all kinds, no filter: the constitution too
	got, _ := q.query(t, url.Values{}, 1000)
	if len(got) != len(q.decisions)+1 || got[0] != 0 {
		t.Fatalf("unfiltered query: %d records, want %d", len(got), len(q.decisions)+1)
	}
	got, _ = q.query(t, url.Values{"kind": {"constitution"}}, 10)
	if !slices.Equal(got, []uint64{0}) {
		t.Fatalf("kind=constitution: %v", got)
	}
	for _, bad := range []string{"limit=0", "limit=1001", "limit=x", "kind=nope", "from=yesterday", "cursor=-1", "contest_status=maybe"} {
		if code, b := q.do("GET", "/v1/query?"+bad, auth.Regulator, nil); code != 400 {
			t.Errorf("query %s: %d %s, want 400", bad, code, b)
		}
	}
	if code, _ := q.do("GET", "/v1/query", auth.Producer, nil); code != 403 {
		t.Errorf("query by a producer: %d, want 403", code)
	}
}

// TestReindex: with every query index deleted, answers are empty; after
// Reindex they are what they were.
func TestReindex(t *testing.T) {
	q := newQueryFixture(t, 20)
	before, _ := q.query(t, url.Values{"jurisdiction": {"DE"}}, 1000)
	code, statsBefore := q.do("GET", "/v1/stats?group_by=rule,jurisdiction", auth.Regulator, nil)
	if code != 200 {
		t.Fatal(code)
	}
	var keys [][]byte
	for _, p := range []string{"q/", "s/", "cs/"} {
		q.Index.Scan(context.Background(), []byte(p), nil, func(k, _ []byte) bool { keys = append(keys, append([]byte(nil), k...)); return true })
	}
	if len(keys) < 20*7 {
		t.Fatalf("only %d index keys for 20 decisions", len(keys))
	}
	if err := q.Index.Update(nil, keys); err != nil {
		t.Fatal(err)
	}
	if got, _ := q.query(t, url.Values{"jurisdiction": {"DE"}}, 1000); len(got) != 0 {
		t.Fatalf("with the indexes gone, the query still found %v", got)
	}
	// the entries from the log, the index keys from its store
	src := struct {
		*ledger.Log
		ledger.IndexStore
	}{q.Log, q.Index}
	problems, err := audit.CheckIndex(context.Background(), src, q.Log.Head().Size, nil)
	if err != nil || len(problems) < 20*7 {
		t.Fatalf("CheckIndex with the indexes gone: %d problems, %v", len(problems), err)
	}
	if err := audit.Reindex(context.Background(), src, q.Log.Head().Size, q.Index, nil); err != nil {
		t.Fatal(err)
	}
	if problems, err := audit.CheckIndex(context.Background(), src, q.Log.Head().Size, nil); err != nil || len(problems) != 0 {
		t.Fatalf("CheckIndex after Reindex: %v, %v", problems, err)
	}
	// one wrong value is found and named
	var skey, sval []byte
	q.Index.Scan(context.Background(), []byte("s/"), nil, func(k, v []byte) bool {
		skey, sval = append([]byte(nil), k...), append([]byte(nil), v...)
		return false
	})
	// (the summary list's first block: its last byte is its last summary's)
	changed := bytes.Clone(sval)
	changed[len(changed)-1] ^= 1
	q.Index.Update([]ledger.KV{{Key: skey, Value: changed}}, nil)
	if problems, err := audit.CheckIndex(context.Background(), src, q.Log.Head().Size, nil); err != nil || len(problems) != 1 || !strings.Contains(problems[0].Detail, "the record implies") {
		t.Fatalf("CheckIndex with one summary changed: %v, %v", problems, err)
	}
	// so is a block that does not decode
	q.Index.Update([]ledger.KV{{Key: skey, Value: append(bytes.Clone(sval), 'x')}}, nil)
	if problems, err := audit.CheckIndex(context.Background(), src, q.Log.Head().Size, nil); err != nil || len(problems) != 1 || !strings.Contains(problems[0].Detail, "malformed index list block") {
		t.Fatalf("CheckIndex with a summary block that does not decode: %v, %v", problems, err)
	}
	q.Index.Update([]ledger.KV{{Key: skey, Value: sval}}, nil)
	// and an item no record implies: entry 0 (the constitution) in the
	// decisions' kind list
	var lb ledger.ListBuilder
	name := append([]byte("q/k\x00\x08"), "decision"...)
	lb.Add(name, 0, nil)
	q.Index.Update(lb.Blocks(), nil)
	if problems, err := audit.CheckIndex(context.Background(), src, q.Log.Head().Size, nil); err != nil || len(problems) != 1 || problems[0].Index != 0 || !strings.Contains(problems[0].Detail, "no record implies") {
		t.Fatalf("CheckIndex with a stray posting: %v, %v", problems, err)
	}
	q.Index.Update(nil, [][]byte{ledger.ListBlockKey(name, 0)})
	after, _ := q.query(t, url.Values{"jurisdiction": {"DE"}}, 1000)
	_, statsAfter := q.do("GET", "/v1/stats?group_by=rule,jurisdiction", auth.Regulator, nil)
	if !slices.Equal(before, after) || len(before) == 0 {
		t.Fatalf("after Reindex: %v, before %v", after, before)
	}
	if strings.Join(strings.Fields(string(statsAfter)), "") != strings.Join(strings.Fields(string(statsBefore)), "") {
		t.Fatalf("stats after Reindex:\n%s\nbefore:\n%s", statsAfter, statsBefore)
	}
}

// TestQueryPrivate: the regulator may ask for private content that has not
// been erased; after erasure the record is still answered, without it.
func TestQueryPrivate(t *testing.T) {
	s := newServer(t)
	s.publishConstitution()
	if code, b := s.do("POST", "/v1/decisions", auth.Producer, example(t, "decision-modified-private.json")); code != 201 {
		t.Fatalf("%d %s", code, b)
	}
	get := func() api.QueryAnswer {
		code, b := s.do("GET", "/v1/query?kind=decision&private=true", auth.Regulator, nil, "X-Access-Purpose", "query test")
		if code != 200 {
			t.Fatalf("%d %s", code, b)
		}
		return decode[api.QueryAnswer](t, b)
	}
	a := get()
	if len(a.Records) != 1 || !strings.Contains(a.Records[0].Private["request"], "रिटायरमेंट") {
		t.Fatalf("private content not answered: %+v", a.Records)
	}
	if code, b := s.do("GET", "/v1/query?kind=decision", auth.Regulator, nil); code != 200 || strings.Contains(string(b), `"private"`) {
		t.Fatalf("private content without asking: %d %s", code, b)
	}
	if code, _ := s.do("DELETE", "/v1/decisions/dec-2026-11-27-000003/private", auth.Operator, nil); code != 200 {
		t.Fatal(code)
	}
	if a := get(); len(a.Records) != 1 || a.Records[0].Private != nil {
		t.Fatalf("after erasure: %+v", a.Records)
	}
	if code, _ := s.do("GET", "/v1/query?private=maybe", auth.Regulator, nil); code != 400 {
		t.Fatalf("private=maybe: %d, want 400", code)
	}
}

// TestQueryAbusive: requests that once cost work in proportion to the
// whole log are bounded: a window over everything with limit 1 answers
// one record and the cursor of the next match, every filter at once
// answers what a brute-force filter finds, and stats grouped by a field
// repeated many times are refused before any scan.
func TestQueryAbusive(t *testing.T) {
	q := newQueryFixture(t, 40)
	want := q.brute(audit.Filter{Jurisdiction: "DE"})
	if len(want) < 3 {
		t.Fatalf("fixture has %d DE decisions", len(want))
	}
	start := time.Now()
	code, b := q.do("GET", "/v1/query?jurisdiction=DE&from=2000-01-01T00:00:00Z&to=2999-01-01T00:00:00Z&limit=1", auth.Regulator, nil)
	a := decode[api.QueryAnswer](t, b)
	if code != 200 || len(a.Records) != 1 || a.Records[0].Index != want[0] || a.NextCursor != fmt.Sprint(want[1]) || a.Scanned.To != q.Log.Head().Size {
		t.Fatalf("limit 1 over everything: %d %s; want [%d] next %d", code, b, want[0], want[1])
	}
	code, b = q.do("GET", "/v1/query?jurisdiction=DE&from=2000-01-01T00:00:00Z&to=2999-01-01T00:00:00Z&limit=1&cursor="+a.NextCursor, auth.Regulator, nil)
	if a = decode[api.QueryAnswer](t, b); code != 200 || len(a.Records) != 1 || a.Records[0].Index != want[1] || a.NextCursor != fmt.Sprint(want[2]) {
		t.Fatalf("second page: %d %s", code, b)
	}
	t.Logf("two limit-1 pages over the whole window: %v", time.Since(start))

	all := url.Values{"kind": {"decision"}, "operator": {"example-ai"}, "model": {"example-chat"}, "action": {"refused"}, "category": {"medical"},
		"rule": {"H-12"}, "jurisdiction": {"DE"}, "contest_status": {"none"}, "from": {"2000-01-01T00:00:00Z"}, "to": {"2999-01-01T00:00:00Z"}}
	got, _ := q.query(t, all, 2)
	wantAll := q.brute(audit.Filter{Action: "refused", Category: "medical", Rule: "H-12", Jurisdiction: "DE"})
	if !slices.Equal(got, wantAll) {
		t.Fatalf("every filter at once: %v, want %v", got, wantAll)
	}
	all.Set("flag", "western-sources")
	got, _ = q.query(t, all, 1000)
	if wantAll = q.brute(audit.Filter{Action: "refused", Category: "medical", Rule: "H-12", Jurisdiction: "DE", Flag: "western-sources"}); !slices.Equal(got, wantAll) {
		t.Fatalf("every filter and a flag: %v, want %v", got, wantAll)
	}

	before := q.Log.Head().Size
	for _, p := range []string{
		"/v1/stats?group_by=" + strings.TrimSuffix(strings.Repeat("rule,", 25), ","),
		"/v1/stats?group_by=rule,jurisdiction,rule",
		"/v1/query?limit=100000000",
	} {
		code, b := q.do("GET", p, auth.Regulator, nil)
		e, err := parseErrorBody(b)
		if code != 400 || err != nil || e.Error.Code != "bad_request" || e.Error.Field == "" {
			t.Errorf("%s: %d %s, want 400 bad_request naming the parameter", p, code, b)
		}
	}
	if q.Log.Head().Size != before {
		t.Fatal("a refused request was logged")
	}
	code, b = q.do("GET", "/v1/query?limit=100000000", auth.Regulator, nil)
	if code != 400 || !strings.Contains(string(b), "1000") {
		t.Errorf("absurd limit: the error does not name the maximum: %s", b)
	}
}
