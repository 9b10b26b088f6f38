package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/api/recovery"
)

func newRestoreCmd() *cobra.Command {
	var from, vkey, dir, private string
	cmd := &cobra.Command{
		Use:   "restore --from URL --vkey VKEY --data DIR [--private FILE] | restore --private FILE --data DIR",
		Short: "Rebuild a ledger's data directory from a tlog-tiles copy of its log, and its private part from a backup",
		Long: `Rebuild ledgerd's data directory DIR (absent or empty) from the log at URL
(another ledgerd, or the bucket it publishes to): the checkpoint must be signed
by VKEY, every entry bundle and hash tile is authenticated against it, the tree
is recomputed, the dedup keys and query indexes are rebuilt, and DIR/badger is
moved into place only once it passes fsck. On any failure nothing is left.
'ledgerd --data DIR --key FILE --origin NAME' (the log's key) then continues the
same tree. Stop the old ledgerd for good: two signers of one log fork it.

NOT in the public copy: private content and its vault keys; the server secret
and request digests (a record resubmitted after the restore is found, never
logged twice, but answered 409, not with its first receipt); contest-token
delivery keys (retrying producers get no token back). --private FILE restores
them from a 'ledgerctl backup' archive, with content erased since (SECURITY.md).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" || (from == "") == (vkey != "") || from == "" && private == "" {
				return usageErrorf("restore needs --data, and --from with --vkey, or --private, or both")
			}
			out := cmd.OutOrStdout()
			if from != "" {
				key, err := client.ReadKey(vkey)
				if err != nil {
					return usageErrorf("--vkey: %w", err)
				}
				res, err := recovery.Restore(cmd.Context(), recovery.Config{URL: from, VerifierKey: key, Dir: dir, Progress: recovery.ProgressLines(cmd.ErrOrStderr())})
				if err != nil {
					return err
				}
				fmt.Fprintln(out, res)
			}
			if private != "" {
				m, err := recovery.RestorePrivate(cmd.Context(), private, dir)
				if err != nil {
					return err
				}
				fmt.Fprintln(out, "restored the private part:", m)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "base URL of a C2SP tlog-tiles copy of the log")
	f.StringVar(&vkey, "vkey", "", "the log's verifier key (vkey text or a file holding it); required with --from")
	f.StringVar(&dir, "data", "", "ledgerd's data directory to create")
	f.StringVar(&private, "private", "", "a 'ledgerctl backup' archive of the private part to restore into --data")
	return cmd
}
