package record

import (
	"encoding/json"
	"time"

	"github.com/fjaledger/fja/verify"
)

// The answers of the HTTP API (DESIGN.md §5, §6). Byte fields are base64
// in JSON, as encoding/json writes []byte.

// ErrorBody is the body of every error answer, {"error":{...}}, and of a
// failed record in a batch answer. Field names what a 400 is about.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// LogInfo is the body of GET /v1/log.
type LogInfo struct {
	Origin        string   `json:"origin"`
	VerifierKey   string   `json:"verifier_key"`
	VerifierKeys  []string `json:"verifier_keys"`
	TreeSize      uint64   `json:"tree_size"`
	Checkpoint    string   `json:"checkpoint"`
	WitnessPolicy string   `json:"witness_policy"`
	Limits        Limits   `json:"limits"`
	// Shards lists the log's temporal shards, oldest first (DESIGN.md
	// §4): one, the active shard, until the first `ledgerctl rotate`.
	// Origin, VerifierKey(s), TreeSize and Checkpoint above are the active
	// shard's.
	Shards []ShardInfo `json:"shards,omitempty"`
}

// The states of a shard in ShardInfo.
const (
	ShardActive = "active"
	ShardFrozen = "frozen"
)

// ShardInfo is one shard in GET /v1/log. URL is the shard's tlog-tiles
// prefix on this server ("/shards/<n>/": <url>checkpoint and <url>tile/...);
// the root /checkpoint and /tile/ are the active shard's. Each shard is its
// own log, with indices from 0: FirstIndex and LastIndex, and the log
// times of those entries, are absent while it is empty.
type ShardInfo struct {
	N             int     `json:"n"`
	Origin        string  `json:"origin"`
	VKey          string  `json:"vkey"`
	URL           string  `json:"url"`
	State         string  `json:"state"`
	TreeSize      uint64  `json:"tree_size"`
	Checkpoint    string  `json:"checkpoint"`
	FirstIndex    *uint64 `json:"first_index,omitempty"`
	LastIndex     *uint64 `json:"last_index,omitempty"`
	FirstLoggedAt string  `json:"first_logged_at,omitempty"`
	LastLoggedAt  string  `json:"last_logged_at,omitempty"`
}

// Limits are the log's published limits.
type Limits struct {
	MaxEntryBytes int `json:"max_entry_bytes"`
	TileHeight    int `json:"tile_height"`
	// What a request body may hold: checked while it is decoded, before
	// anything else is spent on it.
	MaxBodyBytes       int64 `json:"max_body_bytes"`
	MaxBatchRecords    int   `json:"max_batch_records"`
	MaxJSONDepth       int   `json:"max_json_depth"`
	MaxJSONObjectKeys  int   `json:"max_json_object_keys"`
	MaxJSONArrayItems  int   `json:"max_json_array_items"`
	MaxJSONNumberLen   int   `json:"max_json_number_length"`
	MaxJSONStringBytes int   `json:"max_json_string_bytes"`
}

// Entry is the body of GET /v1/entries/{index}.
type Entry struct {
	Index          uint64   `json:"index"`
	Entry          []byte   `json:"entry"`
	LeafHash       []byte   `json:"leaf_hash"`
	Checkpoint     string   `json:"checkpoint"`
	InclusionProof [][]byte `json:"inclusion_proof"`
}

// InclusionProof is the body of GET /v1/proofs/inclusion.
type InclusionProof struct {
	Index    uint64   `json:"index"`
	Size     uint64   `json:"size"`
	LeafHash []byte   `json:"leaf_hash"`
	Hashes   [][]byte `json:"hashes"`
}

// ConsistencyProof is the body of GET /v1/proofs/consistency.
type ConsistencyProof struct {
	From   uint64   `json:"from"`
	To     uint64   `json:"to"`
	Hashes [][]byte `json:"hashes"`
}

// Range is the index range [From, To) an answer covers ("scanned").
type Range struct {
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
}

