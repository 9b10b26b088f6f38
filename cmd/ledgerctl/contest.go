package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/verify"
)

// Limits and enums of the contest and resolution schemas (schemas/append-*.v1.json).
var (
	idPattern       = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
	remedies        = []string{"reconsider", "explain", "correct"}
	outcomes        = []string{"upheld", "overturned", "partially_overturned", "withdrawn"}
	ruleChangeKinds = []string{"add", "amend", "remove"}
)

const maxGroundsText = 32768

func oneOf(v string, set []string) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}

// serverErr names the request; an answer of the server says its message,
// HTTP status and code itself (apiError).
func serverErr(method, path string, err error) error {
	return fmt.Errorf("%s %s: %w", method, path, err)
}

// decisionReceipt is what contest needs from the subject's decision receipt.
type decisionReceipt struct {
	*verify.Receipt
	DecisionID string
	LeafHash   []byte // recomputed from the entry
}

// readDecisionReceipt parses the subject's decision receipt: it must be a
// receipt of a decision entry and carry the contest token.
func readDecisionReceipt(cmd *cobra.Command, name string) (*decisionReceipt, error) {
	b, err := readInput(cmd, name)
	if err != nil {
		return nil, err
	}
	r, err := verify.ParseReceipt(bytes.TrimSpace(b))
	if err != nil {
		return nil, fmt.Errorf("%s is not a receipt: %w", name, err)
	}
	var env struct {
		Kind string `json:"kind"`
		Body struct {
			DecisionID string `json:"decision_id"`
		} `json:"body"`
	}
	if err := json.Unmarshal(r.Entry, &env); err != nil {
		return nil, fmt.Errorf("%s: the entry is not a JSON envelope: %w", name, err)
	}
	if env.Kind != "decision" || env.Body.DecisionID == "" {
		return nil, fmt.Errorf("%s is the receipt of a %s entry, not of a decision", name, env.Kind)
	}
	if r.ContestToken == "" {
		return nil, fmt.Errorf("%s has no contest_token: only the subject's copy of the decision's first receipt carries it", name)
	}
	return &decisionReceipt{Receipt: r, DecisionID: env.Body.DecisionID, LeafHash: verify.LeafHash(r.Entry)}, nil
}

// contestBody is the body of a contest leaf (schemas/contest.v1.json).
type contestBody struct {
	ContestID string `json:"contest_id"`
	Decision  struct {
		Index      uint64 `json:"index"`
		LeafHash   []byte `json:"leaf_hash"`
		DecisionID string `json:"decision_id"`
	} `json:"decision"`
	Grounds struct {
		Category   string `json:"category"`
		Commitment string `json:"commitment"`
	} `json:"grounds"`
	Remedy  string `json:"remedy"`
	DueBy   string `json:"due_by"`
	FiledAt string `json:"filed_at,omitempty"`
}

// ruleChange is one entry of a resolution's rule_changes.
type ruleChange struct {
	RuleID              string `json:"rule_id"`
	Change              string `json:"change"`
	ConstitutionVersion string `json:"constitution_version"`
}

// resolutionBody is the body of a resolution leaf (schemas/resolution.v1.json).
type resolutionBody struct {
	ContestID     string       `json:"contest_id"`
	Outcome       string       `json:"outcome"`
	Rationale     string       `json:"rationale"`
	HumanReviewed bool         `json:"human_reviewed"`
	RuleChanges   []ruleChange `json:"rule_changes"`
}

