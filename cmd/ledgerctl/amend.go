package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fjaledger/fja/api/client"
	rpt "github.com/fjaledger/fja/api/client/report"
	"github.com/fjaledger/fja/verify/record"
)

func newAmendCmd() *cobra.Command {
	var vo verifyOptions
	cmd := &cobra.Command{
		Use:   "amend AMENDMENT.json [--key VKEY]",
		Short: "Propose an amendment (schemas/amendment.v1.json) with an operator or stakeholder --token; --key verifies it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var am record.Amendment
			if b, err := readInput(cmd, args[0]); err != nil {
				return err
			} else if err := json.Unmarshal(b, &am); err != nil {
				return usageErrorf("%s is not an amendment: %v", args[0], err)
			}
			c, _, err := vo.client(cmd, len(vo.keys) > 0)
			if err != nil {
				return err
			}
			v, a, err := c.ProposeAmendment(cmd.Context(), &am)
			if err != nil {
				return err
			}
			return answer(cmd, a, "%s\n", rpt.AmendmentLogged(v, a))
		},
	}
	vo.register(cmd)
	return cmd
}

// newChallengeRespondCmd is "challenge respond", a reviewer's answer.
func newChallengeRespondCmd() *cobra.Command {
	var req, vo = record.ChallengeResponseRequest{}, verifyOptions{}
	cmd := &cobra.Command{
		Use:   "respond CHALLENGE_ID --outcome accepted|rejected --rationale TEXT --human-reviewed [--amendment-id AM] [--key VKEY]",
		Short: "Log a reviewer's answer to a challenge",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !req.HumanReviewed {
				return usageErrorf("--human-reviewed is required: a person reviews every challenge")
			}
			c, _, err := vo.client(cmd, len(vo.keys) > 0)
			if err != nil {
				return err
			}
			v, a, err := c.RespondChallenge(cmd.Context(), args[0], &req)
			if err != nil {
				return err
			}
			return answer(cmd, a, "challenge %s answered: %s %s (entry %d)\n", v.ChallengeID, v.Outcome, v.AmendmentID, a.Index())
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Outcome, "outcome", "", "accepted or rejected")
	f.StringVar(&req.Rationale, "rationale", "", "why, as `TEXT` (logged in the clear: no personal data)")
	f.StringVar(&req.AmendmentID, "amendment-id", "", "for accepted: the `ID` of the amendment that will carry the change")
	f.BoolVar(&req.HumanReviewed, "human-reviewed", false, "state that a person reviewed the challenge")
	vo.register(cmd)
	return cmd
}

// answer prints the server's answer with --json, else a summary.
func answer(cmd *cobra.Command, a *client.Appended, format string, args ...any) error {
	if globals(cmd).JSON {
		return writeLine(cmd.OutOrStdout(), a.Answer)
	}
	_, err := fmt.Fprintf(cmd.OutOrStdout(), format, args...)
	return err
}
