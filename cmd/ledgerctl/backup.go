package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fjaledger/fja/api/recovery"
)

func newBackupCmd() *cobra.Command {
	var dir, out string
	cmd := &cobra.Command{
		Use:   "backup --data DIR --out FILE",
		Short: "Back up the private part of a stopped ledger (vault keys, sealed content, server secret)",
		Long: `Write the private part of the ledger in ledgerd's data directory DIR to FILE
(a gzipped tar, mode 0600): the vault key file, the sealed private content, the
request digests, the contest-token delivery keys and the server secret, with
the checkpoint it belongs to. The public log is not in it: restore it from any
tlog-tiles copy ('ledgerctl restore --from'), then this archive with
'ledgerctl restore --private FILE'. ledgerd must be stopped.

The archive opens every private record it holds, erased later or not: a key
destroyed after a backup still lives in that backup. Keep backups encrypted
and expire them within your erasure deadline (SECURITY.md). The signing key
and the tokens file are not in it.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" || out == "" {
				return usageErrorf("backup needs --data and --out")
			}
			m, err := recovery.Backup(cmd.Context(), dir, out)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), "backed up to "+out+":", m)
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "data", "", "ledgerd's data directory")
	cmd.Flags().StringVar(&out, "out", "", "the archive to write")
	return cmd
}
