package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/monitor"
)

// post sends body to path as role and fails t unless the answer is 2xx.
func post(t *testing.T, s *apitest.Server, path string, role auth.Role, body []byte) []byte {
	t.Helper()
	code, b := s.Do("POST", path, role, body)
	if code/100 != 2 {
		t.Fatalf("POST %s: %d %s", path, code, b)
	}
	return b
}

// withID returns the example decision name with its decision_id replaced.
func withID(t *testing.T, name, id string) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(apitest.Example(t, name), &m); err != nil {
		t.Fatal(err)
	}
	m["decision_id"] = id
	b, _ := json.Marshal(m)
	return b
}

// publishExamples logs the constitution and the three example decisions,
// then contests the refused one (and resolves the contest if resolve).
func publishExamples(t *testing.T, s *apitest.Server, resolve bool) {
	t.Helper()
	post(t, s, "/v1/constitutions", auth.Producer, apitest.Example(t, "constitution.json"))
	var receipt struct {
		ContestToken string `json:"contest_token"`
	}
	json.Unmarshal(post(t, s, "/v1/decisions", auth.Producer, apitest.Example(t, "decision-refused.json")), &receipt)
	post(t, s, "/v1/decisions", auth.Producer, apitest.Example(t, "decision-answered.json"))
	post(t, s, "/v1/decisions", auth.Producer, apitest.Example(t, "decision-modified-private.json"))
	var con map[string]any
	json.Unmarshal(apitest.Example(t, "contest.json"), &con)
	con["contest_token"] = receipt.ContestToken
	cb, _ := json.Marshal(con)
	post(t, s, "/v1/contests", "", cb)
	if resolve {
		post(t, s, "/v1/contests/"+con["contest_id"].(string)+"/resolution", auth.Reviewer, apitest.Example(t, "resolution.json"))
	}
}

func monitorArgs(s *apitest.Server, state string, extra ...string) []string {
	return append([]string{"--url", s.URL, "monitor", "--state", state, "--key", s.VKey, "--once"}, extra...)
}

