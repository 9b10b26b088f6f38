package loadgen

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fjaledger/fja/api"
	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/ledger/publish"
	"github.com/fjaledger/fja/ledger/publish/s3test"
	"github.com/fjaledger/fja/verify/tile"
)

// TestMain removes the S3 gateway built for TestBenchPublish.
func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }

// ParseMetrics reads what the Prometheus client library serves: plain
// samples, labelled ones, histogram buckets (le="+Inf"), and no comments.
func TestParseMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	lag := prometheus.NewGauge(prometheus.GaugeOpts{Name: "fja_publish_lag_entries", Help: "lag"})
	up := prometheus.NewCounter(prometheus.CounterOpts{Name: "fja_publish_uploads_total", Help: "uploads"})
	byKind := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "req_total", Help: "by kind"}, []string{"kind", "code"})
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "lat_seconds", Help: "latency", Buckets: []float64{0.5}})
	reg.MustRegister(lag, up, byKind, h)
	lag.Set(1234)
	up.Add(56)
	byKind.WithLabelValues("a b", "200").Add(3)
	h.Observe(0.25)
	h.Observe(2)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMetrics(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	for name, want := range map[string]float64{
		"fja_publish_lag_entries":          1234,
		"fja_publish_uploads_total":        56,
		`req_total{code="200",kind="a b"}`: 3,
		`lat_seconds_bucket{le="0.5"}`:     1,
		`lat_seconds_bucket{le="+Inf"}`:    2,
		"lat_seconds_count":                2,
		"lat_seconds_sum":                  2.25,
	} {
		if got, ok := m[name]; !ok || got != want {
			t.Errorf("%s: got %v (present %v), want %v\n%s", name, got, ok, want, b)
		}
	}
	for name := range m {
		if strings.HasPrefix(name, "#") {
			t.Errorf("a comment parsed as a sample: %s", name)
		}
	}
	if m, err := ParseMetrics([]byte("a 1 1700000000000\nb NaN\nc +Inf\n")); err != nil || m["a"] != 1 || !math.IsNaN(m["b"]) || !math.IsInf(m["c"], 1) {
		t.Errorf("timestamp, NaN, +Inf: %v %v", m, err)
	}
	for _, bad := range []string{"ok 1\nlonely\n", "x{a=\"1\"}\n", "x one\n", "x 1 2 3\n"} {
		if _, err := ParseMetrics([]byte(bad)); err == nil || !strings.Contains(err.Error(), "metrics line") {
			t.Errorf("%q: want an error naming the line, got %v", bad, err)
		}
	}
}

func TestNewDist(t *testing.T) {
	var v []float64
	for i := 100; i >= 1; i-- {
		v = append(v, float64(i))
	}
	if d := NewDist(v); d != (Dist{P50: 50, P99: 99, Max: 100}) {
		t.Errorf("1..100: %+v", d)
	}
	if v[0] != 100 {
		t.Error("NewDist sorted its argument in place")
	}
	if d := NewDist([]float64{7}); d != (Dist{7, 7, 7}) {
		t.Errorf("one value: %+v", d)
	}
	if d := NewDist(nil); d != (Dist{}) {
		t.Errorf("none: %+v", d)
	}
}

