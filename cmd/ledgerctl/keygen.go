package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/fjaledger/fja/ledger/signer"
	"github.com/spf13/cobra"
)

func newKeygenCmd() *cobra.Command {
	var origin, out string
	var force bool
	cmd := &cobra.Command{
		Use:   "keygen --origin NAME --out FILE",
		Short: "Generate an Ed25519 checkpoint signing key",
		Long: `Generate an Ed25519 checkpoint signing key for the log origin NAME.

The private key is written to FILE (mode 0600) in note form
PRIVATE+KEY+<origin>+<hash>+<base64>, for ledgerd --key. The verifier key
(<origin>+<hash>+<base64>) is printed on stdout; publish it.
An existing FILE is never overwritten unless --force is given.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if origin == "" || out == "" {
				return usageErrorf("keygen needs --origin and --out")
			}
			if err := signer.CheckName(origin); err != nil {
				return usageErrorf("--origin: %w", err)
			}
			skey, vkey, err := signer.GenerateKey(rand.Reader, origin)
			if err != nil {
				return err
			}
			if force {
				err = signer.ReplaceKeyFile(out, skey)
			} else {
				err = signer.WriteKeyFile(out, skey)
			}
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("key file %s already exists; not overwriting it without --force", out)
			}
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if globals(cmd).JSON {
				return json.NewEncoder(w).Encode(struct {
					VKey    string `json:"vkey"`
					KeyFile string `json:"key_file"`
				}{vkey, out})
			}
			_, err = fmt.Fprintln(w, vkey)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&origin, "origin", "", "log origin (key name), e.g. ledger.example.com/prod")
	f.StringVar(&out, "out", "", "file to write the private key to")
	f.BoolVar(&force, "force", false, "overwrite FILE if it exists")
	return cmd
}
