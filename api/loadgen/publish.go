package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
	"github.com/fjaledger/fja/verify/tile"
)

// PublishOptions configure a publishing benchmark (ledgerctl bench publish,
// make bench-publish): the same batched load of example decisions (the
// three kinds mixed) sent to two fresh servers on this machine, first one
// without --publish, then one with it, whose /metrics and bucket are
// sampled every Every during the load; then the time until the bucket's
// checkpoint covers the whole log, and the bytes of the bucket's objects.
type PublishOptions struct {
	OffURL, OffToken string // the server without --publish, and its producer token
	Operator         string // an operator token of the publishing server (GET /metrics)
	// BucketURL is the published log read anonymously over HTTP (its
	// checkpoint at BucketURL/checkpoint); BucketDir the directory on disk
	// holding the objects under the bucket prefix (a POSIX-backed store).
	BucketURL, BucketDir string
	Examples             string // directory of the example requests ("": the default)
	N, Batch, Clients    int
	Every                time.Duration // sampling period during the load
	CatchUpTimeout       time.Duration // how long to wait for the bucket after the load
	Info                 ReportInfo    // provenance of the report (Title, Command, Revision, Note)
}

// Flags registers the options as flags of ledgerctl bench publish.
func (o *PublishOptions) Flags(f *pflag.FlagSet) {
	f.StringVar(&o.OffURL, "off-url", "", "`URL` of a second, fresh server without --publish, sent the same load (the cost of publishing)")
	f.StringVar(&o.OffToken, "off-token", "", "a producer `token` of --off-url")
	f.StringVar(&o.Operator, "operator-token", "", "an operator `token` of --url, for its GET /metrics")
	f.StringVar(&o.BucketURL, "bucket-url", "", "`URL` of the published log over plain HTTP (what ledgerd --publish s3://BUCKET/PREFIX writes)")
	f.StringVar(&o.BucketDir, "bucket-dir", "", "`directory` on disk holding the bucket's objects under PREFIX (the store's POSIX backend), for bytes per entry")
	f.StringVar(&o.Examples, "examples", "", "`directory` of the example requests (default ../shared/examples beside the module root)")
	f.IntVarP(&o.N, "entries", "n", 200000, "decisions sent to each server")
	f.IntVar(&o.Batch, "batch", 250, "records per POST /v1/decisions:batch")
	f.IntVar(&o.Clients, "clients", 8, "concurrent clients")
	f.DurationVar(&o.Every, "every", 250*time.Millisecond, "sampling period of /metrics and the bucket during the load")
	f.DurationVar(&o.CatchUpTimeout, "catch-up-timeout", 10*time.Minute, "how long to wait after the load for the bucket's checkpoint to cover the log")
	f.StringVar(&o.Info.Command, "command", "", "the command to name in the report (default: this command line, token hidden)")
	f.StringVar(&o.Info.Revision, "revision", "", "the source revision to name in the report (default: the one stamped in this binary, if any)")
	f.StringVar(&o.Info.Note, "note", "", "a paragraph for the report (say, that the machine was shared)")
}

// Check reports the first missing or bad option, or a missing producer
// token of the publishing server.
func (o *PublishOptions) Check(token string) error {
	switch {
	case token == "":
		return errors.New("want a producer --token of --url (or LEDGER_TOKEN)")
	case o.OffURL == "" || o.OffToken == "" || o.Operator == "" || o.BucketURL == "" || o.BucketDir == "":
		return errors.New("want --off-url, --off-token, --operator-token, --bucket-url and --bucket-dir")
	case o.N < 1 || o.Batch < 1 || o.Clients < 1 || o.Every <= 0 || o.CatchUpTimeout <= 0:
		return fmt.Errorf("want -n, --batch, --clients >= 1 and --every, --catch-up-timeout > 0, got %d, %d, %d, %v, %v", o.N, o.Batch, o.Clients, o.Every, o.CatchUpTimeout)
	}
	return nil
}

// PublishSample is one sample of the publishing server during the load.
type PublishSample struct {
	At          time.Duration // since the load started
	LagEntries  float64       // fja_publish_lag_entries
	LagSeconds  float64       // fja_publish_lag_seconds
	Published   float64       // fja_published_size
	Uploads     float64       // fja_publish_uploads_total
	Errors      float64       // fja_publish_errors_total
	BucketBytes int64         // sum of the sizes of the objects under the prefix
}