// BucketObjects classifies the objects of a published log by their tile
// path, and skips the store's hidden temporary files.
func TestBucketObjects(t *testing.T) {
	dir := t.TempDir()
	write := func(p string, n int) {
		t.Helper()
		f := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	full := tile.Tile{Level: 0, Index: 1, Width: tile.Width}
	write(full.Path(), 8192)
	write(tile.Tile{Level: 1, Index: 0, Width: tile.Width}.Path(), 8192)
	write(tile.Tile{Level: 0, Index: 2, Width: 5}.Path(), 160)
	write(tile.Tile{Index: 1, Width: tile.Width, Entries: true}.Path(), 300000)
	write(tile.Tile{Index: 2, Width: 5, Entries: true}.Path(), 6000)
	write(tile.Tile{Index: 2, Width: 7, Entries: true}.Path(), 8000)
	write("checkpoint", 250)
	write("index.html", 10)
	write(".sgwtmp/upload", 99999)
	got, err := BucketObjects(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []ObjectClass{
		{"full hash tiles", 2, 16384}, {"full entry bundles", 1, 300000},
		{"partial hash tiles", 1, 160}, {"partial entry bundles", 2, 14000},
		{"checkpoint", 1, 250}, {"other", 1, 10},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("class %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if _, err := BucketObjects(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing directory: no error")
	}
}

func TestWritePublishReport(t *testing.T) {
	r := &PublishResult{
		Off: &Result{PerSec: 10000}, On: &Result{PerSec: 9000}, Entries: 20001,
		Samples:    make([]PublishSample, 9),
		LagEntries: Dist{1200, 4500, 5000}, LagSeconds: Dist{0.5, 1.25, 1.5},
		UploadsPerSec: 40, BytesPerSec: 2.5e6, CatchUp: 1500 * time.Millisecond, Errors: 2,
		Objects: []ObjectClass{{"full hash tiles", 78, 638976}, {"checkpoint", 1, 200}, {"other", 0, 0}},
	}
	var b strings.Builder
	info := ReportInfo{Title: "T", Command: "make bench-publish BENCH_PUBLISH_N=20000", Revision: "abc123", Note: "busy"}
	if err := WritePublishReport(&b, info, 250*time.Millisecond, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, w := range []string{
		"# T\n", "Made by `make bench-publish BENCH_PUBLISH_N=20000` at revision abc123", "\nbusy\n", "every 250ms (9 samples)",
		"| appends/s without --publish | 10,000 |", "| appends/s with --publish | 9,000 (0.90× without) |",
		"| 1,200 / 4,500 / 5,000 |", "| 0.50 / 1.25 / 1.50 |", "| 40 |", "| 2,500,000 |", "| 1.50 s |",
		"| failed publishing rounds (fja_publish_errors_total) | 2 |", "| 20,001 |",
		"| full hash tiles | 78 | 638,976 | 31.9 |", "| checkpoint | 1 | 200 | 0.0 |", "| total | 79 | 639,176 | 32.0 |",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("no %q in\n%s", w, out)
		}
	}
	if strings.Contains(out, "| other |") {
		t.Errorf("an empty 'other' class is listed:\n%s", out)
	}
}

// The benchmark against a real publisher: a server publishing to a real
// S3-compatible gateway (versitygw, POSIX backend) and one not publishing,
// both sent the same load. The figures are whatever they are; what it
// checks is that they are taken from the right places: every decision is
// in both logs, the bucket covers the log and passes an independent
// audit, and the objects counted are the bucket's.
func TestBenchPublish(t *testing.T) {
	gw := s3test.Start(t)
	gw.PublicBucket("fja")
	gw.SetEnv(t)
	ctx := context.Background()
	b, err := publish.NewBucket(ctx, "s3://fja/bench", publish.ClientOptions{PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	on := apitest.New(t, apitest.WithAPI(func(c *api.Config) {
		p, err := publish.Start(publish.Config{Log: c.Log, Origin: c.Origin, VerifierKey: c.VerifierKeys[0], Bucket: b, Interval: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close) // before the log closes
		c.Metrics = append(c.Metrics, p)
	}))
	off := apitest.New(t)
	const n = 3000
	o := PublishOptions{
		OffURL: off.URL, OffToken: off.Tokens[auth.Producer], Operator: on.Tokens[auth.Operator],
		BucketURL: gw.URL + "/fja/bench", BucketDir: filepath.Join(gw.BucketDir("fja"), "bench"),
		N: n, Batch: 50, Clients: 2, Every: 20 * time.Millisecond, CatchUpTimeout: 2 * time.Minute,
	}
	if err := o.Check(on.Tokens[auth.Producer]); err != nil {
		t.Fatal(err)
	}
	ons, offs := NewSender(on.URL, on.Tokens[auth.Producer], 2), NewSender(off.URL, off.Tokens[auth.Producer], 2)
	r, err := o.bench(ctx, examples(t), ons, offs)
	if err != nil {
		t.Fatal(err)
	}
	if r.On.Records != n || r.Off.Records != n || r.On.PerSec <= 0 || r.Off.PerSec <= 0 {
		t.Errorf("records: on %d at %.0f/s, off %d at %.0f/s; want %d each", r.On.Records, r.On.PerSec, r.Off.Records, r.Off.PerSec, n)
	}
	offSize, err := offs.TreeSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Entries != n+1 || offSize != n+1 { // the constitution, then the decisions
		t.Errorf("tree sizes: on %d, off %d; want %d", r.Entries, offSize, n+1)
	}
	if got := s3test.Audit(t, o.BucketURL, on.Origin, on.VKey, nil); got != r.Entries {
		t.Errorf("the bucket covers %d entries after the catch-up, the log has %d", got, r.Entries)
	}
	if len(r.Samples) < 2 || r.UploadsPerSec <= 0 || r.BytesPerSec <= 0 || r.LagEntries.Max > float64(r.Entries) || r.Errors != 0 {
		t.Errorf("samples %d, uploads/s %v, bytes/s %v, lag %+v, errors %v", len(r.Samples), r.UploadsPerSec, r.BytesPerSec, r.LagEntries, r.Errors)
	}
	// The objects counted are the bucket's: one per key, classified by
	// its name, summing to the sizes of the objects listed.
	counts := map[string]int{}
	for _, c := range r.Objects {
		counts[c.Name] = c.Objects
	}
	full := int(r.Entries / tile.Width)
	if counts["full entry bundles"] != full || counts["full hash tiles"] < full || counts["checkpoint"] != 1 || counts["other"] != 0 {
		t.Errorf("objects by class %v; want %d full bundles, as many full level-0 tiles, 1 checkpoint", counts, full)
	}
	total := 0
	for _, c := range r.Objects {
		total += c.Objects
	}
	if keys := gw.Objects("fja", "bench/"); len(keys) != total {
		t.Errorf("the bucket lists %d objects, %d were counted", len(keys), total)
	}
}