// BatchResult is one element of the POST /v1/decisions:batch answer,
// {"results":[...]}: a receipt or an error. Duplicate is set when the
// record was logged before (the first receipt); WitnessPending when the
// receipt is log-signed because no cosigned checkpoint covered it in time.
type BatchResult struct {
	Receipt        json.RawMessage `json:"receipt,omitempty"`
	Duplicate      bool            `json:"duplicate,omitempty"`
	WitnessPending bool            `json:"witness_pending,omitempty"`
	Error          *ErrorBody      `json:"error,omitempty"`
}

// BatchAnswer is the body of a 200 from POST /v1/decisions:batch.
type BatchAnswer struct {
	Results []BatchResult `json:"results"`
}

// QueryRecord is one record of a query answer, proven against the answer's
// checkpoint.
type QueryRecord struct {
	Index          uint64   `json:"index"`
	Entry          []byte   `json:"entry"`
	LeafHash       []byte   `json:"leaf_hash"`
	InclusionProof [][]byte `json:"inclusion_proof"`
	// Private is the record's private content (decision prompt and
	// response, contest grounds), with private=true, while not erased.
	Private map[string]string `json:"private,omitempty"`
}

// QueryAnswer is the body of GET /v1/query.
type QueryAnswer struct {
	Records    []QueryRecord `json:"records"`
	Checkpoint string        `json:"checkpoint"`
	Scanned    Range         `json:"scanned"`
	NextCursor string        `json:"next_cursor,omitempty"`
	// AccessReceipt is, when private content is answered, the receipt of
	// the access record logged for this read before the answer was made.
	AccessReceipt *verify.Receipt `json:"access_receipt,omitempty"`
	// Shards are, on the first page (no cursor) of a log with frozen
	// shards, the first page of each frozen shard's records in the window
	// (never with private content), oldest first; the fields above are the
	// active shard's.
	Shards []ShardAnswer `json:"shards,omitempty"`
}

// ShardAnswer is a frozen shard's part of a query or stats answer: the
// records (query) or groups (stats) of that shard, proven against or
// counted at its final checkpoint, with the index range scanned in it.
type ShardAnswer struct {
	N          int           `json:"n"`
	Origin     string        `json:"origin"`
	Checkpoint string        `json:"checkpoint"`
	Scanned    Range         `json:"scanned"`
	Records    []QueryRecord `json:"records,omitempty"`
	// NextCursor is set when the shard has more matching records than the
	// page holds: "s<n>-<index>", a cursor naming the shard, answered by
	// GET /v1/query with it (the answer's shards then hold that page alone).
	NextCursor string  `json:"next_cursor,omitempty"`
	Groups     []Group `json:"groups,omitempty"`
}

// Group is one row of a stats answer.
type Group struct {
	Key        map[string]string `json:"key"`
	Count      int               `json:"count"`
	Contests   int               `json:"contests"`
	Overturned int               `json:"overturned"`
	Overdue    int               `json:"overdue"`
	// Records is, for access statistics, the number of records whose
	// private content the counted accesses read (0 and absent otherwise).
	Records int `json:"records,omitempty"`
}

// StatsAnswer is the body of GET /v1/stats.
//
// On a log with frozen shards, Groups count every shard, Checkpoint and
// Scanned are the active shard's, and Shards itemises each frozen shard's
// own groups, checkpoint and range, oldest first.
type StatsAnswer struct {
	Groups     []Group       `json:"groups"`
	Checkpoint string        `json:"checkpoint"`
	Scanned    Range         `json:"scanned"`
	Shards     []ShardAnswer `json:"shards,omitempty"`
}

// ContestFiled is the body of a 201 from POST /v1/contests.
type ContestFiled struct {
	Receipt   *verify.Receipt `json:"receipt"`
	ContestID string          `json:"contest_id"`
	DueBy     string          `json:"due_by"`
}

// ResolutionLogged is the body of a 201 from POST /v1/contests/{id}/resolution.
type ResolutionLogged struct {
	Receipt   *verify.Receipt `json:"receipt"`
	ContestID string          `json:"contest_id"`
	Outcome   string          `json:"outcome"`
}

