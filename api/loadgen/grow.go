package loadgen

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// GrowConfig configures a growth run: N decisions appended over HTTP (all
// kinds mixed, in batches), with the server sampled every Every records.
type GrowConfig struct {
	Sender   *Sender
	Examples *Examples
	N        int // records to append
	Every    int // records between samples
	Batch    int // records per POST /v1/decisions:batch
	Clients  int // concurrent clients
	Proofs   int // inclusion proofs fetched per sample (latency)
	// Settle, if not 0, makes each sample fetch its proofs a second time
	// once the server has settled (Sample.SettledP50ms), waiting at most
	// this long for it. The pause also lets the server finish what the
	// appends left it (compactions) before the next stretch, so a run with
	// it measures appends under less carried-over work than one without.
	Settle time.Duration
	// PID is the server's process id (for its RSS); DataDir its data
	// directory (for the bytes on disk). Both are required.
	PID     int
	DataDir string
	// PprofURL is the server's net/http/pprof address (ledgerd --pprof),
	// or "": when set, each sample forces a collection in the server and
	// reads its live heap (Sample.LiveHeap), which, unlike RssAnon, does not
	// swing with where the collector's cycle was when the sample was taken.
	PprofURL string
	// Profile, if set (with PprofURL), takes a CPU profile of the server
	// over most of two stretches, the one that ends at the sample nearest
	// a tenth of N and the last one (the two WriteReport compares), and
	// hands it to Profile with the number of records appended at the
	// stretch's end. Its length is 80% of the stretch's time expected at
	// the faster of the two stretches before it (profileLength), so that it
	// covers appends only.
	Profile func(appended int, profile []byte) error
	// OnSample, if set, is called after each sample (to write the CSV and
	// the chart as the run goes, so a long run's figures survive it).
	OnSample func(samples []Sample) error
}

// Sample is the state of the served log after a stretch of appends.
type Sample struct {
	Entries  uint64  // tree size when sampled
	Appended int     // records this run has appended
	Elapsed  float64 // seconds since the run started
	RSS      int64   // server resident set, bytes (VmRSS: mapped files included)
	AnonRSS  int64   // its anonymous part (RssAnon: the server's own memory)
	// AppendsPerSec is the append rate over the stretch since the last
	// sample (load generator on the same machine).
	AppendsPerSec float64
	// Inclusion-proof latency (GET /v1/proofs/inclusion for random
	// indices against the current size, one at a time, no append load), ms.
	ProofP50ms, ProofP99ms float64
	// With GrowConfig.Settle, the same once the server has settled (its
	// own CPU use below a tenth of a core: what the appends left it doing,
	// such as Badger's compactions, done), and the seconds that took.
	SettledP50ms, SettledP99ms float64
	SettleSeconds              float64
	DiskBytes                  int64   // du of the data directory
	BytesPerEntry              float64 // DiskBytes / Entries
	// LiveHeap is the server's Go heap in use right after a forced
	// collection (HeapAlloc), bytes, with GrowConfig.PprofURL; else 0.
	LiveHeap int64
	// CPUPerRecord is the server's CPU time (user and system, all its
	// threads) over the stretch, in µs per record appended in it: what
	// the stretch's records cost, with whatever background work (Badger's
	// flushes and compactions) ran meanwhile, started by them or earlier.
	CPUPerRecord float64
	// WrittenPerRecord is what the server caused to be written to storage
	// over the stretch (ProcessWriteBytes), in bytes per record appended
	// in it: the log files, Badger's write-ahead and value logs, and the
	// tables its flushes and compactions wrote meanwhile (Badger's write
	// amplification, unlike CPUPerRecord, does not move with the host's
	// speed).
	WrittenPerRecord float64
}

