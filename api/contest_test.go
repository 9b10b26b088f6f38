package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fjaledger/fja/api"
	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/verify"
)

// contestBody is examples/contest.json with the token of a decision's receipt.
func contestBody(t *testing.T, token string, edits ...string) []byte {
	t.Helper()
	b := bytes.Replace(apitest.Example(t, "contest.json"), []byte("<the contest_token from that decision's receipt>"), []byte(token), 1)
	for i := 0; i+1 < len(edits); i += 2 {
		b = bytes.Replace(b, []byte(edits[i]), []byte(edits[i+1]), 1)
	}
	return b
}

func decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	return v
}

// wantRefused checks a 4xx JSON error with the given code, and that the log
// did not grow.
func (s *server) wantRefused(what string, code int, errCode string, method, path string, role auth.Role, body []byte, hdr ...string) {
	s.T.Helper()
	s.refusedField(what, code, errCode, anyField, method, path, role, body, hdr...)
}

// TestContestJourney is the journey of issue 4: a refusal is logged, its
// subject contests it with the token from the receipt, a reviewer resolves
// it, every record verifies, the stats count the contest and the overturn
// against rule H-12, and each broken rule of the process is refused with a
// clear 4xx and nothing logged.
func TestContestJourney(t *testing.T) {
	var clock atomic.Pointer[time.Time]
	now := time.Now()
	clock.Store(&now)
	s := newServer(t, apitest.WithBook(func(c *audit.Config) { c.Now = func() time.Time { return *clock.Load() } }))
	s.publishConstitution()
	code, b := s.Do("POST", "/v1/decisions", auth.Producer, apitest.Example(t, "decision-refused.json"))
	if code != http.StatusCreated {
		t.Fatalf("decision: %d %s", code, b)
	}
	decision := s.receipt(b)
	token := decision.ContestToken

	// forged token: the same 404 as an unknown decision
	s.wantRefused("forged token", 404, "not_found", "POST", "/v1/contests", "", contestBody(t, strings.Repeat("A", len(token))))
	s.wantRefused("unknown decision", 404, "not_found", "POST", "/v1/contests", "", contestBody(t, token, "dec-2026-11-27-000001", "dec-nope"))

	code, b = s.Do("POST", "/v1/contests", "", contestBody(t, token))
	if code != http.StatusCreated {
		t.Fatalf("contest: %d %s", code, b)
	}
	filed := decode[struct {
		Receipt   json.RawMessage `json:"receipt"`
		ContestID string          `json:"contest_id"`
		DueBy     string          `json:"due_by"`
	}](t, b)
	cr := s.receipt(filed.Receipt)
	due, err := time.Parse(time.RFC3339Nano, filed.DueBy)
	if err != nil || due.Before(now.Add(13*24*time.Hour)) {
		t.Fatalf("due_by %q (%v), want about 14 days out", filed.DueBy, err)
	}
	var cenv audit.Envelope
	json.Unmarshal(cr.Entry, &cenv)
	var c audit.Contest
	json.Unmarshal(cenv.Body, &c)
	if cenv.Kind != audit.KindContest || c.Decision.DecisionID != "dec-2026-11-27-000001" || c.Decision.Index != decision.Index ||
		!bytes.Equal(c.Decision.LeafHash, decision.LeafHash) || !strings.HasPrefix(c.Grounds.Commitment, "sha256:") {
		t.Fatalf("contest record %s", cenv.Body)
	}
	if bytes.Contains(cr.Entry, []byte("package leaflet")) {
		t.Fatal("the grounds text entered the leaf")
	}
	// the same filing again: the first receipt
	code, b = s.Do("POST", "/v1/contests", "", contestBody(t, token))
	if code != http.StatusOK || s.receipt(decode[struct {
		Receipt json.RawMessage `json:"receipt"`
	}](t, b).Receipt).Index != cr.Index {
		t.Fatalf("repeat filing: %d %s", code, b)
	}
	s.wantRefused("second open contest", 409, "contest_open", "POST", "/v1/contests", "", contestBody(t, token, "con-2026-11-27-000001", "con-second"))

	// status, as the subject
	code, b = s.Do("GET", "/v1/contests/"+filed.ContestID, "", nil, "X-Contest-Token", token)
	if code != 200 {
		t.Fatalf("status: %d %s", code, b)
	}
	st := decode[api.ContestView](t, b)
	if st.Status != "open" || st.Resolution != nil {
		t.Fatalf("status %q", st.Status)
	}
	s.wantRefused("status with a wrong token", 404, "not_found", "GET", "/v1/contests/"+filed.ContestID, "", nil, "X-Contest-Token", "wrong")

	// resolution: human review is required, and only reviewers resolve
	res := apitest.Example(t, "resolution.json")
	s.wantRefused("no human review", 400, "invalid_record", "POST", "/v1/contests/"+filed.ContestID+"/resolution", auth.Reviewer,
		bytes.Replace(res, []byte(`"human_reviewed": true`), []byte(`"human_reviewed": false`), 1))
	s.wantRefused("producer resolving", 403, "forbidden", "POST", "/v1/contests/"+filed.ContestID+"/resolution", auth.Producer, res)
	s.wantRefused("unknown contest", 404, "not_found", "POST", "/v1/contests/con-nope/resolution", auth.Reviewer, res)
	code, b = s.Do("POST", "/v1/contests/"+filed.ContestID+"/resolution", auth.Reviewer, res)
	if code != http.StatusCreated {
		t.Fatalf("resolution: %d %s", code, b)
	}
	rr := s.receipt(decode[struct {
		Receipt json.RawMessage `json:"receipt"`
	}](t, b).Receipt)
	s.wantRefused("resolving twice, differently", 409, "contest_resolved", "POST", "/v1/contests/"+filed.ContestID+"/resolution", auth.Reviewer,
		bytes.Replace(res, []byte(`"overturned"`), []byte(`"upheld"`), 1))

	// both records verify with proofs against one checkpoint
	code, b = s.Do("GET", "/v1/contests/"+filed.ContestID, auth.Regulator, nil)
	if code != 200 {
		t.Fatalf("status: %d %s", code, b)
	}
	st = decode[api.ContestView](t, b)
	if st.Status != "resolved" || st.Resolution == nil || st.Resolution.Index != rr.Index {
		t.Fatalf("status after resolution: %s", b)
	}
	cp, err := verify.OpenCheckpoint([]byte(st.Checkpoint), origin, s.VKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*api.RecordProof{st.Contest, st.Resolution} {
		if err := verify.Inclusion(p.Index, cp.Size, verify.LeafHash(p.Entry), p.InclusionProof, cp.Hash); err != nil {
			t.Fatalf("record %d: %v", p.Index, err)
		}
	}

	// a decision that is not contestable
	nc := bytes.Replace(bytes.Replace(apitest.Example(t, "decision-refused.json"), []byte(`"contestable": true`), []byte(`"contestable": false`), 1),
		[]byte("dec-2026-11-27-000001"), []byte("dec-not-contestable"), 1)
	code, b = s.Do("POST", "/v1/decisions", auth.Producer, nc)
	if code != http.StatusCreated {
		t.Fatalf("%d %s", code, b)
	}
	s.wantRefused("not contestable", 409, "not_contestable", "POST", "/v1/contests", "",
		contestBody(t, s.receipt(b).ContestToken, "dec-2026-11-27-000001", "dec-not-contestable", "con-2026-11-27-000001", "con-nc"))

	// past the six-month window
	late := bytes.Replace(apitest.Example(t, "decision-refused.json"), []byte("dec-2026-11-27-000001"), []byte("dec-late"), 1)
	code, b = s.Do("POST", "/v1/decisions", auth.Producer, late)
	if code != http.StatusCreated {
		t.Fatalf("%d %s", code, b)
	}
	lateToken := s.receipt(b).ContestToken
	future := now.Add(184 * 24 * time.Hour)
	clock.Store(&future)
	s.wantRefused("past the window", 409, "window_closed", "POST", "/v1/contests", "",
		contestBody(t, lateToken, "dec-2026-11-27-000001", "dec-late", "con-2026-11-27-000001", "con-late"))

	// per-rule accountability: the contest and the overturn count against H-12
	code, b = s.Do("GET", "/v1/stats?group_by=rule", auth.Regulator, nil)
	if code != 200 {
		t.Fatalf("stats: %d %s", code, b)
	}
	stats := decode[api.StatsAnswer](t, b)
	var h12 *audit.Group
	for i, g := range stats.Groups {
		if g.Key["rule"] == "H-12" {
			h12 = &stats.Groups[i]
		}
	}
	if h12 == nil || h12.Count != 3 || h12.Contests != 1 || h12.Overturned != 1 || h12.Key["constitution"] != "fja-default@2026.11" {
		t.Fatalf("H-12 stats: %+v in %s", h12, b)
	}
	if stats.Scanned.To != s.Log.Head().Size || stats.Scanned.From != 0 {
		t.Fatalf("scanned %+v", stats.Scanned)
	}
	s.wantRefused("stats by a producer", 403, "forbidden", "GET", "/v1/stats", auth.Producer, nil)
}

// TestOverdueContest: a contest not resolved by due_by shows as overdue,
// in its status and in the stats.
func TestOverdueContest(t *testing.T) {
	var clock atomic.Pointer[time.Time]
	now := time.Now()
	clock.Store(&now)
	s := newServer(t, apitest.WithBook(func(c *audit.Config) {
		c.Now = func() time.Time { return *clock.Load() }
		c.ResponseWindow = time.Hour
	}))
	s.publishConstitution()
	_, b := s.Do("POST", "/v1/decisions", auth.Producer, apitest.Example(t, "decision-refused.json"))
	token := s.receipt(b).ContestToken
	if code, b := s.Do("POST", "/v1/contests", "", contestBody(t, token)); code != 201 {
		t.Fatalf("%d %s", code, b)
	}
	later := now.Add(2 * time.Hour)
	clock.Store(&later)
	_, b = s.Do("GET", "/v1/contests/con-2026-11-27-000001", "", nil, "X-Contest-Token", token)
	if st := decode[api.ContestView](t, b); st.Status != "overdue" {
		t.Fatalf("status %q, want overdue", st.Status)
	}
	_, b = s.Do("GET", "/v1/stats?group_by=rule&contest_status=overdue", auth.Regulator, nil)
	stats := decode[api.StatsAnswer](t, b)
	if len(stats.Groups) == 0 || stats.Groups[0].Overdue != 1 {
		t.Fatalf("stats %s", b)
	}
}
