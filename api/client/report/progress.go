package report

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// IsTerminal reports whether w is a terminal (progress bars go only there
// unless forced).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// NewBar is the progress bar of a long command on w: desc, a count of unit.
func NewBar(w io.Writer, total int64, desc, unit string) *progressbar.ProgressBar {
	return progressbar.NewOptions64(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(), progressbar.OptionSetItsString(unit), progressbar.OptionShowIts(),
		progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionSetWidth(30),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }))
}

// Progress is the progress bar of a long command over entries, on w
// (standard error): drawn when w is a terminal and the total is at least
// Min, or always when forced (--progress). The bar is made at the first
// report that qualifies; Finish ends it, and a later report starts anew.
type Progress struct {
	w               io.Writer
	force, terminal bool
	min             uint64
	desc            string
	bar             *progressbar.ProgressBar
}

// NewProgress is the Progress of the command desc on w.
func NewProgress(w io.Writer, force bool, min uint64, desc string) *Progress {
	return &Progress{w: w, force: force, terminal: IsTerminal(w), min: min, desc: desc}
}

// Set reports done of total entries.
func (p *Progress) Set(done, total uint64) {
	if p.bar == nil && (p.force || (p.terminal && total >= p.min)) {
		p.bar = NewBar(p.w, int64(total), p.desc, "entries")
	}
	if p.bar != nil {
		_ = p.bar.Set64(int64(done))
	}
}

// Finish ends the bar drawn, if any.
func (p *Progress) Finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}