// Grow publishes the run's constitution, then appends N decisions, sampling
// after every Every records and at the end. Any failed record stops it.
func Grow(ctx context.Context, c GrowConfig) ([]Sample, error) {
	if c.N < 1 || c.Every < 1 || c.Batch < 1 || c.Clients < 1 || c.Proofs < 1 {
		return nil, fmt.Errorf("grow: want n, every, batch, clients and proofs >= 1, got %d, %d, %d, %d, %d", c.N, c.Every, c.Batch, c.Clients, c.Proofs)
	}
	if c.PID <= 0 || c.DataDir == "" {
		return nil, fmt.Errorf("grow: want the server's pid and data directory, got pid %d, data %q", c.PID, c.DataDir)
	}
	if _, err := RSS(c.PID); err != nil {
		return nil, fmt.Errorf("grow: the server's RSS: %w", err)
	}
	if _, err := DiskUsage(c.DataDir); err != nil {
		return nil, fmt.Errorf("grow: the server's data directory: %w", err)
	}
	if err := c.Sender.PublishConstitution(ctx, c.Examples); err != nil {
		return nil, err
	}
	var samples []Sample
	start := time.Now()
	profileAt := c.profiledEnds()
	for appended := 0; appended < c.N; {
		n := min(c.Every-appended%c.Every, c.N-appended)
		cpu0, wr0, err := c.usage()
		if err != nil {
			return samples, err
		}
		var profiled chan error
		if profileAt[appended+n] {
			d := profileLength(samples, n)
			profiled = make(chan error, 1)
			go func(end int) {
				b, err := FetchProfile(ctx, c.PprofURL, d)
				if err == nil {
					err = c.Profile(end, b)
				}
				profiled <- err
			}(appended + n)
		}
		r, err := c.Sender.Run(ctx, Phase{Kinds: c.Examples.Kinds, N: n, Clients: c.Clients, Batch: c.Batch, NoLatency: true, MaxErrors: 1})
		if profiled != nil {
			if perr := <-profiled; perr != nil && err == nil {
				err = fmt.Errorf("grow: CPU profile of the stretch to %d records: %w", appended+n, perr)
			}
		}
		if err != nil {
			return samples, err
		}
		if r.Errors > 0 {
			return samples, fmt.Errorf("grow: after %d records: %d failed: %s", appended+r.Records, r.Errors, r.FirstError)
		}
		cpu1, wr1, err := c.usage()
		if err != nil {
			return samples, err
		}
		appended += n
		s, err := c.sample(ctx)
		if err != nil {
			return samples, err
		}
		s.Appended, s.Elapsed, s.AppendsPerSec = appended, time.Since(start).Seconds(), r.PerSec
		s.CPUPerRecord = float64((cpu1 - cpu0).Microseconds()) / float64(n)
		s.WrittenPerRecord = float64(wr1-wr0) / float64(n)
		samples = append(samples, s)
		if c.OnSample != nil {
			if err := c.OnSample(samples); err != nil {
				return samples, err
			}
		}
	}
	return samples, nil
}

// profileLength is how long to profile a stretch of n records that follows
// samples: 80% of its time at the faster rate of the last two stretches
// (stretches alternate between fast ones and ones that Badger's merges
// slow, so the last alone may promise too long a stretch), at least 1 s;
// 1 s for a first stretch.
func profileLength(samples []Sample, n int) time.Duration {
	rate := 0.0
	for _, s := range samples[max(0, len(samples)-2):] {
		rate = max(rate, s.AppendsPerSec)
	}
	if rate <= 0 {
		return time.Second
	}
	return max(time.Second, time.Duration(0.8*float64(n)/rate*float64(time.Second)))
}

// usage returns the server's CPU time and the bytes it has written so far.
func (c *GrowConfig) usage() (time.Duration, int64, error) {
	cpu, err := ProcessCPU(c.PID)
	if err != nil {
		return 0, 0, fmt.Errorf("grow: the server's CPU time: %w", err)
	}
	w, err := ProcessWriteBytes(c.PID)
	if err != nil {
		return 0, 0, fmt.Errorf("grow: the bytes the server wrote: %w", err)
	}
	return cpu, w, nil
}

// profiledEnds returns the stretch ends (records appended) whose stretches
// Grow profiles: the one nearest a tenth of N and N, or none without
// c.Profile and c.PprofURL.
func (c *GrowConfig) profiledEnds() map[int]bool {
	if c.Profile == nil || c.PprofURL == "" {
		return nil
	}
	tenth := max(c.Every, (c.N/10+c.Every/2)/c.Every*c.Every)
	return map[int]bool{min(tenth, c.N): true, c.N: true}
}

func (c *GrowConfig) sample(ctx context.Context) (Sample, error) {
	var s Sample
	size, err := c.Sender.TreeSize(ctx)
	if err != nil {
		return s, err
	}
	s.Entries = size
	if s.RSS, err = RSS(c.PID); err != nil {
		return s, err
	}
	if s.AnonRSS, err = procStatusBytes(c.PID, "RssAnon:"); err != nil {
		return s, err
	}
	if s.DiskBytes, err = DiskUsage(c.DataDir); err != nil {
		return s, err
	}
	if s.LiveHeap, err = c.liveHeap(ctx); err != nil {
		return s, err
	}
	s.BytesPerEntry = float64(s.DiskBytes) / float64(size)
	if s.ProofP50ms, s.ProofP99ms, err = c.proofLatency(ctx, size); err != nil || c.Settle == 0 {
		return s, err
	}
	t0 := time.Now()
	if err := c.settle(ctx); err != nil {
		return s, err
	}
	s.SettleSeconds = time.Since(t0).Seconds()
	s.SettledP50ms, s.SettledP99ms, err = c.proofLatency(ctx, size)
	return s, err
}

