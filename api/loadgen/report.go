package loadgen

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// ReportInfo says where a growth run's figures come from.
type ReportInfo struct {
	Title    string
	Command  string // the command that made the figures
	Made     string // when (RFC 3339)
	Revision string // the source revision of the binaries, if known
	Machine  string // CPUs, OS; the load generator shares them
	CSV, SVG string // file names of the figures, relative to the report
	Note     string // a paragraph to add (conditions of the run), if any
}

// writeHeader writes the report's title, where its figures come from and
// the note, if any.
func (info ReportInfo) writeHeader(b *strings.Builder) {
	fmt.Fprintf(b, "# %s\n\n", info.Title)
	fmt.Fprintf(b, "Made by `%s`", info.Command)
	if info.Made != "" {
		fmt.Fprintf(b, " on %s", info.Made)
	}
	if info.Revision != "" {
		fmt.Fprintf(b, " at revision %s", info.Revision)
	}
	if info.Machine != "" {
		fmt.Fprintf(b, " (%s)", info.Machine)
	}
	b.WriteString(".\n\n")
	if info.Note != "" {
		fmt.Fprintf(b, "%s\n\n", info.Note)
	}
}

// WriteReport writes a Markdown note on a growth run: its provenance, the
// chart, how the last sample compares with the one at a tenth of its size
// (the targets: RSS at most 1.25×, throughput at least 0.8×, proof
// latency growing no faster than log n), and every sample.
func WriteReport(w io.Writer, info ReportInfo, samples []Sample) error {
	var b strings.Builder
	info.writeHeader(&b)
	b.WriteString("A fresh `ledgerd` on loopback is grown by example decisions (refused, answered and private\n" +
		"mixed, fresh ids, generated on the fly) sent in HTTP batches by `ledgerctl bench grow` on the\n" +
		"same machine. After each stretch of appends, with no load running, it samples the server's RSS\n" +
		"(VmRSS), the append rate over the stretch, the server's CPU time and the bytes it wrote over it a\n" +
		"record, the latency of inclusion proofs for random indices\n" +
		"(GET /v1/proofs/inclusion against the current size, one at a time), and the bytes on disk per\n" +
		"entry (du of the data directory over the tree size).\n\n")
	if info.SVG != "" {
		fmt.Fprintf(&b, "![growth chart](%s)\n\n", info.SVG)
	}
	if info.CSV != "" {
		fmt.Fprintf(&b, "Figures: [%s](%s).\n\n", info.CSV, info.CSV)
	}
	if len(samples) >= 2 {
		last := samples[len(samples)-1]
		ref := samples[0]
		for _, s := range samples[:len(samples)-1] { // the sample nearest a tenth of the last size
			if math.Abs(float64(s.Entries)-float64(last.Entries)/10) < math.Abs(float64(ref.Entries)-float64(last.Entries)/10) {
				ref = s
			}
		}
		logRatio := math.Log2(float64(last.Entries)) / math.Log2(float64(max(ref.Entries, 2)))
		fmt.Fprintf(&b, "At %s entries against %s entries:\n\n", GroupDigits(last.Entries), GroupDigits(ref.Entries))
		b.WriteString("| figure | then | now | now / then | issue 10 wants |\n| --- | ---: | ---: | ---: | --- |\n")
		fmt.Fprintf(&b, "| RSS (VmRSS), MiB | %.0f | %.0f | %.2f | ≤ 1.25 (10M against 1M) |\n", mib(ref.RSS), mib(last.RSS), float64(last.RSS)/float64(ref.RSS))
		fmt.Fprintf(&b, "| anonymous RSS (RssAnon), MiB | %.0f | %.0f | %.2f | |\n", mib(ref.AnonRSS), mib(last.AnonRSS), float64(last.AnonRSS)/float64(max(ref.AnonRSS, 1)))
		if ref.LiveHeap > 0 && last.LiveHeap > 0 {
			fmt.Fprintf(&b, "| live Go heap after a forced collection, MiB | %.0f | %.0f | %.2f | |\n", mib(ref.LiveHeap), mib(last.LiveHeap), float64(last.LiveHeap)/float64(ref.LiveHeap))
		}
		fmt.Fprintf(&b, "| appends/s | %.0f | %.0f | %.2f | ≥ 0.8 |\n", ref.AppendsPerSec, last.AppendsPerSec, last.AppendsPerSec/ref.AppendsPerSec)
		if ref.CPUPerRecord > 0 && last.CPUPerRecord > 0 {
			fmt.Fprintf(&b, "| server CPU over the stretch, µs a record | %.1f | %.1f | %.2f | |\n", ref.CPUPerRecord, last.CPUPerRecord, last.CPUPerRecord/ref.CPUPerRecord)
		}
		if ref.WrittenPerRecord > 0 && last.WrittenPerRecord > 0 {
			fmt.Fprintf(&b, "| bytes the server wrote over the stretch, a record | %.0f | %.0f | %.2f | |\n", ref.WrittenPerRecord, last.WrittenPerRecord, last.WrittenPerRecord/ref.WrittenPerRecord)
		}
		fmt.Fprintf(&b, "| proof p50, ms | %.3f | %.3f | %.2f | ≤ log n ratio, %.2f |\n", ref.ProofP50ms, last.ProofP50ms, last.ProofP50ms/ref.ProofP50ms, logRatio)
		if r, ok := trendRatio(samples, ref.Entries, last.Entries, func(s Sample) float64 { return s.ProofP50ms }); ok {
			fmt.Fprintf(&b, "| proof p50, the line fitted to every sample against log n | %.3f | %.3f | %.2f | ≤ log n ratio, %.2f |\n", r.then, r.now, r.now/r.then, logRatio)
		}
		fmt.Fprintf(&b, "| proof p99, ms | %.3f | %.3f | %.2f | |\n", ref.ProofP99ms, last.ProofP99ms, last.ProofP99ms/ref.ProofP99ms)
		if settled(samples) {
			fmt.Fprintf(&b, "| proof p50 once settled, ms | %.3f | %.3f | %.2f | ≤ log n ratio, %.2f |\n", ref.SettledP50ms, last.SettledP50ms, last.SettledP50ms/ref.SettledP50ms, logRatio)
			if r, ok := trendRatio(samples, ref.Entries, last.Entries, func(s Sample) float64 { return s.SettledP50ms }); ok {
				fmt.Fprintf(&b, "| proof p50 once settled, the line fitted against log n | %.3f | %.3f | %.2f | ≤ log n ratio, %.2f |\n", r.then, r.now, r.now/r.then, logRatio)
			}
			fmt.Fprintf(&b, "| proof p99 once settled, ms | %.3f | %.3f | %.2f | |\n", ref.SettledP99ms, last.SettledP99ms, last.SettledP99ms/ref.SettledP99ms)
		}
		fmt.Fprintf(&b, "| bytes on disk / entry | %.0f | %.0f | %.2f | |\n\n", ref.BytesPerEntry, last.BytesPerEntry, last.BytesPerEntry/ref.BytesPerEntry)
	}
	if settled(samples) {
		b.WriteString("The proofs of each sample are fetched twice: right after the stretch of appends, and again once\n" +
			"the server's own CPU use has fallen below a tenth of a core (\"settled\": the compactions the\n" +
			"appends started are done; \"settle s\" is how long that took). The pause also lets the next\n" +
			"stretch start without work carried over.\n\n")
		b.WriteString("| entries | elapsed s | RSS MiB | anon RSS MiB | appends/s | CPU µs/record | written B/record | proof p50 ms | proof p99 ms | settle s | settled p50 ms | settled p99 ms | bytes/entry |\n")
		b.WriteString("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		for _, s := range samples {
			fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.0f | %.0f | %.1f | %.0f | %.3f | %.3f | %.1f | %.3f | %.3f | %.0f |\n", GroupDigits(s.Entries), s.Elapsed, mib(s.RSS), mib(s.AnonRSS),
				s.AppendsPerSec, s.CPUPerRecord, s.WrittenPerRecord, s.ProofP50ms, s.ProofP99ms, s.SettleSeconds, s.SettledP50ms, s.SettledP99ms, s.BytesPerEntry)
		}
	} else {
		b.WriteString("| entries | elapsed s | RSS MiB | anon RSS MiB | appends/s | CPU µs/record | written B/record | proof p50 ms | proof p99 ms | bytes/entry |\n")
		b.WriteString("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		for _, s := range samples {
			fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.0f | %.0f | %.1f | %.0f | %.3f | %.3f | %.0f |\n", GroupDigits(s.Entries), s.Elapsed, mib(s.RSS), mib(s.AnonRSS),
				s.AppendsPerSec, s.CPUPerRecord, s.WrittenPerRecord, s.ProofP50ms, s.ProofP99ms, s.BytesPerEntry)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// trend is a fitted figure at two sizes.
type trend struct{ then, now float64 }

// trendRatio fits y = a + b·log2(entries) to every sample by least squares
// and returns the line's values at then and now entries. One sample's
// proof p50 is that of the moment it was fetched in (on a shared VM it
// moves by half from one sample to the next without any trend), so the
// line through all of them is the better reading of how the latency grows.
// ok is false with fewer than three samples or a line not positive at
// then.
func trendRatio(samples []Sample, then, now uint64, y func(Sample) float64) (trend, bool) {
	var n, sx, sy, sxx, sxy float64
	for _, s := range samples {
		if s.Entries < 2 || y(s) <= 0 {
			continue
		}
		x := math.Log2(float64(s.Entries))
		n, sx, sy, sxx, sxy = n+1, sx+x, sy+y(s), sxx+x*x, sxy+x*y(s)
	}
	d := n*sxx - sx*sx
	if n < 3 || d == 0 {
		return trend{}, false
	}
	b := (n*sxy - sx*sy) / d
	a := (sy - b*sx) / n
	at := func(e uint64) float64 { return a + b*math.Log2(float64(max(e, 2))) }
	t := trend{at(then), at(now)}
	return t, t.then > 0
}

// settled reports whether the run fetched settled proofs (GrowConfig.Settle).
func settled(samples []Sample) bool {
	for _, s := range samples {
		if s.SettledP50ms > 0 {
			return true
		}
	}
	return false
}

// GroupDigits writes n with thousands separators: 10,000,000.
func GroupDigits[T ~int | ~uint64](n T) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
