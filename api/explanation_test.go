package api_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/explanation"
	"github.com/fjaledger/fja/verify/record"
)

// flaggedRefusal is the refused example with two provenance flags: one of a
// code the explanation format knows, one it does not.
func flaggedRefusal(t *testing.T) []byte {
	t.Helper()
	b := example(t, "decision-refused.json")
	out := bytes.Replace(b, []byte(`"provenance_flags": []`), []byte(`"provenance_flags": [
		{"code": "western-sources", "message": "Mostly Western sources.", "severity": "warning"},
		{"code": "x-new-flag", "message": "A flag the format does not know.", "severity": "info"}]`), 1)
	if bytes.Equal(out, b) {
		t.Fatal("decision-refused.json has no empty provenance_flags to fill")
	}
	return out
}

// explanationFixture logs a constitution and a flagged refusal, and
// returns the server and the decision's contest token.
func explanationFixture(t *testing.T) (*server, string) {
	s := newServer(t)
	s.publishConstitution()
	code, b := s.do("POST", "/v1/decisions", auth.Producer, flaggedRefusal(t))
	if code != http.StatusCreated {
		t.Fatalf("POST /v1/decisions: %d %s", code, b)
	}
	return s, s.receipt(b).ContestToken
}

const refusedID = "dec-2026-11-27-000001"

// TestExplanation: the subject's explanation verifies offline with only
// the log key, shows the full text of both cited rules from the logged
// constitution, the weights, scores and flags in plain words, and the
// contest window; after a contest and its resolution the regulator's shows
// both records, proven against the same checkpoint.
func TestExplanation(t *testing.T) {
	s, token := explanationFixture(t)
	code, b := s.do("GET", "/v1/decisions/"+refusedID+"/explanation", "", nil, "X-Contest-Token", token)
	if code != http.StatusOK {
		t.Fatalf("GET explanation: %d %s", code, b)
	}
	e, cp, err := explanation.Verify(b, s.vkey)
	if err != nil {
		t.Fatalf("the explanation does not verify: %v\n%s", err, b)
	}
	if cp.Size != s.Log.Head().Size || e.Origin != origin || e.Decision.Index != 1 || e.Constitution.Index != 0 {
		t.Errorf("checkpoint size %d (log %d), origin %q, decision %d, constitution %d", cp.Size, s.Log.Head().Size, e.Origin, e.Decision.Index, e.Constitution.Index)
	}
	var con record.Constitution
	if err := json.Unmarshal(example(t, "constitution.json"), &con); err != nil {
		t.Fatal(err)
	}
	texts := map[string]string{}
	for _, r := range con.Rules {
		texts[r.RuleID] = r.Text
	}
	if len(e.Rules) != 2 || e.Rules[0].RuleID != "H-12" || e.Rules[1].RuleID != "A-03" {
		t.Fatalf("rules %+v, want H-12 and A-03 as cited", e.Rules)
	}
	for _, r := range e.Rules {
		if r.Text != texts[r.RuleID] || r.Text == "" || r.Pillar == "" || r.Rationale == "" {
			t.Errorf("rule %s: %+v, want the constitution's text %q", r.RuleID, r, texts[r.RuleID])
		}
	}
	if e.Weights["harmlessness"] != 0.4 || len(e.Candidates) != 2 || e.Candidates[1].Scores["harmlessness"] != 0.97 {
		t.Errorf("weights %v, candidates %+v", e.Weights, e.Candidates)
	}
	if len(e.Flags) != 2 || !strings.HasPrefix(e.Flags[0].PlainWords, "Caution: The answer relies mostly on sources from Western countries") ||
		e.Flags[1].PlainWords != "A flag the format does not know." {
		t.Errorf("flags %+v", e.Flags)
	}
	logged, err := time.Parse(time.RFC3339Nano, e.Decision.Record.LoggedAt)
	if err != nil {
		t.Fatal(err)
	}
	until, err := time.Parse(time.RFC3339Nano, e.ContestWindow.ContestableUntil)
	if err != nil || !until.Equal(logged.Add(audit.DefaultContestWindow)) || e.ContestWindow.WindowSeconds != int64(audit.DefaultContestWindow/time.Second) {
		t.Errorf("contest window %+v (%v), want logged_at %s + %s", e.ContestWindow, err, logged, audit.DefaultContestWindow)
	}
	if len(e.Contests) != 0 {
		t.Errorf("contests %+v before any was filed", e.Contests)
	}
	if bytes.Contains(b, []byte(token)) {
		t.Error("the explanation holds the contest token")
	}

	// a contest and its resolution appear, proven
	code, cb := s.do("POST", "/v1/contests", "", contestBody(t, token))
	if code != http.StatusCreated {
		t.Fatalf("contest: %d %s", code, cb)
	}
	contestID := decode[record.ContestFiled](t, cb).ContestID
	if code, rb := s.do("POST", "/v1/contests/"+contestID+"/resolution", auth.Reviewer, example(t, "resolution.json")); code != http.StatusCreated {
		t.Fatalf("resolution: %d %s", code, rb)
	}
	code, b = s.do("GET", "/v1/decisions/"+refusedID+"/explanation?download=1", auth.Regulator, nil)
	if code != http.StatusOK {
		t.Fatalf("GET explanation as regulator: %d %s", code, b)
	}
	if e, _, err = explanation.Verify(b, s.vkey); err != nil {
		t.Fatalf("with a contest: %v", err)
	}
	if len(e.Contests) != 1 || e.Contests[0].Resolution == nil || e.Contests[0].Contest.Record.Kind != record.KindContest {
		t.Fatalf("contests %+v", e.Contests)
	}
	if bytes.Contains(b, []byte("package leaflet")) {
		t.Error("the explanation holds the contest grounds text")
	}

	// the wrong key, or a file saved with a trailing newline, fails
	other := newServer(t)
	if _, _, err := explanation.Verify(b, other.vkey); !errors.Is(err, verify.ErrBadKey) && !errors.Is(err, verify.ErrBadSignature) {
		t.Errorf("another log's key: %v", err)
	}
	if _, _, err := explanation.Verify(append(bytes.Clone(b), '\n'), s.vkey); !errors.Is(err, verify.ErrMalformed) {
		t.Errorf("trailing newline: %v", err)
	}
}

