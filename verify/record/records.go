package record

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
)

// Kind is a record kind.
type Kind string

// The record kinds of DESIGN.md §4.
const (
	KindDecision     Kind = "decision"
	KindConstitution Kind = "constitution"
	KindContest      Kind = "contest"
	KindResolution   Kind = "resolution"
	// KindAccess is one read of private content, logged by the ledger
	// before the content is returned.
	KindAccess Kind = "access"
	// KindChallenge is a challenge of a constitution rule (not of one
	// decision); KindChallengeResponse the reviewer's logged answer to it;
	// KindAmendment a proposed change to a constitution version's rules.
	KindChallenge         Kind = "challenge"
	KindChallengeResponse Kind = "challenge_response"
	KindAmendment         Kind = "amendment"
	// KindShard is entry 0 of every shard after the first (see Shard).
	KindShard Kind = "shard"
)

// The structs below declare their fields in the lexicographic order of
// their JSON names, so that encoding/json writes them in RFC 8785 order
// (audit's canonical encoding relies on it). Keep it that way: a test in
// audit checks every kind against a JCS library.

// Envelope is every leaf: a kind, a version, the log time and the body.
type Envelope struct {
	Body     json.RawMessage `json:"body"`
	Kind     Kind            `json:"kind"`
	LoggedAt string          `json:"logged_at"`
	V        int             `json:"v"`
}

// Decision is the body of a decision record.
type Decision struct {
	Candidates      []Candidate        `json:"candidates"`
	Constitution    ConstitutionRef    `json:"constitution"`
	Contest         *ContestStanding   `json:"contest,omitempty"`
	DecisionID      string             `json:"decision_id"`
	Objectives      []Objective        `json:"objectives"`
	OccurredAt      string             `json:"occurred_at"`
	Outcome         Outcome            `json:"outcome"`
	ProvenanceFlags []ProvenanceFlag   `json:"provenance_flags"`
	Request         *Commitment        `json:"request,omitempty"`
	Response        *Commitment        `json:"response,omitempty"`
	Rules           []AppliedRule      `json:"rules"`
	Subject         Subject            `json:"subject"`
	System          System             `json:"system"`
	Weights         map[string]float64 `json:"weights"`
}

// System names the model and deployment that decided.
type System struct {
	Deployment   string `json:"deployment"`
	Model        string `json:"model"`
	ModelVersion string `json:"model_version"`
	Operator     string `json:"operator"`
}

// Subject is the pseudonymous person the decision concerns.
type Subject struct {
	Jurisdiction string `json:"jurisdiction"`
	Locale       string `json:"locale"`
	Ref          string `json:"ref"`
}

// Commitment hides content: "sha256:" + hex(SHA-256(salt || content)).
type Commitment struct {
	Commitment string `json:"commitment"`
}

// Objective is one objective extracted from or given with the request.
type Objective struct {
	Confidence  float64 `json:"confidence"`
	Description string  `json:"description"`
	ID          string  `json:"id"`
	Source      string  `json:"source"`
}

// ConstitutionRef cites a published constitution version.
type ConstitutionRef struct {
	ID      string `json:"id"`
	Version string `json:"version"`
}

// AppliedRule is a constitution rule that fired, with its effect.
type AppliedRule struct {
	Effect    string `json:"effect"`
	Rationale string `json:"rationale"`
	RuleID    string `json:"rule_id"`
}

// Candidate is one scored candidate answer.
type Candidate struct {
	ID       string             `json:"id"`
	Scores   map[string]float64 `json:"scores"`
	Selected bool               `json:"selected"`
}

// ProvenanceFlag is a flag raised on the answer's sources.
type ProvenanceFlag struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	Severity string `json:"severity"`
}

// Outcome is what was done.
type Outcome struct {
	Action      string `json:"action"`
	Category    string `json:"category"`
	Contestable bool   `json:"contestable"`
	Explanation string `json:"explanation"`
}

// ContestStanding carries the hash of the subject's contest token.
type ContestStanding struct {
	TokenSHA256 string `json:"token_sha256"`
}

// Constitution is the body of a constitution record.
type Constitution struct {
	// Adopts are the amendments this version adopts; a version that adopts
	// any MUST declare Supersedes, and its rules MUST be the superseded
	// version's with exactly their changes applied (CheckAdoption).
	Adopts         []string           `json:"adopts,omitempty"`
	ConstitutionID string             `json:"constitution_id"`
	Process        json.RawMessage    `json:"process"`
	Rules          []ConstitutionRule `json:"rules"`
	Supersedes     *string            `json:"supersedes,omitempty"`
	Version        string             `json:"version"`
}

// ConstitutionRule is one rule of a constitution.
type ConstitutionRule struct {
	Pillar string `json:"pillar"`
	RuleID string `json:"rule_id"`
	Text   string `json:"text"`
}

// DecisionPrivate is the private section of a decision request: content
// that never enters a leaf.
type DecisionPrivate struct {
	Request  *string `json:"request,omitempty"`
	Response *string `json:"response,omitempty"`
}

