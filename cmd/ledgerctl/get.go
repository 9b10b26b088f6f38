package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/fjaledger/fja/api/client"
	rpt "github.com/fjaledger/fja/api/client/report"
)

func newGetCmd() *cobra.Command {
	var (
		receipt      bool
		contestToken string
		purpose      string
		index        uint64
		vo           verifyOptions
	)
	cmd := &cobra.Command{
		Use:   "get DECISION_ID [--receipt] [--contest-token T] [--purpose WHY] [--key VKEY] | get --index N",
		Short: "Fetch a decision record, its receipt, or a log entry",
		Long: `get DECISION_ID prints the decision record (GET /v1/decisions/{id}) as pretty
JSON: decision_id, index, record, and for the regulator any private content.
It needs a regulator --token, or the subject's --contest-token. A regulator
reading a decision with private content must say why with --purpose (sent as
X-Access-Purpose): the server logs the read as an access record before it
answers. The subject's answer lists those access records.

get DECISION_ID --receipt prints the receipt (GET /v1/decisions/{id}/receipt)
as the server returned it, ready for 'ledgerctl verify'.

get --index N prints the decoded JSON of log entry N (GET /v1/entries/N).

With --key the answer is verified offline first: the receipt, or the entry's
inclusion proof against the signed checkpoint served with it. --json prints
the server's answer unchanged.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("index") {
				if len(args) != 0 {
					return usageErrorf("get --index takes no DECISION_ID")
				}
				if receipt || contestToken != "" {
					return usageErrorf("--receipt and --contest-token do not go with --index")
				}
				return nil
			}
			if len(args) != 1 {
				return usageErrorf("get takes one DECISION_ID (or --index N), got %d arguments", len(args))
			}
			if receipt && contestToken != "" {
				return usageErrorf("--receipt needs a producer, regulator or operator --token, not --contest-token")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := vo.client(cmd, len(vo.keys) > 0)
			if err != nil {
				return err
			}
			ctx, w, asJSON := cmd.Context(), cmd.OutOrStdout(), globals(cmd).JSON
			if cmd.Flags().Changed("index") {
				e, _, err := c.Entry(ctx, index)
				if err != nil {
					return fmt.Errorf("entry %d does NOT verify: %w", index, err)
				}
				if asJSON {
					return json.NewEncoder(w).Encode(e)
				}
				return writePretty(w, e.Entry)
			}
			id := args[0]
			if receipt {
				a, err := c.DecisionReceipt(ctx, id)
				if err != nil {
					return fmt.Errorf("the receipt of %s: %w", id, err)
				}
				return writeLine(w, a.Raw)
			}
			v, body, err := c.Decision(ctx, id, contestToken, client.AccessPurpose(purpose))
			if err != nil {
				return fmt.Errorf("the record of %s: %w", id, err)
			}
			if asJSON {
				return writeLine(w, body)
			}
			return rpt.WriteDecision(w, v)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&receipt, "receipt", false, "print the decision's receipt instead of the record")
	f.StringVar(&contestToken, "contest-token", "", "the subject's contest `token` (sent as X-Contest-Token)")
	f.StringVar(&purpose, "purpose", "", "why private content is read (`text` sent as X-Access-Purpose; the read is logged)")
	f.Uint64Var(&index, "index", 0, "print log entry `N` instead of a decision")
	vo.registerOptional(cmd, "verify the answer offline")
	return cmd
}

func writeLine(w io.Writer, b []byte) error {
	_, err := w.Write(withNewline(b))
	return err
}

// withNewline is b ending in a newline (b itself if it does).
func withNewline(b []byte) []byte {
	if len(b) == 0 || b[len(b)-1] != '\n' {
		b = append(b[:len(b):len(b)], '\n')
	}
	return b
}

// writePretty prints JSON indented, or other bytes as they are.
func writePretty(w io.Writer, b []byte) error {
	var buf bytes.Buffer
	if json.Indent(&buf, b, "", "  ") != nil {
		return writeLine(w, b)
	}
	return writeLine(w, buf.Bytes())
}