// logged decodes an entry's envelope and checks its kind.
func logged(entry []byte, kind string, body any) error {
	var env struct {
		Kind string          `json:"kind"`
		Body json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(entry, &env); err != nil {
		return fmt.Errorf("the logged entry is not a JSON envelope: %w", err)
	}
	if env.Kind != kind {
		return fmt.Errorf("the logged entry is a %q record, not a %s", env.Kind, kind)
	}
	if err := json.Unmarshal(env.Body, body); err != nil {
		return fmt.Errorf("the logged %s body: %w", kind, err)
	}
	return nil
}

// checkContestEntry checks that a logged entry is contest id against the
// decision in d (its id and, when d has them, index and leaf hash).
func checkContestEntry(entry []byte, id string, d *decisionReceipt, decisionID string) (*contestBody, error) {
	var c contestBody
	if err := logged(entry, "contest", &c); err != nil {
		return nil, err
	}
	if c.ContestID != id {
		return nil, fmt.Errorf("the logged contest is %q, not %q", c.ContestID, id)
	}
	if c.Decision.DecisionID != decisionID {
		return nil, fmt.Errorf("the logged contest %s is against decision %q, not %q", id, c.Decision.DecisionID, decisionID)
	}
	if d != nil && (c.Decision.Index != d.Index || !bytes.Equal(c.Decision.LeafHash, d.LeafHash)) {
		return nil, fmt.Errorf("the logged contest %s names decision entry %d (leaf %s), but the receipt of %s is entry %d (leaf %s)",
			id, c.Decision.Index, b64(c.Decision.LeafHash), decisionID, d.Index, b64(d.LeafHash))
	}
	return &c, nil
}

// sameInstant reports whether two RFC 3339 times are the same instant.
func sameInstant(a, b string) bool {
	ta, err1 := time.Parse(time.RFC3339Nano, a)
	tb, err2 := time.Parse(time.RFC3339Nano, b)
	return err1 == nil && err2 == nil && ta.Equal(tb)
}

// checkOrigin applies --origin to a verified receipt.
func checkOrigin(vo *verifyOptions, origin, got string) error {
	if vo.origin != "" && got != origin {
		return fmt.Errorf("the receipt is for origin %q, want %q", got, origin)
	}
	return nil
}

func writeFileLine(name string, b []byte) error {
	if len(b) == 0 || b[len(b)-1] != '\n' {
		b = append(b[:len(b):len(b)], '\n')
	}
	return writeFile(name, b)
}

func newContestCmd() *cobra.Command {
	var (
		receipt, grounds, groundsFile, category, remedy, id, out string
		vo                                                       verifyOptions
	)
	cmd := &cobra.Command{
		Use:   "contest --receipt DECISION_RECEIPT.json (--grounds TEXT | --grounds-file F) --category C --remedy reconsider|explain|correct [--contest-id ID] [--key VKEY] [--out FILE]",
		Short: "File a contest against a logged decision, as its subject",
		Long: `contest files a contest (POST /v1/contests) against the decision whose receipt
is given with --receipt: the subject's copy, which holds the contest token that
proves standing. No bearer token is sent.

The grounds text (--grounds, or --grounds-file, - for standard input) is kept
encrypted outside the log; only its commitment is logged. --category names the
kind of grounds (e.g. false-refusal), --remedy the remedy asked for:
reconsider, explain or correct. --contest-id defaults to "con-" and 16 random
hex digits. Filing the same contest again returns the first answer.

With --key the contest receipt is verified offline, and its entry must be a
contest record with that id naming the decision's entry (index and leaf hash)
from --receipt. The contest receipt is always written (mode 0600): to --out
FILE, by default to <contest-id>.contest.json beside the decision receipt.

Prints "contest ID filed against DECISION, due by T", where the contest
receipt was written and what was verified (or that nothing was, without
--key); with --json the server's answer.

  ledgerctl contest status ID (--contest-token T | --receipt DECISION_RECEIPT.json | --token BEARER)

shows a contest's status, deadline and resolution.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			switch {
			case receipt == "":
				return usageErrorf("--receipt is required: the decision's receipt holding the contest token")
			case f.Changed("grounds") == f.Changed("grounds-file"):
				return usageErrorf("give exactly one of --grounds TEXT and --grounds-file FILE")
			case !idPattern.MatchString(category):
				return usageErrorf("--category is required: 1 to 128 letters, digits, '.', '_', ':' or '-' (e.g. false-refusal), not %q", category)
			case !oneOf(remedy, remedies):
				return usageErrorf("--remedy must be one of %s, not %q", strings.Join(remedies, ", "), remedy)
			case f.Changed("contest-id") && !idPattern.MatchString(id):
				return usageErrorf("--contest-id must be 1 to 128 letters, digits, '.', '_', ':' or '-', not %q", id)
			}
			var origin, key string
			var others []string
			if len(vo.keys) > 0 {
				var err error
				if origin, key, others, err = vo.resolve(); err != nil {
					return err
				}
			}
			text := grounds
			if groundsFile != "" {
				b, err := readInput(cmd, groundsFile)
				if err != nil {
					return err
				}
				text = strings.TrimRight(string(b), "\r\n")
			}
			if strings.TrimSpace(text) == "" {
				return usageErrorf("the grounds are empty: say why the decision is wrong")
			}
			if !utf8.ValidString(text) || len([]rune(text)) > maxGroundsText {
				return usageErrorf("the grounds must be UTF-8 text of at most %d characters", maxGroundsText)
			}
			d, err := readDecisionReceipt(cmd, receipt)
			if err != nil {
				return err
			}
			if id == "" {
				var rnd [8]byte
				if _, err := rand.Read(rnd[:]); err != nil {
					return err
				}
				id = "con-" + hex.EncodeToString(rnd[:])
			}
			req := map[string]any{
				"contest_id":    id,
				"decision_id":   d.DecisionID,
				"contest_token": d.ContestToken,
				"grounds":       map[string]string{"category": category, "text": text},
				"remedy":        remedy,
			}
			body, err := json.Marshal(req)
			if err != nil {
				return err
			}
			g := globals(cmd)
			g.Token = "" // the subject proves standing with the contest token alone
			const path = "/v1/contests"
			code, ans, err := g.client().Do(cmd.Context(), http.MethodPost, path, body, nil)
			if err != nil {
				return serverErr(http.MethodPost, path, err)
			}
			var res struct {
				Receipt   json.RawMessage `json:"receipt"`
				ContestID string          `json:"contest_id"`
				DueBy     string          `json:"due_by"`
			}
			if err := json.Unmarshal(ans, &res); err != nil || len(res.Receipt) == 0 || string(res.Receipt) == "null" {
				return fmt.Errorf("POST %s: the answer has no receipt: %s", path, client.Clip(ans))
			}
			if res.ContestID != id {
				return fmt.Errorf("POST %s: the server answered contest %q, filed %q", path, res.ContestID, id)
			}
			verified := notVerified("contest")
			if key != "" {
				r, cp, err := verify.VerifyReceipt(res.Receipt, key, others...)
				if err != nil {
					return fmt.Errorf("the contest receipt does NOT verify: %w", err)
				}
				if err := checkOrigin(&vo, origin, r.Origin); err != nil {
					return err
				}
				c, err := checkContestEntry(r.Entry, id, d, d.DecisionID)
				if err != nil {
					return err
				}
				if c.Remedy != remedy || c.Grounds.Category != category {
					return fmt.Errorf("the logged contest asks %s on grounds %q, filed %s on %q", c.Remedy, c.Grounds.Category, remedy, category)
				}
				if !sameInstant(c.DueBy, res.DueBy) {
					return fmt.Errorf("the server says due by %q, the logged contest %q", res.DueBy, c.DueBy)
				}
				verified = fmt.Sprintf("verified offline with the key of %s: the contest receipt (entry %d in the tree of size %d), and its logged entry is contest %s against decision %s (entry %d), asking %s on %s grounds, due by %s",
					cp.Origin, r.Index, cp.Size, id, d.DecisionID, d.Index, c.Remedy, c.Grounds.Category, c.DueBy)
			}
			again := ""
			if code == http.StatusOK {
				again = " (filed before)"
			}
			if out == "" {
				out = filepath.Join(receiptDir(receipt), id+".contest.json")
			}
			return finishWrite(cmd, g, out, res.Receipt, ans,
				fmt.Sprintf("contest %s filed against %s, due by %s%s", id, d.DecisionID, res.DueBy, again), "contest", verified)
		},
	}
	f := cmd.Flags()
	f.StringVar(&receipt, "receipt", "", "the decision's receipt `FILE` (the subject's copy, with the contest token)")
	f.StringVar(&grounds, "grounds", "", "why the decision is wrong, as `TEXT`")
	f.StringVar(&groundsFile, "grounds-file", "", "read the grounds from `FILE` (- for standard input)")
	f.StringVar(&category, "category", "", "the kind of grounds, e.g. false-refusal")
	f.StringVar(&remedy, "remedy", "", "the remedy asked for: reconsider, explain or correct")
	f.StringVar(&id, "contest-id", "", "the contest `ID` (default con-<16 random hex digits>)")
	f.StringVar(&out, "out", "", "write the contest receipt to `FILE` (default: <contest-id>.contest.json beside the decision receipt)")
	vo.register(cmd)
	f.Lookup("key").Usage = "verify the contest receipt offline with the log verifier `key` (vkey text, or a file holding it); repeatable" // optional here
	cmd.AddCommand(newContestStatusCmd())
	return cmd
}

// loggedRecordView is one record of GET /v1/contests/{id}.
type loggedRecordView struct {
	Index          uint64          `json:"index"`
	Entry          []byte          `json:"entry"`
	LeafHash       []byte          `json:"leaf_hash"`
	InclusionProof [][]byte        `json:"inclusion_proof"`
	Record         json.RawMessage `json:"record"`
}

// contestView is the body of GET /v1/contests/{id}.
type contestView struct {
	ContestID  string            `json:"contest_id"`
	DecisionID string            `json:"decision_id"`
	Status     string            `json:"status"`
	DueBy      string            `json:"due_by"`
	FiledAt    string            `json:"filed_at"`
	Checkpoint string            `json:"checkpoint"`
	Contest    *loggedRecordView `json:"contest"`
	Resolution *loggedRecordView `json:"resolution"`
}

func newContestStatusCmd() *cobra.Command {
	var (
		contestToken, receipt string
		vo                    verifyOptions
	)
	cmd := &cobra.Command{
		Use:   "status CONTEST_ID (--contest-token T | --receipt DECISION_RECEIPT.json | --token BEARER) [--key VKEY]",
		Short: "Show a contest's status, deadline and resolution",
		Long: `status fetches GET /v1/contests/{id} and prints its status (open, resolved or
overdue), deadline and resolution.

The subject proves standing with the decision's contest token: --contest-token,
or --receipt with the decision's receipt that holds it (then no bearer token
is sent). A reviewer or regulator uses the bearer --token (LEDGER_TOKEN).

With --key both records (the contest and its resolution, if any) are verified
offline against the signed checkpoint served with them: the checkpoint must
open with the key, and each entry must hash to its leaf and be proven included.
The records must be what the entries say, the resolution must be for this
contest, and the status must agree with them. With --receipt the contest must
also name the decision's entry in that receipt. --json prints the server's
answer unchanged.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("contest status takes one CONTEST_ID, got %d arguments", len(args))
			}
			if contestToken != "" && receipt != "" {
				return usageErrorf("give --contest-token or --receipt, not both")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			g := globals(cmd)
			var d *decisionReceipt
			if receipt != "" {
				var err error
				if d, err = readDecisionReceipt(cmd, receipt); err != nil {
					return err
				}
				contestToken = d.ContestToken
			}
			var hdr http.Header
			if contestToken != "" {
				hdr = http.Header{"X-Contest-Token": {contestToken}}
				g.Token = ""
			} else if g.Token == "" {
				return usageErrorf("contest status needs the subject's --contest-token or --receipt, or a reviewer or regulator --token (LEDGER_TOKEN)")
			}
			var origin, key string
			var others []string
			if len(vo.keys) > 0 {
				var err error
				if origin, key, others, err = vo.resolve(); err != nil {
					return err
				}
			}
			path := "/v1/contests/" + url.PathEscape(id)
			_, body, err := g.client().Do(cmd.Context(), http.MethodGet, path, nil, hdr)
			if err != nil {
				return serverErr(http.MethodGet, path, err)
			}
			var v contestView
			if err := json.Unmarshal(body, &v); err != nil {
				return fmt.Errorf("GET %s: %w", path, err)
			}
			if v.ContestID != id {
				return fmt.Errorf("GET %s: the server answered contest %q", path, v.ContestID)
			}
			if v.Contest == nil {
				return fmt.Errorf("GET %s: the answer has no contest record", path)
			}
			if d != nil && v.DecisionID != d.DecisionID {
				return fmt.Errorf("contest %s is against decision %q, the receipt is of %q", id, v.DecisionID, d.DecisionID)
			}
			var c *contestBody
			var res *resolutionBody
			if key != "" {
				if c, res, err = verifyContestView(&v, d, origin, key, others); err != nil {
					return fmt.Errorf("contest %s does NOT verify: %w", id, err)
				}
			} else {
				// Unverified: read what the server says the records are.
				c = new(contestBody)
				if err := logged(v.Contest.Record, "contest", c); err != nil {
					return fmt.Errorf("GET %s: %w", path, err)
				}
				if v.Resolution != nil {
					res = new(resolutionBody)
					if err := logged(v.Resolution.Record, "resolution", res); err != nil {
						return fmt.Errorf("GET %s: %w", path, err)
					}
				}
			}
			w := cmd.OutOrStdout()
			if g.JSON {
				return writeLine(w, body)
			}
			var b strings.Builder
			fmt.Fprintf(&b, "contest %s against %s: %s\n", id, v.DecisionID, v.Status)
			filed := v.FiledAt
			if filed == "" {
				filed = c.FiledAt
			}
			if filed != "" {
				fmt.Fprintf(&b, "  filed:       %s\n", filed)
			}
			fmt.Fprintf(&b, "  due by:      %s\n", v.DueBy)
			fmt.Fprintf(&b, "  grounds:     %s (commitment %s)\n", c.Grounds.Category, c.Grounds.Commitment)
			fmt.Fprintf(&b, "  remedy:      %s\n", c.Remedy)
			fmt.Fprintf(&b, "  contest:     entry %d\n", v.Contest.Index)
			if res != nil {
				reviewed := "human reviewed"
				if !res.HumanReviewed {
					reviewed = "NOT human reviewed"
				}
				fmt.Fprintf(&b, "  resolution:  %s (%s), entry %d\n", res.Outcome, reviewed, v.Resolution.Index)
				fmt.Fprintf(&b, "  rationale:   %s\n", res.Rationale)
				for _, rc := range res.RuleChanges {
					fmt.Fprintf(&b, "  rule change: %s %s in constitution version %s\n", rc.RuleID, rc.Change, rc.ConstitutionVersion)
				}
			} else {
				fmt.Fprintf(&b, "  resolution:  none yet\n")
			}
			if key != "" {
				fmt.Fprintf(&b, "verified: the records are in %s under the signed checkpoint served with them\n", origin)
			}
			_, err = io.WriteString(w, b.String())
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&contestToken, "contest-token", "", "the subject's contest `token` (sent as X-Contest-Token)")
	f.StringVar(&receipt, "receipt", "", "the decision's receipt `FILE` holding the contest token")
	vo.register(cmd)
	f.Lookup("key").Usage = "verify both records offline with the log verifier `key` (vkey text, or a file holding it); repeatable" // optional here
	return cmd
}