// Dist summarises a sampled quantity: nearest-rank p50 and p99, and max.
type Dist struct{ P50, P99, Max float64 }

// NewDist summarises values (the zero Dist for none).
func NewDist(values []float64) Dist {
	if len(values) == 0 {
		return Dist{}
	}
	s := slices.Sorted(slices.Values(values))
	return Dist{P50: quantile(s, 0.5), P99: quantile(s, 0.99), Max: s[len(s)-1]}
}

// ObjectClass is one class of the bucket's objects, with their total size.
type ObjectClass struct {
	Name    string
	Objects int
	Bytes   int64
}

// PublishResult is what a publishing benchmark measured.
type PublishResult struct {
	Off, On                    *Result         // the load without and with --publish
	Entries                    uint64          // the publishing server's tree size after the load
	Samples                    []PublishSample // during the load, the first just before it, the last just after
	LagEntries, LagSeconds     Dist
	UploadsPerSec, BytesPerSec float64       // during the load
	Errors                     float64       // fja_publish_errors_total after the catch-up
	CatchUp                    time.Duration // from the end of the load until the bucket's checkpoint covered Entries
	Objects                    []ObjectClass // full hash tiles, full bundles, partial ones, the checkpoint
}

// Run runs the benchmark against the publishing server at url (producer
// token) and writes the Markdown report to w.
func (o *PublishOptions) Run(ctx context.Context, w io.Writer, url, token string) error {
	ex, err := Load(ExamplesDir(o.Examples))
	if err != nil {
		return err
	}
	on, off := NewSender(url, token, o.Clients), NewSender(o.OffURL, o.OffToken, o.Clients)
	r, err := o.bench(ctx, ex, on, off)
	if err != nil {
		return err
	}
	if o.Info.Title == "" {
		o.Info.Title = fmt.Sprintf("ledgerd --publish under load: %s decisions (3 example kinds mixed, HTTP batches of %d, %d clients)", GroupDigits(o.N), o.Batch, o.Clients)
	}
	o.Info.Complete(os.Args, "")
	return WritePublishReport(w, o.Info, o.Every, r)
}

func (o *PublishOptions) bench(ctx context.Context, ex *Examples, on, off *Sender) (*PublishResult, error) {
	res := &PublishResult{}
	load := func(s *Sender) (*Result, error) {
		if err := s.PublishConstitution(ctx, ex); err != nil {
			return nil, err
		}
		r, err := s.Run(ctx, Phase{Kinds: ex.Kinds, N: o.N, Clients: o.Clients, Batch: o.Batch, NoLatency: true, MaxErrors: 1})
		if err == nil && r.Errors > 0 {
			err = fmt.Errorf("%s: %d records failed: %s", s.URL, r.Errors, r.FirstError)
		}
		return r, err
	}
	var err error
	if res.Off, err = load(off); err != nil {
		return nil, err
	}
	ops := NewSender(on.URL, o.Operator, 2)
	start := time.Now()
	sample := func() (PublishSample, error) {
		s, err := o.sample(ctx, ops)
		s.At = time.Since(start)
		return s, err
	}
	first, err := sample()
	if err != nil {
		return nil, err
	}
	res.Samples = append(res.Samples, first)
	// Sample every o.Every while the load runs.
	sctx, stop := context.WithCancel(ctx)
	sampled := make(chan error, 1)
	go func() {
		t := time.NewTicker(o.Every)
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				sampled <- nil
				return
			case <-t.C:
			}
			s, err := sample()
			if err != nil {
				sampled <- err
				return
			}
			res.Samples = append(res.Samples, s)
		}
	}()
	res.On, err = load(on)
	stop()
	if serr := <-sampled; err == nil {
		err = serr
	}
	if err != nil {
		return nil, err
	}
	loaded := time.Now()
	last, err := sample()
	if err != nil {
		return nil, err
	}
	res.Samples = append(res.Samples, last)
	var info record.LogInfo // the log's size, origin and key, to read the bucket's checkpoint
	if err := getJSON(ctx, on, "/v1/log", &info); err != nil {
		return nil, err
	}
	res.Entries = info.TreeSize
	var lagE, lagS []float64
	for _, s := range res.Samples {
		lagE, lagS = append(lagE, s.LagEntries), append(lagS, s.LagSeconds)
	}
	res.LagEntries, res.LagSeconds = NewDist(lagE), NewDist(lagS)
	if d := (last.At - first.At).Seconds(); d > 0 {
		res.UploadsPerSec = (last.Uploads - first.Uploads) / d
		res.BytesPerSec = float64(last.BucketBytes-first.BucketBytes) / d
	}
	// Catch-up: until the bucket's checkpoint, read as any client reads
	// it and verified with the log's key, covers the whole log.
	for deadline := loaded.Add(o.CatchUpTimeout); ; time.Sleep(20 * time.Millisecond) {
		size, err := bucketSize(ctx, o.BucketURL, info.Origin, info.VerifierKey)
		if err != nil {
			return nil, err
		}
		if size >= res.Entries {
			res.CatchUp = time.Since(loaded)
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the bucket's checkpoint is at size %d, %v after the load; the log has %d entries", size, o.CatchUpTimeout, res.Entries)
		}
	}
	end, err := o.sample(ctx, ops)
	if err != nil {
		return nil, err
	}
	res.Errors = end.Errors
	res.Objects, err = BucketObjects(o.BucketDir)
	return res, err
}

