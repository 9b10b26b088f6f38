package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/fjaledger/fja/api/client"
	rpt "github.com/fjaledger/fja/api/client/report"
	"github.com/fjaledger/fja/ledger/shard"
	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
)

// TestAuditAcrossShards: on a rotated ledger (startRotated), the audit of a query and of stats, pinned to shard
// 1's key, verifies the chain, recounts shard 1's part from its own tiles
// and shard 2's from the active tiles, and finds both complete and
// correct; a server that drops a record from shard 1's part, or inflates
// shard 1's groups, is caught in shard 1's report.
// rotatedLedger is a ledgerd on a rotated data directory: shard 1 (s1,
// stopped) holds a constitution and two decisions; shard 2 (s2, running,
// under a new key) a decision and a contest of shard 1's refused decision
// (refused, its receipt as served) resolved by a reviewer.
type rotatedLedger struct {
	s1, s2    *devServer
	refused   []byte
	contestID string
}

func startRotated(t *testing.T) *rotatedLedger {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	s1 := startDev(t, dir)
	s1.mustPost(t, "/v1/constitutions", example(t, "constitution.json", nil), http.StatusCreated)
	raw := s1.mustPost(t, "/v1/decisions", example(t, "decision-refused.json", nil), http.StatusCreated)
	var refused verify.Receipt
	if err := json.Unmarshal(raw, &refused); err != nil {
		t.Fatal(err)
	}
	s1.mustPost(t, "/v1/decisions", example(t, "decision-answered.json", nil), http.StatusCreated)
	if err := s1.stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := shard.Rotate(ctx, shard.RotateConfig{Dir: dir, Origin: "dev.fja-ledger.localhost/log/2"}); err != nil {
		t.Fatal(err)
	}
	s2 := startDev(t, dir)
	t.Cleanup(func() { s2.stop() })
	s2.mustPost(t, "/v1/decisions", example(t, "decision-answered.json", map[string]string{"decision_id": "dec-shard2-000001"}), http.StatusCreated)
	code, b := s2.do(t, "POST", "/v1/contests", "", example(t, "contest.json", map[string]string{"contest_token": refused.ContestToken}))
	if code != http.StatusCreated {
		t.Fatalf("contest of a shard 1 decision: %d %s", code, b)
	}
	var filed record.ContestFiled
	if err := json.Unmarshal(b, &filed); err != nil {
		t.Fatal(err)
	}
	if code, b := s2.do(t, "POST", "/v1/contests/"+filed.ContestID+"/resolution", s2.reviewer, example(t, "resolution.json", nil)); code != http.StatusCreated {
		t.Fatalf("resolution: %d %s", code, b)
	}
	return &rotatedLedger{s1: s1, s2: s2, refused: raw, contestID: filed.ContestID}
}

