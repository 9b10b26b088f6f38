package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fjaledger/fja/api/client"
	rpt "github.com/fjaledger/fja/api/client/report"
	"github.com/fjaledger/fja/verify/record"
)

// readDecisionReceipt parses the subject's decision receipt file.
func readDecisionReceipt(cmd *cobra.Command, name string) (*client.DecisionReceipt, error) {
	b, err := readInput(cmd, name)
	if err != nil {
		return nil, err
	}
	d, err := client.ParseDecisionReceipt(b)
	if err != nil {
		return nil, fmt.Errorf("%s %w", name, err)
	}
	return d, nil
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
			case !record.IsID(category):
				return usageErrorf("--category is required: 1 to 128 letters, digits, '.', '_', ':' or '-' (e.g. false-refusal), not %q", category)
			case !record.OneOf(remedy, record.Remedies):
				return usageErrorf("--remedy must be one of %s, not %q", strings.Join(record.Remedies, ", "), remedy)
			case f.Changed("contest-id") && !record.IsID(id):
				return usageErrorf("--contest-id must be 1 to 128 letters, digits, '.', '_', ':' or '-', not %q", id)
			}
			vo.noToken = true // the subject proves standing with the contest token alone
			c, origin, err := vo.client(cmd, len(vo.keys) > 0)
			if err != nil {
				return err
			}
			text := grounds
			if groundsFile != "" {
				b, err := readInput(cmd, groundsFile)
				if err != nil {
					return err
				}
				text = strings.TrimRight(string(b), "\r\n")
			}
			if err := client.CheckGrounds(text); err != nil {
				return usageError{err}
			}
			d, err := readDecisionReceipt(cmd, receipt)
			if err != nil {
				return err
			}
			if id == "" {
				if id, err = client.NewContestID(); err != nil {
					return err
				}
			}
			res, err := c.FileContestFor(cmd.Context(), d, &record.ContestRequest{ContestID: id, Remedy: remedy,
				Grounds: record.ContestGrounds{Category: category, Text: text}})
			if err != nil {
				return err
			}
			if out == "" {
				out = filepath.Join(filepath.Dir(receipt), id+".contest.json") // "." for standard input (-)
			}
			summary, verified := rpt.ContestFiled(res, d, origin)
			return finishWrite(cmd, out, res.Appended, summary, "contest", verified)
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
	vo.registerOptional(cmd, "verify the contest receipt offline")
	cmd.AddCommand(newContestStatusCmd())
	return cmd
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
			var d *client.DecisionReceipt
			if receipt != "" {
				var err error
				if d, err = readDecisionReceipt(cmd, receipt); err != nil {
					return err
				}
				contestToken = d.ContestToken
			}
			if contestToken != "" {
				vo.noToken = true
			} else if g.Token == "" {
				return usageErrorf("contest status needs the subject's --contest-token or --receipt, or a reviewer or regulator --token (LEDGER_TOKEN)")
			}
			c, origin, err := vo.client(cmd, len(vo.keys) > 0)
			if err != nil {
				return err
			}
			v, recs, body, err := c.ContestStatusOf(cmd.Context(), id, contestToken, d)
			if err != nil {
				return err
			}
			if g.JSON {
				return writeLine(cmd.OutOrStdout(), body)
			}
			verifiedIn := ""
			if c.Verifies() {
				verifiedIn = origin
			}
			return rpt.WriteContest(cmd.OutOrStdout(), v, recs, verifiedIn)
		},
	}
	f := cmd.Flags()
	f.StringVar(&contestToken, "contest-token", "", "the subject's contest `token` (sent as X-Contest-Token)")
	f.StringVar(&receipt, "receipt", "", "the decision's receipt `FILE` holding the contest token")
	vo.registerOptional(cmd, "verify both records offline")
	return cmd
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
			if !record.IsID(args[0]) {
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
			body := &record.ResolutionRequest{RuleChanges: []record.RuleChange{}}
			if file != "" {
				b, err := readInput(cmd, file)
				if err != nil {
					return err
				}
				if body, err = client.ParseResolution(b, id); errors.Is(err, client.ErrNotResolution) {
					return fmt.Errorf("%s: %w", file, err)
				} else if err != nil {
					return usageErrorf("%s: %v", file, err)
				}
			}
			if f.Changed("outcome") {
				body.Outcome = outcome
			}
			if f.Changed("rationale") {
				body.Rationale = rationale
			}
			if f.Changed("rule-change") {
				var err error
				if body.RuleChanges, err = client.ParseRuleChanges(ruleChanges); err != nil {
					return usageErrorf("--rule-change %v", err)
				}
			}
			body.HumanReviewed = true
			if !record.OneOf(body.Outcome, record.ResolutionOutcomes) {
				return usageErrorf("--outcome must be one of %s, not %q", strings.Join(record.ResolutionOutcomes, ", "), body.Outcome)
			}
			if strings.TrimSpace(body.Rationale) == "" {
				return usageErrorf("--rationale is required: the reasons for the decision on the contest")
			}
			g := globals(cmd)
			if g.Token == "" {
				return usageErrorf("resolve needs a reviewer --token (or LEDGER_TOKEN)")
			}
			c, origin, err := vo.client(cmd, len(vo.keys) > 0)
			if err != nil {
				return err
			}
			ans, a, err := c.ResolveContest(cmd.Context(), id, body)
			if err != nil {
				return err
			}
			if out == "" {
				out = id + ".resolution.json"
			}
			summary, verified := rpt.ResolutionLogged(id, body, ans, a, origin)
			return finishWrite(cmd, out, a, summary, "resolution", verified)
		},
	}
	f := cmd.Flags()
	f.StringVar(&outcome, "outcome", "", "upheld, overturned, partially_overturned or withdrawn")
	f.StringVar(&rationale, "rationale", "", "the reasons for the outcome, as `TEXT`")
	f.StringArrayVar(&ruleChanges, "rule-change", nil, "a constitution change the resolution led to, as `RULE_ID:CHANGE:VERSION` (CHANGE: add, amend or remove); repeatable")
	f.BoolVar(&humanReviewed, "human-reviewed", false, "state that a person reviewed the contest (required: DSA Art. 20(6))")
	f.StringVar(&file, "file", "", "read the resolution body from `FILE` (- for standard input)")
	f.StringVar(&out, "out", "", "write the resolution receipt to `FILE` (default: <contest-id>.resolution.json in the current directory)")
	vo.registerOptional(cmd, "verify the resolution receipt offline")
	return cmd
}

// finishWrite ends a contest or resolution: the receipt, always, to out
// (mode 0600, atomically), then the server's answer (--json) or the
// summary, where the receipt went, and what was verified.
func finishWrite(cmd *cobra.Command, out string, a *client.Appended, summary, what, verified string) error {
	if err := writeFile(out, withNewline(a.Raw)); err != nil {
		return fmt.Errorf("the %s is logged, but writing its receipt to %s failed (GET it again from the server): %w", what, out, err)
	}
	return answer(cmd, a, "%s\n%s receipt written to %s (mode 0600)\n%s\n", summary, what, out, verified)
}
