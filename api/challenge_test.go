package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fjaledger/fja/api"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/monitor"
	"github.com/fjaledger/fja/verify/record"
)

// h12Amended is the text of rule H-12 after the amendment of the journey.
const h12Amended = "When a request may concern self-harm, answer with care and include support resources; give adults factual medication information rather than refusing."

// anyField tells refusedField not to look at the error's field.
const anyField = "\x00any"

// refusedField checks a 4xx JSON error with the given code naming field
// (none: "", or anyField to leave it unchecked), and that the log did not
// grow.
func (s *server) refusedField(what string, code int, errCode, field string, method, path string, role auth.Role, body []byte, hdr ...string) {
	s.T.Helper()
	before := s.Log.Head().Size
	got, b := s.Do(method, path, role, body, hdr...)
	e := decode[struct {
		Error api.Error `json:"error"`
	}](s.T, b)
	if got != code || e.Error.Code != errCode || e.Error.Message == "" || field != anyField && e.Error.Field != field {
		s.T.Errorf("%s: %d %s, want %d %s naming field %q", what, got, b, code, errCode, field)
	}
	if after := s.Log.Head().Size; after != before {
		s.T.Errorf("%s: the log grew from %d to %d", what, before, after)
	}
}

// clientFor is a verifying Go client of s with the token of role ("" for
// none: the subject).
func (s *server) clientFor(role auth.Role) *client.Client {
	s.T.Helper()
	c, err := client.New(client.Config{URL: s.URL, Token: s.Tokens[role], VerifierKey: s.VKey})
	if err != nil {
		s.T.Fatal(err)
	}
	return c
}

// refusal logs a refusal under H-12 of fja-default@2026.11 (the example,
// with decision id id) and returns the subject's receipt.
func (s *server) refusal(id string) *client.DecisionReceipt {
	s.T.Helper()
	code, b := s.Do("POST", "/v1/decisions", auth.Producer,
		bytes.Replace(example(s.T.(*testing.T), "decision-refused.json"), []byte("dec-2026-11-27-000001"), []byte(id), 1))
	if code != http.StatusCreated {
		s.T.Fatalf("decision %s: %d %s", id, code, b)
	}
	d, err := client.ParseDecisionReceipt(b)
	if err != nil {
		s.T.Fatal(err)
	}
	return d
}

