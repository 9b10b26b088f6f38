package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

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

// isTerminal reports whether w is a terminal (progress bars go only there
// unless --progress).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// newBar is the progress bar of a long command: desc, a count of unit.
func newBar(w io.Writer, total int64, desc, unit string) *progressbar.ProgressBar {
	return progressbar.NewOptions64(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(), progressbar.OptionSetItsString(unit), progressbar.OptionShowIts(),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionSetWidth(30),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }))
}