// verifyContestView checks both records of a contest view against its one
// checkpoint, and that they and the status agree with each other.
func verifyContestView(v *contestView, d *decisionReceipt, origin, key string, others []string) (*contestBody, *resolutionBody, error) {
	check := func(what string, r *loggedRecordView) error {
		if err := verifyInclusionView(r.Entry, r.LeafHash, v.Checkpoint, r.InclusionProof, r.Index, origin, key, others); err != nil {
			return fmt.Errorf("the %s record: %w", what, err)
		}
		var rec, ent any
		if json.Unmarshal(r.Record, &rec) != nil || json.Unmarshal(r.Entry, &ent) != nil || !reflect.DeepEqual(rec, ent) {
			return fmt.Errorf("the %s record differs from its logged entry", what)
		}
		return nil
	}
	if err := check("contest", v.Contest); err != nil {
		return nil, nil, err
	}
	c, err := checkContestEntry(v.Contest.Entry, v.ContestID, d, v.DecisionID)
	if err != nil {
		return nil, nil, err
	}
	if !sameInstant(c.DueBy, v.DueBy) {
		return nil, nil, fmt.Errorf("the server says due by %q, the logged contest %q", v.DueBy, c.DueBy)
	}
	if v.Resolution == nil {
		if v.Status == "resolved" {
			return nil, nil, errors.New("the status is resolved but no resolution record is shown")
		}
		return c, nil, nil
	}
	if err := check("resolution", v.Resolution); err != nil {
		return nil, nil, err
	}
	var res resolutionBody
	if err := logged(v.Resolution.Entry, "resolution", &res); err != nil {
		return nil, nil, err
	}
	if res.ContestID != v.ContestID {
		return nil, nil, fmt.Errorf("the resolution shown is for contest %q", res.ContestID)
	}
	if v.Resolution.Index <= v.Contest.Index {
		return nil, nil, fmt.Errorf("the resolution (entry %d) is logged before the contest (entry %d)", v.Resolution.Index, v.Contest.Index)
	}
	if v.Status != "resolved" {
		return nil, nil, fmt.Errorf("a resolution is logged but the status is %q", v.Status)
	}
	return c, &res, nil
}