// nextVersion is the example constitution as version 2026.12 superseding
// 2026.11, adopting adopts, with H-12's text set to h12.
func nextVersion(t *testing.T, h12 string, adopts ...string) []byte {
	var c record.Constitution
	if err := json.Unmarshal(example(t, "constitution.json"), &c); err != nil {
		t.Fatal(err)
	}
	prev := c.Version
	c.Version, c.Supersedes, c.Adopts = "2026.12", &prev, adopts
	i := slices.IndexFunc(c.Rules, func(r record.ConstitutionRule) bool { return r.RuleID == "H-12" })
	c.Rules[i].Text = h12
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runMonitor runs one monitor round over the server's tiles.
func (s *server) runMonitor() *monitor.Result {
	s.T.Helper()
	c, err := client.New(client.Config{URL: s.URL, InsecureSkipVerify: true, MaxTries: 1})
	if err != nil {
		s.T.Fatal(err)
	}
	m := &monitor.Monitor{Origin: s.Origin, Key: s.VKey, Client: c.MonitorSource()}
	res, err := m.Round(context.Background(), monitor.NewState(s.Origin, s.VKey))
	if err != nil {
		s.T.Fatal(err)
	}
	if res.To != s.Log.Head().Size {
		s.T.Fatalf("the monitor checked entries [%d, %d) of %d", res.From, res.To, s.Log.Head().Size)
	}
	return res
}

func evidenceOf(r *verify.Receipt) record.Evidence {
	return record.Evidence{Index: r.Index, LeafHash: verify.LeafHash(r.Entry)}
}

// TestChallengeJourney is the journey of issue 13: refusals under rule
// H-12 are contested and overturned; the subject of one challenges H-12
// with those records as evidence; a reviewer accepts; an operator proposes
// the amendment; constitution 2026.12 adopts it (a version whose rules do
// not match is refused); new decisions cite 2026.12; and a monitor reading
// the public tiles accepts the whole chain.
func TestChallengeJourney(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	s.publishConstitution()
	subject := s.clientFor("")

	// Refusals under H-12, contested and overturned.
	var evidence []record.Evidence
	var contests []record.Motivation
	var first *client.DecisionReceipt
	for i := range 3 {
		d := s.refusal(fmt.Sprintf("dec-h12-%d", i))
		first = cmpOr(first, d)
		con, err := subject.FileContestFor(ctx, d, &record.ContestRequest{ContestID: fmt.Sprintf("con-h12-%d", i), Remedy: "reconsider",
			Grounds: record.ContestGrounds{Category: "false-refusal", Text: "an adult asking for the dose on the leaflet"}})
		if err != nil {
			t.Fatal(err)
		}
		_, res, err := s.clientFor(auth.Reviewer).ResolveContest(ctx, con.Filed.ContestID, &record.ResolutionRequest{Outcome: "overturned",
			Rationale: "A-03 should prevail over H-12 screening", HumanReviewed: true})
		if err != nil {
			t.Fatal(err)
		}
		evidence = append(evidence, evidenceOf(d.Receipt), evidenceOf(con.Appended.Receipt), evidenceOf(res.Receipt))
		contests = append(contests, record.Motivation{Kind: record.KindContest, ID: con.Filed.ContestID, Index: con.Appended.Index()})
	}

	// The subject of the first refusal challenges H-12, with them as evidence.
	h12 := record.RuleRef{ConstitutionID: "fja-default", Version: "2026.11", RuleID: "H-12"}
	filed, ca, err := subject.ChallengeFor(ctx, first, &record.ChallengeRequest{ChallengeID: "ch-h12", Rule: h12, Evidence: evidence,
		Grounds: record.ContestGrounds{Category: "over-refusal", Text: "H-12 refuses adults plain medication facts"}})
	if err != nil {
		t.Fatal(err)
	}
	var logged record.Challenge
	if err := client.Logged(ca.Receipt.Entry, record.KindChallenge, &logged); err != nil {
		t.Fatal(err)
	}
	due, err := time.Parse(time.RFC3339Nano, filed.DueBy)
	if err != nil || due.Before(time.Now().Add(13*24*time.Hour)) || len(logged.Evidence) != 9 ||
		logged.Standing.Basis != record.StandingContestToken || logged.Standing.Decision.Index != first.Index ||
		bytes.Contains(ca.Receipt.Entry, []byte("plain medication facts")) || bytes.Contains(ca.Receipt.Entry, []byte(first.ContestToken)) {
		t.Fatalf("challenge logged as %s, due by %q", ca.Receipt.Entry, filed.DueBy)
	}
	// A stakeholder challenges it too; each challenger sees its own.
	if _, _, err := s.clientFor(auth.Stakeholder).FileChallenge(ctx, &record.ChallengeRequest{ChallengeID: "ch-h12-civil", Rule: h12,
		Grounds: record.ContestGrounds{Category: "over-refusal", Text: "our helpline sees the refusals"}}); err != nil {
		t.Fatal(err)
	}
	// Every answer is what the OpenAPI document says.
	validate := openAPIValidator(t)
	validate("ChallengeFiled", ca.Answer)
	view, raw, err := subject.ChallengeStatus(ctx, "ch-h12", first.ContestToken)
	validate("ChallengeView", raw)
	if err != nil || view.Status != "open" || view.Response != nil || view.Rule != h12 {
		t.Fatalf("status as the subject: %v, %+v", err, view)
	}
	if v, _, err := s.clientFor(auth.Stakeholder).ChallengeStatus(ctx, "ch-h12-civil", ""); err != nil || v.Status != "open" {
		t.Fatalf("status as the filing stakeholder: %v, %+v", err, v)
	}
	s.refusedField("stakeholder reading the subject's challenge", 404, "not_found", "", "GET", "/v1/challenges/ch-h12", auth.Stakeholder, nil)

	// Accepted, naming the amendment; the operator proposes it.
	_, ra, err := s.clientFor(auth.Reviewer).RespondChallenge(ctx, "ch-h12", &record.ChallengeResponseRequest{Outcome: "accepted",
		AmendmentID: "am-h12", Rationale: "three overturned refusals under H-12", HumanReviewed: true})
	if err != nil {
		t.Fatal(err)
	}
	validate("ChallengeResponseLogged", ra.Answer)
	view, raw, err = s.clientFor(auth.Regulator).ChallengeStatus(ctx, "ch-h12", "")
	validate("ChallengeView", raw)
	if err != nil || view.Status != "answered" || view.Outcome != "accepted" || view.AmendmentID != "am-h12" || view.Response == nil {
		t.Fatalf("status once answered: %v, %+v", err, view)
	}
	am := &record.Amendment{AmendmentID: "am-h12", Constitution: record.ConstitutionRef{ID: "fja-default", Version: "2026.11"},
		Changes:     []record.AmendmentChange{{Op: record.OpReword, RuleID: "H-12", Text: h12Amended}},
		MotivatedBy: append([]record.Motivation{{Kind: record.KindChallenge, ID: "ch-h12", Index: ca.Index()}}, contests...),
		Rationale:   "overturned refusals of adults' medication questions"}
	_, aa, err := s.clientFor(auth.Operator).ProposeAmendment(ctx, am)
	if err != nil {
		t.Fatal(err)
	}
	validate("AmendmentLogged", aa.Answer)

	// 2026.12 must differ from 2026.11 by exactly the amendment.
	old := "When a request may concern self-harm, answer with care and include support resources."
	s.refusedField("version ignoring the amendment", 400, "invalid_record", "rules.1.text", "POST", "/v1/constitutions", auth.Producer, nextVersion(t, old, "am-h12"))
	s.refusedField("version adopting an unknown amendment", 400, "invalid_record", "adopts.1", "POST", "/v1/constitutions", auth.Producer, nextVersion(t, h12Amended, "am-h12", "am-nope"))
	code, b := s.Do("POST", "/v1/constitutions", auth.Producer, nextVersion(t, h12Amended, "am-h12"))
	if code != http.StatusCreated {
		t.Fatalf("constitution 2026.12: %d %s", code, b)
	}

	// New decisions cite the new version.
	d := bytes.Replace(example(t, "decision-answered.json"), []byte(`"version": "2026.11"`), []byte(`"version": "2026.12"`), 1)
	if !bytes.Contains(d, []byte("2026.12")) {
		t.Fatal("the example decision does not cite version 2026.11 as expected")
	}
	if code, b := s.Do("POST", "/v1/decisions", auth.Producer, d); code != http.StatusCreated {
		t.Fatalf("decision citing 2026.12: %d %s", code, b)
	}
	// Its explanation carries the record of 2026.12, with the amended H-12.
	if code, b := s.Do("GET", "/v1/decisions/dec-2026-11-27-000002/explanation", auth.Regulator, nil); code != http.StatusOK || !bytes.Contains(b, []byte("give adults factual medication information")) {
		t.Fatalf("explanation of the decision citing 2026.12: %d %s", code, b)
	}

	// The rule index lists the challenges and the amendment of H-12.
	recs, err := s.Book.RuleRecords(ctx, "fja-default@2026.11", "H-12")
	if err != nil || len(recs) != 3 {
		t.Fatalf("rule records of H-12: %v, %+v", err, recs)
	}

	// The records are queried by kind.
	for kind, n := range map[string]int{"challenge": 2, "challenge_response": 1, "amendment": 1, "constitution": 2} {
		code, b := s.Do("GET", "/v1/query?kind="+kind, auth.Regulator, nil)
		if q := decode[record.QueryAnswer](t, b); code != http.StatusOK || len(q.Records) != n {
			t.Fatalf("query kind=%s: %d, %d records, want %d", kind, code, len(q.Records), n)
		}
	}

	// A monitor reading the tiles accepts the chain.
	if res := s.runMonitor(); !res.OK() {
		t.Fatalf("the monitor flags the journey: %v", res.Alarms)
	}
}

func cmpOr(a, b *client.DecisionReceipt) *client.DecisionReceipt {
	if a != nil {
		return a
	}
	return b
}

// TestAmendmentMismatchFlagged: a constitution version whose rules do not
// match its adopted amendments is refused at append; written to the log
// past the record book (straight through ledger.Log.Append, as a
// misbehaving ledger would), the monitor flags it, naming the superseded
// version and the amendment, with both entries and their proofs as
// evidence. A version adopting an amendment before its comment period ends
// is refused (409) and flagged the same way.
func TestAmendmentMismatchFlagged(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	s.publishConstitution()
	am := &record.Amendment{AmendmentID: "am-h12", Constitution: record.ConstitutionRef{ID: "fja-default", Version: "2026.11"},
		Changes: []record.AmendmentChange{{Op: record.OpReword, RuleID: "H-12", Text: h12Amended}}, CommentUntil: "2026-01-01T00:00:00Z"}
	_, aa, err := s.clientFor(auth.Stakeholder).ProposeAmendment(ctx, am)
	if err != nil {
		t.Fatal(err)
	}
	bad := nextVersion(t, "When a request may concern self-harm, refuse.", "am-h12")
	s.refusedField("mismatching version", 400, "invalid_record", "rules.1.text", "POST", "/v1/constitutions", auth.Producer, bad)

	var c record.Constitution
	if err := json.Unmarshal(bad, &c); err != nil {
		t.Fatal(err)
	}
	body, err := audit.Canonical(c)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := s.Log.Append(ctx, audit.EnvelopeBytes(audit.KindConstitution, time.Now(), body))
	if err != nil {
		t.Fatal(err)
	}
	// And a version with the right rules, adopting an amendment whose
	// comment period is still open.
	late := *am
	late.AmendmentID, late.CommentUntil = "am-late", "2099-01-01T00:00:00Z"
	if _, _, err := s.clientFor(auth.Operator).ProposeAmendment(ctx, &late); err != nil {
		t.Fatal(err)
	}
	early := nextVersion(t, h12Amended, "am-late")
	s.refusedField("adoption before the comment period ends", 409, "comment_period_open", "", "POST", "/v1/constitutions", auth.Producer, early)
	json.Unmarshal(early, &c)
	c.Version = "2026.12-early"
	body, _ = audit.Canonical(c)
	if _, err := s.Log.Append(ctx, audit.EnvelopeBytes(audit.KindConstitution, time.Now(), body)); err != nil {
		t.Fatal(err)
	}
	res := s.runMonitor()
	if len(res.Alarms) != 2 || !strings.Contains(res.Alarms[1].Message, "before its comment period ends") {
		t.Fatalf("alarms %v, want two", res.Alarms)
	}
	a := res.Alarms[0]
	if a.Kind != monitor.KindViolation || a.Rule != "adoption" || *a.Index != ack.Index || !slices.Equal(a.Related, []uint64{0, aa.Index()}) ||
		!strings.Contains(a.Message, "H-12") || !strings.Contains(a.Message, "rules.1.text") {
		t.Fatalf("alarm %+v", a)
	}
	first, _ := s.Log.Entries(0, 1)
	for _, e := range [][]byte{ack.Entry, first[0], aa.Receipt.Entry} {
		if !strings.Contains(a.Evidence, string(e)) {
			t.Fatalf("the evidence lacks entry %s:\n%s", e, a.Evidence)
		}
	}
}

// TestChallengeRoutesRefuse: each new route answers bad input with a 400
// naming the field, a wrong contest token with the same 404 as an unknown
// id, a wrong role with 403, no token with 401, and a conflicting repeat
// with 409; nothing is logged by any of them.
func TestChallengeRoutesRefuse(t *testing.T) {
	s := newServer(t)
	s.publishConstitution()
	d := s.refusal("dec-h12-0")
	body := func(edits ...string) []byte {
		b := fmt.Sprintf(`{"challenge_id":"ch-1","decision_id":"dec-h12-0","contest_token":%q,"rule":{"constitution_id":"fja-default","version":"2026.11","rule_id":"H-12"},"grounds":{"category":"over-refusal","text":"too strict"},"evidence":[{"index":%d,"leaf_hash":%q}]}`,
			d.ContestToken, d.Index, base64.StdEncoding.EncodeToString(verify.LeafHash(d.Entry)))
		for i := 0; i+1 < len(edits); i += 2 {
			b = strings.Replace(b, edits[i], edits[i+1], 1)
		}
		return []byte(b)
	}
	const P = "/v1/challenges"
	s.refusedField("bad rule id", 400, "invalid_record", "rule.rule_id", "POST", P, "", body(`"rule_id":"H-12"`, `"rule_id":"H 12"`))
	s.refusedField("unknown rule", 400, "invalid_record", "rule.rule_id", "POST", P, "", body(`"rule_id":"H-12"`, `"rule_id":"Z-99"`))
	s.refusedField("unpublished version", 400, "invalid_record", "rule", "POST", P, "", body(`"version":"2026.11"`, `"version":"2030.1"`))
	s.refusedField("evidence past the log", 400, "invalid_record", "evidence.0.index", "POST", P, "", body(fmt.Sprintf(`"index":%d`, d.Index), `"index":999`))
	s.refusedField("evidence with a wrong leaf hash", 400, "invalid_record", "evidence.0.leaf_hash", "POST", P, "",
		body(fmt.Sprintf(`"index":%d`, d.Index), `"index":0`))
	s.refusedField("unknown field", 400, "invalid_record", "extra", "POST", P, "", body(`"challenge_id"`, `"extra":1,"challenge_id"`))
	s.refusedField("token without decision", 400, "invalid_record", "decision_id", "POST", P, "", body(`"decision_id":"dec-h12-0",`, ``))
	s.refusedField("wrong token", 404, "not_found", "", "POST", P, "", body(d.ContestToken, strings.Repeat("A", len(d.ContestToken))))
	s.refusedField("unknown decision", 404, "not_found", "", "POST", P, "", body(`"decision_id":"dec-h12-0"`, `"decision_id":"dec-nope"`))
	s.refusedField("a rule the decision does not cite", 403, "forbidden", "", "POST", P, "", body(`"rule_id":"H-12"`, `"rule_id":"J-01"`))
	noToken := body(`"decision_id":"dec-h12-0","contest_token":"`+d.ContestToken+`",`, ``)
	s.refusedField("no standing", 401, "unauthorized", "", "POST", P, "", noToken)
	s.refusedField("producer without a token", 403, "forbidden", "", "POST", P, auth.Producer, noToken)
	if code, b := s.Do("POST", P, "", body()); code != http.StatusCreated {
		t.Fatalf("challenge: %d %s", code, b)
	}
	if code, b := s.Do("POST", P, "", body()); code != http.StatusOK {
		t.Fatalf("the same challenge again: %d %s", code, b)
	}
	s.refusedField("same id, other grounds", 409, "conflict", "", "POST", P, "", body(`"too strict"`, `"far too strict"`))

	// GET /v1/challenges/{id}
	s.refusedField("status with a wrong token", 404, "not_found", "", "GET", P+"/ch-1", "", nil, "X-Contest-Token", "wrong")
	s.refusedField("status of an unknown id", 404, "not_found", "", "GET", P+"/ch-nope", auth.Reviewer, nil)
	s.refusedField("status as a producer", 403, "forbidden", "", "GET", P+"/ch-1", auth.Producer, nil)
	s.refusedField("status without a token", 401, "unauthorized", "", "GET", P+"/ch-1", "", nil)
	if code, b := s.Do("GET", P+"/ch-1", "", nil, "X-Contest-Token", d.ContestToken); code != http.StatusOK {
		t.Fatalf("status as the subject: %d %s", code, b)
	}

	// POST /v1/challenges/{id}/response
	resp := func(s string) []byte {
		return []byte(`{"outcome":"accepted","amendment_id":"am-1","rationale":"yes","human_reviewed":true` + s + `}`)
	}
	R := P + "/ch-1/response"
	s.refusedField("response by a stakeholder", 403, "forbidden", "", "POST", R, auth.Stakeholder, resp(""))
	s.refusedField("response without a token", 401, "unauthorized", "", "POST", R, "", resp(""))
	s.refusedField("bad outcome", 400, "invalid_record", "outcome", "POST", R, auth.Reviewer, []byte(`{"outcome":"maybe","rationale":"r","human_reviewed":true}`))
	s.refusedField("not human reviewed", 400, "invalid_record", "human_reviewed", "POST", R, auth.Reviewer, []byte(`{"outcome":"rejected","rationale":"r","human_reviewed":false}`))
	s.refusedField("accepted without amendment", 400, "invalid_record", "amendment_id", "POST", R, auth.Reviewer, []byte(`{"outcome":"accepted","rationale":"r","human_reviewed":true}`))
	s.refusedField("rejected with amendment", 400, "invalid_record", "amendment_id", "POST", R, auth.Reviewer, []byte(`{"outcome":"rejected","amendment_id":"am-1","rationale":"r","human_reviewed":true}`))
	s.refusedField("unknown challenge", 404, "not_found", "", "POST", P+"/ch-nope/response", auth.Reviewer, resp(""))
	if code, b := s.Do("POST", R, auth.Reviewer, resp("")); code != http.StatusCreated {
		t.Fatalf("response: %d %s", code, b)
	}
	s.refusedField("second answer", 409, "challenge_answered", "", "POST", R, auth.Reviewer, []byte(`{"outcome":"rejected","rationale":"no","human_reviewed":true}`))

	// POST /v1/amendments
	amend := func(edits ...string) []byte {
		b := `{"amendment_id":"am-1","constitution":{"id":"fja-default","version":"2026.11"},"changes":[{"op":"remove","rule_id":"F-02"}],"motivated_by":[]}`
		for i := 0; i+1 < len(edits); i += 2 {
			b = strings.Replace(b, edits[i], edits[i+1], 1)
		}
		return []byte(b)
	}
	const A = "/v1/amendments"
	s.refusedField("amendment by a reviewer", 403, "forbidden", "", "POST", A, auth.Reviewer, amend())
	s.refusedField("amendment without a token", 401, "unauthorized", "", "POST", A, "", amend())
	s.refusedField("bad op", 400, "invalid_record", "changes.0.op", "POST", A, auth.Operator, amend(`"remove"`, `"erase"`))
	s.refusedField("bad pillar", 400, "invalid_record", "changes.0.pillar", "POST", A, auth.Operator, amend(`"op":"remove"`, `"op":"change_effect","pillar":"wealth"`))
	s.refusedField("unknown constitution", 400, "invalid_record", "constitution", "POST", A, auth.Operator, amend(`"2026.11"`, `"2030.1"`))
	s.refusedField("change that does not apply", 400, "invalid_record", "changes.0", "POST", A, auth.Operator, amend(`"F-02"`, `"Z-99"`))
	s.refusedField("rule changed twice", 400, "invalid_record", "changes.1.rule_id", "POST", A, auth.Operator,
		amend(`"changes":[`, `"changes":[{"op":"reword","rule_id":"F-02","text":"x"},`))
	s.refusedField("motivation not logged", 400, "invalid_record", "motivated_by.0", "POST", A, auth.Operator,
		amend(`"motivated_by":[]`, `"motivated_by":[{"kind":"challenge","id":"ch-1","index":0}]`))
	s.refusedField("bad comment_until", 400, "invalid_record", "comment_until", "POST", A, auth.Operator, amend(`"motivated_by"`, `"comment_until":"soon","motivated_by"`))
	if code, b := s.Do("POST", A, auth.Stakeholder, amend()); code != http.StatusCreated {
		t.Fatalf("amendment: %d %s", code, b)
	}
	s.refusedField("same id, other changes", 409, "conflict", "", "POST", A, auth.Operator, amend(`"F-02"`, `"O-04"`))
	// Adoption before the comment period ends is a 409.
	if code, b := s.Do("POST", A, auth.Operator, amend(`"am-1"`, `"am-2"`, `"F-02"`, `"O-04"`, `"motivated_by"`, `"comment_until":"2099-01-01T00:00:00Z","motivated_by"`)); code != http.StatusCreated {
		t.Fatalf("amendment with a comment period: %d %s", code, b)
	}
	var c record.Constitution
	json.Unmarshal(example(t, "constitution.json"), &c)
	prev := c.Version
	c.Version, c.Supersedes, c.Adopts = "2026.12", &prev, []string{"am-2"}
	c.Rules = slices.DeleteFunc(c.Rules, func(r record.ConstitutionRule) bool { return r.RuleID == "O-04" })
	nb, _ := json.Marshal(c)
	s.refusedField("comment period open", 409, "comment_period_open", "", "POST", "/v1/constitutions", auth.Producer, nb)
	c.Supersedes = nil
	nb, _ = json.Marshal(c)
	s.refusedField("adopts without supersedes", 400, "invalid_record", "supersedes", "POST", "/v1/constitutions", auth.Producer, nb)
}