// ConstitutionLogged is the body of a 201 from POST /v1/constitutions.
type ConstitutionLogged struct {
	Receipt      *verify.Receipt `json:"receipt"`
	Constitution string          `json:"constitution"`
}

// RecordProof is a logged record with its inclusion proof.
type RecordProof struct {
	Index          uint64    `json:"index"`
	Entry          []byte    `json:"entry"`
	LeafHash       []byte    `json:"leaf_hash"`
	InclusionProof [][]byte  `json:"inclusion_proof"`
	Record         *Envelope `json:"record"`
	// Shard and Checkpoint are set for a record of a frozen shard
	// (DESIGN.md §4 shard): its number (GET /v1/log lists its origin and
	// key) and the final checkpoint the proof is against. Without them the
	// proof is against the answer's own checkpoint.
	Shard      int    `json:"shard,omitempty"`
	Checkpoint string `json:"checkpoint,omitempty"`
}

// ContestView is the body of GET /v1/contests/{id}: both records proven
// against one checkpoint, except a record of a frozen shard (a contest
// filed before a rotation), proven against that shard's final checkpoint
// (RecordProof.Shard, RecordProof.Checkpoint).
type ContestView struct {
	ContestID  string       `json:"contest_id"`
	DecisionID string       `json:"decision_id"`
	Status     string       `json:"status"`
	DueBy      string       `json:"due_by"`
	FiledAt    string       `json:"filed_at"`
	Checkpoint string       `json:"checkpoint"`
	Contest    *RecordProof `json:"contest"`
	Resolution *RecordProof `json:"resolution"`
}

// AccessView is one access record as the person concerned sees it.
type AccessView struct {
	Index    uint64 `json:"index"`
	LoggedAt string `json:"logged_at"`
	Actor    Actor  `json:"actor"`
	Purpose  string `json:"purpose"`
	Route    string `json:"route"`
}

// DecisionView is the body of GET /v1/decisions/{id}.
type DecisionView struct {
	DecisionID     string          `json:"decision_id"`
	Index          uint64          `json:"index"`
	Entry          []byte          `json:"entry"`
	LeafHash       []byte          `json:"leaf_hash"`
	Record         json.RawMessage `json:"record"`
	Checkpoint     string          `json:"checkpoint"`
	InclusionProof [][]byte        `json:"inclusion_proof"`
	// Private is the decrypted private content, for the regulator role
	// only, while it has not been erased; it is answered only with the
	// X-Access-Purpose header, after the access record is logged.
	Private map[string]string `json:"private,omitempty"`
	// AccessReceipt is the receipt of the access record logged for this
	// read of Private, before the answer was made.
	AccessReceipt *verify.Receipt `json:"access_receipt,omitempty"`
	// Accesses are, for the subject (X-Contest-Token), the logged reads of
	// the decision's private content, oldest first; AccessesTruncated when
	// there are more than the server lists.
	Accesses          []AccessView `json:"accesses,omitempty"`
	AccessesTruncated bool         `json:"accesses_truncated,omitempty"`
}

// ChallengeFiled is the body of a 201 from POST /v1/challenges.
type ChallengeFiled struct {
	Receipt     *verify.Receipt `json:"receipt"`
	ChallengeID string          `json:"challenge_id"`
	DueBy       string          `json:"due_by"`
}

// ChallengeResponseLogged is the body of a 201 from POST
// /v1/challenges/{id}/response.
type ChallengeResponseLogged struct {
	Receipt     *verify.Receipt `json:"receipt"`
	ChallengeID string          `json:"challenge_id"`
	Outcome     string          `json:"outcome"`
	AmendmentID string          `json:"amendment_id,omitempty"`
}

// AmendmentLogged is the body of a 201 from POST /v1/amendments.
type AmendmentLogged struct {
	Receipt      *verify.Receipt `json:"receipt"`
	AmendmentID  string          `json:"amendment_id"`
	Constitution string          `json:"constitution"`
	CommentUntil string          `json:"comment_until,omitempty"`
}