// DecisionRequest is the body of POST /v1/decisions.
type DecisionRequest struct {
	Decision
	Private *DecisionPrivate `json:"private,omitempty"`
}

// Contest is the body of a contest record.
type Contest struct {
	ContestID string            `json:"contest_id"`
	Decision  ContestedDecision `json:"decision"`
	DueBy     string            `json:"due_by"`
	// FiledAt is allowed by the schema; the ledger does not set it (the
	// envelope's logged_at is when the contest was filed).
	FiledAt string  `json:"filed_at,omitempty"`
	Grounds Grounds `json:"grounds"`
	Remedy  string  `json:"remedy"`
}

// ContestedDecision points at the contested decision's leaf.
//
// Shard is the origin of the earlier shard the decision is logged in
// (Index is that shard's), empty for a decision in the contest's own
// shard (DESIGN.md §4 shard).
type ContestedDecision struct {
	DecisionID string `json:"decision_id"`
	Index      uint64 `json:"index"`
	LeafHash   []byte `json:"leaf_hash"`
	Shard      string `json:"shard,omitempty"`
}

// Grounds are why a decision is contested; the text is private content.
type Grounds struct {
	Category   string `json:"category"`
	Commitment string `json:"commitment"`
}

// ContestRequest is the body of POST /v1/contests.
type ContestRequest struct {
	ContestID    string         `json:"contest_id"`
	ContestToken string         `json:"contest_token"`
	DecisionID   string         `json:"decision_id"`
	Grounds      ContestGrounds `json:"grounds"`
	Remedy       string         `json:"remedy"`
}

// ContestGrounds are the grounds as the subject sends them.
type ContestGrounds struct {
	Category string `json:"category"`
	Text     string `json:"text"`
}

// Resolution is the body of a resolution record.
type Resolution struct {
	ContestID     string       `json:"contest_id"`
	HumanReviewed bool         `json:"human_reviewed"`
	Outcome       string       `json:"outcome"`
	Rationale     string       `json:"rationale"`
	RuleChanges   []RuleChange `json:"rule_changes"`
	// ContestShard is the origin of the earlier (frozen) shard the
	// contest is logged in, empty for a contest in the resolution's own
	// shard (DESIGN.md §4 shard; like ContestedDecision.Shard).
	ContestShard string `json:"contest_shard,omitempty"`
}

// ResolutionRequest is the body of POST /v1/contests/{id}/resolution
// (schemas/append-resolution.v1.json): a resolution without its contest
// id, which the path names.
type ResolutionRequest struct {
	HumanReviewed bool         `json:"human_reviewed"`
	Outcome       string       `json:"outcome"`
	Rationale     string       `json:"rationale"`
	RuleChanges   []RuleChange `json:"rule_changes"`
}

// RuleChange is a change to a constitution rule that a resolution decided.
type RuleChange struct {
	Change              string `json:"change"`
	ConstitutionVersion string `json:"constitution_version"`
	RuleID              string `json:"rule_id"`
}

// Access is the body of an access record (schemas/access.v1.json).
type Access struct {
	// AccessID is "acc-" and 32 random hex digits, made by the ledger.
	AccessID string `json:"access_id"`
	// Actor is the bearer token that read: its name and role.
	Actor Actor `json:"actor"`
	// Purpose is why (the X-Access-Purpose header). It is logged in the
	// clear, so it MUST NOT hold personal data.
	Purpose string `json:"purpose"`
	// Records are the records whose private content was read.
	Records []AccessedRecord `json:"records"`
	// Route is the route that answered, e.g. "GET /v1/query".
	Route string `json:"route"`
}

// Actor names who read private content.
type Actor struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// AccessedRecord is one record whose private content was read.
type AccessedRecord struct {
	ID    string `json:"id"`
	Index uint64 `json:"index"`
	Kind  Kind   `json:"kind"`
}

// RuleRef names one rule of a published constitution version.
type RuleRef struct {
	ConstitutionID string `json:"constitution_id"`
	RuleID         string `json:"rule_id"`
	Version        string `json:"version"`
}

// Ref is the "id@version" of the constitution the rule belongs to.
func (r RuleRef) Ref() string { return r.ConstitutionID + "@" + r.Version }

// Evidence points at a logged record (a decision, contest or resolution)
// by its index and leaf hash; the ledger checks both against the log.
type Evidence struct {
	Index    uint64 `json:"index"`
	LeafHash []byte `json:"leaf_hash"`
}

// The standing bases of a challenge.
const (
	StandingContestToken = "contest_token"
	StandingStakeholder  = "stakeholder"
)

// ChallengeStanding is why the challenger may challenge the rule: the
// contest token of a decision citing it (Decision set, the token itself
// never logged), or a stakeholder bearer token (Stakeholder: the token's
// name in the tokens file, an organisation, not a person).
type ChallengeStanding struct {
	Basis       string             `json:"basis"`
	Decision    *ContestedDecision `json:"decision,omitempty"`
	Stakeholder string             `json:"stakeholder,omitempty"`
}

