package audit

import "encoding/json"

// Kind is a record kind.
type Kind string

// The record kinds of DESIGN.md §4.
const (
	KindDecision     Kind = "decision"
	KindConstitution Kind = "constitution"
	KindContest      Kind = "contest"
	KindResolution   Kind = "resolution"
)

// Envelope is every leaf: a kind, a version, the log time and the body.
type Envelope struct {
	Kind     Kind            `json:"kind"`
	V        int             `json:"v"`
	LoggedAt string          `json:"logged_at"`
	Body     json.RawMessage `json:"body"`
}

// Decision is the body of a decision record.
type Decision struct {
	DecisionID      string             `json:"decision_id"`
	OccurredAt      string             `json:"occurred_at"`
	System          System             `json:"system"`
	Subject         Subject            `json:"subject"`
	Request         *Commitment        `json:"request,omitempty"`
	Objectives      []Objective        `json:"objectives"`
	Constitution    ConstitutionRef    `json:"constitution"`
	Rules           []AppliedRule      `json:"rules"`
	Weights         map[string]float64 `json:"weights"`
	Candidates      []Candidate        `json:"candidates"`
	ProvenanceFlags []ProvenanceFlag   `json:"provenance_flags"`
	Outcome         Outcome            `json:"outcome"`
	Response        *Commitment        `json:"response,omitempty"`
	Contest         *ContestStanding   `json:"contest,omitempty"`
}

// System names the model and deployment that decided.
type System struct {
	Operator     string `json:"operator"`
	Model        string `json:"model"`
	ModelVersion string `json:"model_version"`
	Deployment   string `json:"deployment"`
}

// Subject is the pseudonymous person the decision concerns.
type Subject struct {
	Ref          string `json:"ref"`
	Jurisdiction string `json:"jurisdiction"`
	Locale       string `json:"locale"`
}

// Commitment hides content: "sha256:" + hex(SHA-256(salt || content)).
type Commitment struct {
	Commitment string `json:"commitment"`
}

// Objective is one objective extracted from or given with the request.
type Objective struct {
	ID          string  `json:"id"`
	Description string  `json:"description"`
	Source      string  `json:"source"`
	Confidence  float64 `json:"confidence"`
}

// ConstitutionRef cites a published constitution version.
type ConstitutionRef struct {
	ID      string `json:"id"`
	Version string `json:"version"`
}

// AppliedRule is a constitution rule that fired, with its effect.
type AppliedRule struct {
	RuleID    string `json:"rule_id"`
	Effect    string `json:"effect"`
	Rationale string `json:"rationale"`
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
	Explanation string `json:"explanation"`
	Contestable bool   `json:"contestable"`
}

// ContestStanding carries the hash of the subject's contest token.
type ContestStanding struct {
	TokenSHA256 string `json:"token_sha256"`
}

// Constitution is the body of a constitution record.
type Constitution struct {
	ConstitutionID string             `json:"constitution_id"`
	Version        string             `json:"version"`
	Rules          []ConstitutionRule `json:"rules"`
	Process        json.RawMessage    `json:"process"`
	Supersedes     *string            `json:"supersedes,omitempty"`
}

// ConstitutionRule is one rule of a constitution.
type ConstitutionRule struct {
	RuleID string `json:"rule_id"`
	Text   string `json:"text"`
	Pillar string `json:"pillar"`
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
