package publish_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/publish"
	"github.com/fjaledger/fja/ledger/publish/s3test"
	"github.com/fjaledger/fja/verify/tile"
)

func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }

// openLog opens the log kept in dir (created on first use: Badger, a
// signing key) and serves it over HTTP on loopback, read surface only.
func openLog(t *testing.T, dir string) *apitest.Server {
	t.Helper()
	return apitest.New(t, apitest.ReadOnly(), apitest.WithDir(dir))
}

// appendN appends n distinct entries (tag names the batch) and fails on
// any error.
func appendN(t *testing.T, l *ledger.Log, tag string, n int) {
	t.Helper()
	for i := range n {
		if _, err := l.Append(context.Background(), fmt.Appendf(nil, "entry %s-%d", tag, i)); err != nil {
			t.Fatal(err)
		}
	}
}

// puts counts the PUT requests each object key receives: a wrapper of the
// real transport that counts, the requests themselves go to the server.
type puts struct {
	mu   sync.Mutex
	keys map[string]int
}

func (p *puts) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut {
		p.mu.Lock()
		if p.keys == nil {
			p.keys = map[string]int{}
		}
		p.keys[r.URL.Path]++
		p.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(r)
}

func (p *puts) snapshot() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := map[string]int{}
	for k, v := range p.keys {
		m[k] = v
	}
	return m
}

// fixture is a log, a public bucket on a real S3 gateway, and how to
// start publishers of the one to the other.
type fixture struct {
	t      *testing.T
	srv    *s3test.Server
	dir    string
	log    *apitest.Server
	bucket string
	prefix string
}

func newFixture(t *testing.T) *fixture {
	srv := s3test.Start(t)
	srv.SetEnv(t)
	f := &fixture{t: t, srv: srv, dir: t.TempDir(), bucket: "ledger", prefix: "logs/one"}
	srv.PublicBucket(f.bucket)
	f.log = openLog(t, f.dir)
	return f
}

// publisher starts a publisher whose requests are counted by c (if set),
// publishing the checkpoints cp chooses (nil: the log's head).
func (f *fixture) publisher(c *puts, cp ...func() ([]byte, uint64)) *publish.Publisher {
	f.t.Helper()
	o := publish.ClientOptions{PathStyle: true}
	if c != nil {
		o.HTTPClient = &http.Client{Transport: c}
	}
	b, err := publish.NewBucket(context.Background(), "s3://"+f.bucket+"/"+f.prefix, o)
	if err != nil {
		f.t.Fatal(err)
	}
	cfg := publish.Config{Log: f.log.Log, Origin: f.log.Origin, VerifierKey: f.log.VKey, Bucket: b,
		Interval: 20 * time.Millisecond, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(f.t.Output(), nil))}
	if len(cp) > 0 {
		cfg.Checkpoint = cp[0]
	}
	p, err := publish.Start(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(p.Close)
	return p
}