// Challenge is the body of a challenge record (schemas/challenge.v1.json).
type Challenge struct {
	ChallengeID string `json:"challenge_id"`
	// DueBy is set by the log: logged_at plus its response window.
	DueBy    string            `json:"due_by"`
	Evidence []Evidence        `json:"evidence"`
	Grounds  Grounds           `json:"grounds"`
	Rule     RuleRef           `json:"rule"`
	Standing ChallengeStanding `json:"standing"`
}

// ChallengeRequest is the body of POST /v1/challenges
// (schemas/append-challenge.v1.json). ContestToken and DecisionID come
// together (standing as the subject of a decision citing the rule) or not
// at all (standing as the stakeholder of the bearer token).
type ChallengeRequest struct {
	ChallengeID  string         `json:"challenge_id"`
	ContestToken string         `json:"contest_token,omitempty"`
	DecisionID   string         `json:"decision_id,omitempty"`
	Evidence     []Evidence     `json:"evidence,omitempty"`
	Grounds      ContestGrounds `json:"grounds"`
	Rule         RuleRef        `json:"rule"`
}

// The outcomes of a challenge response.
var ChallengeOutcomes = []string{"accepted", "rejected"}

// ChallengeResponse is the body of a challenge_response record
// (schemas/challenge_response.v1.json). An accepted challenge names the
// amendment id that will carry the change (AmendmentID, which the
// amendment is proposed under later); a rejected one carries none.
type ChallengeResponse struct {
	AmendmentID   string `json:"amendment_id,omitempty"`
	ChallengeID   string `json:"challenge_id"`
	HumanReviewed bool   `json:"human_reviewed"`
	Outcome       string `json:"outcome"`
	Rationale     string `json:"rationale"`
}

// ChallengeResponseRequest is the body of POST
// /v1/challenges/{id}/response: a response without its challenge id,
// which the path names.
type ChallengeResponseRequest struct {
	AmendmentID   string `json:"amendment_id,omitempty"`
	HumanReviewed bool   `json:"human_reviewed"`
	Outcome       string `json:"outcome"`
	Rationale     string `json:"rationale"`
}

// The operations of an amendment's changes.
const (
	OpAdd          = "add"
	OpReword       = "reword"
	OpRemove       = "remove"
	OpChangeEffect = "change_effect"
)

// AmendmentOps are the operations an amendment change may carry.
var AmendmentOps = []string{OpAdd, OpReword, OpRemove, OpChangeEffect}

// AmendmentChange is one change to one rule (see ApplyChanges for what
// each op requires of Text and Pillar).
type AmendmentChange struct {
	Op     string `json:"op"`
	Pillar string `json:"pillar,omitempty"`
	RuleID string `json:"rule_id"`
	Text   string `json:"text,omitempty"`
}

// Motivation points at a logged challenge or contest that motivates an
// amendment: its kind, id and index.
type Motivation struct {
	ID    string `json:"id"`
	Index uint64 `json:"index"`
	Kind  Kind   `json:"kind"`
}

// Amendment is the body of an amendment record (schemas/amendment.v1.json)
// and of POST /v1/amendments. CommentUntil, when set, is the end of the
// comment period: no version may adopt the amendment before it.
type Amendment struct {
	AmendmentID  string            `json:"amendment_id"`
	Changes      []AmendmentChange `json:"changes"`
	CommentUntil string            `json:"comment_until,omitempty"`
	Constitution ConstitutionRef   `json:"constitution"`
	MotivatedBy  []Motivation      `json:"motivated_by"`
	Rationale    string            `json:"rationale,omitempty"`
}

// Shard is the body of a shard record (schemas/shard.v1.json): entry 0 of
// every shard after the first, linking it to the shard before it.
//
// Endorsement is how a verifier pinned to the previous shard's key learns
// this shard's key: a signed note by the previous shard's key (see
// ShardEndorsementText) naming the previous shard's final tree and this
// shard's origin and verifier key. The previous shard signs it when it is
// frozen, under the key its checkpoints are signed with; package
// verify/shard checks it.
type Shard struct {
	Endorsement string        `json:"endorsement"`
	Previous    ShardPrevious `json:"previous"`
}

// ShardPrevious names the shard before: its origin, its verifier key and
// its final signed checkpoint (the note text, signatures included).
type ShardPrevious struct {
	Checkpoint string `json:"checkpoint"`
	Origin     string `json:"origin"`
	VKey       string `json:"vkey"`
}

// ShardEndorsementHeader is the first line of an endorsement note. It has
// spaces, so no checkpoint verifier takes an endorsement for a checkpoint
// (an origin line has none, and line 2 of an endorsement is not a size).
const ShardEndorsementHeader = "fja-ledger shard successor v1"

// ShardEndorsementText is the text the previous shard's key signs when it
// is frozen: the header, the previous origin, its final size and root hash
// (standard base64), the successor's origin and its verifier key, one per
// line.
func ShardEndorsementText(prevOrigin string, finalSize uint64, finalRoot []byte, origin, vkey string) string {
	return ShardEndorsementHeader + "\n" + prevOrigin + "\n" + strconv.FormatUint(finalSize, 10) + "\n" +
		base64.StdEncoding.EncodeToString(finalRoot) + "\n" + origin + "\n" + vkey + "\n"
}
