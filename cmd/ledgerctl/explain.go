package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/verify/explanation"
)

func newExplainCmd() *cobra.Command {
	var contestToken, out string
	var vo verifyOptions
	cmd := &cobra.Command{
		Use:   "explain DECISION_ID [--contest-token T] [--key VKEY] [--out FILE]",
		Short: "Explain a decision to the person concerned: its rules in full, weights, flags, contest window, with proofs",
		Long: `explain fetches GET /v1/decisions/{id}/explanation (the subject's --contest-token, or
env LEDGER_CONTEST_TOKEN; or a regulator --token) and prints it for a person to
read. With --key it is verified offline first; --out FILE saves the file itself
(mode 0600), which 'ledgerctl verify FILE --key VKEY' checks again later.
--json prints the file as answered.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if contestToken == "" {
				contestToken = os.Getenv("LEDGER_CONTEST_TOKEN")
			}
			vo.noToken = contestToken != "" // the subject needs no bearer token
			c, _, err := vo.client(cmd, len(vo.keys) > 0)
			if err != nil {
				return err
			}
			e, raw, err := c.Explanation(cmd.Context(), args[0], contestToken)
			if err != nil {
				return fmt.Errorf("the explanation of %s: %w", args[0], err)
			}
			if out != "" {
				if err := writeFile(out, raw); err != nil {
					return err
				}
			}
			if globals(cmd).JSON {
				return writeLine(cmd.OutOrStdout(), raw)
			}
			state := map[bool]string{false: "NOT verified (no --key)", true: "verified offline: every record is proven in the signed checkpoint"}
			if err := client.WriteExplanation(cmd.OutOrStdout(), e); err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), state[c.Verifies()])
			return err
		},
	}
	cmd.Flags().StringVar(&contestToken, "contest-token", "", "the subject's contest `token` (sent as X-Contest-Token; default env LEDGER_CONTEST_TOKEN)")
	cmd.Flags().StringVar(&out, "out", "", "save the explanation file to `FILE`")
	vo.register(cmd)
	cmd.Flags().Lookup("key").Usage = "verify the explanation offline with the log verifier `key` (vkey text, or a file holding it)"
	return cmd
}

// runVerifyExplanation is 'ledgerctl verify FILE' for an explanation file.
func runVerifyExplanation(cmd *cobra.Command, k *client.Keys, file string, b []byte) error {
	e, cp, err := explanation.Verify(b, k.Key, k.Others...)
	if err == nil && cp.Origin != k.Origin {
		err = fmt.Errorf("it is for origin %q, want %q", cp.Origin, k.Origin)
	}
	if err == nil && !globals(cmd).JSON {
		err = client.WriteExplanation(cmd.OutOrStdout(), e)
	}
	if err != nil {
		return fmt.Errorf("explanation %s does NOT verify: %w", file, err)
	}
	return printResult(cmd, map[string]any{"ok": true, "origin": cp.Origin, "decision_id": e.DecisionID, "size": cp.Size, "root": cp.Hash},
		fmt.Sprintf("OK: explanation of %s: every record is in %s at tree size %d, root %s", e.DecisionID, cp.Origin, cp.Size, b64(cp.Hash)))
}
