package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
	"github.com/fjaledger/fja/ledger/shard"
	"github.com/fjaledger/fja/schemas"
	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/monitor"
	"github.com/fjaledger/fja/verify/record"
	vshard "github.com/fjaledger/fja/verify/shard"
)

// devServer is a running in-process ledgerd in development mode.
type devServer struct {
	url, vkey, origin, producer, reviewer, regulator string
	stop                                             func() error
}

func startDev(t *testing.T, dir string) *devServer {
	t.Helper()
	banner, stop := startDaemon(t, "export ", "--data", dir, "--listen", "127.0.0.1:0")
	m := regexp.MustCompile(`(?m)^export LEDGER_URL=(\S+) LEDGER_TOKEN=(\S+) REVIEWER_TOKEN=(\S+) REGULATOR_TOKEN=(\S+) `).FindStringSubmatch(banner)
	if m == nil {
		stop()
		t.Fatalf("no export line in\n%s", banner)
	}
	return &devServer{url: m[1], producer: m[2], reviewer: m[3], regulator: m[4], vkey: field(t, banner, "vkey"), origin: field(t, banner, "origin"), stop: stop}
}

// do sends a request with a bearer token and returns the status and body.
func (s *devServer) do(t *testing.T, method, path, token string, body []byte, hdr ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// example returns an example request body with top-level string fields
// replaced.
func example(t *testing.T, name string, set map[string]string) []byte {
	t.Helper()
	b, err := schemas.Examples.ReadFile("examples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		m[k] = v
	}
	out, _ := json.Marshal(m)
	return out
}

func (s *devServer) mustPost(t *testing.T, path string, body []byte, want int) []byte {
	t.Helper()
	code, b := s.do(t, "POST", path, s.producer, body)
	if code != want {
		t.Fatalf("POST %s: %d %s, want %d", path, code, b, want)
	}
	return b
}

// TestRotationJourney: decisions in shard 1, ledgerctl rotate's work
// (shard.Rotate) on the stopped server's data directory, a restart,
// decisions in shard 2, a contest in shard 2 of a decision in shard 1,
// a query and stats spanning both, the receipt of a shard 1 decision, a
// monitor following both shards, and the chain verified; then a tampered
// listing of the chain is caught.
func TestRotationJourney(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	// Shard 1: a constitution and two decisions.
	s1 := startDev(t, dir)
	s1.mustPost(t, "/v1/constitutions", example(t, "constitution.json", nil), http.StatusCreated)
	var refused verify.Receipt
	if err := json.Unmarshal(s1.mustPost(t, "/v1/decisions", example(t, "decision-refused.json", nil), http.StatusCreated), &refused); err != nil {
		t.Fatal(err)
	}
	// A monitor pinned to shard 1's key follows it before the rotation.
	stateDir := t.TempDir()
	mon := &monitor.Monitor{Origin: s1.origin, Key: s1.vkey, Save: func(st *monitor.State) error { return monitor.SaveState(stateDir, st) }}
	mst := monitor.NewState(s1.origin, s1.vkey)
	c1, err := client.New(client.Config{URL: s1.url, InsecureSkipVerify: true, MaxTries: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := c1.ShardMonitor(mon, stateDir).Round(ctx, mst); err != nil || !res.OK() || res.Size != 2 {
		t.Fatalf("monitor before the rotation: %+v, %v; want OK at size 2", res, err)
	}
	s1.mustPost(t, "/v1/decisions", example(t, "decision-answered.json", nil), http.StatusCreated)
	if err := s1.stop(); err != nil {
		t.Fatal(err)
	}

	// Rotate while stopped.
	const origin2 = "dev.fja-ledger.localhost/log/2"
	m, err := shard.Rotate(ctx, shard.RotateConfig{Dir: dir, Origin: origin2})
	if err != nil {
		t.Fatal(err)
	}
	if m.Shards[0].Origin != s1.origin || m.Shards[0].VKey != s1.vkey || m.Shards[1].Origin != origin2 {
		t.Fatalf("manifest %+v, want shard 1 %s %s, then %s", m.Shards, s1.origin, s1.vkey, origin2)
	}

	// Shard 2: the server restarts on it, with the same tokens.
	s2 := startDev(t, dir)
	stopped := false
	defer func() {
		if !stopped {
			s2.stop()
		}
	}()
	if s2.origin != origin2 || s2.vkey == s1.vkey || s2.producer != s1.producer {
		t.Fatalf("restarted as %s %s, want %s with a new key and the same tokens", s2.origin, s2.vkey, origin2)
	}
	// The constitution published in shard 1 stays in force.
	var answered2 verify.Receipt
	if err := json.Unmarshal(s2.mustPost(t, "/v1/decisions", example(t, "decision-answered.json", map[string]string{"decision_id": "dec-shard2-000001"}), http.StatusCreated), &answered2); err != nil {
		t.Fatal(err)
	}
	if answered2.Origin != origin2 || answered2.Index != 1 {
		t.Fatalf("shard 2 decision at %s index %d, want %s index 1 (after the shard record)", answered2.Origin, answered2.Index, origin2)
	}
	if _, _, err := verify.VerifyReceipt(mustJSON(t, answered2), s2.vkey); err != nil {
		t.Fatalf("shard 2 receipt: %v", err)
	}

	// A retry of a shard 1 decision is not logged again.
	code, b := s2.do(t, "POST", "/v1/decisions", s2.producer, example(t, "decision-refused.json", nil))
	if code != http.StatusConflict || !strings.Contains(string(b), "earlier shard "+s1.origin) {
		t.Fatalf("a shard 1 decision sent again after the rotation: %d %s, want 409 naming shard 1", code, b)
	}

	// A contest in shard 2 of the refused decision in shard 1.
	code, b = s2.do(t, "POST", "/v1/contests", "", example(t, "contest.json", map[string]string{"contest_token": refused.ContestToken}))
	if code != http.StatusCreated {
		t.Fatalf("contest of a shard 1 decision: %d %s", code, b)
	}
	var filed record.ContestFiled
	if err := json.Unmarshal(b, &filed); err != nil {
		t.Fatal(err)
	}
	var env record.Envelope
	var contest record.Contest
	if err := json.Unmarshal(filed.Receipt.Entry, &env); err != nil || json.Unmarshal(env.Body, &contest) != nil {
		t.Fatalf("contest entry %q: %v", filed.Receipt.Entry, err)
	}
	if filed.Receipt.Origin != origin2 || contest.Decision.Shard != s1.origin || contest.Decision.Index != refused.Index ||
		!bytes.Equal(contest.Decision.LeafHash, refused.LeafHash) {
		t.Fatalf("contest logged in %s citing %+v; want it in %s citing shard %s index %d", filed.Receipt.Origin, contest.Decision, origin2, s1.origin, refused.Index)
	}
	// The decision's open contest is seen across shards: a second is refused.
	code, b = s2.do(t, "POST", "/v1/contests", "", example(t, "contest.json", map[string]string{"contest_token": refused.ContestToken, "contest_id": "con-2"}))
	if code != http.StatusConflict || !strings.Contains(string(b), "open contest") {
		t.Fatalf("second contest of the shard 1 decision: %d %s, want 409 open contest", code, b)
	}
	// The subject follows it with the decision's contest token.
	code, b = s2.do(t, "GET", "/v1/contests/"+contest.ContestID, "", nil, "X-Contest-Token", refused.ContestToken)
	if code != http.StatusOK || !strings.Contains(string(b), `"status":"open"`) {
		t.Fatalf("the subject reads the contest: %d %s", code, b)
	}
	// The reviewer resolves it in shard 2.
	code, b = s2.do(t, "POST", "/v1/contests/"+contest.ContestID+"/resolution", s2.reviewer, example(t, "resolution.json", nil))
	if code != http.StatusCreated {
		t.Fatalf("resolution: %d %s", code, b)
	}

	// The shard 1 decision is found, with its receipt verifying under
	// shard 1's key.
	refusedID := "dec-2026-11-27-000001"
	code, b = s2.do(t, "GET", "/v1/decisions/"+refusedID+"/receipt", s2.regulator, nil)
	if code != http.StatusOK {
		t.Fatalf("receipt of a shard 1 decision: %d %s", code, b)
	}
	if r, _, err := verify.VerifyReceipt(b, s1.vkey); err != nil || r.Index != refused.Index || r.Origin != s1.origin {
		t.Fatalf("shard 1 receipt after the rotation: %+v, %v", r, err)
	}
	code, b = s2.do(t, "GET", "/v1/decisions/"+refusedID, "", nil, "X-Contest-Token", refused.ContestToken)
	if code != http.StatusOK || !strings.Contains(string(b), refusedID) {
		t.Fatalf("the subject reads the shard 1 decision: %d %s", code, b)
	}

	// Query and stats span both shards.
	code, b = s2.do(t, "GET", "/v1/query?kind=decision", s2.regulator, nil)
	var q record.QueryAnswer
	if code != http.StatusOK || json.Unmarshal(b, &q) != nil {
		t.Fatalf("query: %d %s", code, b)
	}
	if len(q.Records) != 1 || len(q.Shards) != 1 || q.Shards[0].N != 1 || len(q.Shards[0].Records) != 2 || q.Shards[0].Origin != s1.origin {
		t.Fatalf("query answer: %d records in shard 2, shards %+v; want 1, and 2 in shard 1", len(q.Records), q.Shards)
	}
	final, err := verify.OpenCheckpoint([]byte(q.Shards[0].Checkpoint), s1.origin, s1.vkey)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range q.Shards[0].Records {
		if err := verify.Inclusion(r.Index, final.Size, verify.LeafHash(r.Entry), r.InclusionProof, final.Hash); err != nil {
			t.Fatalf("shard 1 query record %d: %v", r.Index, err)
		}
	}
	code, b = s2.do(t, "GET", "/v1/stats?group_by=outcome", s2.regulator, nil)
	var st record.StatsAnswer
	if code != http.StatusOK || json.Unmarshal(b, &st) != nil {
		t.Fatalf("stats: %d %s", code, b)
	}
	counts := map[string]int{}
	for _, g := range st.Groups {
		counts[g.Key["outcome"]] += g.Count
	}
	if counts["answered"] != 2 || counts["refused"] != 1 || len(st.Shards) != 1 || len(st.Shards[0].Groups) != 2 {
		t.Fatalf("stats over both shards: %v, shards %+v; want 2 answered and 1 refused", counts, st.Shards)
	}

	// GET /v1/log lists both shards.
	c, err := client.New(client.Config{URL: s2.url, InsecureSkipVerify: true, MaxTries: 1})
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Log(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Shards) != 2 || info.Shards[0].State != record.ShardFrozen || info.Shards[1].State != record.ShardActive ||
		info.Shards[0].VKey != s1.vkey || info.Shards[1].VKey != s2.vkey || info.Shards[0].TreeSize != 3 ||
		info.Shards[1].FirstLoggedAt == "" || *info.Shards[1].LastIndex != info.TreeSize-1 {
		t.Fatalf("GET /v1/log shards: %+v", info.Shards)
	}

	// The chain verifies from shard 1's key, and a monitor pinned to it
	// follows both shards.
	links, err := c.VerifyChain(ctx, s1.vkey, info.Shards)
	if err != nil || len(links) != 2 || links[0].Final.Size != 3 {
		t.Fatalf("chain: %+v, %v", links, err)
	}
	// The same monitor state, after the rotation: shard 1 grew from the
	// size it trusted to its final one (consistency proven from its tiles).
	res, err := c.ShardMonitor(mon, stateDir).Round(ctx, mst)
	if err != nil || !res.OK() {
		t.Fatalf("monitor round over both shards: %+v, %v", res, err)
	}
	if res.Size != info.TreeSize || !strings.HasPrefix(mst.Checkpoint, s1.origin+"\n3\n") {
		t.Fatalf("monitor at size %d (shard 1 state %q), want the active shard's %d and shard 1 trusted at 3", res.Size, mst.Checkpoint, info.TreeSize)
	}
	if _, err := os.Stat(filepath.Join(stateDir, "shards", "2", "state.json")); err != nil {
		t.Fatalf("no monitor state for shard 2: %v", err)
	}

	// Shard 2 alone, without its earlier shard, cites a constitution it
	// does not hold: what the follower of both shards reads from shard 1.
	alone, err := (&monitor.Monitor{Origin: origin2, Key: s2.vkey, Client: c.ShardSource(2, origin2, s2.vkey)}).Round(ctx, monitor.NewState(origin2, s2.vkey))
	if err != nil || alone.OK() || !strings.Contains(alone.Alarms[0].Message, "not published earlier") {
		t.Fatalf("monitor of shard 2 alone: %+v, %v; want the constitution of shard 1 missed", alone, err)
	}

	// A listing that swaps shard 2's key for one shard 1 did not endorse
	// is a broken chain, and a CHAIN alarm for the monitor.
	target, _ := url.Parse(s2.url)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(r *http.Response) error {
		if r.Request.URL.Path != "/v1/log" {
			return nil
		}
		var li record.LogInfo
		if err := json.NewDecoder(r.Body).Decode(&li); err != nil {
			return err
		}
		li.Shards[1].VKey = s1.vkey // not the endorsed key
		b, _ := json.Marshal(li)
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		r.Header.Del("Content-Length")
		return nil
	}
	ps := httptest.NewServer(proxy)
	defer ps.Close()
	pc, err := client.New(client.Config{URL: ps.URL, InsecureSkipVerify: true, MaxTries: 1})
	if err != nil {
		t.Fatal(err)
	}
	pinfo, err := pc.Log(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.VerifyChain(ctx, s1.vkey, pinfo.Shards); !errors.Is(err, vshard.ErrBrokenChain) {
		t.Fatalf("chain with a key not endorsed: %v, want a broken chain", err)
	}
	res, err = pc.ShardMonitor(mon, t.TempDir()).Round(ctx, monitor.NewState(s1.origin, s1.vkey))
	if err != nil || res.OK() || res.Alarms[0].Kind != monitor.KindChain {
		t.Fatalf("monitor over a tampered chain: %+v, %v; want a CHAIN alarm", res, err)
	}

	// Stopped, every shard's store and indexes pass fsck (the cross-shard
	// contest and its resolution included).
	stopped = true
	if err := s2.stop(); err != nil {
		t.Fatal(err)
	}
	fsckShards(t, dir, m)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fsckShards checks the store and indexes of every shard of the stopped
// ledger in dir.
func fsckShards(t *testing.T, dir string, m *shard.Manifest) {
	t.Helper()
	ctx := context.Background()
	for _, sh := range m.Shards {
		st, err := badgerstore.OpenExisting(shard.PathsOf(dir, sh).Badger)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := ledger.Fsck(ctx, st, ledger.FsckOptions{Origin: sh.Origin, VerifierKeys: []string{sh.VKey}})
		if err == nil {
			err = audit.FsckIndexes(ctx, st, rep)
		}
		st.Close()
		if err != nil || !rep.OK() {
			t.Fatalf("fsck of shard %d: %+v, %v", sh.N, rep, err)
		}
	}
}
