package loadgen

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
)

// series is one line of a panel.
type series struct {
	name  string
	color string
	y     func(Sample) float64
	// optional: drawn only if some sample has a value (not 0)
	optional bool
}

type panel struct {
	title, unit string
	lines       []series
}

var panels = []panel{
	{"server RSS", "MiB", []series{
		{"VmRSS", "#1f77b4", func(s Sample) float64 { return float64(s.RSS) / (1 << 20) }, false},
		{"RssAnon", "#9467bd", func(s Sample) float64 { return float64(s.AnonRSS) / (1 << 20) }, false},
		{"live heap", "#17becf", func(s Sample) float64 { return float64(s.LiveHeap) / (1 << 20) }, true},
	}},
	{"append throughput (HTTP batches)", "records/s", []series{{"records/s", "#2ca02c", func(s Sample) float64 { return s.AppendsPerSec }, false}}},
	{"inclusion proof latency", "ms", []series{
		{"p50", "#ff7f0e", func(s Sample) float64 { return s.ProofP50ms }, false},
		{"p99", "#d62728", func(s Sample) float64 { return s.ProofP99ms }, false},
		{"p50 settled", "#8c564b", func(s Sample) float64 { return s.SettledP50ms }, true},
	}},
	{"bytes on disk per entry", "bytes", []series{{"du / entries", "#9467bd", func(s Sample) float64 { return s.BytesPerEntry }, false}}},
}

// Chart geometry: a 2 × 2 grid of panels.
const (
	chartW, chartH   = 960, 660
	panelW, panelH   = 480, 310
	marginL, marginR = 70, 20
	marginT, marginB = 40, 50
	headerH          = 40
)

// WriteSVG draws the samples as an SVG chart of four panels (RSS,
// throughput, proof latency, bytes per entry) against the log size, each
// y axis from zero. title heads the chart.
func WriteSVG(w io.Writer, title string, samples []Sample) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", chartW, chartH)
	fmt.Fprintf(&b, `<text x="%d" y="24" text-anchor="middle" font-size="16">%s</text>`+"\n", chartW/2, esc(title))
	var xmax float64
	for _, s := range samples {
		xmax = max(xmax, float64(s.Entries))
	}
	xt := ticks(xmax)
	xscale, xunit := entriesUnit(xt[len(xt)-1])
	for i, p := range panels {
		p.lines = slices.DeleteFunc(slices.Clone(p.lines), func(l series) bool {
			return l.optional && !slices.ContainsFunc(samples, func(s Sample) bool { return l.y(s) != 0 })
		})
		ox, oy := float64(i%2*panelW), float64(headerH+i/2*panelH)
		var ymax float64
		for _, s := range samples {
			for _, l := range p.lines {
				ymax = max(ymax, l.y(s))
			}
		}
		yt := ticks(ymax)
		x0, y0 := ox+marginL, oy+panelH-marginB // origin of the plot area
		pw, ph := float64(panelW-marginL-marginR), float64(panelH-marginT-marginB)
		px := func(v float64) float64 { return x0 + v/xt[len(xt)-1]*pw }
		py := func(v float64) float64 { return y0 - v/yt[len(yt)-1]*ph }
		fmt.Fprintf(&b, `<g><text x="%.0f" y="%.0f" text-anchor="middle" font-size="13" font-weight="bold">%s</text>`+"\n", x0+pw/2, oy+marginT-14, esc(p.title))
		// grid and ticks
		for _, v := range yt {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`, x0, py(v), x0+pw, py(v))
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", x0-6, py(v)+4, num(v))
		}
		for _, v := range xt {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`, px(v), y0, px(v), y0+4)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", px(v), y0+17, num(v/xscale))
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`, x0, y0, x0+pw, y0)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>`+"\n", x0, y0, x0, y0-ph)
		// axis labels
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">log size (%s)</text>`+"\n", x0+pw/2, y0+36, esc(xunit))
		fmt.Fprintf(&b, `<text transform="translate(%.1f %.1f) rotate(-90)" text-anchor="middle">%s</text>`+"\n", ox+16, y0-ph/2, esc(p.unit))
		for j, l := range p.lines {
			var pts bytes.Buffer
			for _, s := range samples {
				fmt.Fprintf(&pts, "%.1f,%.1f ", px(float64(s.Entries)), py(l.y(s)))
			}
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", l.color, bytes.TrimSpace(pts.Bytes()))
			for _, s := range samples {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>`, px(float64(s.Entries)), py(l.y(s)), l.color)
			}
			if len(p.lines) > 1 { // legend
				lx, ly := x0+10+float64(j)*70, oy+marginT+4
				fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/><text x="%.1f" y="%.1f">%s</text>`+"\n",
					lx, ly, lx+16, ly, l.color, lx+20, ly+4, esc(l.name))
			}
		}
		b.WriteString("</g>\n")
	}
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// ticks returns 0 and evenly spaced round values (1, 2 or 5 × 10^k apart)
// up to the first at or above max, about five of them.
func ticks(max float64) []float64 {
	if max <= 0 || math.IsNaN(max) || math.IsInf(max, 0) {
		return []float64{0, 1}
	}
	raw := max / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	t := []float64{0}
	for v := step; ; v += step {
		t = append(t, v)
		if v >= max*(1-1e-9) {
			return t
		}
	}
}

// entriesUnit picks the unit of the log-size axis.
func entriesUnit(max float64) (float64, string) {
	switch {
	case max >= 1e6:
		return 1e6, "millions of entries"
	case max >= 1e3:
		return 1e3, "thousands of entries"
	}
	return 1, "entries"
}

func num(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
