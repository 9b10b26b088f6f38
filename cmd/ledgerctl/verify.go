package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/verify"
)

// verifyOptions are the flags every verify subcommand shares.
type verifyOptions struct {
	keys   []string // verifier keys (or files holding one); the first is the log's
	origin string   // default: the first key's name
	policy string   // witness policy file to require (see witnesspolicy.go)
	// noToken: send no bearer token (the subject proves standing with its
	// contest token)
	noToken bool
}

func (o *verifyOptions) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&o.keys, "key", nil, "log verifier `key` (vkey text, or a file holding it); repeat for a second log key (required)")
	cmd.Flags().StringVar(&o.origin, "origin", "", "expected checkpoint origin (default: the name of the first --key)")
	cmd.Flags().StringVar(&o.policy, "witness-policy", "", "C2SP witness policy `file`: also require the checkpoint's witness cosignatures to satisfy it")
}

// registerOptional registers the flags of a command that verifies with
// --key when given: usage says what is verified ("verify every receipt
// offline").
func (o *verifyOptions) registerOptional(cmd *cobra.Command, usage string) {
	o.register(cmd)
	cmd.Flags().Lookup("key").Usage = usage + " with the log verifier `key` (vkey text, or a file holding it); repeatable"
}

// client is an API client for the global flags that, when verifying,
// verifies every receipt with the resolved --key (and the --origin if
// given); it returns the origin receipts are checked against.
func (o *verifyOptions) client(cmd *cobra.Command, verifying bool) (*client.Client, string, error) {
	g := globals(cmd)
	cfg := client.Config{URL: g.URL, Token: g.Token, InsecureSkipVerify: !verifying}
	if o.noToken {
		cfg.Token = ""
	}
	if verifying {
		k, err := o.resolve()
		if err != nil {
			return nil, "", err
		}
		cfg.Origin, cfg.VerifierKey, cfg.OtherKeys = k.Origin, k.Key, k.Others
	}
	c, err := client.New(cfg)
	if err != nil {
		return nil, "", usageErrorf("%v", err)
	}
	return c, cfg.Origin, nil
}

// resolve reads the --key flags (key files too) and defaults the origin.
func (o *verifyOptions) resolve() (*client.Keys, error) {
	if len(o.keys) == 0 {
		return nil, usageErrorf("--key is required: the log's verifier key (from GET /v1/log or the operator)")
	}
	k, err := client.ReadKeys(o.keys, o.origin)
	if err != nil {
		return nil, usageErrorf("--key %v", err)
	}
	return k, nil
}

// reportKeys are the resolved --key flags, nil without --key.
func (o *verifyOptions) reportKeys() (*client.Keys, error) {
	if len(o.keys) == 0 {
		return nil, nil
	}
	return o.resolve()
}

func readInput(cmd *cobra.Command, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(io.LimitReader(cmd.InOrStdin(), 16<<20))
	}
	return os.ReadFile(name)
}

