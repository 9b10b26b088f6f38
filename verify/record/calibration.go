package record

// The answer of GET /v1/rules (DESIGN.md §6): every rule of every logged
// constitution version, its history, and its calibration figures over a
// window, each with a Wilson 95% interval. The figures are functions of
// the counts they carry (verify/calibration computes both the server's and
// an auditor's), so a recount compares counts and figures exactly.

// Rate is k successes of n trials, with Rate = k/n and [Lo, Hi] the Wilson
// score 95% interval (z = 1.959963984540054). With n = 0 the rate is 0 and
// the interval [0, 1]: no observation constrains it.
type Rate struct {
	K    int     `json:"k"`
	N    int     `json:"n"`
	Rate float64 `json:"rate"`
	Lo   float64 `json:"lo"`
	Hi   float64 `json:"hi"`
}

// RuleCounts are the counts behind one rule's calibration figures, over
// the decisions of the window that match the filters and cite the rule
// under one constitution version. Contests and resolutions are counted
// wherever they are logged up to the answer's checkpoint.
type RuleCounts struct {
	// Cited: decisions citing the rule (a rule cited twice counts once).
	Cited int `json:"cited"`
	// Refusing: of them, decisions citing the rule with effect refuse.
	Refusing int `json:"refusing"`
	// Contested: of the refusing decisions, those with at least one contest.
	Contested int `json:"contested"`
	// Resolved: contests of the refusing decisions that are resolved.
	Resolved int `json:"resolved"`
	// Overturned: of the resolved contests, those resolved overturned or
	// partially_overturned.
	Overturned int `json:"overturned"`
}

// Calibration are a rule's figures: refusal = Refusing/Cited, contest =
// Contested/Refusing, overturn = Overturned/Resolved (the false-refusal
// estimate: the share of reviewed refusals under the rule that review
// found wrong in whole or in part).
type Calibration struct {
	Counts   RuleCounts `json:"counts"`
	Refusal  Rate       `json:"refusal"`
	Contest  Rate       `json:"contest"`
	Overturn Rate       `json:"overturn"`
}

// RuleVersion is one step of a rule's history across the versions of its
// constitution, in log order: added (first in this version, or back after
// a removal), unchanged, reworded (text or pillar changed) or removed
// (in the previous version, not in this one).
type RuleVersion struct {
	Version string `json:"version"`
	Change  string `json:"change"`
	Text    string `json:"text,omitempty"`
	Pillar  string `json:"pillar,omitempty"`
}

// RuleView is one rule of one constitution version.
type RuleView struct {
	RuleID      string          `json:"rule_id"`
	Text        string          `json:"text"`
	Pillar      string          `json:"pillar"`
	History     []RuleVersion   `json:"history"`
	Calibration Calibration     `json:"calibration"`
	Challenges  []RuleChallenge `json:"challenges"`
	Amendments  []RuleAmendment `json:"amendments"`
}

// RuleChallenge is a challenge of the rule (in this version) as logged up
// to the answer's checkpoint: Status is answered once a response is
// logged (with its Outcome and, when accepted, AmendmentID), else open; an
// open challenge past DueBy is overdue (compare with the clock: the answer
// does not depend on it).
type RuleChallenge struct {
	ChallengeID string `json:"challenge_id"`
	Index       uint64 `json:"index"`
	Category    string `json:"category"`
	DueBy       string `json:"due_by"`
	Status      string `json:"status"`
	Outcome     string `json:"outcome,omitempty"`
	AmendmentID string `json:"amendment_id,omitempty"`
}

// RuleAmendment is an amendment changing the rule (of this version): the
// Op on it, the end of its comment period, and the later version that
// adopts it (AdoptedBy, empty while none does).
type RuleAmendment struct {
	AmendmentID  string `json:"amendment_id"`
	Index        uint64 `json:"index"`
	RuleID       string `json:"rule_id"`
	Op           string `json:"op"`
	Text         string `json:"text,omitempty"`
	CommentUntil string `json:"comment_until,omitempty"`
	AdoptedBy    string `json:"adopted_by,omitempty"`
}

// ConstitutionView is one logged constitution version and its rules.
type ConstitutionView struct {
	ConstitutionID string     `json:"constitution_id"`
	Version        string     `json:"version"`
	Supersedes     string     `json:"supersedes,omitempty"`
	Adopts         []string   `json:"adopts,omitempty"`
	Index          uint64     `json:"index"`
	Rules          []RuleView `json:"rules"`
	// Additions are the amendments of this version that add a rule it
	// does not hold.
	Additions []RuleAmendment `json:"additions,omitempty"`
}

// SensitivityGroup is the refusal rate (decisions refused / decisions) of
// one jurisdiction or locale within one outcome category. Included is
// false when N is below the answer's min_n: the group is shown but not
// part of the ratio.
type SensitivityGroup struct {
	Value    string `json:"value"`
	Refusal  Rate   `json:"refusal"`
	Included bool   `json:"included"`
}

// Sensitivity is the pluralistic sensitivity of one outcome category
// along one dimension (By: jurisdiction or locale): the ratio of the
// highest to the lowest refusal rate among the included groups, Max and
// Min naming them. Ratio is null when fewer than two groups are included
// or the lowest rate is 0. [RatioLo, RatioHi] bounds the ratio from the
// two groups' Wilson bounds: Max.Lo/Min.Hi to Max.Hi/Min.Lo; RatioHi is
// null (unbounded) when Min.Lo is 0.
type Sensitivity struct {
	Category string             `json:"category"`
	By       string             `json:"by"`
	Groups   []SensitivityGroup `json:"groups"`
	Max      string             `json:"max,omitempty"`
	Min      string             `json:"min,omitempty"`
	Ratio    *float64           `json:"ratio"`
	RatioLo  *float64           `json:"ratio_lo"`
	RatioHi  *float64           `json:"ratio_hi"`
}

// VersionChange compares, for one rule present in both, the overturn rate
// of decisions under a constitution version (From) with that under the
// version that supersedes it (To): Difference = After.Rate - Before.Rate,
// with Newcombe's hybrid score interval [Lo, Hi] from the two Wilson
// intervals. Adopts are the amendments the later version adopts.
type VersionChange struct {
	ConstitutionID string   `json:"constitution_id"`
	From           string   `json:"from"`
	To             string   `json:"to"`
	Adopts         []string `json:"adopts,omitempty"`
	RuleID         string   `json:"rule_id"`
	Before         Rate     `json:"before"`
	After          Rate     `json:"after"`
	Difference     float64  `json:"difference"`
	Lo             float64  `json:"lo"`
	Hi             float64  `json:"hi"`
}

// RulesAnswer is the body of GET /v1/rules: the figures over the decisions
// of the index range Scanned matching the filters, as of Checkpoint, with
// contests and resolutions counted up to it; constitutions are all those
// logged up to it.
type RulesAnswer struct {
	Constitutions []ConstitutionView `json:"constitutions"`
	Sensitivity   []Sensitivity      `json:"sensitivity"`
	Changes       []VersionChange    `json:"changes"`
	MinN          int                `json:"min_n"`
	Checkpoint    string             `json:"checkpoint"`
	Scanned       Range              `json:"scanned"`
}
