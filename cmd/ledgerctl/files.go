package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
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

// progress is the progress bar of a long command over entries, on
// standard error: drawn when that is a terminal and the total is at least
// min, or always when forced (--progress). The bar is made at the first
// report that qualifies; finish ends it, and a later report starts anew.
type progress struct {
	w               io.Writer
	force, terminal bool
	min             uint64
	desc            string
	bar             *progressbar.ProgressBar
}

func newProgress(cmd *cobra.Command, force bool, min uint64, desc string) *progress {
	w := cmd.ErrOrStderr()
	return &progress{w: w, force: force, terminal: isTerminal(w), min: min, desc: desc}
}

// set reports done of total entries.
func (p *progress) set(done, total uint64) {
	if p.bar == nil && (p.force || (p.terminal && total >= p.min)) {
		p.bar = newBar(p.w, int64(total), p.desc, "entries")
	}
	if p.bar != nil {
		_ = p.bar.Set64(int64(done))
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}
