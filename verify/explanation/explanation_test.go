package explanation_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	flog "github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/explanation"
	"github.com/fjaledger/fja/verify/record"
	"github.com/fjaledger/fja/verify/reftree"
)

const origin = "ledger.example.org/fja/explain-test"

func key(name, label string) (note.Signer, string) {
	seed := sha256.Sum256([]byte(label))
	skey, vkey, err := note.GenerateKey(bytes.NewReader(seed[:]), name)
	if err != nil {
		panic(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		panic(err)
	}
	return s, vkey
}

var (
	logSigner, logVKey = key(origin, "explanation test log key")
	witSigner, witVKey = key("witness.example.com", "explanation test witness")
)

// fixture is a small log: a constitution (0), a refused decision citing
// two of its rules with a flag (1), a contest of it (2), its resolution
// (3) and one more decision (4). Edit the bodies before build.
type fixture struct {
	con     record.Constitution
	dec     record.Decision
	contest record.Contest
	res     record.Resolution
	window  time.Duration
	signers []note.Signer
}

func newFixture() *fixture {
	return &fixture{
		con: record.Constitution{ConstitutionID: "fja-default", Version: "2026.11", Process: json.RawMessage(`{"method":"poll"}`),
			Rules: []record.ConstitutionRule{
				{Pillar: "harmlessness", RuleID: "H-12", Text: "When a request may concern self-harm, answer with care \u2014 and <include> support & resources."},
				{Pillar: "autonomy", RuleID: "A-03", Text: "Give adults the medical information they ask for."},
				{Pillar: "justice", RuleID: "J-01", Text: "Do not present one region's norms as universal."},
			}},
		dec: record.Decision{DecisionID: "dec-1", OccurredAt: "2026-11-27T09:59:58Z",
			Constitution: record.ConstitutionRef{ID: "fja-default", Version: "2026.11"},
			Rules: []record.AppliedRule{{Effect: "refuse", Rationale: "self-harm screen", RuleID: "H-12"},
				{Effect: "allow", Rationale: "adult", RuleID: "A-03"}},
			Weights:         map[string]float64{"harmlessness": 0.4, "autonomy": 0.25},
			Candidates:      []record.Candidate{{ID: "c1", Scores: map[string]float64{"harmlessness": 0.62}}, {ID: "c2", Scores: map[string]float64{"harmlessness": 0.97}, Selected: true}},
			ProvenanceFlags: []record.ProvenanceFlag{{Code: "western-sources", Message: "Western.", Severity: "critical"}},
			Outcome:         record.Outcome{Action: "refused", Category: "medical", Contestable: true, Explanation: "I can't help."},
			Subject:         record.Subject{Jurisdiction: "DE", Locale: "de-DE", Ref: "sha256:00"},
			System:          record.System{Deployment: "eu", Model: "m", ModelVersion: "1", Operator: "example-ai"}},
		contest: record.Contest{ContestID: "con-1", DueBy: "2026-12-11T10:00:02.000000000Z", Remedy: "reconsider",
			Grounds: record.Grounds{Category: "false-refusal", Commitment: "sha256:11"}},
		res:     record.Resolution{ContestID: "con-1", HumanReviewed: true, Outcome: "overturned", Rationale: "A-03 prevails."},
		window:  record.MinContestWindow,
		signers: []note.Signer{logSigner},
	}
}

func envelope(t testing.TB, kind record.Kind, at string, body any) []byte {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(record.Envelope{Body: b, Kind: kind, LoggedAt: at, V: 1}); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// build logs the fixture's records and assembles the explanation of the
// decision; contested adds the contest and resolution.
func (f *fixture) build(t testing.TB, contested bool) (*record.Explanation, error) {
	t.Helper()
	leaves := [][]byte{
		envelope(t, record.KindConstitution, "2026-11-27T09:00:00.000000000Z", f.con),
		envelope(t, record.KindDecision, "2026-11-27T10:00:00.123456789Z", f.dec),
	}
	if f.contest.Decision.LeafHash == nil {
		f.contest.Decision = record.ContestedDecision{DecisionID: f.dec.DecisionID, Index: 1, LeafHash: reftree.LeafHash(leaves[1])}
	}
	leaves = append(leaves,
		envelope(t, record.KindContest, "2026-11-27T10:00:02.000000000Z", f.contest),
		envelope(t, record.KindResolution, "2026-11-28T10:00:00.000000000Z", f.res),
		envelope(t, record.KindDecision, "2026-11-28T11:00:00.000000000Z", record.Decision{DecisionID: "dec-2"}))
	cp, err := note.Sign(&note.Note{Text: string(flog.Checkpoint{Origin: origin, Size: uint64(len(leaves)), Hash: reftree.Root(leaves)}.Marshal())}, f.signers...)
	if err != nil {
		t.Fatal(err)
	}
	proven := func(i int) *record.RecordProof {
		return &record.RecordProof{Index: uint64(i), Entry: leaves[i], InclusionProof: reftree.InclusionProof(i, leaves)}
	}
	var contests []record.ProvenContest
	if contested {
		contests = []record.ProvenContest{{Contest: proven(2), Resolution: proven(3)}}
	}
	return explanation.Assemble(origin, explanation.KeyName(logVKey), string(cp), proven(1), proven(0), contests, f.window)
}

func encode(t *testing.T, e *record.Explanation) []byte {
	t.Helper()
	b, err := explanation.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerify(t *testing.T) {
	e, err := newFixture().build(t, true)
	if err != nil {
		t.Fatal(err)
	}
	b := encode(t, e)
	got, cp, err := explanation.Verify(b, logVKey)
	if err != nil {
		t.Fatalf("Verify: %v\n%s", err, b)
	}
	if cp.Size != 5 || got.DecisionID != "dec-1" || len(got.Rules) != 2 || got.Rules[0].Text != newFixture().con.Rules[0].Text ||
		got.Rules[1].Pillar != "autonomy" || got.Flags[0].PlainWords != "Serious concern: The answer relies mostly on sources from Western countries; perspectives from elsewhere may be missing." ||
		got.ContestWindow.ContestableUntil != "2027-05-29T10:00:00.123456789Z" || len(got.Contests) != 1 {
		t.Fatalf("explanation %s", b)
	}
	if !bytes.Contains(b, []byte("\u2014 and <include> support & resources")) {
		t.Errorf("the canonical form escapes text: %s", b)
	}
}

// TestAssembleRefuses: records that do not fit together are not explained.
func TestAssembleRefuses(t *testing.T) {
	for name, edit := range map[string]func(f *fixture){
		"a cited rule the constitution lacks": func(f *fixture) { f.dec.Rules[1].RuleID = "X-99" },
		"another constitution version":        func(f *fixture) { f.con.Version = "2026.12" },
		"a contest of another decision":       func(f *fixture) { f.contest.Decision = record.ContestedDecision{Index: 1, LeafHash: make([]byte, 32)} },
		"a resolution of another contest":     func(f *fixture) { f.res.ContestID = "con-2" },
		"a window under six months":           func(f *fixture) { f.window = record.MinContestWindow - time.Second },
		"a window of a fraction of a second":  func(f *fixture) { f.window = record.MinContestWindow + time.Millisecond },
	} {
		f := newFixture()
		edit(f)
		if _, err := f.build(t, true); !errors.Is(err, verify.ErrMismatch) {
			t.Errorf("%s: %v, want ErrMismatch", name, err)
		}
	}
	// not contestable: no window, whatever the log's
	f := newFixture()
	f.dec.Outcome.Contestable = false
	if e, err := f.build(t, false); err != nil || e.ContestWindow != nil {
		t.Errorf("not contestable: %v, window %+v", err, e)
	}
}

// TestVerifyRefuses: what is not proven by the key or does not follow
// from the entries fails, each with its sentinel.
func TestVerifyRefuses(t *testing.T) {
	e, err := newFixture().build(t, true)
	if err != nil {
		t.Fatal(err)
	}
	good := encode(t, e)
	var indented bytes.Buffer
	json.Indent(&indented, good, "", "  ")
	_, otherVKey := key(origin, "another key")

	wf := newFixture()
	wf.signers = append(wf.signers, witSigner)
	cosigned, err := wf.build(t, true)
	if err != nil {
		t.Fatal(err)
	}
	edited := func(edit func(e *record.Explanation)) []byte {
		var c record.Explanation
		if err := json.Unmarshal(good, &c); err != nil {
			t.Fatal(err)
		}
		edit(&c)
		return encode(t, &c)
	}
	for _, c := range []struct {
		name string
		file []byte
		vkey string
		want error
	}{
		{"reindented", indented.Bytes(), logVKey, verify.ErrMalformed},
		{"trailing newline", append(bytes.Clone(good), '\n'), logVKey, verify.ErrMalformed},
		{"unknown field", bytes.Replace(good, []byte(`{"candidates"`), []byte(`{"x":1,"candidates"`), 1), logVKey, verify.ErrMalformed},
		{"another key of the same name", good, otherVKey, verify.ErrBadKey},
		{"a signature by a key not given", encode(t, cosigned), logVKey, verify.ErrBadSignature},
		{"key_name", edited(func(e *record.Explanation) { e.KeyName = "x+00000000" }), logVKey, verify.ErrBadKey},
		{"format", edited(func(e *record.Explanation) { e.Format = "fja-explanation/v2" }), logVKey, verify.ErrMalformed},
		{"a rule left out", edited(func(e *record.Explanation) { e.Rules = e.Rules[:1] }), logVKey, verify.ErrMismatch},
		{"a rule not cited", edited(func(e *record.Explanation) {
			e.Rules = append(e.Rules, record.ExplainedRule{Effect: "allow", Pillar: "justice", RuleID: "J-01", Text: "Do not present one region's norms as universal."})
		}), logVKey, verify.ErrMismatch},
		{"a weight", edited(func(e *record.Explanation) { e.Weights["autonomy"] = 0.5 }), logVKey, verify.ErrMismatch},
		{"a flag's words", edited(func(e *record.Explanation) { e.Flags[0].PlainWords = "Nothing to see." }), logVKey, verify.ErrMismatch},
		{"the window", edited(func(e *record.Explanation) { e.ContestWindow.ContestableUntil = "2099-01-01T00:00:00.000000000Z" }), logVKey, verify.ErrMismatch},
		{"the decision shown", edited(func(e *record.Explanation) { e.Decision.Record.LoggedAt = "2026-01-01T00:00:00.000000000Z" }), logVKey, verify.ErrMismatch},
		{"the index", edited(func(e *record.Explanation) { e.Decision.Index = 4 }), logVKey, nil},
	} {
		_, _, err := explanation.Verify(c.file, c.vkey)
		if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, _, err := explanation.Verify(encode(t, cosigned), logVKey, witVKey); err != nil {
		t.Errorf("with the witness key given: %v", err)
	}
}

func TestPlainWords(t *testing.T) {
	for _, c := range []struct {
		f    record.ProvenanceFlag
		want string
	}{
		{record.ProvenanceFlag{Code: "western-sources", Message: "m", Severity: "info"}, "The answer relies mostly on sources from Western countries; perspectives from elsewhere may be missing."},
		{record.ProvenanceFlag{Code: "outdated-sources", Severity: "warning"}, "Caution: Some sources behind the answer may be out of date."},
		{record.ProvenanceFlag{Code: "x-new", Message: "Its own words.", Severity: "info"}, "Its own words."},
		{record.ProvenanceFlag{Code: "x-new", Severity: "critical"}, "Serious concern: Provenance flag x-new."},
	} {
		if got := explanation.PlainWords(c.f); got != c.want {
			t.Errorf("PlainWords(%+v) = %q, want %q", c.f, got, c.want)
		}
	}
}

func TestKeyName(t *testing.T) {
	if got := explanation.KeyName(logVKey); !strings.HasPrefix(logVKey, got+"+") || strings.Count(got, "+") != 1 {
		t.Errorf("KeyName(%q) = %q", logVKey, got)
	}
	if got := explanation.KeyName("nokey"); got != "" {
		t.Errorf("KeyName(nokey) = %q", got)
	}
}
