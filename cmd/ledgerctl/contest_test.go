package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/ledger/signer"
)

func TestContestAndResolve(t *testing.T) {
	t.Setenv("LEDGER_TOKEN", "")
	t.Setenv("LEDGER_URL", "")
	s := apitest.New(t)
	u := []string{"--url", s.URL}
	prod := append(u, "--token", s.Tokens[auth.Producer])
	rev := append(u, "--token", s.Tokens[auth.Reviewer])
	dir := t.TempDir()
	rdir := filepath.Join(dir, "receipts")

	// a constitution and the refused decision; keep its receipt
	if code, _, _ := ctl(t, "", append(prod, "append", apitest.ExamplePath(t, "constitution.json"), "--kind", "constitution")...); code != 0 {
		t.Fatalf("constitution: %d", code)
	}
	if code, _, _ := ctl(t, "", append(prod, "append", apitest.ExamplePath(t, "decision-refused.json"), "--receipts", rdir, "--key", s.VKey)...); code != 0 {
		t.Fatalf("decision: %d", code)
	}
	const decID = "dec-2026-11-27-000001"
	decReceipt := filepath.Join(rdir, decID+".receipt.json")
	var dr struct {
		Index        uint64 `json:"index"`
		ContestToken string `json:"contest_token"`
	}
	b, _ := os.ReadFile(decReceipt)
	if json.Unmarshal(b, &dr) != nil || dr.ContestToken == "" {
		t.Fatalf("decision receipt: %s", b)
	}

	var ex struct {
		ContestID string `json:"contest_id"`
		Grounds   struct{ Category, Text string }
		Remedy    string `json:"remedy"`
	}
	json.Unmarshal(apitest.Example(t, "contest.json"), &ex)
	groundsFile := filepath.Join(dir, "grounds.txt")
	os.WriteFile(groundsFile, []byte(ex.Grounds.Text+"\n"), 0o600)

	// file the contest, with a producer token in the environment that must
	// not be sent
	t.Setenv("LEDGER_TOKEN", s.Tokens[auth.Producer])
	conReceipt := filepath.Join(dir, "contest.receipt.json")
	code, out, _ := ctl(t, "", append(u, "contest", "--receipt", decReceipt, "--grounds-file", groundsFile, "--category", ex.Grounds.Category,
		"--remedy", ex.Remedy, "--contest-id", ex.ContestID, "--key", s.VKey, "--out", conReceipt)...)
	t.Setenv("LEDGER_TOKEN", "")
	if code != 0 || !strings.HasPrefix(out, "contest "+ex.ContestID+" filed against "+decID+", due by 20") ||
		!strings.Contains(out, "contest receipt written to "+conReceipt+" (mode 0600)\n") ||
		!strings.Contains(out, "verified offline with the key of ") || !strings.Contains(out, "against decision "+decID) {
		t.Fatalf("contest: %d %q", code, out)
	}
	if code, _, _ := ctl(t, "", "verify", conReceipt, "--key", s.VKey); code != 0 {
		t.Fatal("the contest receipt does not verify")
	}
	// the same contest again: the first answer, exit 0; without --out
	// and --key, the receipt goes beside the decision receipt, and the
	// output says nothing was verified
	code, out, _ = ctl(t, "", append(u, "contest", "--receipt", decReceipt, "--grounds", ex.Grounds.Text, "--category", ex.Grounds.Category,
		"--remedy", ex.Remedy, "--contest-id", ex.ContestID)...)
	beside := filepath.Join(rdir, ex.ContestID+".contest.json")
	if fi, err := os.Stat(beside); code != 0 || err != nil || fi.Mode().Perm() != 0o600 || !strings.Contains(out, "written to "+beside) || !strings.Contains(out, "NOT verified (no --key)") {
		t.Fatalf("contest again without --out: %d %q; %s: %v", code, out, beside, err)
	}
	if code, _, _ := ctl(t, "", "verify", beside, "--key", s.VKey); code != 0 {
		t.Fatal("the contest receipt written beside the decision receipt does not verify")
	}
	code, out, _ = ctl(t, "", append(u, "contest", "--receipt", decReceipt, "--grounds", ex.Grounds.Text, "--category", ex.Grounds.Category,
		"--remedy", ex.Remedy, "--contest-id", ex.ContestID, "--key", s.VKey, "--json", "--out", filepath.Join(dir, "again.json"))...)
	var filed struct {
		ContestID string          `json:"contest_id"`
		DueBy     string          `json:"due_by"`
		Receipt   json.RawMessage `json:"receipt"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &filed) != nil || filed.ContestID != ex.ContestID || filed.DueBy == "" {
		t.Fatalf("contest again: %d %q", code, out)
	}

	// status, as the subject (receipt, and token) and as the reviewer
	code, out, _ = ctl(t, "", append(u, "contest", "status", ex.ContestID, "--receipt", decReceipt, "--key", s.VKey)...)
	if code != 0 || !strings.HasPrefix(out, "contest "+ex.ContestID+" against "+decID+": open\n") || !strings.Contains(out, "due by:      "+filed.DueBy) ||
		!strings.Contains(out, "resolution:  none yet") || !strings.Contains(out, "verified:") {
		t.Fatalf("status open: %d %q", code, out)
	}
	if code, out, _ := ctl(t, "", append(u, "contest", "status", ex.ContestID, "--contest-token", dr.ContestToken, "--json")...); code != 0 || !strings.Contains(out, `"status":"open"`) {
		t.Fatalf("status with token: %d %q", code, out)
	}
	if code, _, errOut := ctl(t, "", append(u, "contest", "status", ex.ContestID, "--contest-token", "wrong")...); code != 1 || !strings.Contains(errOut, "404") {
		t.Fatalf("status with a wrong token: %d %q", code, errOut)
	}

	// a second contest on the same decision: contest_open
	code, _, errOut := ctl(t, "", append(u, "contest", "--receipt", decReceipt, "--grounds", "again", "--category", "false-refusal", "--remedy", "explain")...)
	if code != 1 || !strings.Contains(errOut, "contest_open") || !strings.Contains(errOut, "409") {
		t.Fatalf("second contest: %d %q", code, errOut)
	}

	// resolve: without --human-reviewed a usage error; with a producer
	// token refused; with the reviewer token logged
	resolve := []string{"resolve", ex.ContestID, "--outcome", "overturned", "--rationale", "The dosage question is standard consumer health information.",
		"--rule-change", "H-12:amend:2026.12"}
	if code, _, errOut := ctl(t, "", append(rev, resolve...)...); code != 2 || !strings.Contains(errOut, "--human-reviewed") {
		t.Fatalf("resolve without human review: %d %q", code, errOut)
	}
	if code, _, _ := ctl(t, "", append(rev, append(resolve, "--human-reviewed=false")...)...); code != 2 {
		t.Fatalf("resolve --human-reviewed=false: %d", code)
	}
	if code, _, errOut := ctl(t, "", append(prod, append(resolve, "--human-reviewed")...)...); code != 1 || !strings.Contains(errOut, "403") {
		t.Fatalf("resolve as producer: %d %q", code, errOut)
	}
	resReceipt := filepath.Join(dir, "resolution.receipt.json")
	code, out, _ = ctl(t, "", append(rev, append(resolve, "--human-reviewed", "--key", s.VKey, "--out", resReceipt)...)...)
	if code != 0 || !strings.HasPrefix(out, "contest "+ex.ContestID+" resolved: overturned (entry ") ||
		!strings.Contains(out, "resolution receipt written to "+resReceipt) || !strings.Contains(out, "its logged entry is the resolution sent") {
		t.Fatalf("resolve: %d %q", code, out)
	}
	if code, _, _ := ctl(t, "", "verify", resReceipt, "--key", s.VKey); code != 0 {
		t.Fatal("the resolution receipt does not verify")
	}
	// the same resolution again: the first answer; a different one:
	// contest_resolved
	if code, out, _ := ctl(t, "", append(rev, append(resolve, "--human-reviewed", "--key", s.VKey, "--out", filepath.Join(dir, "again.resolution.json"))...)...); code != 0 || !strings.HasPrefix(out, "contest "+ex.ContestID+" resolved: overturned") {
		t.Fatalf("resolve again: %d %q", code, out)
	}
	code, _, errOut = ctl(t, "", append(rev, "resolve", ex.ContestID, "--outcome", "upheld", "--rationale", "Second thoughts.", "--human-reviewed")...)
	if code != 1 || !strings.Contains(errOut, "contest_resolved") || !strings.Contains(errOut, "409") {
		t.Fatalf("resolve differently: %d %q", code, errOut)
	}

	// status: resolved, overturned, verified; as the subject and the reviewer
	for _, args := range [][]string{
		append(u, "contest", "status", ex.ContestID, "--receipt", decReceipt, "--key", s.VKey),
		append(rev, "contest", "status", ex.ContestID, "--key", s.VKey),
	} {
		code, out, _ = ctl(t, "", args...)
		if code != 0 || !strings.HasPrefix(out, "contest "+ex.ContestID+" against "+decID+": resolved\n") ||
			!strings.Contains(out, "resolution:  overturned (human reviewed)") || !strings.Contains(out, "rule change: H-12 amend in constitution version 2026.12") {
			t.Fatalf("status resolved: %d %q", code, out)
		}
	}
	// a producer may not read it
	if code, _, errOut := ctl(t, "", append(prod, "contest", "status", ex.ContestID)...); code != 1 || !strings.Contains(errOut, "403") {
		t.Fatalf("status as producer: %d %q", code, errOut)
	}
	// a key of another log: the checkpoint does not open
	_, other, _ := signer.GenerateKey(rand.Reader, s.Origin)
	if code, _, errOut := ctl(t, "", append(rev, "contest", "status", ex.ContestID, "--key", other)...); code != 1 || !strings.Contains(errOut, "does NOT verify") {
		t.Fatalf("status with another key: %d %q", code, errOut)
	}

	// a lying server: each change to the answer fails verification
	for _, lie := range [][2]string{
		{`"status":"resolved"`, `"status":"open"`},
		{`"outcome":"overturned"`, `"outcome":"upheld"`},
		{`"due_by":"2`, `"due_by":"3`},
	} {
		liar := lyingProxy(t, s.URL, lie[0], lie[1])
		code, _, errOut := ctl(t, "", "--url", liar, "--token", s.Tokens[auth.Reviewer], "contest", "status", ex.ContestID, "--key", s.VKey)
		if code != 1 || !strings.Contains(errOut, "does NOT verify") {
			t.Fatalf("lie %q: %d %q", lie, code, errOut)
		}
	}

	// resolve from a file: an unknown contest is the server's 404
	code, _, errOut = ctl(t, "", append(rev, "resolve", "con-unknown", "--file", apitest.ExamplePath(t, "resolution.json"), "--human-reviewed")...)
	if code != 1 || !strings.Contains(errOut, "404") {
		t.Fatalf("resolve unknown: %d %q", code, errOut)
	}
}

func TestContestUsage(t *testing.T) {
	t.Setenv("LEDGER_TOKEN", "")
	rp := filepath.Join(t.TempDir(), "r.json")
	os.WriteFile(rp, []byte("{}"), 0o644)
	for _, args := range [][]string{
		{"contest", "extra"},
		{"contest", "--grounds", "g", "--category", "c", "--remedy", "reconsider"},                                         // no --receipt
		{"contest", "--receipt", rp, "--category", "c", "--remedy", "reconsider"},                                          // no grounds
		{"contest", "--receipt", rp, "--grounds", "g", "--grounds-file", "f", "--category", "c", "--remedy", "reconsider"}, // both
		{"contest", "--receipt", rp, "--grounds", "g", "--remedy", "reconsider"},                                           // no category
		{"contest", "--receipt", rp, "--grounds", "g", "--category", "c", "--remedy", "refund"},                            // bad remedy
		{"contest", "--receipt", rp, "--grounds", "g", "--category", "c", "--remedy", "explain", "--contest-id", "a b"},
		{"contest", "--receipt", rp, "--grounds", "  ", "--category", "c", "--remedy", "explain"},
		{"contest", "status"},
		{"contest", "status", "a", "b"},
		{"contest", "status", "con-1"}, // no token at all
		{"contest", "status", "con-1", "--contest-token", "t", "--receipt", rp},
		{"resolve"},
		{"resolve", "con-1", "--outcome", "overturned", "--rationale", "r"},                           // no --human-reviewed
		{"resolve", "con-1", "--outcome", "overturned", "--rationale", "r", "--human-reviewed=false"}, // false
		{"resolve", "con-1", "--outcome", "won", "--rationale", "r", "--human-reviewed", "--token", "x"},
		{"resolve", "con-1", "--outcome", "overturned", "--human-reviewed", "--token", "x"}, // no rationale
		{"resolve", "con-1", "--outcome", "overturned", "--rationale", "r", "--human-reviewed", "--rule-change", "H-12:amend", "--token", "x"},
		{"resolve", "con-1", "--outcome", "overturned", "--rationale", "r", "--human-reviewed", "--rule-change", "H-12:rewrite:1", "--token", "x"},
		{"resolve", "con-1", "--outcome", "overturned", "--rationale", "r", "--human-reviewed"}, // no token
	} {
		if code, _, _ := ctl(t, "", append([]string{"--url", "http://127.0.0.1:1"}, args...)...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	// a receipt without a contest token is refused before anything is sent
	if code, _, errOut := ctl(t, "", "--url", "http://127.0.0.1:1", "contest", "--receipt", rp, "--grounds", "g", "--category", "c", "--remedy", "explain"); code != 1 || !strings.Contains(errOut, "not a receipt") {
		t.Errorf("bad receipt: %d %q", code, errOut)
	}
}

// lyingProxy forwards to the server at target, replacing old with new in
// every answer.
func lyingProxy(t *testing.T, target, old, new string) string {
	t.Helper()
	u, _ := url.Parse(target)
	p := httputil.NewSingleHostReverseProxy(u)
	p.ModifyResponse = func(r *http.Response) error {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		r.Body.Close()
		b = bytes.ReplaceAll(b, []byte(old), []byte(new))
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
		r.Header.Del("Content-Length")
		return nil
	}
	hs := httptest.NewServer(p)
	t.Cleanup(hs.Close)
	return hs.URL
}