func TestMonitorHonestLog(t *testing.T) {
	t.Setenv("LEDGER_URL", "")
	s := apitest.New(t)
	publishExamples(t, s, true)
	state := t.TempDir()

	code, out, _ := ctl(t, "", monitorArgs(s, state)...)
	if code != 0 || !strings.Contains(out, "OK: "+s.Origin+" at size 6 (was 0): checked entries [0, 6)") {
		t.Fatalf("first round: %d %q", code, out)
	}
	st, err := monitor.LoadState(state, s.Origin, s.VKey)
	if err != nil || st.Checked != 6 || len(st.Constitutions) != 1 || len(st.Contests) != 1 || st.LastLoggedAt == "" {
		t.Fatalf("state after the first round: %+v %v", st, err)
	}
	if _, err := verify.OpenCheckpoint([]byte(st.Checkpoint), s.Origin, s.VKey); err != nil {
		t.Fatalf("the saved checkpoint: %v", err)
	}

	// nothing new: nothing read
	if code, out, _ := ctl(t, "", monitorArgs(s, state)...); code != 0 || !strings.Contains(out, "at size 6 (was 6): checked entries [6, 6)") {
		t.Fatalf("idle round: %d %q", code, out)
	}

	// more decisions, and the same contest flow again on a new decision
	post(t, s, "/v1/decisions", auth.Producer, withID(t, "decision-answered.json", "dec-more-1"))
	var receipt struct {
		ContestToken string `json:"contest_token"`
	}
	json.Unmarshal(post(t, s, "/v1/decisions", auth.Producer, withID(t, "decision-refused.json", "dec-more-2")), &receipt)
	post(t, s, "/v1/contests", "", fmt.Appendf(nil, `{"contest_id":"con-more-2","decision_id":"dec-more-2","contest_token":%q,"grounds":{"category":"false-refusal","text":"again"},"remedy":"explain"}`, receipt.ContestToken))
	code, out, _ = ctl(t, "", append(monitorArgs(s, state), "--json")...)
	var res struct {
		OK              bool
		From, To, Size  uint64
		Alarms          []any
		OverdueContests int `json:"overdue_contests"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || !res.OK || res.From != 6 || res.To != 9 || res.Size != 9 || len(res.Alarms) != 0 {
		t.Fatalf("second round: %d %q %+v", code, out, res)
	}
	st, _ = monitor.LoadState(state, s.Origin, s.VKey)
	if st.Checked != 9 || st.EntriesChecked != 9 || st.Rounds != 3 || len(st.Contests) != 2 {
		t.Fatalf("state after the second round: %+v", st)
	}

	// another key for the same state: refused
	if code, _, errOut := ctl(t, "", "--url", s.URL, "monitor", "--state", state, "--key", otherVKey(t), "--once"); code != 1 || !strings.Contains(errOut, "use another state directory") {
		t.Fatalf("other key: %d %q", code, errOut)
	}
	// usage
	if code, _, _ := ctl(t, "", "monitor", "--key", s.VKey, "--once"); code != 2 {
		t.Fatalf("no --state: %d", code)
	}
}

func TestMonitorOverdueContestIsAWarning(t *testing.T) {
	t.Setenv("LEDGER_URL", "")
	s := apitest.New(t, apitest.WithBook(func(c *audit.Config) { c.ResponseWindow = time.Millisecond }))
	publishExamples(t, s, false)
	time.Sleep(5 * time.Millisecond)
	code, out, _ := ctl(t, "", monitorArgs(s, t.TempDir())...)
	if code != 0 || !strings.Contains(out, "warning: contest con-2026-11-27-000001 (index 4) against decision dec-2026-11-27-000001 is overdue") || !strings.Contains(out, "OK: ") {
		t.Fatalf("overdue: %d %q", code, out)
	}
}

func fetchCheckpoint(t *testing.T, s *apitest.Server) []byte {
	t.Helper()
	resp, err := http.Get(s.URL + "/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

var checkpointBlock = regexp.MustCompile(`(?s)-----BEGIN CHECKPOINT-----\n(.*?)-----END CHECKPOINT-----\n`)

// evidenceCheckpoints returns the checkpoints in an evidence file, each
// opened with vkey.
func evidenceCheckpoints(t *testing.T, path, origin, vkey string) []*verify.Checkpoint {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cps []*verify.Checkpoint
	for _, m := range checkpointBlock.FindAllSubmatch(b, -1) {
		cp, err := verify.OpenCheckpoint(m[1], origin, vkey)
		if err != nil {
			t.Fatalf("evidence checkpoint does not open: %v\n%s", err, m[1])
		}
		cps = append(cps, cp)
	}
	return cps
}

func TestMonitorFork(t *testing.T) {
	t.Setenv("LEDGER_URL", "")
	dirA, dirB := t.TempDir(), t.TempDir()
	a := apitest.New(t, apitest.WithDir(dirA))
	key, err := os.ReadFile(filepath.Join(dirA, "log.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirB, "log.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	b := apitest.New(t, apitest.WithDir(dirB))
	if a.VKey != b.VKey || a.Origin != b.Origin {
		t.Fatalf("the two logs do not share key and origin: %s %s", a.VKey, b.VKey)
	}

	// A: constitution + 3 decisions (size 4); B: constitution + another decision
	post(t, a, "/v1/constitutions", auth.Producer, apitest.Example(t, "constitution.json"))
	for _, n := range []string{"decision-refused.json", "decision-answered.json", "decision-modified-private.json"} {
		post(t, a, "/v1/decisions", auth.Producer, apitest.Example(t, n))
	}
	post(t, b, "/v1/constitutions", auth.Producer, apitest.Example(t, "constitution.json"))
	post(t, b, "/v1/decisions", auth.Producer, withID(t, "decision-answered.json", "dec-b-1"))

	state, tmp := t.TempDir(), t.TempDir()
	gossip := filepath.Join(tmp, "gossip.txt")

	// honest gossip: A's own checkpoint, and a checkpoint of another log
	// (skipped with a warning)
	other := apitest.New(t, apitest.ReadOnly(), apitest.WithOrigin(a.Origin))
	os.WriteFile(gossip, append(append(fetchCheckpoint(t, a), "\n"...), fetchCheckpoint(t, other)...), 0o644)
	code, out, _ := ctl(t, "", monitorArgs(a, state, "--gossip", gossip)...)
	if code != 0 || !strings.Contains(out, "consistent with 1 gossiped checkpoint(s)") || !strings.Contains(out, "checkpoint 2 skipped") {
		t.Fatalf("honest gossip: %d %q", code, out)
	}

	// B smaller than A (2 < 4), then the same size (4), then larger (5)
	for _, want := range []uint64{2, 4, 5} {
		for {
			cp, err := verify.OpenCheckpoint(fetchCheckpoint(t, b), b.Origin, b.VKey)
			if err != nil {
				t.Fatal(err)
			}
			if cp.Size == want {
				break
			}
			post(t, b, "/v1/decisions", auth.Producer, withID(t, "decision-answered.json", fmt.Sprintf("dec-b-%d", cp.Size)))
		}
		cpB := fetchCheckpoint(t, b)
		os.WriteFile(gossip, append([]byte("# B's checkpoint\n\n"), cpB...), 0o644)
		evidence := filepath.Join(tmp, fmt.Sprintf("evidence-%d.txt", want))
		code, out, errOut := ctl(t, "", monitorArgs(a, state, "--gossip", gossip, "--evidence", evidence)...)
		if code != 1 || !strings.Contains(errOut, "FORK") || !strings.Contains(errOut, evidence) || !strings.Contains(out, "FORK: the gossiped") {
			t.Fatalf("B at size %d: %d %q %q", want, code, out, errOut)
		}
		cps := evidenceCheckpoints(t, evidence, a.Origin, a.VKey)
		if len(cps) != 2 {
			t.Fatalf("B at size %d: evidence holds %d checkpoints, want 2", want, len(cps))
		}
		var sawB bool
		for _, cp := range cps {
			sawB = sawB || bytes.Equal(cp.Raw, cpB)
		}
		if !sawB {
			t.Fatalf("B at size %d: B's checkpoint is not in the evidence verbatim", want)
		}
		if cps[0].Size == cps[1].Size && bytes.Equal(cps[0].Hash, cps[1].Hash) {
			t.Fatalf("B at size %d: the evidence checkpoints agree", want)
		}
	}

	// the fork left the state as it was: without the gossip, A is fine
	if code, out, _ := ctl(t, "", monitorArgs(a, state)...); code != 0 || !strings.Contains(out, "at size 4 (was 4)") {
		t.Fatalf("after the fork: %d %q", code, out)
	}
	// following B with the state of A: B's checkpoint does not extend A's
	ev := filepath.Join(tmp, "evidence-follow-b.txt")
	if code, _, errOut := ctl(t, "", monitorArgs(b, state, "--evidence", ev)...); code != 1 || !strings.Contains(errOut, "FORK") {
		t.Fatalf("following B: %d %q", code, errOut)
	}
	if cps := evidenceCheckpoints(t, ev, a.Origin, a.VKey); len(cps) != 2 {
		t.Fatalf("following B: %d checkpoints in the evidence", len(cps))
	}
}

// flipProxy serves target, flipping the last byte of responses whose path
// starts with prefix while *on is set.
func flipProxy(t *testing.T, target, prefix string, on *atomic.Bool) string {
	t.Helper()
	u, _ := url.Parse(target)
	p := httputil.NewSingleHostReverseProxy(u)
	p.ModifyResponse = func(r *http.Response) error {
		if !on.Load() || !strings.HasPrefix(r.Request.URL.Path, prefix) || r.StatusCode != http.StatusOK {
			return nil
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		r.Body.Close()
		if len(b) > 0 {
			b[len(b)-1] ^= 0x01
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
		r.Header.Del("Content-Length")
		return nil
	}
	hs := httptest.NewServer(p)
	t.Cleanup(hs.Close)
	return hs.URL
}

func TestMonitorLyingTiles(t *testing.T) {
	t.Setenv("LEDGER_URL", "")
	s := apitest.New(t)
	publishExamples(t, s, true)
	for _, prefix := range []string{"/tile/0/", "/tile/entries/"} {
		t.Run(strings.Trim(prefix, "/"), func(t *testing.T) {
			s.T = t
			defer func() { s.T = t }()
			var on atomic.Bool
			on.Store(true)
			liar := flipProxy(t, s.URL, prefix, &on)
			state := t.TempDir()
			ev := filepath.Join(state, "ev.txt")
			code, out, errOut := ctl(t, "", "--url", liar, "monitor", "--state", state, "--key", s.VKey, "--once", "--evidence", ev)
			if code != 1 || !strings.Contains(out, "TILE: ") || !strings.Contains(errOut, ev) {
				t.Fatalf("lying %s: %d %q %q", prefix, code, out, errOut)
			}
			if cps := evidenceCheckpoints(t, ev, s.Origin, s.VKey); len(cps) != 1 {
				t.Fatalf("evidence holds %d checkpoints", len(cps))
			}
			st, _ := monitor.LoadState(state, s.Origin, s.VKey)
			if st.Checked != 0 {
				t.Fatalf("entries marked checked after lying tiles: %d", st.Checked)
			}
			// the same proxy, honest: fine
			on.Store(false)
			if code, _, _ := ctl(t, "", "--url", liar, "monitor", "--state", state, "--key", s.VKey, "--once"); code != 0 {
				t.Fatalf("honest proxy: %d", code)
			}
		})
	}
}

// TestMonitorDaemon runs the monitor as a daemon with metrics, and makes
// it exit 1 by turning a proxy in front of the log into a liar.
func TestMonitorDaemon(t *testing.T) {
	t.Setenv("LEDGER_URL", "")
	s := apitest.New(t)
	publishExamples(t, s, true)
	var on atomic.Bool
	liar := flipProxy(t, s.URL, "/tile/0/", &on)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	state := t.TempDir()
	type result struct {
		code     int
		out, err string
	}
	done := make(chan result, 1)
	go func() {
		var out, errOut bytes.Buffer
		root := newRootCmd()
		root.SetArgs([]string{"--url", liar, "monitor", "--state", state, "--key", s.VKey, "--interval", "50ms", "--metrics", addr, "--progress"})
		root.SetOut(&out)
		root.SetErr(&errOut)
		cmd, err := root.ExecuteC()
		code := report(&errOut, cmd, err)
		done <- result{code, out.String(), errOut.String()}
	}()
	scrape := func() string {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	deadline := time.Now().Add(20 * time.Second)
	var m string
	for ; time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		m = scrape()
		if strings.Contains(m, "fja_monitor_entries_checked_total 6") && strings.Contains(m, "fja_monitor_tree_size 6") {
			break
		}
	}
	if !strings.Contains(m, "fja_monitor_entries_checked_total 6") || !strings.Contains(m, "fja_monitor_last_success_timestamp_seconds") {
		t.Fatalf("metrics: %s", m)
	}
	// a new entry, then a lie
	post(t, s, "/v1/decisions", auth.Producer, withID(t, "decision-answered.json", "dec-daemon"))
	for ; time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if m = scrape(); strings.Contains(m, "fja_monitor_entries_checked_total 7") {
			break
		}
	}
	if !strings.Contains(m, "fja_monitor_entries_checked_total 7") || !strings.Contains(m, "fja_monitor_forks_total 0") || !strings.Contains(m, "fja_monitor_violations_total 0") {
		t.Fatalf("metrics after an append: %s", m)
	}
	post(t, s, "/v1/decisions", auth.Producer, withID(t, "decision-answered.json", "dec-daemon-2"))
	on.Store(true)
	select {
	case r := <-done:
		if r.code != 1 || !strings.Contains(r.err, "evidence in "+state+"/evidence-") {
			t.Fatalf("daemon: %d %q %q", r.code, r.out, r.err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the daemon did not stop on a lying tile")
	}
}

// envelope is a hand-made leaf: the ledger's API would refuse it, so it is
// appended to the log directly.
func envelope(kind, loggedAt, body string) []byte {
	return fmt.Appendf(nil, `{"body":%s,"kind":%q,"logged_at":%q,"v":1}`, body, kind, loggedAt)
}

const (
	constitutionBody = `{"constitution_id":"c","process":{},"rules":[{"pillar":"harmlessness","rule_id":"H-1","text":"t"},{"pillar":"autonomy","rule_id":"A-1","text":"t"}],"version":"1"}`
	decisionFmt      = `{"constitution":{"id":"c","version":%q},"decision_id":%q,"outcome":{"action":%q,"category":"x","contestable":true,"explanation":""},"rules":[{"effect":%q,"rationale":"r","rule_id":%q}]}`
)

func decisionEnv(t string, id, version, action, effect, rule string) []byte {
	return envelope("decision", t, fmt.Sprintf(decisionFmt, version, id, action, effect, rule))
}

func contestEnv(t, id string, idx uint64, leafHash []byte, decID string) []byte {
	return envelope("contest", t, fmt.Sprintf(`{"contest_id":%q,"decision":{"decision_id":%q,"index":%d,"leaf_hash":%q},"due_by":"2099-01-01T00:00:00Z","grounds":{"category":"x","commitment":"sha256:00"},"remedy":"explain"}`,
		id, decID, idx, base64.StdEncoding.EncodeToString(leafHash)))
}

func TestMonitorRuleViolations(t *testing.T) {
	t.Setenv("LEDGER_URL", "")
	const t0, t1, t2 = "2026-11-27T10:00:00Z", "2026-11-27T10:00:01Z", "2026-11-27T10:00:02Z"
	good := decisionEnv(t1, "d1", "1", "refused", "refuse", "H-1")
	goodHash := verify.LeafHash(good)
	for _, tc := range []struct {
		name    string
		entries [][]byte
		index   uint64
		want    string
	}{
		{"refusal without a refuse rule", [][]byte{envelope("constitution", t0, constitutionBody), good,
			decisionEnv(t2, "d2", "1", "refused", "allow", "A-1")}, 2, "refused without citing a rule whose effect is refuse"},
		{"logged_at backwards", [][]byte{envelope("constitution", t1, constitutionBody), decisionEnv(t0, "d1", "1", "answered", "allow", "A-1")}, 1, "log time goes backwards"},
		{"unpublished constitution", [][]byte{envelope("constitution", t0, constitutionBody), decisionEnv(t1, "d1", "2", "answered", "allow", "A-1")}, 1, "which was not published earlier"},
		{"unknown rule", [][]byte{envelope("constitution", t0, constitutionBody), decisionEnv(t1, "d1", "1", "answered", "allow", "Z-9")}, 1, `cites rule "Z-9", which does not exist`},
		{"decision before its constitution", [][]byte{decisionEnv(t0, "d1", "1", "answered", "allow", "A-1"), envelope("constitution", t1, constitutionBody)}, 0, "not published earlier"},
		{"contest of a wrong leaf hash", [][]byte{envelope("constitution", t0, constitutionBody), good,
			contestEnv(t2, "k1", 1, goodHash[1:], "d1")}, 2, "but that entry's leaf hash is"},
		{"contest of a later index", [][]byte{envelope("constitution", t0, constitutionBody), good,
			contestEnv(t2, "k1", 2, goodHash, "d1")}, 2, "not an earlier entry"},
		{"contest of another decision id", [][]byte{envelope("constitution", t0, constitutionBody), good,
			contestEnv(t2, "k1", 1, goodHash, "d9")}, 2, `references decision "d9"`},
		{"contest of a constitution", [][]byte{envelope("constitution", t0, constitutionBody), good,
			contestEnv(t2, "k1", 0, verify.LeafHash(envelope("constitution", t0, constitutionBody)), "d1")}, 2, "which is not a decision"},
		{"resolution not human reviewed", [][]byte{envelope("constitution", t0, constitutionBody), good, contestEnv(t2, "k1", 1, goodHash, "d1"),
			envelope("resolution", t2, `{"contest_id":"k1","human_reviewed":false,"outcome":"upheld","rationale":"r","rule_changes":[]}`)}, 3, "not human_reviewed"},
		{"resolution of an unknown contest", [][]byte{envelope("constitution", t0, constitutionBody), good,
			envelope("resolution", t2, `{"contest_id":"k1","human_reviewed":true,"outcome":"upheld","rationale":"r","rule_changes":[]}`)}, 2, "which was not logged earlier"},
		{"second resolution", [][]byte{envelope("constitution", t0, constitutionBody), good, contestEnv(t2, "k1", 1, goodHash, "d1"),
			envelope("resolution", t2, `{"contest_id":"k1","human_reviewed":true,"outcome":"upheld","rationale":"r","rule_changes":[]}`),
			envelope("resolution", t2, `{"contest_id":"k1","human_reviewed":true,"outcome":"overturned","rationale":"r2","rule_changes":[]}`)}, 4, "resolved already at index 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := apitest.New(t, apitest.ReadOnly())
			for _, e := range tc.entries {
				if _, err := s.Log.Append(context.Background(), e); err != nil {
					t.Fatal(err)
				}
			}
			state := t.TempDir()
			ev := filepath.Join(state, "ev.txt")
			code, out, errOut := ctl(t, "", monitorArgs(s, state, "--evidence", ev)...)
			at := fmt.Sprintf("VIOLATION at index %d: ", tc.index)
			if code != 1 || !strings.Contains(out, at) || !strings.Contains(out, tc.want) || !strings.Contains(errOut, ev) {
				t.Fatalf("%d %q %q, want %q and %q", code, out, errOut, at, tc.want)
			}
			checkViolationEvidence(t, ev, s, tc.index, tc.entries[tc.index])
			// the state stays before the violation: the next round finds it again
			if code, out, _ := ctl(t, "", monitorArgs(s, state, "--evidence", ev+".2")...); code != 1 || !strings.Contains(out, at) {
				t.Fatalf("second round: %d %q", code, out)
			}
		})
	}
}

// checkViolationEvidence checks that the evidence file holds the entry,
// and an inclusion proof of it against a checkpoint that opens with the key.
func checkViolationEvidence(t *testing.T, path string, s *apitest.Server, index uint64, entry []byte) {
	t.Helper()
	cps := evidenceCheckpoints(t, path, s.Origin, s.VKey)
	if len(cps) == 0 {
		t.Fatal("no checkpoint in the evidence")
	}
	b, _ := os.ReadFile(path)
	text := string(b)
	block := text[strings.Index(text, fmt.Sprintf("Entry %d of the log", index)):]
	m := regexp.MustCompile(`entry \(base64\): (\S+)`).FindStringSubmatch(block)
	if m == nil || m[1] != base64.StdEncoding.EncodeToString(entry) {
		t.Fatalf("the entry is not in the evidence:\n%s", text)
	}
	pm := regexp.MustCompile(`(?s)inclusion proof of index \d+ in the tree of size (\d+) \(\d+ hashes, from the leaf up\):\n((?:  \S+\n)*)`).FindStringSubmatch(block)
	if pm == nil {
		t.Fatalf("no inclusion proof in the evidence:\n%s", text)
	}
	var proof [][]byte
	for _, l := range strings.Fields(pm[2]) {
		h, _ := base64.StdEncoding.DecodeString(l)
		proof = append(proof, h)
	}
	cp := cps[0]
	if fmt.Sprint(cp.Size) != pm[1] {
		t.Fatalf("proof for size %s, checkpoint of size %d", pm[1], cp.Size)
	}
	if err := verify.Inclusion(index, cp.Size, verify.LeafHash(entry), proof, cp.Hash); err != nil {
		t.Fatalf("the evidence's inclusion proof does not verify: %v", err)
	}
}

func TestMonitorFromEmptyLog(t *testing.T) {
	t.Setenv("LEDGER_URL", "")
	s := apitest.New(t)
	state := t.TempDir()
	if code, out, _ := ctl(t, "", monitorArgs(s, state)...); code != 0 || !strings.Contains(out, "at size 0 (was 0)") {
		t.Fatalf("empty log: %d %q", code, out)
	}
	publishExamples(t, s, true)
	if code, out, errOut := ctl(t, "", monitorArgs(s, state, "--progress")...); code != 0 || !strings.Contains(out, "at size 6 (was 0): checked entries [0, 6)") || errOut != "" {
		t.Fatalf("after appends: %d %q %q", code, out, errOut)
	}
	// a catch-up of at least progressMin entries draws a bar with --progress
	defer func(n uint64) { progressMin = n }(progressMin)
	progressMin = 1
	post(t, s, "/v1/decisions", auth.Producer, withID(t, "decision-answered.json", "dec-progress"))
	if code, _, errOut := ctl(t, "", monitorArgs(s, state, "--progress")...); code != 0 || !strings.Contains(errOut, "monitor") || !strings.Contains(errOut, "1/1") {
		t.Fatalf("progress: %d %q", code, errOut)
	}
}

// proofProxy serves a log through a reverse proxy that can lie about the
// consistency proof (mode) and serve a stale checkpoint (stale).
type proofProxy struct {
	URL   string
	mode  atomic.Value // string: "" (honest), "flip", "short", "garbage", "sizes", "500"
	stale atomic.Value // []byte: served for /checkpoint when non-empty
	asked atomic.Int64 // consistency proofs asked for
}

func newProofProxy(t *testing.T, target string) *proofProxy {
	t.Helper()
	u, _ := url.Parse(target)
	pp := &proofProxy{}
	pp.mode.Store("")
	pp.stale.Store([]byte(nil))
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(r *http.Response) error {
		if r.Request.URL.Path != "/v1/proofs/consistency" || r.StatusCode != http.StatusOK {
			return nil
		}
		pp.asked.Add(1)
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return err
		}
		var p struct {
			From   uint64   `json:"from"`
			To     uint64   `json:"to"`
			Hashes [][]byte `json:"hashes"`
		}
		if err := json.Unmarshal(b, &p); err != nil {
			return err
		}
		switch pp.mode.Load().(string) {
		case "flip": // well formed, one bit off: does not verify
			p.Hashes[len(p.Hashes)-1][0] ^= 0x01
			b, _ = json.Marshal(p)
		case "short": // a hash missing: the wrong shape
			p.Hashes = p.Hashes[:len(p.Hashes)-1]
			b, _ = json.Marshal(p)
		case "garbage": // not JSON at all
			b = []byte("<html>this is not a proof</html>")
		case "sizes": // a proof between other sizes
			p.From++
			b, _ = json.Marshal(p)
		case "500":
			r.StatusCode, r.Status = http.StatusInternalServerError, "500 Internal Server Error"
			b = []byte(`{"error":{"code":"internal","message":"try again"}}`)
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
		r.Header.Del("Content-Length")
		return nil
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := pp.stale.Load().([]byte); len(s) > 0 && r.URL.Path == "/checkpoint" {
			w.Write(s)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	pp.URL = hs.URL
	return pp
}

// evidenceText returns the text of an evidence file.
func evidenceText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestMonitorBadConsistencyProof: a log that answers a consistency proof
// between two checkpoints it signed with one that does not verify, or with
// something that is not a proof, raises an alarm whose evidence holds both
// signed checkpoints and the log's answer; a failed request (500) does not.
func TestMonitorBadConsistencyProof(t *testing.T) {
	t.Setenv("LEDGER_URL", "")
	s := apitest.New(t)
	publishExamples(t, s, true) // size 6
	pp := newProofProxy(t, s.URL)
	cp6 := fetchCheckpoint(t, s)

	// trusted state at size 6, then the log grows to 8
	state := t.TempDir()
	if code, out, _ := ctl(t, "", "--url", pp.URL, "monitor", "--state", state, "--key", s.VKey, "--once"); code != 0 || !strings.Contains(out, "at size 6") {
		t.Fatalf("first round: %d %q", code, out)
	}
	post(t, s, "/v1/decisions", auth.Producer, withID(t, "decision-answered.json", "dec-proof-1"))
	post(t, s, "/v1/decisions", auth.Producer, withID(t, "decision-answered.json", "dec-proof-2"))
	cp8 := fetchCheckpoint(t, s)
	monitorVia := func(t *testing.T, state, ev string, extra ...string) (int, string, string) {
		return ctl(t, "", append([]string{"--url", pp.URL, "monitor", "--state", state, "--key", s.VKey, "--once", "--evidence", ev}, extra...)...)
	}
	checkEvidence := func(t *testing.T, ev string, want ...string) {
		t.Helper()
		cps := evidenceCheckpoints(t, ev, s.Origin, s.VKey)
		if len(cps) != 2 || cps[0].Size == cps[1].Size {
			t.Fatalf("evidence holds %d checkpoints, want the two of sizes 6 and 8", len(cps))
		}
		for _, cp := range cps {
			if !bytes.Equal(cp.Raw, cp6) && !bytes.Equal(cp.Raw, cp8) {
				t.Fatalf("evidence checkpoint of size %d is not one the log signed, verbatim", cp.Size)
			}
		}
		text := evidenceText(t, ev)
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Fatalf("evidence lacks %q:\n%s", w, text)
			}
		}
	}
	garbage := base64.StdEncoding.EncodeToString([]byte("<html>this is not a proof</html>"))

	// 1. From the trusted checkpoint (6) to the served one (8): the tiles
	// show the trees consistent, so the proof service lies: PROOF.
	for _, tc := range []struct{ mode, want string }{
		{"flip", "which does not verify: consistency from size 6 to 8: root mismatch"},
		{"short", "which does not verify: bad proof: proof has"},
		{"garbage", garbage},
		{"sizes", "it is a proof from 7 to 8"},
	} {
		t.Run("trusted/"+tc.mode, func(t *testing.T) {
			pp.mode.Store(tc.mode)
			ev := filepath.Join(t.TempDir(), "ev.txt")
			code, out, errOut := monitorVia(t, state, ev)
			if tc.mode == "garbage" {
				t.Logf("evidence:\n%s", evidenceText(t, ev))
			}
			if code != 1 || !strings.Contains(out, "PROOF: the log's consistency proof from 6 to 8 does not verify") || !strings.Contains(errOut, ev) {
				t.Fatalf("%d %q %q", code, out, errOut)
			}
			checkEvidence(t, ev, tc.want)
			if st, _ := monitor.LoadState(state, s.Origin, s.VKey); st.Checked != 6 || !strings.Contains(st.Checkpoint, "\n6\n") {
				t.Fatalf("the state moved past a bad proof: checked %d", st.Checked)
			}
		})
	}

	// 2. A gossiped checkpoint (8) ahead of the one the log serves (6, a
	// stale view): only the proof could show the log's tree extends to
	// it, and the log answers one that does not: FORK.
	pp.stale.Store(cp6)
	gossip := filepath.Join(t.TempDir(), "gossip.txt")
	os.WriteFile(gossip, cp8, 0o644)
	for _, tc := range []struct{ mode, want string }{
		{"flip", "which does not verify: consistency from size 6 to 8: root mismatch"},
		{"short", "which does not verify: bad proof: proof has"},
		{"garbage", garbage},
		{"sizes", "it is a proof from 7 to 8"},
	} {
		t.Run("gossip/"+tc.mode, func(t *testing.T) {
			pp.mode.Store(tc.mode)
			ev := filepath.Join(t.TempDir(), "ev.txt")
			code, out, errOut := monitorVia(t, t.TempDir(), ev, "--gossip", gossip)
			if code != 1 || !strings.Contains(out, "FORK: the gossiped") || !strings.Contains(out, "does not prove that one extends the other") || !strings.Contains(errOut, ev) {
				t.Fatalf("%d %q %q", code, out, errOut)
			}
			checkEvidence(t, ev, tc.want)
		})
	}

	// 3. A proof that cannot be fetched (500) is no evidence: the round
	// fails with an error, no alarm, no evidence file.
	pp.stale.Store([]byte(nil))
	pp.mode.Store("500")
	t.Run("trusted/500", func(t *testing.T) {
		ev := filepath.Join(t.TempDir(), "ev.txt")
		code, out, errOut := monitorVia(t, state, ev)
		if code != 1 || strings.Contains(out, "PROOF") || strings.Contains(out, "FORK") || !strings.Contains(errOut, "fetching the consistency proof from 6 to 8") || !strings.Contains(errOut, "500") {
			t.Fatalf("%d %q %q", code, out, errOut)
		}
		if _, err := os.Stat(ev); err == nil {
			t.Fatal("evidence written for a failed request")
		}
	})
	t.Run("gossip/500", func(t *testing.T) {
		// The round's checkpoint is a stale 6, the gossiped one 8; the
		// proof fails with 500 and the log's latest checkpoint, asked
		// again, is 8: nothing is decided, the round fails.
		var n atomic.Int64
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/checkpoint" && n.Add(1) == 1 {
				w.Write(cp6) // the round's checkpoint
				return
			}
			resp, err := http.Get(pp.URL + r.URL.RequestURI())
			if err != nil {
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			defer resp.Body.Close()
			w.WriteHeader(resp.StatusCode)
			io.Copy(w, resp.Body)
		}))
		defer hs.Close()
		ev := filepath.Join(t.TempDir(), "ev.txt")
		code, out, errOut := ctl(t, "", "--url", hs.URL, "monitor", "--state", t.TempDir(), "--key", s.VKey, "--once", "--evidence", ev, "--gossip", gossip)
		if code != 1 || strings.Contains(out, "FORK") || !strings.Contains(errOut, "fetching the consistency proof from the log's size 6") {
			t.Fatalf("%d %q %q", code, out, errOut)
		}
		if _, err := os.Stat(ev); err == nil {
			t.Fatal("evidence written for a failed request")
		}
	})

	// honest again: the state moves on
	pp.mode.Store("")
	if code, out, _ := ctl(t, "", "--url", pp.URL, "monitor", "--state", state, "--key", s.VKey, "--once"); code != 0 || !strings.Contains(out, "at size 8 (was 6)") || pp.asked.Load() == 0 {
		t.Fatalf("honest: %d %q", code, out)
	}
}

// TestMonitorRefusesRedirects: a log URL that redirects is an error naming
// the Location, and the target is never asked.
func TestMonitorRefusesRedirects(t *testing.T) {
	t.Setenv("LEDGER_URL", "")
	s := apitest.New(t)
	publishExamples(t, s, false)
	var hits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "not here", http.StatusTeapot)
	}))
	defer target.Close()
	for _, path := range []string{"/checkpoint", "/tile/", "/v1/proofs/consistency"} {
		t.Run(strings.Trim(path, "/"), func(t *testing.T) {
			u, _ := url.Parse(s.URL)
			rp := httputil.NewSingleHostReverseProxy(u)
			redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, path) {
					http.Redirect(w, r, target.URL+r.URL.RequestURI(), http.StatusFound)
					return
				}
				rp.ServeHTTP(w, r)
			}))
			defer redir.Close()
			state := t.TempDir()
			if path == "/v1/proofs/consistency" {
				// a trusted checkpoint to ask a proof from
				if code, _, _ := ctl(t, "", "--url", s.URL, "monitor", "--state", state, "--key", s.VKey, "--once"); code != 0 {
					t.Fatal("first round failed")
				}
				post(t, s, "/v1/decisions", auth.Producer, withID(t, "decision-answered.json", "dec-redirect"))
			}
			ev := filepath.Join(state, "ev.txt")
			code, out, errOut := ctl(t, "", "--url", redir.URL, "monitor", "--state", state, "--key", s.VKey, "--once", "--evidence", ev)
			if code != 1 || !strings.Contains(errOut, "302 Found with Location \""+target.URL) || !strings.Contains(errOut, "does not follow redirects") || strings.Contains(out, "FORK") || strings.Contains(out, "PROOF") {
				t.Fatalf("%d %q %q", code, out, errOut)
			}
			if _, err := os.Stat(ev); err == nil {
				t.Fatal("evidence written for a redirect")
			}
			if n := hits.Load(); n != 0 {
				t.Fatalf("the redirect was followed: the target was asked %d times", n)
			}
		})
	}
}

// TestMonitorTimesOut: a log that accepts the connection and never answers
// ends the round with an error (bounded by --timeout), not a hang.
func TestMonitorTimesOut(t *testing.T) {
	t.Setenv("LEDGER_URL", "")
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	s := apitest.New(t, apitest.ReadOnly())
	code, out, errOut := ctl(t, "", "--url", hang.URL, "monitor", "--state", t.TempDir(), "--key", s.VKey, "--once", "--timeout", "200ms")
	if code != 1 || !strings.Contains(errOut, "fetching the checkpoint") || !strings.Contains(errOut, "Timeout") || strings.Contains(out, "FORK") {
		t.Fatalf("%d %q %q", code, out, errOut)
	}
	if code, _, _ := ctl(t, "", "--url", hang.URL, "monitor", "--state", t.TempDir(), "--key", s.VKey, "--once", "--timeout", "0s"); code != 2 {
		t.Fatalf("--timeout 0s: exit %d, want 2", code)
	}
}