func TestAuditAcrossShards(t *testing.T) {
	ctx := context.Background()
	r := startRotated(t)
	s1, s2 := r.s1, r.s2

	audit := func(base string) (q, st *client.Audit) {
		t.Helper()
		c, err := client.New(client.Config{URL: base, Token: s2.regulator, VerifierKey: s1.vkey, MaxTries: 1})
		if err != nil {
			t.Fatal(err)
		}
		f := client.Filter{Kind: "decision"}
		params, err := f.QueryParams(nil)
		if err != nil {
			t.Fatal(err)
		}
		if q, err = c.AuditQuery(ctx, f.Recount(), params, client.AuditConfig{}); err != nil {
			t.Fatal(err)
		}
		groupBy := []string{"outcome"}
		sp, err := f.StatsParams(groupBy)
		if err != nil {
			t.Fatal(err)
		}
		if st, err = c.AuditStats(ctx, f.Recount(), groupBy, sp, client.AuditConfig{}); err != nil {
			t.Fatal(err)
		}
		return q, st
	}

	q, st := audit(s2.url)
	for what, a := range map[string]*client.Audit{"query": q, "stats": st} {
		if err := a.Err(); err != nil {
			var b bytes.Buffer
			_ = rpt.WriteAudit(&b, false, what, a)
			t.Fatalf("%s audit across shards: %v\n%s", what, err, b.String())
		}
		if len(a.Shards) != 1 || a.Shards[0].N != 1 || a.Shards[0].Checkpoint.Origin != s1.origin || a.Shards[0].Checkpoint.Size != 3 ||
			a.Checkpoint.Origin != s2.origin {
			t.Fatalf("%s audit: shards %+v, active at %s; want shard 1 (%s at size 3) and the active %s", what, a.Shards, a.Checkpoint.Origin, s1.origin, s2.origin)
		}
	}
	if q.Shards[0].Answered != 2 || q.Shards[0].Report.Matched != 2 || q.Answered != 1 || q.Report.Matched != 1 {
		t.Fatalf("query audit: shard 1 %d answered %d matched, active %d answered %d matched; want 2 2 1 1",
			q.Shards[0].Answered, q.Shards[0].Report.Matched, q.Answered, q.Report.Matched)
	}
	var out bytes.Buffer
	if err := rpt.WriteAudit(&out, false, "query", q); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "shard 1:\nquery answer complete and correct: 2 records answered") ||
		!strings.Contains(s, "active shard:\nquery answer complete and correct: 1 records answered") {
		t.Fatalf("report across shards:\n%s", s)
	}
	out.Reset()
	if err := rpt.WriteAudit(&out, true, "stats", st); err != nil {
		t.Fatal(err)
	}
	var js struct {
		OK     bool `json:"ok"`
		Shards []struct {
			N  int  `json:"n"`
			OK bool `json:"ok"`
		} `json:"shards"`
	}
	if err := json.Unmarshal(out.Bytes(), &js); err != nil || !js.OK || len(js.Shards) != 1 || js.Shards[0].N != 1 || !js.Shards[0].OK {
		t.Fatalf("JSON report %s: %v", out.String(), err)
	}

	// A server that leaves a record out of shard 1's part and counts one
	// refusal too many there.
	target, _ := url.Parse(s2.url)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(r *http.Response) error {
		var v any
		switch r.Request.URL.Path {
		case "/v1/query":
			var a record.QueryAnswer
			if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
				return err
			}
			if len(a.Shards) > 0 {
				a.Shards[0].Records = a.Shards[0].Records[1:]
			}
			v = a
		case "/v1/stats":
			var a record.StatsAnswer
			if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
				return err
			}
			for i, g := range a.Shards[0].Groups {
				if g.Key["outcome"] == "refused" {
					a.Shards[0].Groups[i].Count++
				}
			}
			for i, g := range a.Groups {
				if g.Key["outcome"] == "refused" {
					a.Groups[i].Count++ // the total agrees: only shard 1's tiles tell
				}
			}
			v = a
		default:
			return nil
		}
		b, _ := json.Marshal(v)
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		r.Header.Del("Content-Length")
		return nil
	}
	ps := httptest.NewServer(proxy)
	defer ps.Close()
	q, st = audit(ps.URL)
	for what, a := range map[string]*client.Audit{"query": q, "stats": st} {
		if a.Err() == nil || len(a.Shards) != 1 || a.Shards[0].Report.OK() || !a.Report.OK() {
			t.Fatalf("%s audit of a lying shard 1 part: %v, shard 1 %+v, active %+v; want discrepancies in shard 1 only", what, a.Err(), a.Shards, a.Report)
		}
	}
	out.Reset()
	_ = rpt.WriteAudit(&out, false, "query", q)
	if s := out.String(); !strings.Contains(s, "shard 1:\nDISCREPANCY") || !strings.Contains(s, "query answer NOT complete and correct") {
		t.Fatalf("report of the lying shard 1 part:\n%s", s)
	}
}
