// Command ledgerctl is the FJA Ledger client: key generation, appends,
// queries and verification (see DESIGN.md §7).
//
// Each subcommand lives in its own file as newXCmd() and is registered in
// newRootCmd. Exit status: 0 on success (and, for verification commands, only
// when what was verified holds), 2 on a usage error, 1 on any other error.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

const defaultURL = "http://127.0.0.1:8080"

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "ledgerctl",
		Short:         "Client for the FJA Ledger transparency log",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	pf := root.PersistentFlags()
	// Defaults from the environment are resolved in globals, not here, so
	// that --help never prints a token.
	pf.String("url", "", "ledger server URL (env LEDGER_URL, default "+defaultURL+")")
	pf.String("token", "", "bearer token (env LEDGER_TOKEN)")
	pf.Bool("json", false, "print machine-readable JSON")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })

	root.AddCommand(newKeygenCmd())
	root.AddCommand(newBenchCmd())
	root.AddCommand(newVerifyCmd())
	root.AddCommand(newFsckCmd())
	root.AddCommand(newReindexCmd())
	root.AddCommand(newRotateCmd())
	root.AddCommand(newAppendCmd())
	root.AddCommand(newGetCmd())
	root.AddCommand(newContestCmd())
	root.AddCommand(newExplainCmd())
	root.AddCommand(newResolveCmd())
	root.AddCommand(newChallengeCmd(), newAmendCmd())
	root.AddCommand(newQueryCmd())
	root.AddCommand(newStatsCmd())
	root.AddCommand(newAuditQueryCmd())
	root.AddCommand(newReportCmd())
	root.AddCommand(newExportCmd())
	root.AddCommand(newMonitorCmd())
	root.AddCommand(newRestoreCmd())
	root.AddCommand(newBackupCmd())
	return root
}

func main() {
	cmd, err := newRootCmd().ExecuteC()
	os.Exit(report(os.Stderr, cmd, err))
}

// report prints err, if any, and returns the exit status for it.
func report(w io.Writer, cmd *cobra.Command, err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintln(w, "ledgerctl:", err)
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(w, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return 2
	}
	return 1
}

// globalOptions are the persistent flags shared by every subcommand.
type globalOptions struct {
	URL   string // server base URL
	Token string // bearer token; empty means none
	JSON  bool   // print JSON instead of text
}

// globals returns the persistent flags of cmd, with LEDGER_URL and
// LEDGER_TOKEN used for flags not given on the command line.
func globals(cmd *cobra.Command) globalOptions {
	f := cmd.Flags()
	g := globalOptions{URL: defaultURL}
	if v := os.Getenv("LEDGER_URL"); v != "" {
		g.URL = v
	}
	g.Token = os.Getenv("LEDGER_TOKEN")
	if f.Changed("url") {
		g.URL, _ = f.GetString("url")
	}
	if f.Changed("token") {
		g.Token, _ = f.GetString("token")
	}
	g.JSON, _ = f.GetBool("json")
	return g
}

// usageError marks an error as a usage error (exit status 2).
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func usageErrorf(format string, a ...any) error {
	return usageError{fmt.Errorf(format, a...)}
}

// noArgs is cobra.NoArgs reporting a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("%s takes no arguments, got %q", cmd.CommandPath(), args)
	}
	return nil
}
