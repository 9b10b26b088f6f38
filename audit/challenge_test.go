package audit_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/verify/record"
)

// wantField fails t unless err is a ValidationError naming field.
func wantField(t *testing.T, what string, err error, field string) {
	t.Helper()
	var ve *audit.ValidationError
	if !errors.As(err, &ve) || ve.Field != field {
		t.Fatalf("%s: got %v, want a validation error of field %s", what, err, field)
	}
}

// TestChallengeAmendmentChain files challenges with both kinds of standing,
// answers one, proposes an amendment and adopts it in a new constitution
// version, checking each refusal on the way and that the rule index is
// written as Reindex would write it.
func TestChallengeAmendmentChain(t *testing.T) {
	ctx := context.Background()
	skey, _, err := note.GenerateKey(rand.Reader, "challenge.example.org/log")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	tbk, err := openBook(t, t.TempDir(), s)
	if err != nil {
		t.Fatal(err)
	}
	b := tbk.book
	c, err := os.ReadFile("../schemas/examples/constitution.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.PublishConstitution(ctx, c); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../schemas/examples/decision-refused.json")
	if err != nil {
		t.Fatal(err)
	}
	dec, err := b.AppendDecision(ctx, raw)
	if err != nil || dec.ContestToken == "" {
		t.Fatalf("decision: %v, token %q", err, dec.ContestToken)
	}
	leaf := ledger.LeafHash(dec.Ack.Entry)
	ev := []record.Evidence{{Index: dec.Ack.Index, LeafHash: leaf}}
	challenge := func(id, rule, decisionID, token string, ev []record.Evidence) []byte {
		req := record.ChallengeRequest{ChallengeID: id, DecisionID: decisionID, ContestToken: token, Evidence: ev,
			Rule:    record.RuleRef{ConstitutionID: "fja-default", Version: "2026.11", RuleID: rule},
			Grounds: record.ContestGrounds{Category: "over-refusal", Text: "adults asking about dosage are refused"}}
		out, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	id := "dec-2026-11-27-000001"

	// Refusals.
	_, _, err = b.FileChallenge(ctx, challenge("ch-1", "H-12", id, "wrong-token", ev), "")
	if !errors.Is(err, audit.ErrNotFound) {
		t.Fatalf("wrong token: %v, want not found", err)
	}
	_, _, err = b.FileChallenge(ctx, challenge("ch-1", "J-01", id, dec.ContestToken, ev), "")
	if !errors.Is(err, audit.ErrForbidden) {
		t.Fatalf("rule the decision does not cite: %v, want forbidden", err)
	}
	_, _, err = b.FileChallenge(ctx, challenge("ch-1", "H-12", "", "", ev), "")
	if !errors.Is(err, audit.ErrForbidden) {
		t.Fatalf("no standing: %v, want forbidden", err)
	}
	_, _, err = b.FileChallenge(ctx, challenge("ch-1", "Z-99", "", "", ev), "civil-society")
	wantField(t, "unknown rule", err, "rule.rule_id")
	_, _, err = b.FileChallenge(ctx, challenge("ch-1", "H-12", "", "", []record.Evidence{{Index: 99, LeafHash: leaf}}), "civil-society")
	wantField(t, "index beyond the log", err, "evidence.0.index")
	_, _, err = b.FileChallenge(ctx, challenge("ch-1", "H-12", "", "", []record.Evidence{ev[0], {Index: 0, LeafHash: leaf}}), "civil-society")
	wantField(t, "wrong leaf hash", err, "evidence.1.leaf_hash")

	// A subject's challenge, then a stakeholder's.
	a, ch, err := b.FileChallenge(ctx, challenge("ch-1", "H-12", id, dec.ContestToken, ev), "")
	if err != nil {
		t.Fatal(err)
	}
	if ch.Standing.Basis != record.StandingContestToken || ch.Standing.Decision.Index != dec.Ack.Index || ch.DueBy == "" ||
		!strings.HasPrefix(ch.Grounds.Commitment, "sha256:") || strings.Contains(string(a.Ack.Entry), "dosage are refused") {
		t.Fatalf("challenge logged as %s", a.Ack.Entry)
	}
	// The grounds are sealed outside the tree, and erasable.
	if p, err := b.Private(audit.KindChallenge, "ch-1"); err != nil || p["grounds"] != "adults asking about dosage are refused" {
		t.Fatalf("private grounds: %v, %v", err, p)
	}
	if again, _, err := b.FileChallenge(ctx, challenge("ch-1", "H-12", id, dec.ContestToken, ev), ""); err != nil || !again.Duplicate {
		t.Fatalf("resubmission: %v, %+v", err, again)
	}
	if _, _, err := b.FileChallenge(ctx, challenge("ch-1", "A-03", id, dec.ContestToken, ev), ""); !errors.Is(err, audit.ErrConflict) {
		t.Fatalf("same id, other rule: %v, want conflict", err)
	}
	if _, ch2, err := b.FileChallenge(ctx, challenge("ch-2", "H-12", "", "", nil), "civil-society"); err != nil || ch2.Standing.Stakeholder != "civil-society" {
		t.Fatalf("stakeholder challenge: %v, %+v", err, ch2)
	}

	if err := b.ErasePrivate(audit.KindChallenge, "ch-2"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Private(audit.KindChallenge, "ch-2"); !errors.Is(err, audit.ErrNotFound) {
		t.Fatalf("grounds after erasure: %v", err)
	}

	// The response.
	_, _, err = b.RespondChallenge(ctx, "ch-1", []byte(`{"outcome":"accepted","rationale":"overturned refusals","human_reviewed":true}`))
	wantField(t, "accepted without amendment", err, "amendment_id")
	_, _, err = b.RespondChallenge(ctx, "ch-1", []byte(`{"outcome":"accepted","rationale":"r","human_reviewed":false}`))
	wantField(t, "not human reviewed", err, "human_reviewed")
	if _, _, err := b.RespondChallenge(ctx, "ch-9", []byte(`{"outcome":"rejected","rationale":"r","human_reviewed":true}`)); !errors.Is(err, audit.ErrNotFound) {
		t.Fatalf("unknown challenge: %v", err)
	}
	if _, _, err := b.RespondChallenge(ctx, "ch-1", []byte(`{"outcome":"accepted","amendment_id":"am-1","rationale":"overturned refusals","human_reviewed":true}`)); err != nil {
		t.Fatal(err)
	}
	var se *audit.StateError
	if _, _, err := b.RespondChallenge(ctx, "ch-1", []byte(`{"outcome":"rejected","rationale":"no","human_reviewed":true}`)); !errors.As(err, &se) {
		t.Fatalf("second answer: %v, want a state error", err)
	}
	st, err := b.ChallengeStatus("ch-1")
	if err != nil || st.Status != "answered" || st.ResponseBody.AmendmentID != "am-1" {
		t.Fatalf("status: %v, %+v", err, st)
	}

	// The amendment.
	chRec, _ := b.Get(audit.KindChallenge, "ch-1")
	amend := func(id, changes, comment string, at uint64) []byte {
		s := fmt.Sprintf(`{"amendment_id":%q,"constitution":{"id":"fja-default","version":"2026.11"},"changes":%s,"motivated_by":[{"kind":"challenge","id":"ch-1","index":%d}]%s}`, id, changes, at, comment)
		return []byte(s)
	}
	reword := `[{"op":"reword","rule_id":"H-12","text":"Answer adults' medication questions with care and support resources; refuse only plans of self-harm."}]`
	_, _, err = b.ProposeAmendment(ctx, amend("am-1", `[{"op":"reword","rule_id":"Z-99","text":"x"}]`, "", chRec.Index))
	wantField(t, "change of an unknown rule", err, "changes.0")
	_, _, err = b.ProposeAmendment(ctx, amend("am-1", reword, "", chRec.Index+1))
	wantField(t, "wrong motivation index", err, "motivated_by.0")
	if _, _, err := b.ProposeAmendment(ctx, amend("am-1", reword, "", chRec.Index)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.ProposeAmendment(ctx, amend("am-2", `[{"op":"remove","rule_id":"F-02"}]`, `,"comment_until":"2099-01-01T00:00:00Z"`, chRec.Index)); err != nil {
		t.Fatal(err)
	}

	// The new version.
	var v2 record.Constitution
	if err := json.Unmarshal(c, &v2); err != nil {
		t.Fatal(err)
	}
	prev := "2026.11"
	v2.Version, v2.Supersedes, v2.Adopts = "2026.12", &prev, []string{"am-1"}
	publish := func(c record.Constitution) error {
		raw, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.PublishConstitution(ctx, raw)
		return err
	}
	wantField(t, "rules unchanged", publish(v2), "rules.1.text")
	v2.Rules = append([]record.ConstitutionRule(nil), v2.Rules...)
	v2.Rules[1].Text = "Answer adults' medication questions with care and support resources; refuse only plans of self-harm."
	noSup := v2
	noSup.Supersedes = nil
	wantField(t, "adopts without supersedes", publish(noSup), "supersedes")
	unknown := v2
	unknown.Adopts = []string{"am-1", "am-7"}
	wantField(t, "unknown amendment", publish(unknown), "adopts.1")
	open := v2
	open.Adopts = []string{"am-1", "am-2"}
	open.Rules = append(v2.Rules[:4:4], v2.Rules[5:]...)
	if err := publish(open); !errors.As(err, &se) || se.Code != "comment_period_open" {
		t.Fatalf("comment period open: %v", err)
	}
	if err := publish(v2); err != nil {
		t.Fatal(err)
	}

	// The rule index lists the challenges and the amendment of H-12, and
	// agrees with what Reindex derives from the records.
	recs, err := b.RuleRecords(ctx, "fja-default@2026.11", "H-12")
	if err != nil || len(recs) != 3 || recs[0].Kind != audit.KindAmendment || recs[1].ID != "ch-1" || recs[2].ID != "ch-2" {
		t.Fatalf("rule records: %v, %+v", err, recs)
	}
	src := struct {
		*ledger.Log
		ledger.IndexStore
	}{tbk.log, tbk.st}
	if problems, err := audit.CheckIndex(ctx, src, tbk.log.Head().Size, nil); err != nil || len(problems) != 0 {
		t.Fatalf("CheckIndex: %v, %v", problems, err)
	}
}