// caughtUp waits until p has published the log's head (or publishing
// stopped, which fails the test).
func (f *fixture) caughtUp(p *publish.Publisher) {
	f.t.Helper()
	for p.Published() != f.log.Log.Head().Size {
		if err := p.Stopped(); err != nil {
			f.t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// audit checks the bucket over plain HTTP as an independent client, and
// that every object is byte for byte what the server serves under the
// same path (the checkpoint only by its signature: the log may have moved
// on); it returns the size of the bucket's checkpoint.
func (f *fixture) audit() uint64 {
	f.t.Helper()
	return s3test.Audit(f.t, f.srv.URL+"/"+f.bucket+"/"+f.prefix, f.log.Origin, f.log.VKey, func(path string) ([]byte, error) {
		if path == "checkpoint" {
			return nil, nil
		}
		code, b := f.log.Do("GET", "/"+path, "", nil)
		if code != http.StatusOK {
			return nil, fmt.Errorf("GET /%s: %d %s", path, code, b)
		}
		return b, nil
	})
}

// TestPublishUnderLoad: appends run from several goroutines while the
// publisher runs; the bucket audited meanwhile is always a consistent log,
// and at the end holds the whole log.
func TestPublishUnderLoad(t *testing.T) {
	f := newFixture(t)
	p := f.publisher(nil)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() { appendN(t, f.log.Log, fmt.Sprint("w", w), 800) })
	}
	// Mid-load audits: whatever checkpoint the bucket holds, its tree is
	// complete in the bucket.
	audits := 0
	for done := false; !done; {
		if p.Published() > 0 {
			f.audit()
			audits++
		}
		select {
		case <-waitCh(&wg):
			done = true
		case <-time.After(50 * time.Millisecond):
		}
	}
	f.caughtUp(p)
	if got, want := f.audit(), f.log.Log.Head().Size; got != want || want != 3200 {
		t.Fatalf("the bucket holds a log of %d entries, the log %d, want 3200", got, want)
	}
	t.Logf("%d audits during the load, %d objects written", audits, p.Uploads())
	// Prefixes hold nothing else: only tlog-tiles names.
	for _, k := range f.srv.Objects(f.bucket, "") {
		rest, ok := strings.CutPrefix(k, f.prefix+"/")
		if _, err := tile.ParsePath(rest); !ok || rest != "checkpoint" && err != nil {
			t.Errorf("object %q is not a tlog-tiles name under %s/", k, f.prefix)
		}
	}
}

func waitCh(wg *sync.WaitGroup) <-chan struct{} {
	c := make(chan struct{})
	go func() { wg.Wait(); close(c) }()
	return c
}

// TestPublishResume: a publisher stopped and started again (with the log
// closed and reopened in between, as in a restart of ledgerd) re-uploads
// nothing its last checkpoint covered; only what the log added.
func TestPublishResume(t *testing.T) {
	f := newFixture(t)
	var first puts
	p := f.publisher(&first)
	appendN(t, f.log.Log, "a", 600)
	f.caughtUp(p)
	p.Close()
	f.audit()
	before := first.snapshot()
	full := 0
	for k := range before {
		if !strings.Contains(k, ".p/") && !strings.HasSuffix(k, "/checkpoint") {
			full++
		}
	}
	// 600 entries: level-0 tiles and bundles 000 and 001 are full.
	if full != 4 {
		t.Fatalf("first run wrote %d full objects, want 4 (2 tiles, 2 bundles): %v", full, before)
	}

	f.log.Close()
	f.log = openLog(t, f.dir)
	appendN(t, f.log.Log, "b", 700)
	var second puts
	p2 := f.publisher(&second)
	f.caughtUp(p2)
	if got := f.audit(); got != 1300 {
		t.Fatalf("bucket size %d after resuming, want 1300", got)
	}
	after := second.snapshot()
	for k, n := range after {
		if n > 1 {
			t.Errorf("%s written %d times by the resumed publisher", k, n)
		}
		if before[k] > 0 && !strings.Contains(k, ".p/") && !strings.HasSuffix(k, "/checkpoint") {
			t.Errorf("%s (complete before the restart) written again", k)
		}
	}
	// 1300 entries: full level-0 tiles and bundles 002..004 are new.
	for _, n := range []string{"002", "003", "004"} {
		for _, kind := range []string{"0", "entries"} {
			k := "/" + f.bucket + "/" + f.prefix + "/tile/" + kind + "/" + n
			if after[k] != 1 {
				t.Errorf("%s written %d times by the resumed publisher, want once", k, after[k])
			}
		}
	}
}

// TestPublishOutage: with the S3 server down, appends go on unhindered
// and the lag grows in the metrics; with it back, the bucket catches up.
func TestPublishOutage(t *testing.T) {
	f := newFixture(t)
	p := f.publisher(nil)
	reg := prometheus.NewRegistry()
	reg.MustRegister(p)
	appendN(t, f.log.Log, "a", 300)
	f.caughtUp(p)
	if m := gather(t, reg); m["fja_publish_lag_entries"] != 0 || m["fja_published_size"] != 300 {
		t.Fatalf("caught up: metrics %v", m)
	}

	f.srv.Stop()
	// Every append completes (no error, no wait for the store).
	appendN(t, f.log.Log, "b", 700)
	for gather(t, reg)["fja_publish_errors_total"] < 2 {
		time.Sleep(10 * time.Millisecond)
	}
	m := gather(t, reg)
	if m["fja_publish_lag_entries"] != 700 || m["fja_published_size"] != 300 || m["fja_publish_lag_seconds"] <= 0 {
		t.Fatalf("during the outage: metrics %v, want a lag of 700 entries", m)
	}
	if p.Stopped() != nil {
		t.Fatalf("an outage stopped publishing: %v", p.Stopped())
	}

	f.srv.Restart()
	f.caughtUp(p)
	if got := f.audit(); got != 1000 {
		t.Fatalf("bucket size %d after the outage, want 1000", got)
	}
	if m := gather(t, reg); m["fja_publish_lag_entries"] != 0 || m["fja_publish_lag_seconds"] != 0 {
		t.Fatalf("caught up again: metrics %v", m)
	}
}

// TestPublishChosenCheckpoint: the publisher publishes the checkpoint
// Config.Checkpoint chooses (ledgerd: the cosigned one GET /checkpoint
// serves), byte for byte, with the tiles of its tree and none beyond.
func TestPublishChosenCheckpoint(t *testing.T) {
	f := newFixture(t)
	appendN(t, f.log.Log, "a", 300)
	older := f.log.Log.Head()
	appendN(t, f.log.Log, "b", 400)
	var mu sync.Mutex
	chosen := older
	p := f.publisher(nil, func() ([]byte, uint64) { mu.Lock(); defer mu.Unlock(); return chosen.Checkpoint, chosen.Size })
	for p.Published() != 300 {
		time.Sleep(10 * time.Millisecond)
	}
	if got := f.audit(); got != 300 {
		t.Fatalf("bucket size %d, want the chosen 300", got)
	}
	cp := fetch(t, f.srv.URL+"/"+f.bucket+"/"+f.prefix+"/checkpoint")
	if string(cp) != string(older.Checkpoint) {
		t.Fatalf("the bucket's checkpoint is not the chosen one:\n%s\nwant\n%s", cp, older.Checkpoint)
	}
	for _, k := range f.srv.Objects(f.bucket, f.prefix+"/tile/entries/") {
		if strings.HasSuffix(k, "/001") || strings.Contains(k, "/002") {
			t.Errorf("%s is beyond the tree of 300 published", k)
		}
	}
	mu.Lock()
	chosen = f.log.Log.Head()
	mu.Unlock()
	f.caughtUp(p)
	if got := f.audit(); got != 700 {
		t.Fatalf("bucket size %d, want 700", got)
	}
}

func fetch(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v", url, resp.Status, err)
	}
	return b
}