// parseRuleChange parses RULE_ID:CHANGE:VERSION. Rule ids may hold ':', so
// the change and version are the last two fields.
func parseRuleChange(s string) (ruleChange, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 3 {
		return ruleChange{}, usageErrorf("--rule-change %q: want RULE_ID:CHANGE:VERSION, e.g. H-12:amend:2026.12", s)
	}
	n := len(parts)
	rc := ruleChange{RuleID: strings.Join(parts[:n-2], ":"), Change: parts[n-2], ConstitutionVersion: parts[n-1]}
	return rc, checkRuleChange("--rule-change "+s, rc)
}

func checkRuleChange(what string, rc ruleChange) error {
	switch {
	case !idPattern.MatchString(rc.RuleID):
		return usageErrorf("%s: rule id %q is not an id", what, rc.RuleID)
	case !oneOf(rc.Change, ruleChangeKinds):
		return usageErrorf("%s: change must be one of %s, not %q", what, strings.Join(ruleChangeKinds, ", "), rc.Change)
	case rc.ConstitutionVersion == "" || !idPattern.MatchString(rc.ConstitutionVersion):
		return usageErrorf("%s: constitution version %q is not a version", what, rc.ConstitutionVersion)
	}
	return nil
}

func newResolveCmd() *cobra.Command {
	var (
		outcome, rationale, file, out string
		ruleChanges                   []string
		humanReviewed                 bool
		vo                            verifyOptions
	)
	cmd := &cobra.Command{
		Use:   "resolve CONTEST_ID --outcome upheld|overturned|partially_overturned|withdrawn --rationale TEXT --human-reviewed [--rule-change RULE_ID:CHANGE:VERSION]... [--file resolution.json] [--key VKEY] [--out FILE]",
		Short: "Log the resolution of a contest, as a reviewer",
		Long: `resolve logs the resolution of a contest (POST /v1/contests/{id}/resolution)
with the reviewer's bearer --token (LEDGER_TOKEN).

A contest may not be resolved solely by automated means (DSA Art. 20(6)):
--human-reviewed is required, and states that a person reviewed the contest.

--file reads a resolution body (outcome, rationale, human_reviewed,
rule_changes; see examples/resolution.json); --outcome, --rationale and
--rule-change given on the command line replace the file's. --rule-change
RULE_ID:CHANGE:VERSION (CHANGE one of add, amend, remove) records a change to
the constitution the resolution led to; repeat it for several.

With --key the resolution receipt is verified offline and its entry must be
this contest's resolution with this outcome. --out writes the receipt to FILE.
Prints "contest ID resolved: OUTCOME (entry N)", or with --json the server's
answer.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("resolve takes one CONTEST_ID, got %d arguments", len(args))
			}
			if !idPattern.MatchString(args[0]) {
				return usageErrorf("%q is not a contest id", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			f := cmd.Flags()
			if !f.Changed("human-reviewed") || !humanReviewed {
				return usageErrorf("--human-reviewed is required: a contest may not be resolved solely by automated means (DSA Art. 20(6)); pass it to state that a person reviewed this contest")
			}
			body := resolutionBody{RuleChanges: []ruleChange{}}
			if file != "" {
				b, err := readInput(cmd, file)
				if err != nil {
					return err
				}
				var fb struct {
					ContestID string `json:"contest_id"`
					resolutionBody
				}
				dec := json.NewDecoder(bytes.NewReader(b))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&fb); err != nil {
					return fmt.Errorf("%s: not a resolution body: %w", file, err)
				}
				if fb.ContestID != "" && fb.ContestID != id {
					return usageErrorf("%s is a resolution of contest %q, not %q", file, fb.ContestID, id)
				}
				body = fb.resolutionBody
				if body.RuleChanges == nil {
					body.RuleChanges = []ruleChange{}
				}
				for i, rc := range body.RuleChanges {
					if err := checkRuleChange(fmt.Sprintf("%s: rule_changes[%d]", file, i), rc); err != nil {
						return err
					}
				}
			}
			if f.Changed("outcome") {
				body.Outcome = outcome
			}
			if f.Changed("rationale") {
				body.Rationale = rationale
			}
			if f.Changed("rule-change") {
				body.RuleChanges = []ruleChange{}
				for _, s := range ruleChanges {
					rc, err := parseRuleChange(s)
					if err != nil {
						return err
					}
					body.RuleChanges = append(body.RuleChanges, rc)
				}
			}
			body.HumanReviewed = true
			if !oneOf(body.Outcome, outcomes) {
				return usageErrorf("--outcome must be one of %s, not %q", strings.Join(outcomes, ", "), body.Outcome)
			}
			if strings.TrimSpace(body.Rationale) == "" {
				return usageErrorf("--rationale is required: the reasons for the decision on the contest")
			}
			g := globals(cmd)
			if g.Token == "" {
				return usageErrorf("resolve needs a reviewer --token (or LEDGER_TOKEN)")
			}
			var origin, key string
			var others []string
			if len(vo.keys) > 0 {
				var err error
				if origin, key, others, err = vo.resolve(); err != nil {
					return err
				}
			}
			// The contest id comes from the URL, not the body.
			req, err := json.Marshal(struct {
				Outcome       string       `json:"outcome"`
				Rationale     string       `json:"rationale"`
				HumanReviewed bool         `json:"human_reviewed"`
				RuleChanges   []ruleChange `json:"rule_changes"`
			}{body.Outcome, body.Rationale, body.HumanReviewed, body.RuleChanges})
			if err != nil {
				return err
			}
			path := "/v1/contests/" + url.PathEscape(id) + "/resolution"
			return postResolution(cmd.Context(), cmd, g, path, req, id, body, &vo, origin, key, others, out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&outcome, "outcome", "", "upheld, overturned, partially_overturned or withdrawn")
	f.StringVar(&rationale, "rationale", "", "the reasons for the outcome, as `TEXT`")
	f.StringArrayVar(&ruleChanges, "rule-change", nil, "a constitution change the resolution led to, as `RULE_ID:CHANGE:VERSION` (CHANGE: add, amend or remove); repeatable")
	f.BoolVar(&humanReviewed, "human-reviewed", false, "state that a person reviewed the contest (required: DSA Art. 20(6))")
	f.StringVar(&file, "file", "", "read the resolution body from `FILE` (- for standard input)")
	f.StringVar(&out, "out", "", "write the resolution receipt to `FILE` (default: <contest-id>.resolution.json in the current directory)")
	vo.register(cmd)
	f.Lookup("key").Usage = "verify the resolution receipt offline with the log verifier `key` (vkey text, or a file holding it); repeatable" // optional here
	return cmd
}

func postResolution(ctx context.Context, cmd *cobra.Command, g globalOptions, path string, req []byte, id string, sent resolutionBody,
	vo *verifyOptions, origin, key string, others []string, out string) error {
	code, ans, err := g.client().Do(ctx, http.MethodPost, path, req, nil)
	if err != nil {
		return serverErr(http.MethodPost, path, err)
	}
	var res struct {
		Receipt   json.RawMessage `json:"receipt"`
		ContestID string          `json:"contest_id"`
		Outcome   string          `json:"outcome"`
	}
	if err := json.Unmarshal(ans, &res); err != nil || len(res.Receipt) == 0 || string(res.Receipt) == "null" {
		return fmt.Errorf("POST %s: the answer has no receipt: %s", path, client.Clip(ans))
	}
	if res.ContestID != id || res.Outcome != sent.Outcome {
		return fmt.Errorf("POST %s: the server answered contest %q outcome %q, sent %q %q", path, res.ContestID, res.Outcome, id, sent.Outcome)
	}
	var index uint64
	verified := notVerified("resolution")
	if key != "" {
		r, cp, err := verify.VerifyReceipt(res.Receipt, key, others...)
		if err != nil {
			return fmt.Errorf("the resolution receipt does NOT verify: %w", err)
		}
		if err := checkOrigin(vo, origin, r.Origin); err != nil {
			return err
		}
		var lb resolutionBody
		if err := logged(r.Entry, "resolution", &lb); err != nil {
			return err
		}
		if lb.ContestID != id || lb.Outcome != sent.Outcome || !lb.HumanReviewed || lb.Rationale != sent.Rationale ||
			!reflect.DeepEqual(append([]ruleChange{}, lb.RuleChanges...), sent.RuleChanges) {
			return fmt.Errorf("the logged resolution (contest %q, outcome %q) is not the one sent", lb.ContestID, lb.Outcome)
		}
		index = r.Index
		verified = fmt.Sprintf("verified offline with the key of %s: the resolution receipt (entry %d in the tree of size %d), and its logged entry is the resolution sent: contest %s, %s, human reviewed, %d rule changes",
			cp.Origin, r.Index, cp.Size, id, lb.Outcome, len(lb.RuleChanges))
	} else {
		var ix struct {
			Index uint64 `json:"index"`
		}
		_ = json.Unmarshal(res.Receipt, &ix)
		index = ix.Index
	}
	again := ""
	if code == http.StatusOK {
		again = " (logged before)"
	}
	if out == "" {
		out = id + ".resolution.json"
	}
	return finishWrite(cmd, g, out, res.Receipt, ans, fmt.Sprintf("contest %s resolved: %s (entry %d)%s", id, sent.Outcome, index, again), "resolution", verified)
}

// finishWrite ends a contest or resolution: the receipt, always, to out
// (mode 0600, atomically), then the server's answer (--json) or the
// summary, where the receipt went, and what was verified.
func finishWrite(cmd *cobra.Command, g globalOptions, out string, receipt, ans []byte, summary, what, verified string) error {
	if err := writeFileLine(out, receipt); err != nil {
		return fmt.Errorf("the %s is logged, but writing its receipt to %s failed (GET it again from the server): %w", what, out, err)
	}
	if g.JSON {
		return writeLine(cmd.OutOrStdout(), ans)
	}
	_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s\n%s receipt written to %s (mode 0600)\n%s\n", summary, what, out, verified)
	return err
}

// notVerified is what a write without --key says it checked: nothing.
func notVerified(what string) string {
	return "the " + what + " receipt was NOT verified (no --key): check it with ledgerctl verify FILE --key VKEY"
}

// receiptDir is the directory of a receipt file; the current one for
// standard input.
func receiptDir(name string) string {
	if name == "-" {
		return "."
	}
	return filepath.Dir(name)
}
