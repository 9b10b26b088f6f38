package record

import (
	"encoding/json"

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
type StatsAnswer struct {
	Groups     []Group `json:"groups"`
	Checkpoint string  `json:"checkpoint"`
	Scanned    Range   `json:"scanned"`
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
}

// ContestView is the body of GET /v1/contests/{id}: both records proven
// against one checkpoint.
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