// ChallengeView is the body of GET /v1/challenges/{id}: the challenge
// and its response (nil while open) proven against one checkpoint.
// Status is open, answered or overdue (open past due_by).
type ChallengeView struct {
	ChallengeID string       `json:"challenge_id"`
	Rule        RuleRef      `json:"rule"`
	Status      string       `json:"status"`
	DueBy       string       `json:"due_by"`
	FiledAt     string       `json:"filed_at"`
	Outcome     string       `json:"outcome,omitempty"`
	AmendmentID string       `json:"amendment_id,omitempty"`
	Checkpoint  string       `json:"checkpoint"`
	Challenge   *RecordProof `json:"challenge"`
	Response    *RecordProof `json:"response"`
}

// ExplanationFormat names the format of an Explanation bundle.
const ExplanationFormat = "fja-explanation/v1"

// Explanation is the body of GET /v1/decisions/{id}/explanation, and the
// self-verifying file the person concerned downloads (AI Act Art. 86, DSA
// Art. 17): the decision and the constitution version it cites, both
// proven against one signed checkpoint, with what they say shown in
// plain form. Everything shown is derived from the two logged entries (and
// the contests' entries), so package verify/explanation checks it offline
// with nothing but the log's verifier key. It carries no private content.
//
// Its bytes are canonical (verify/explanation.Encode): fields in the
// lexicographic order of their JSON names, no whitespace, no HTML
// escaping; a file in any other form does not verify.
type Explanation struct {
	// Candidates and Weights are the decision's.
	Candidates []Candidate `json:"candidates"`
	// Checkpoint is the signed checkpoint every proof is against.
	Checkpoint   string       `json:"checkpoint"`
	Constitution *RecordProof `json:"constitution"`
	// ContestWindow is absent when the decision is not contestable.
	ContestWindow *ContestWindow `json:"contest_window,omitempty"`
	// Contests are those filed against the decision, in log order.
	Contests   []ProvenContest `json:"contests"`
	Decision   *RecordProof    `json:"decision"`
	DecisionID string          `json:"decision_id"`
	// Flags are the decision's provenance flags, each in plain words.
	Flags []ExplainedFlag `json:"flags"`
	// Format is ExplanationFormat.
	Format string `json:"format"`
	// KeyName is the log key's "<name>+<hash>": which verifier key the
	// checkpoint is to be opened with (the key itself is not in the file).
	KeyName string `json:"key_name"`
	Origin  string `json:"origin"`
	// Rules are the rules the decision cites, in its order, each with its
	// full text from the constitution entry.
	Rules   []ExplainedRule    `json:"rules"`
	Weights map[string]float64 `json:"weights"`
}

// MinContestWindow is the shortest contest window a log may have: a
// decision stays contestable for at least six months (DSA Art. 20).
const MinContestWindow = 183 * 24 * time.Hour

// ContestWindow is how long the decision can be contested: until its
// logged_at plus the log's configured window (at least six months).
type ContestWindow struct {
	ContestableUntil string `json:"contestable_until"`
	WindowSeconds    int64  `json:"window_seconds"`
}

// ProvenContest is a contest of the decision and, once logged, its
// resolution, proven against the explanation's checkpoint.
type ProvenContest struct {
	Contest    *RecordProof `json:"contest"`
	Resolution *RecordProof `json:"resolution,omitempty"`
}

// ExplainedRule is a rule a decision cites: the effect and rationale from
// the decision, the pillar and text from the constitution.
type ExplainedRule struct {
	Effect    string `json:"effect"`
	Pillar    string `json:"pillar"`
	Rationale string `json:"rationale"`
	RuleID    string `json:"rule_id"`
	Text      string `json:"text"`
}

// ExplainedFlag is a provenance flag with a sentence for the person
// concerned.
type ExplainedFlag struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	PlainWords string `json:"plain_words"`
	Severity   string `json:"severity"`
}
