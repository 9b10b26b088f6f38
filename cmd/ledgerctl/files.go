package main

import (
	"io"

	"github.com/spf13/cobra"

	rpt "github.com/fjaledger/fja/api/client/report"
	"github.com/fjaledger/fja/verify/monitor"
)

// writeFileWith writes a file atomically and durably (monitor.WriteFileWith):
// a failed or interrupted command leaves no partial file behind and the
// previous file, if any, untouched.
//
// The mode is 0600 for every file ledgerctl writes: receipts hold the
// one-time contest token, and reports and exports may hold private
// content; share them deliberately (chmod) rather than by default.
func writeFileWith(name string, write func(io.Writer) error) error {
	return monitor.WriteFileWith(name, 0o600, write)
}

// writeFile writes b to name as writeFileWith does.
func writeFile(name string, b []byte) error { return monitor.WriteFileAtomic(name, b, 0o600) }

// newProgress is the progress bar of a long command over entries, on
// standard error (report.Progress).
func newProgress(cmd *cobra.Command, force bool, min uint64, desc string) *rpt.Progress {
	return rpt.NewProgress(cmd.ErrOrStderr(), force, min, desc)
}
