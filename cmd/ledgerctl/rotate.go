package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fjaledger/fja/ledger/shard"
)

func newRotateCmd() *cobra.Command {
	var c shard.RotateConfig
	cmd := &cobra.Command{
		Use:   "rotate --data DIR --origin NEW [--key NEWKEY] [--old-key KEY]",
		Short: "Freeze a stopped ledger's active shard and start the next one",
		Long: `Freeze the active shard of the data directory DIR at its latest signed
checkpoint and start a new shard with origin NEW (DESIGN.md §4, package
ledger/shard). The new shard's entry 0 is a shard record citing the frozen
shard's origin, key and final checkpoint, with the old key's signed
endorsement of the new origin and key, so a verifier pinned to the old key
learns the new one securely. Without --key an Ed25519 key is generated in
DIR/shards/<n>/signer.key. --old-key is the active shard's key (default: the
one rotate recorded, or the development key).

ledgerd must be stopped: Badger's directory lock makes rotate fail, changing
nothing, while it runs. Restart ledgerd afterwards: it appends to the new
shard and serves every shard.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if c.Dir == "" || c.Origin == "" {
				return usageErrorf("rotate needs --data and --origin")
			}
			m, err := shard.Rotate(cmd.Context(), c)
			if err != nil {
				return err
			}
			for _, s := range m.Shards {
				fmt.Fprintf(cmd.OutOrStdout(), "shard %d  %-6s  %s  %s\n", s.N, s.State, s.Origin, s.VKey)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&c.Dir, "data", "", "ledgerd's data directory")
	cmd.Flags().StringVar(&c.Origin, "origin", "", "the new shard's checkpoint origin")
	cmd.Flags().StringVar(&c.Key, "key", "", "the new shard's signing key (key file or KMS reference; default: generate one)")
	cmd.Flags().StringVar(&c.OldKey, "old-key", "", "the active shard's signing key, which endorses the new one")
	return cmd
}