// TestPublishRefusesForeignBucket: a bucket whose checkpoint another log
// signed is never written to.
func TestPublishRefusesForeignBucket(t *testing.T) {
	f := newFixture(t)
	other := openLog(t, t.TempDir())
	appendN(t, other.Log, "other", 10)
	if _, err := f.srv.Client().PutObject(context.Background(), putCheckpoint(f.bucket, f.prefix, other.Log.Head().Checkpoint)); err != nil {
		t.Fatal(err)
	}
	other.Close()
	appendN(t, f.log.Log, "a", 20)
	var c puts
	p := f.publisher(&c)
	for p.Stopped() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(p.Stopped().Error(), "not this log's") {
		t.Errorf("stopped with %v, want the checkpoint named as not this log's", p.Stopped())
	}
	if n := len(c.snapshot()); n != 0 {
		t.Errorf("%d objects written to a bucket of another log", n)
	}
}

// gather returns the value of every metric without labels.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]float64{}
	for _, mf := range mfs {
		for _, x := range mf.GetMetric() {
			switch {
			case x.GetGauge() != nil:
				m[mf.GetName()] = x.GetGauge().GetValue()
			case x.GetCounter() != nil:
				m[mf.GetName()] = x.GetCounter().GetValue()
			}
		}
	}
	return m
}

func putCheckpoint(bucket, prefix string, cp []byte) *s3.PutObjectInput {
	return &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(prefix + "/checkpoint"), Body: bytes.NewReader(cp)}
}
