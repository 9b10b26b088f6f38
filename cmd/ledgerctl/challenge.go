package main

import (
	"cmp"

	"github.com/spf13/cobra"

	"github.com/fjaledger/fja/api/client"
	rpt "github.com/fjaledger/fja/api/client/report"
	"github.com/fjaledger/fja/verify/record"
)

func newChallengeCmd() *cobra.Command {
	var (
		rule, category, grounds, receipt, id, out string
		evidence                                  []uint
		vo                                        verifyOptions
	)
	cmd := &cobra.Command{
		Use:   "challenge --rule ID@VERSION/RULE --category C --grounds TEXT --challenge-id ID [--receipt DECISION_RECEIPT.json] [--evidence INDEX]... [--key VKEY] [--out FILE]",
		Short: "Challenge a rule of a constitution version (subject or stakeholder)",
		Long: `challenge files a challenge of a rule (POST /v1/challenges). Standing: --receipt,
the subject's receipt of a decision citing the rule (its contest token; no
bearer token is sent), or a stakeholder --token. --evidence names log entries
(decisions, contests, resolutions) by index; their leaf hashes are taken from
the entries served (verified with --key). The grounds are kept encrypted
outside the log. The receipt is written to --out (default ID.challenge.json).
"challenge respond" logs a reviewer's answer.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := client.ParseRuleRef(rule)
			if err != nil || !record.IsID(category) || !record.IsID(id) || grounds == "" {
				return usageErrorf("--rule ID@VERSION/RULE, --category, --challenge-id and --grounds are required (%v)", err)
			}
			vo.noToken = receipt != ""
			c, _, err := vo.client(cmd, len(vo.keys) > 0)
			if err != nil {
				return err
			}
			req := &record.ChallengeRequest{ChallengeID: id, Rule: r, Grounds: record.ContestGrounds{Category: category, Text: grounds}}
			idx := make([]uint64, len(evidence))
			for i, e := range evidence {
				idx[i] = uint64(e)
			}
			if req.Evidence, err = c.EvidenceAt(cmd.Context(), idx...); err != nil {
				return err
			}
			if receipt != "" {
				d, err := readDecisionReceipt(cmd, receipt)
				if err != nil {
					return err
				}
				req.DecisionID, req.ContestToken = d.DecisionID, d.ContestToken
			}
			filed, a, err := c.FileChallenge(cmd.Context(), req)
			if err != nil {
				return err
			}
			summary, verified := rpt.ChallengeFiled(id, rule, filed, a)
			return finishWrite(cmd, cmp.Or(out, id+".challenge.json"), a, summary, "challenge", verified)
		},
	}
	f := cmd.Flags()
	f.StringVar(&rule, "rule", "", "the challenged rule, `ID@VERSION/RULE` (e.g. fja-default@2026.11/H-12)")
	f.StringVar(&category, "category", "", "the kind of grounds, e.g. over-refusal")
	f.StringVar(&grounds, "grounds", "", "why the rule is wrong, as `TEXT`")
	f.StringVar(&receipt, "receipt", "", "a decision receipt `FILE` (the subject's copy, with the contest token) giving standing")
	f.StringVar(&id, "challenge-id", "", "the challenge `ID`")
	f.StringVar(&out, "out", "", "write the receipt to `FILE`")
	f.UintSliceVar(&evidence, "evidence", nil, "log `INDEX` of a decision, contest or resolution; repeatable")
	vo.register(cmd)
	cmd.AddCommand(newChallengeRespondCmd())
	return cmd
}