// settle waits, at most c.Settle, until the server used less than a tenth
// of a core over a quarter of a second.
func (c *GrowConfig) settle(ctx context.Context) error {
	const window = 250 * time.Millisecond
	deadline := time.Now().Add(c.Settle)
	for time.Now().Before(deadline) {
		before, err := ProcessCPU(c.PID)
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(window):
		}
		after, err := ProcessCPU(c.PID)
		if err != nil {
			return err
		}
		if after-before < window/10 {
			return nil
		}
	}
	return nil
}

// proofLatency fetches c.Proofs inclusion proofs of random indices in the
// tree of size size, one at a time, and returns their p50 and p99 in ms.
func (c *GrowConfig) proofLatency(ctx context.Context, size uint64) (p50, p99 float64, err error) {
	lat := make([]time.Duration, 0, c.Proofs)
	var buf bytes.Buffer
	for range c.Proofs {
		path := fmt.Sprintf("/v1/proofs/inclusion?index=%d&size=%d", rand.Uint64N(size), size)
		t0 := time.Now()
		code, err := c.Sender.do(ctx, http.MethodGet, path, nil, &buf)
		d := time.Since(t0)
		if err != nil {
			return 0, 0, err
		}
		if code != http.StatusOK {
			return 0, 0, fmt.Errorf("GET %s: want 200, got %d %s", path, code, clip(buf.Bytes(), 200))
		}
		lat = append(lat, d)
	}
	slices.Sort(lat)
	return ms(quantile(lat, 0.5)), ms(quantile(lat, 0.99)), nil
}

// liveHeap forces a collection in the server and returns its heap in use
// after it: the "# HeapAlloc = N" line of GET /debug/pprof/heap?gc=1&debug=1
// (the runtime.MemStats the text profile ends with, read after the
// collection the gc parameter runs). 0 without c.PprofURL.
func (c *GrowConfig) liveHeap(ctx context.Context) (int64, error) {
	if c.PprofURL == "" {
		return 0, nil
	}
	const what = "grow: the server's live heap"
	b, err := getPprof(ctx, c.PprofURL, "/debug/pprof/heap?gc=1&debug=1", time.Minute, what)
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("# HeapAlloc = ")); ok {
			n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s: HeapAlloc %q: %w", what, bytes.TrimSpace(v), err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("%s: the heap profile has no \"# HeapAlloc = \" line (is %s a Go server's net/http/pprof?)", what, c.PprofURL)
}

// CSVHeader names the columns WriteCSV writes.
var CSVHeader = []string{"entries", "appended", "elapsed_s", "rss_bytes", "appends_per_sec",
	"proof_p50_ms", "proof_p99_ms", "disk_bytes", "bytes_per_entry", "anon_rss_bytes",
	"settled_proof_p50_ms", "settled_proof_p99_ms", "settle_s", "live_heap_bytes", "server_cpu_us_per_record", "server_written_bytes_per_record"}

// WriteCSV writes the header and one row per sample.
func WriteCSV(w io.Writer, samples []Sample) error {
	cw := csv.NewWriter(w)
	cw.Write(CSVHeader)
	f := func(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }
	for _, s := range samples {
		cw.Write([]string{
			strconv.FormatUint(s.Entries, 10), strconv.Itoa(s.Appended), f(s.Elapsed, 1),
			strconv.FormatInt(s.RSS, 10), f(s.AppendsPerSec, 0), f(s.ProofP50ms, 3), f(s.ProofP99ms, 3),
			strconv.FormatInt(s.DiskBytes, 10), f(s.BytesPerEntry, 1), strconv.FormatInt(s.AnonRSS, 10),
			f(s.SettledP50ms, 3), f(s.SettledP99ms, 3), f(s.SettleSeconds, 1), strconv.FormatInt(s.LiveHeap, 10),
			f(s.CPUPerRecord, 1), f(s.WrittenPerRecord, 0),
		})
	}
	cw.Flush()
	return cw.Error()
}
