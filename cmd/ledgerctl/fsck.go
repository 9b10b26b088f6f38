package main

import (
	"fmt"

	"github.com/spf13/cobra"
	fnote "github.com/transparency-dev/formats/note"

	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
)

func newFsckCmd() *cobra.Command {
	var (
		dir, origin string
		keys        []string
		progress    bool
	)
	cmd := &cobra.Command{
		Use:   "fsck --data DIR [--origin O] [--key VKEY]...",
		Short: "Check a stopped ledger's storage against its entries",
		Long: `Check the Badger store in DIR offline: recompute the whole Merkle tree from
the stored entries and compare it with every stored hash tile, the stored
compact range and the stored checkpoint (its origin with --origin, its
signatures with each --key verifier key); and, for a log of records,
recompute every query index key from the entries and compare it with the
stored one (ledgerctl reindex rebuilds them).

ledgerd must be stopped: the store is opened with Badger's exclusive lock.
Every problem is printed on stdout, one per line, as "index N: KIND: DETAIL".
Exit status: 0 if the store is consistent, 1 if any problem was found or the
store could not be read, 2 on a usage error. A progress bar is drawn on
stderr when it is a terminal, or with --progress.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return usageErrorf("fsck needs --data")
			}
			for _, k := range keys {
				if _, err := fnote.NewVerifier(k); err != nil {
					return usageErrorf("--key %q: %w", k, err)
				}
			}
			g := globals(cmd)
			st, err := badgerstore.OpenExisting(dir)
			if err != nil {
				return err
			}
			defer st.Close()

			opts := ledger.FsckOptions{Origin: origin, VerifierKeys: keys}
			bar := newProgress(cmd, progress, 0, "fsck")
			opts.Progress = bar.Set
			rep, err := ledger.Fsck(cmd.Context(), st, opts)
			bar.Finish()
			if err != nil {
				return fmt.Errorf("fsck %s: %w", dir, err)
			}
			if err := audit.FsckIndexes(cmd.Context(), st, rep); err != nil {
				return fmt.Errorf("fsck %s: indexes: %w", dir, err)
			}
			if err := st.Close(); err != nil {
				return fmt.Errorf("fsck %s: close: %w", dir, err)
			}
			if err := rep.Write(cmd.OutOrStdout(), g.JSON); err != nil {
				return err
			}
			if err := rep.Err(); err != nil {
				return fmt.Errorf("fsck %s: %w", dir, err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "data", "", "ledgerd's Badger data directory")
	f.StringVar(&origin, "origin", "", "the checkpoint origin to expect")
	f.StringArrayVar(&keys, "key", nil, "a verifier key that must have signed the stored checkpoint (repeatable)")
	f.BoolVar(&progress, "progress", false, "draw a progress bar on stderr even if it is not a terminal")
	return cmd
}
