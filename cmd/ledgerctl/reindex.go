package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/ledger/badgerstore"
)

func newReindexCmd() *cobra.Command {
	var (
		dir      string
		progress bool
	)
	cmd := &cobra.Command{
		Use:   "reindex --data DIR",
		Short: "Rebuild a stopped ledger's query indexes from its entries",
		Long: `Rebuild the query indexes (posting lists, decision summaries, contest facts)
of the Badger store in DIR from the logged records alone, overwriting wrong
values. ledgerd must be stopped. Check the result with 'ledgerctl fsck'.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return usageErrorf("reindex needs --data")
			}
			st, err := badgerstore.OpenExisting(dir)
			if err != nil {
				return err
			}
			defer st.Close()
			state, err := st.Load()
			if err != nil {
				return err
			}
			bar := newProgress(cmd, progress, 0, "fsck")
			defer bar.Finish()
			report := func(done, _ uint64) { bar.Set(done, state.Size) }
			if err := audit.Reindex(cmd.Context(), st, state.Size, st, report); err != nil {
				return fmt.Errorf("reindex %s: %w", dir, err)
			}
			if err := st.Close(); err != nil {
				return fmt.Errorf("reindex %s: close: %w", dir, err)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "reindexed %d records\n", state.Size)
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "data", "", "ledgerd's Badger data directory")
	cmd.Flags().BoolVar(&progress, "progress", false, "draw a progress bar on stderr even if it is not a terminal")
	return cmd
}