// sample scrapes the publishing metrics and sums the bucket's objects.
func (o *PublishOptions) sample(ctx context.Context, ops *Sender) (PublishSample, error) {
	var s PublishSample
	var buf bytes.Buffer
	code, err := ops.do(ctx, http.MethodGet, "/metrics", nil, &buf)
	if err != nil {
		return s, err
	}
	if code != http.StatusOK {
		return s, fmt.Errorf("GET /metrics: want 200, got %d %s", code, clip(buf.Bytes(), 200))
	}
	m, err := ParseMetrics(buf.Bytes())
	if err != nil {
		return s, err
	}
	for _, f := range []struct {
		name string
		v    *float64
	}{
		{"fja_publish_lag_entries", &s.LagEntries}, {"fja_publish_lag_seconds", &s.LagSeconds},
		{"fja_published_size", &s.Published}, {"fja_publish_uploads_total", &s.Uploads},
		{"fja_publish_errors_total", &s.Errors},
	} {
		v, ok := m[f.name]
		if !ok {
			return s, fmt.Errorf("GET /metrics: no %s (is the server running with --publish?)", f.name)
		}
		*f.v = v
	}
	classes, err := BucketObjects(o.BucketDir)
	for _, c := range classes {
		s.BucketBytes += c.Bytes
	}
	return s, err
}

// ParseMetrics reads a Prometheus text exposition: each sample's name, with
// its labels as written ({...}), to its value. Comments and blank lines are
// skipped; a timestamp after the value is ignored.
func ParseMetrics(b []byte) (map[string]float64, error) {
	m := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest := line, ""
		if i := strings.LastIndexByte(line, '}'); i > 0 && strings.IndexByte(line, '{') > 0 {
			name, rest = line[:i+1], line[i+1:]
		} else if i := strings.IndexAny(line, " \t"); i > 0 {
			name, rest = line[:i], line[i:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 || len(fields) > 2 {
			return nil, fmt.Errorf("metrics line %d: want NAME VALUE [TIMESTAMP], got %q", n, clip([]byte(line), 200))
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: value of %s: want a number, got %q", n, name, fields[0])
		}
		m[name] = v
	}
	return m, sc.Err()
}

// BucketObjects sums the objects of a published log stored as files under
// dir (the bucket prefix on a POSIX-backed store), by class: full hash
// tiles, full entry bundles (written once), partial ones (left behind as
// the log grows past them), the checkpoint, and anything else. Names
// starting with "." (the store's own temporary files) are skipped.
func BucketObjects(dir string) ([]ObjectClass, error) {
	classes := []ObjectClass{{Name: "full hash tiles"}, {Name: "full entry bundles"}, {Name: "partial hash tiles"}, {Name: "partial entry bundles"}, {Name: "checkpoint"}, {Name: "other"}}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path != dir {
				return nil // removed while walking (a temporary file)
			}
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && path != dir {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		c := &classes[5]
		if rel = filepath.ToSlash(rel); rel == "checkpoint" {
			c = &classes[4]
		} else if t, err := tile.ParsePath(rel); err == nil {
			i := 0
			if t.Entries {
				i = 1
			}
			if t.Width != tile.Width {
				i += 2
			}
			c = &classes[i]
		}
		c.Objects++
		c.Bytes += fi.Size()
		return nil
	})
	return classes, err
}