func newVerifyCmd() *cobra.Command {
	var o verifyOptions
	cmd := &cobra.Command{
		Use:   "verify [receipt] FILE --key VKEY",
		Short: "Verify a receipt, a checkpoint, or the consistency of two checkpoints, offline",
		Long: `verify checks, with nothing but the log's verifier key:
  ledgerctl verify FILE                        a receipt (same as 'verify receipt FILE')
  ledgerctl verify FILE                        an explanation file (from 'ledgerctl explain --out')
  ledgerctl verify checkpoint FILE             a signed checkpoint
  ledgerctl verify consistency OLD NEW         two saved checkpoints: the newer extends the older
FILE may be - for standard input. Exit status 0 only when what was verified holds.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("want one receipt file (or a subcommand: receipt, checkpoint, consistency), got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runVerifyReceipt(cmd, &o, args[0]) },
	}
	o.register(cmd)

	receipt := &cobra.Command{
		Use:   "receipt FILE",
		Short: "Verify a receipt offline: signature, leaf hash, inclusion proof, tlog-proof",
		Args:  exactArgs(1),
		RunE:  func(cmd *cobra.Command, args []string) error { return runVerifyReceipt(cmd, &o, args[0]) },
	}
	o.register(receipt)

	var co verifyOptions
	checkpoint := &cobra.Command{
		Use:   "checkpoint FILE",
		Short: "Verify a signed checkpoint's log signature and format",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := co.resolve()
			if err != nil {
				return err
			}
			b, err := readInput(cmd, args[0])
			if err != nil {
				return err
			}
			cp, err := k.OpenCheckpoint(b)
			if err != nil {
				return fmt.Errorf("checkpoint %s does not verify: %w", args[0], err)
			}
			if err := co.checkWitnesses(b); err != nil {
				return fmt.Errorf("checkpoint %s: %w", args[0], err)
			}
			return printResult(cmd, map[string]any{"ok": true, "origin": cp.Origin, "size": cp.Size, "root": cp.Hash},
				fmt.Sprintf("OK: checkpoint of %s at size %d, root %s", cp.Origin, cp.Size, b64(cp.Hash)))
		},
	}
	co.register(checkpoint)

	var cc verifyOptions
	consistency := &cobra.Command{
		Use:   "consistency OLD NEW",
		Short: "Verify that one saved checkpoint extends another (proof fetched from --url)",
		Long: `consistency opens both checkpoints with the log key, fetches the consistency proof
between their sizes from the server (GET /v1/proofs/consistency on --url) and
verifies it locally. The server is not trusted: a wrong proof fails.`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := cc.resolve()
			if err != nil {
				return err
			}
			var cps [2]*verify.Checkpoint
			for i, name := range args {
				b, err := readInput(cmd, name)
				if err != nil {
					return err
				}
				if cps[i], err = k.OpenCheckpoint(b); err != nil {
					return fmt.Errorf("checkpoint %s does not verify: %w", name, err)
				}
			}
			c, _, err := cc.client(cmd, false)
			if err != nil {
				return err
			}
			if err := c.CheckConsistent(cmd.Context(), cps[0], cps[1]); err != nil {
				return err
			}
			from, to := min(cps[0].Size, cps[1].Size), max(cps[0].Size, cps[1].Size)
			return printResult(cmd, map[string]any{"ok": true, "from": from, "to": to},
				fmt.Sprintf("OK: the tree of size %d extends the tree of size %d", to, from))
		},
	}
	cc.register(consistency)
	cmd.AddCommand(receipt, checkpoint, consistency)
	return cmd
}

func runVerifyReceipt(cmd *cobra.Command, o *verifyOptions, file string) error {
	k, err := o.resolve()
	if err != nil {
		return err
	}
	b, err := readInput(cmd, file)
	if err != nil {
		return err
	}
	if client.IsExplanation(b) {
		return runVerifyExplanation(cmd, k, file, b)
	}
	r, cp, err := verify.VerifyReceipt(b, k.Key, k.Others...)
	if err != nil {
		return fmt.Errorf("receipt %s does NOT verify: %w", file, err)
	}
	if o.origin != "" && r.Origin != o.origin {
		return fmt.Errorf("receipt %s is for origin %q, want %q", file, r.Origin, o.origin)
	}
	if err := o.checkWitnesses([]byte(r.Checkpoint)); err != nil {
		return fmt.Errorf("receipt %s: %w", file, err)
	}
	return printResult(cmd, map[string]any{"ok": true, "origin": r.Origin, "index": r.Index, "size": cp.Size, "root": cp.Hash, "leaf_hash": r.LeafHash},
		fmt.Sprintf("OK: entry %d (leaf %s) is in %s at tree size %d, root %s", r.Index, b64(r.LeafHash), r.Origin, cp.Size, b64(cp.Hash)))
}

func printResult(cmd *cobra.Command, v any, text string) error {
	if globals(cmd).JSON {
		return json.NewEncoder(cmd.OutOrStdout()).Encode(v)
	}
	_, err := fmt.Fprintln(cmd.OutOrStdout(), text)
	return err
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf("%s takes %d arguments, got %d", cmd.CommandPath(), n, len(args))
		}
		return nil
	}
}
