package loadgen

import (
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// Complete fills what the caller left empty of a run's provenance, as of
// now and this binary: Made (now, RFC 3339), Revision (the VCS revision
// stamped in the binary, if any), Machine (CPUs, OS/arch), Command (args
// as a shell command, the value of --token hidden). CSV and SVG, named as
// given on the command line, become relative to the directory of the
// Markdown report md (unchanged when md is "").
func (i *ReportInfo) Complete(args []string, md string) {
	if i.Made == "" {
		i.Made = time.Now().UTC().Format(time.RFC3339)
	}
	if i.Revision == "" {
		i.Revision = Revision()
	}
	if i.Machine == "" {
		i.Machine = fmt.Sprintf("%d CPUs, %s/%s, load generator on the same CPUs", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	}
	if i.Command == "" {
		i.Command = CommandLine(args)
	}
	if md != "" {
		i.CSV, i.SVG = relTo(md, i.CSV), relTo(md, i.SVG)
	}
}

// Revision is the VCS revision the binary was built from, if stamped.
func Revision() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = " (with uncommitted changes)"
			}
		}
	}
	if rev == "" {
		return ""
	}
	return rev[:min(12, len(rev))] + dirty
}

// CommandLine is args as a shell command, the value of --token hidden.
func CommandLine(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		switch {
		case i > 0 && args[i-1] == "--token":
			a = "…"
		case strings.HasPrefix(a, "--token="):
			a = "--token=…"
		}
		out[i] = a
	}
	if len(out) > 0 {
		out[0] = filepath.Base(out[0])
	}
	return strings.Join(out, " ")
}

// relTo is path relative to the directory of file (path itself if that
// cannot be said).
func relTo(file, path string) string {
	if r, err := filepath.Rel(filepath.Dir(file), path); err == nil {
		return r
	}
	return path
}

// GrowFiles are the files a growth run keeps up to date after every
// sample, so that a long run's figures survive it: the samples as CSV, the
// chart as SVG, and, when MD is set, the Markdown report. Write writes one
// file whole (atomically: a reader never sees half of it).
type GrowFiles struct {
	CSV, SVG, MD string
	Title        string
	Info         ReportInfo
	Write        func(name string, write func(io.Writer) error) error
}

// NewGrowFiles are the files of the growth run cfg: info's CSV and SVG,
// and md when not "". The note is stated with info completed
// (ReportInfo.Complete with the command line args; figures named relative
// to md); a title not given names the run's size, batches and clients.
func NewGrowFiles(cfg GrowConfig, info ReportInfo, md string, args []string, write func(name string, write func(io.Writer) error) error) *GrowFiles {
	if info.Title == "" {
		info.Title = fmt.Sprintf("ledgerd as its log grows by %s decisions (3 example kinds mixed, HTTP batches of %d, %d clients)", GroupDigits(cfg.N), cfg.Batch, cfg.Clients)
	}
	f := &GrowFiles{CSV: info.CSV, SVG: info.SVG, MD: md, Title: info.Title, Write: write}
	info.Complete(args, md)
	f.Info = info
	return f
}

// Update rewrites every file from the samples so far.
func (f *GrowFiles) Update(samples []Sample) error {
	if err := f.Write(f.CSV, func(w io.Writer) error { return WriteCSV(w, samples) }); err != nil {
		return err
	}
	if err := f.Write(f.SVG, func(w io.Writer) error { return WriteSVG(w, f.Title, samples) }); err != nil {
		return err
	}
	if f.MD == "" {
		return nil
	}
	return f.Write(f.MD, func(w io.Writer) error { return WriteReport(w, f.Info, samples) })
}

// WriteSampleHeader writes the header of the one-line-per-sample progress
// table of a growth run; WriteSample writes one sample's line.
func WriteSampleHeader(w io.Writer) {
	fmt.Fprintf(w, "%12s %10s %10s %12s %12s %12s %10s %10s %12s\n", "entries", "elapsed s", "RSS MiB", "appends/s", "CPU µs/rec", "written/rec", "proof p50", "proof p99", "bytes/entry")
}

// WriteSample writes one line of the table of WriteSampleHeader.
func WriteSample(w io.Writer, s Sample) {
	fmt.Fprintf(w, "%12d %10.0f %10.1f %12.0f %12.1f %12.0f %8.2fms %8.2fms %12.0f\n", s.Entries, s.Elapsed,
		float64(s.RSS)/(1<<20), s.AppendsPerSec, s.CPUPerRecord, s.WrittenPerRecord, s.ProofP50ms, s.ProofP99ms, s.BytesPerEntry)
}

// Failed is an error naming the first result with failed records, nil
// when none failed.
func Failed(results []*Result) error {
	for _, r := range results {
		if r.Errors > 0 {
			return fmt.Errorf("%s %s: %d records failed: %s", r.Kind, r.Mode, r.Errors, r.FirstError)
		}
	}
	return nil
}