// bucketSize reads the bucket's checkpoint anonymously and returns its tree
// size once verified with the log's origin and key (0 while there is none).
func bucketSize(ctx context.Context, baseURL, origin, vkey string) (uint64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(baseURL, "/")+"/checkpoint", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return 0, err
	case resp.StatusCode == http.StatusNotFound:
		return 0, nil
	case resp.StatusCode != http.StatusOK:
		return 0, fmt.Errorf("GET %s: want 200 or 404, got %s %s", req.URL, resp.Status, clip(b, 200))
	}
	c, err := verify.OpenCheckpoint(b, origin, vkey)
	if err != nil {
		return 0, fmt.Errorf("the bucket's checkpoint: %w", err)
	}
	return c.Size, nil
}

// getJSON decodes the 200 answer of GET path from s.
func getJSON(ctx context.Context, s *Sender, path string, v any) error {
	var buf bytes.Buffer
	code, err := s.do(ctx, http.MethodGet, path, nil, &buf)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("GET %s: want 200, got %d %s", path, code, clip(buf.Bytes(), 200))
	}
	return json.Unmarshal(buf.Bytes(), v)
}

// WritePublishReport writes the report of a publishing benchmark: its
// provenance, the figures, and the bucket's objects by class.
func WritePublishReport(w io.Writer, info ReportInfo, every time.Duration, r *PublishResult) error {
	var b strings.Builder
	info.writeHeader(&b)
	fmt.Fprintf(&b, "The same load, example decisions (refused, answered and private mixed, fresh ids) in HTTP batches, is sent\n"+
		"first to a fresh `ledgerd` without `--publish`, then to a fresh `ledgerd --publish s3://BUCKET/PREFIX` writing to a\n"+
		"versitygw (POSIX backend) on loopback, all on the same machine. During the second load its `/metrics` and the\n"+
		"bucket's objects are sampled every %v (%d samples); after it, the bucket's checkpoint is read over plain HTTP\n"+
		"until it verifies and covers the whole log (catch-up).\n\n", every, len(r.Samples))
	b.WriteString("| figure | value |\n| --- | ---: |\n")
	ratio := ""
	if r.Off.PerSec > 0 {
		ratio = fmt.Sprintf(" (%.2f× without)", r.On.PerSec/r.Off.PerSec)
	}
	fmt.Fprintf(&b, "| appends/s without --publish | %s |\n", thousands(r.Off.PerSec))
	fmt.Fprintf(&b, "| appends/s with --publish | %s%s |\n", thousands(r.On.PerSec), ratio)
	fmt.Fprintf(&b, "| publish lag during the load, entries (p50 / p99 / max) | %s / %s / %s |\n", thousands(r.LagEntries.P50), thousands(r.LagEntries.P99), thousands(r.LagEntries.Max))
	fmt.Fprintf(&b, "| publish lag during the load, seconds (p50 / p99 / max) | %.2f / %.2f / %.2f |\n", r.LagSeconds.P50, r.LagSeconds.P99, r.LagSeconds.Max)
	fmt.Fprintf(&b, "| uploads/s to the bucket during the load | %s |\n", thousands(r.UploadsPerSec))
	fmt.Fprintf(&b, "| bytes/s added to the bucket during the load | %s |\n", thousands(r.BytesPerSec))
	fmt.Fprintf(&b, "| catch-up after the load (bucket checkpoint covers the log) | %.2f s |\n", r.CatchUp.Seconds())
	fmt.Fprintf(&b, "| failed publishing rounds (fja_publish_errors_total) | %.0f |\n", r.Errors)
	fmt.Fprintf(&b, "| entries in the log | %s |\n\n", GroupDigits(r.Entries))
	b.WriteString("| objects in the bucket | count | bytes | bytes/entry |\n| --- | ---: | ---: | ---: |\n")
	var total ObjectClass
	for _, c := range r.Objects {
		if c.Objects == 0 && c.Name == "other" {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.1f |\n", c.Name, GroupDigits(c.Objects), GroupDigits(uint64(c.Bytes)), perEntry(c.Bytes, r.Entries))
		total.Objects += c.Objects
		total.Bytes += c.Bytes
	}
	fmt.Fprintf(&b, "| total | %s | %s | %.1f |\n", GroupDigits(total.Objects), GroupDigits(uint64(total.Bytes)), perEntry(total.Bytes, r.Entries))
	_, err := io.WriteString(w, b.String())
	return err
}

func perEntry(bytes int64, entries uint64) float64 {
	if entries == 0 {
		return 0
	}
	return float64(bytes) / float64(entries)
}