// TestExplanationPrivateContentStaysOut: the explanation of a decision
// sent with private content holds the commitments only, and verifies with
// non-ASCII text in it.
func TestExplanationPrivateContentStaysOut(t *testing.T) {
	s := newServer(t)
	s.publishConstitution()
	code, b := s.do("POST", "/v1/decisions", auth.Producer, example(t, "decision-modified-private.json"))
	if code != http.StatusCreated {
		t.Fatalf("%d %s", code, b)
	}
	code, b = s.do("GET", "/v1/decisions/dec-2026-11-27-000003/explanation", auth.Regulator, nil)
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, b)
	}
	if _, _, err := explanation.Verify(b, s.vkey); err != nil {
		t.Fatalf("does not verify: %v", err)
	}
	for _, private := range []string{"रिटायरमेंट", "भविष्य"} {
		if bytes.Contains(b, []byte(private)) {
			t.Errorf("the explanation holds private content %q", private)
		}
	}
	if bytes.Contains(b, []byte(`"private"`)) {
		t.Error("the explanation has a private field")
	}
}

// TestExplanationEveryByteChangeFails takes a real explanation (two rules,
// two flags, a contest and its resolution) and, at every byte position,
// flips its lowest bit, flips its case bit, deletes it and inserts a space
// before it: each of these files MUST fail verification, and the original
// pass. That covers every byte of the file, whitespace and key order
// included (the file must be in its one canonical form).
func TestExplanationEveryByteChangeFails(t *testing.T) {
	s, token := explanationFixture(t)
	code, cb := s.do("POST", "/v1/contests", "", contestBody(t, token))
	if code != http.StatusCreated {
		t.Fatalf("contest: %d %s", code, cb)
	}
	if code, rb := s.do("POST", "/v1/contests/"+decode[record.ContestFiled](t, cb).ContestID+"/resolution", auth.Reviewer, example(t, "resolution.json")); code != http.StatusCreated {
		t.Fatalf("resolution: %d %s", code, rb)
	}
	code, b := s.do("GET", "/v1/decisions/"+refusedID+"/explanation", "", nil, "X-Contest-Token", token)
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, b)
	}
	if _, _, err := explanation.Verify(b, s.vkey); err != nil {
		t.Fatalf("the original does not verify: %v", err)
	}
	t.Logf("explanation of %d bytes", len(b))
	mut := make([]byte, 0, len(b)+1)
	tried := 0
	check := func(what string, i int, m []byte) {
		tried++
		if _, _, err := explanation.Verify(m, s.vkey); err == nil {
			t.Errorf("%s at byte %d (%q…) still verifies", what, i, b[i:min(i+24, len(b))])
		}
	}
	for i := range b {
		for _, x := range []byte{0x01, 0x20} {
			mut = append(mut[:0], b...)
			mut[i] ^= x
			check("xor 0x"+string("0123456789abcdef"[x>>4])+string("0123456789abcdef"[x&15]), i, mut)
		}
		mut = append(append(mut[:0], b[:i]...), b[i+1:]...)
		check("deleting", i, mut)
		mut = append(append(append(mut[:0], b[:i]...), ' '), b[i:]...)
		check("inserting a space", i, mut)
	}
	if tried != 4*len(b) {
		t.Fatalf("tried %d changes, want %d", tried, 4*len(b))
	}
	if _, _, err := explanation.Verify(b, s.vkey); err != nil {
		t.Fatalf("the original no longer verifies: %v", err)
	}
}

// TestExplanationRefusals: the standing rules of GET /v1/decisions/{id}.
func TestExplanationRefusals(t *testing.T) {
	s, token := explanationFixture(t)
	path := "/v1/decisions/" + refusedID + "/explanation"
	s.wantRefused("wrong token", 404, "not_found", "GET", path, "", nil, "X-Contest-Token", strings.Repeat("A", len(token)))
	s.wantRefused("unknown id, with a token", 404, "not_found", "GET", "/v1/decisions/dec-nope/explanation", "", nil, "X-Contest-Token", token)
	s.wantRefused("unknown id, regulator", 404, "not_found", "GET", "/v1/decisions/dec-nope/explanation", auth.Regulator, nil)
	s.wantRefused("producer", 403, "forbidden", "GET", path, auth.Producer, nil)
	s.wantRefused("reviewer", 403, "forbidden", "GET", path, auth.Reviewer, nil)
	s.wantRefused("no credential", 401, "unauthorized", "GET", path, "", nil)
	s.wantRefused("bad download", 400, "bad_request", "GET", path+"?download=yes", auth.Regulator, nil)
	_, wrong := s.do("GET", path, "", nil, "X-Contest-Token", "wrong")
	_, unknown := s.do("GET", "/v1/decisions/dec-nope/explanation", "", nil, "X-Contest-Token", token)
	if strings.Replace(string(unknown), "dec-nope", refusedID, 1) != string(wrong) {
		t.Errorf("a wrong token and an unknown id differ: %s vs %s", wrong, unknown)
	}

	// the download header
	req, _ := http.NewRequest("GET", s.url+path+"?download=1", nil)
	req.Header.Set("X-Contest-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="explanation-`+refusedID+`.json"` {
		t.Errorf("Content-Disposition %q", cd)
	}
}
