package loadgen

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fjaledger/fja/verify/record"
)

// A Sender posts generated decisions to one server with a producer token.
// It is safe for concurrent use; its sequence counter makes every decision
// id it generates unique.
type Sender struct {
	URL   string // base URL, no trailing slash
	Token string // producer bearer token
	// PID is the server's process id on this machine, or 0: when set, a
	// phase reports the server's CPU time (from /proc).
	PID int
	// MetricsToken is an operator token of the server, or "": when set, a
	// phase reports the log's commits over it and the time they took
	// (fja_commits_total and fja_commit_seconds_total from GET /metrics).
	MetricsToken string

	client *http.Client
	seq    atomic.Uint64
}

// NewSender returns a sender to the server at url with up to conns
// connections.
func NewSender(url, token string, conns int) *Sender {
	return &Sender{
		URL: strings.TrimRight(url, "/"), Token: token,
		client: &http.Client{
			Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true},
			Timeout:   5 * time.Minute,
		},
	}
}

// do sends one request (a JSON body, if any) and reads the whole answer
// into buf (reset first).
func (s *Sender) do(ctx context.Context, method, path string, body []byte, buf *bytes.Buffer) (int, error) {
	ct := ""
	if body != nil {
		ct = "application/json"
	}
	return s.doType(ctx, method, path, ct, body, buf)
}

// doType is do with the body's content type ct ("": none).
func (s *Sender) doType(ctx context.Context, method, path, ct string, body []byte, buf *bytes.Buffer) (int, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, r)
	if err != nil {
		return 0, err
	}
	if s.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.Token)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	return resp.StatusCode, err
}

// PublishConstitution posts the run's constitution (Examples.Constitution):
// 201, or 200 for a repeat, is success.
func (s *Sender) PublishConstitution(ctx context.Context, e *Examples) error {
	var buf bytes.Buffer
	code, err := s.do(ctx, http.MethodPost, "/v1/constitutions", e.Constitution(), &buf)
	if err != nil {
		return fmt.Errorf("publishing the example constitution: %w", err)
	}
	if code != http.StatusCreated && code != http.StatusOK {
		return fmt.Errorf("publishing the example constitution: want 201, got %d %s", code, clip(buf.Bytes(), 300))
	}
	return nil
}

// TreeSize asks GET /v1/log for the current tree size.
func (s *Sender) TreeSize(ctx context.Context) (uint64, error) {
	var buf bytes.Buffer
	code, err := s.do(ctx, http.MethodGet, "/v1/log", nil, &buf)
	if err != nil {
		return 0, err
	}
	var l record.LogInfo
	if code != http.StatusOK || json.Unmarshal(buf.Bytes(), &l) != nil || l.Origin == "" {
		return 0, fmt.Errorf("GET /v1/log: want 200 with the log's origin and tree_size, got %d %s", code, clip(buf.Bytes(), 200))
	}
	return l.TreeSize, nil
}

// Phase is one stretch of load: N records cycling through Kinds, sent by
// Clients concurrent clients, one per POST /v1/decisions (Batch <= 1) or
// Batch per POST /v1/decisions:batch.
type Phase struct {
	Kinds   []*Template
	N       int
	Clients int
	Batch   int
	// NoLatency skips recording request latencies (for long runs: the
	// recorded latencies are the only memory a phase grows with).
	NoLatency bool
	// MaxErrors stops the phase once more records than this have failed
	// (0: 100).
	MaxErrors int
	// OnStart, if set, is called once the clients are about to start.
	OnStart func()
}

// Result is what one phase measured.
type Result struct {
	Kind    string  `json:"kind"`
	Mode    string  `json:"mode"` // "single" or "batch"
	Clients int     `json:"clients"`
	Batch   int     `json:"batch"`
	Records int     `json:"records"` // acknowledged with a receipt
	Errors  int     `json:"errors"`  // records refused or lost
	Retries int     `json:"retries"` // requests answered 429 or 503 and sent again
	Seconds float64 `json:"seconds"`
	PerSec  float64 `json:"records_per_sec"`
	// Latency of one request (a batch is one request), in milliseconds.
	P50ms float64 `json:"p50_ms"`
	P99ms float64 `json:"p99_ms"`
	// CPU seconds of this process (the load generator: body generation,
	// HTTP client, reading the answers) and of the server (if Sender.PID),
	// over the phase.
	ClientCPU float64 `json:"client_cpu_s"`
	ServerCPU float64 `json:"server_cpu_s,omitempty"`
	// GenCPU is the part of ClientCPU spent generating the bodies, from
	// the kinds' GenerationCost (measured alone, not during the phase).
	GenCPU float64 `json:"generation_cpu_s,omitempty"`
	// Commits is how many durable commits (batches) the log made over the
	// phase, and CommitSeconds the time they took, when the Sender has a
	// MetricsToken (the duplicates and retries of a phase count in them).
	Commits       int     `json:"commits,omitempty"`
	CommitSeconds float64 `json:"commit_seconds,omitempty"`
	// FirstError is the first failure's description, if any.
	FirstError string `json:"first_error,omitempty"`

	latencies []time.Duration // sorted, for merging parts (mergeResults)
}

// Run sends the phase's load and reports it. Records that fail are counted
// (and the first failure kept), not returned as an error; Run returns an
// error only for a phase that cannot start or a cancelled ctx.
func (s *Sender) Run(ctx context.Context, p Phase) (*Result, error) {
	if len(p.Kinds) == 0 || p.N < 1 || p.Clients < 1 {
		return nil, fmt.Errorf("loadgen: want kinds, N >= 1 and clients >= 1, got %d kinds, N %d, %d clients", len(p.Kinds), p.N, p.Clients)
	}
	per, path, mode := 1, "/v1/decisions", "single"
	if p.Batch > 1 {
		per, path, mode = p.Batch, "/v1/decisions:batch", "batch"
	}
	names := make([]string, len(p.Kinds))
	for i, k := range p.Kinds {
		names[i] = k.Name
	}
	kinds := len(p.Kinds)
	size := 2048 * per // the body buffer's first size; it grows with what the bodies need
	var sizeMu sync.Mutex
	r, err := s.drive(ctx, load{
		path: path, contentType: "application/json", n: p.N, per: per, clients: p.Clients,
		maxErrors: p.MaxErrors, noLatency: p.NoLatency, onStart: p.OnStart,
		body: func(u, n int, rng *rand.Rand) []byte {
			sizeMu.Lock()
			c := size
			sizeMu.Unlock()
			body := make([]byte, 0, c)
			if per > 1 {
				body = append(body, '[')
			}
			for j := range n {
				if j > 0 {
					body = append(body, ',')
				}
				seq := s.seq.Add(1)
				body = p.Kinds[(u*per+j)%kinds].Append(body, seq, rng)
			}
			if per > 1 {
				body = append(body, ']')
			}
			sizeMu.Lock()
			size = max(size, len(body)+len(body)/8)
			sizeMu.Unlock()
			return body
		},
		check: func(code int, answer []byte, n int) (int, string) {
			if code != http.StatusCreated && code != http.StatusOK {
				return n, fmt.Sprintf("POST %s: want 201, got %d %s", path, code, clip(answer, 300))
			}
			if per > 1 {
				return batchErrors(answer, n)
			}
			return 0, ""
		},
	})
	if err != nil {
		return nil, err
	}
	r.Kind, r.Mode, r.Clients, r.Batch = strings.Join(names, "+"), mode, p.Clients, per
	return r, nil
}

// RunSliced sends p.N single records (p.Batch is ignored) of each of
// p.Kinds as one load from p.Clients clients that never pause: rounds
// rounds, each a slice of every kind (p.N/rounds records, the first
// p.N%rounds rounds one more), the kind changing when the next slice's
// first record is taken. Unlike phases run one after the other, no slice
// begins with the clients' connections and the log's pipeline empty or
// ends by draining them, so slices can be short: a pause of the server
// (a checkpoint of its store, a memtable flush) then lasts over several
// slices, or falls in one of them at random, instead of falling whole on
// the one kind whose phase it met. The kinds of a round come in an order
// drawn for it (from a fixed seed: every run sends the same sequence),
// not rotated: a periodic pause would meet a periodic order at the same
// place again and again. It returns one Result per slice, in order, Kind
// naming its kind; mergeResults adds up a kind's. Records that fail are
// counted, as in Run.
func (s *Sender) RunSliced(ctx context.Context, p Phase, rounds int) ([]*Result, error) {
	if len(p.Kinds) == 0 || p.N < 1 || p.Clients < 1 || rounds < 1 {
		return nil, fmt.Errorf("loadgen: want kinds, N >= 1, clients >= 1 and rounds >= 1, got %d kinds, N %d, %d clients, %d rounds", len(p.Kinds), p.N, p.Clients, rounds)
	}
	var (
		kinds  []*Template // of each slice
		starts []int       // first record of each slice but the first
		total  int
	)
	order := rand.New(rand.NewPCG(0x5eed, uint64(len(p.Kinds))))
	for r := range rounds {
		n := p.N/rounds + btoi(r < p.N%rounds)
		for _, i := range order.Perm(len(p.Kinds)) {
			if n == 0 {
				continue
			}
			if total > 0 {
				starts = append(starts, total)
			}
			kinds = append(kinds, p.Kinds[i])
			total += n
		}
	}
	const path = "/v1/decisions"
	rs, err := s.driveSlices(ctx, load{
		path: path, contentType: "application/json", n: total, per: 1, clients: p.Clients,
		maxErrors: p.MaxErrors, noLatency: p.NoLatency, onStart: p.OnStart,
		body: func(u, _ int, rng *rand.Rand) []byte {
			i, _ := slices.BinarySearch(starts, u+1)
			return kinds[i].Append(make([]byte, 0, 4096), s.seq.Add(1), rng)
		},
		check: func(code int, answer []byte, n int) (int, string) {
			if code != http.StatusCreated && code != http.StatusOK {
				return n, fmt.Sprintf("POST %s: want 201, got %d %s", path, code, clip(answer, 300))
			}
			return 0, ""
		},
	}, starts)
	if err != nil {
		return nil, err
	}
	for i, r := range rs {
		r.Kind, r.Mode, r.Clients, r.Batch = kinds[i].Name, "single", p.Clients, 1
	}
	return rs, nil
}

// load is what a phase sends: n records, per a request, from clients
// concurrent clients, to path.
type load struct {
	path, contentType string
	n, per, clients   int
	maxErrors         int // stop once more records failed (0: 100)
	noLatency         bool
	onStart           func()
	// body makes request u, of n records (a fresh slice: the transport
	// may read a body after Do returns).
	body func(u, n int, rng *rand.Rand) []byte
	// check reads an answer other than 429 and 503: the records of the n
	// sent that failed, and the first failure.
	check func(code int, answer []byte, n int) (bad int, msg string)
}

// drive sends l and measures it as one stretch (driveSlices).
func (s *Sender) drive(ctx context.Context, l load) (*Result, error) {
	rs, err := s.driveSlices(ctx, l, nil)
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

// driveSlices sends l and measures each slice of it: records acknowledged,
// failed and retried, the rate, request latencies, CPU time and commits.
// starts holds the first unit of every slice but the first, ascending
// (nil: the whole load is one slice). The clients go from one slice to
// the next without pausing, so a slice is measured from the moment its
// first unit is taken to the moment the next slice's first unit is (the
// last slice: to the end of the load), its CPU times and commits over the
// same span; its records are those of its units, whenever acknowledged.
// A 429 or 503 is retried after a short pause. Each client posts over a
// connection of its own (a poster) to a plain http:// server, else through
// the sender's http.Client.
func (s *Sender) driveSlices(ctx context.Context, l load, starts []int) ([]*Result, error) {
	if l.maxErrors <= 0 {
		l.maxErrors = 100
	}
	units := (l.n + l.per - 1) / l.per
	if !slices.IsSorted(starts) || len(starts) > 0 && (starts[0] < 1 || starts[len(starts)-1] >= units) {
		return nil, fmt.Errorf("loadgen: slice starts %v, want ascending units within 1..%d", starts, units-1)
	}
	type stretch struct {
		acked, failed, retries atomic.Int64
		firstErr               atomic.Pointer[string]
		at                     mark // when its first unit was taken
		lat                    []time.Duration
	}
	parts := make([]stretch, len(starts)+1)
	var (
		next, failed atomic.Int64
		wg           sync.WaitGroup
		mu           sync.Mutex
	)
	fail := func(p *stretch, n int, msg string) {
		failed.Add(int64(n))
		p.failed.Add(int64(n))
		p.firstErr.CompareAndSwap(nil, &msg)
	}
	parts[0].at = s.mark(ctx)
	if err := parts[0].at.err; err != nil {
		return nil, err
	}
	if l.onStart != nil {
		l.onStart()
	}
	for range l.clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
			var (
				buf  bytes.Buffer
				mine = make([][]time.Duration, len(parts))
			)
			post := func(body []byte) (int, error) {
				return s.doType(ctx, http.MethodPost, l.path, l.contentType, body, &buf)
			}
			if p := s.newPoster(ctx, l.path, l.contentType); p != nil {
				defer p.close()
				post = func(body []byte) (int, error) { return p.post(body, &buf) }
			}
			defer func() {
				mu.Lock()
				for i, m := range mine {
					parts[i].lat = append(parts[i].lat, m...)
				}
				mu.Unlock()
			}()
			for ctx.Err() == nil && failed.Load() <= int64(l.maxErrors) {
				u := int(next.Add(1) - 1)
				if u >= units {
					return
				}
				i, _ := slices.BinarySearch(starts, u+1) // the slices started by u
				if i > 0 && starts[i-1] == u {
					parts[i].at = s.mark(ctx) // read after wg.Wait
				}
				p := &parts[i]
				n := min(l.per, l.n-u*l.per)
				body := l.body(u, n, rng)
				for {
					t0 := time.Now()
					code, err := post(body)
					d := time.Since(t0)
					if err != nil {
						fail(p, n, fmt.Sprintf("POST %s: %v", l.path, err))
						break
					}
					if code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests {
						p.retries.Add(1)
						time.Sleep(time.Duration(2+rng.IntN(6)) * time.Millisecond)
						continue
					}
					if !l.noLatency {
						mine[i] = append(mine[i], d)
					}
					bad, msg := l.check(code, buf.Bytes(), n)
					if bad > 0 {
						fail(p, bad, msg)
					}
					p.acked.Add(int64(n - bad))
					break
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	end := s.markEnd(ctx)
	out := make([]*Result, len(parts))
	for i := range parts {
		p := &parts[i]
		if p.at.err != nil {
			return nil, p.at.err
		}
		to := end
		for j := i + 1; j < len(parts); j++ {
			if !parts[j].at.t.IsZero() {
				to = parts[j].at
				break
			}
		}
		if p.at.t.IsZero() { // never started: the load stopped before it
			to = mark{}
		}
		r := p.at.until(to)
		r.Records, r.Errors, r.Retries = int(p.acked.Load()), int(p.failed.Load()), int(p.retries.Load())
		if r.Seconds > 0 {
			r.PerSec = float64(r.Records) / r.Seconds
		}
		if e := p.firstErr.Load(); e != nil {
			r.FirstError = *e
		}
		first, last := 0, units // the slice's units
		if i > 0 {
			first = starts[i-1]
		}
		if i < len(starts) {
			last = starts[i]
		}
		if unsent := min(l.n, last*l.per) - first*l.per - r.Records - r.Errors; unsent > 0 {
			r.Errors += unsent // stopped early: the records never sent count as failed
		}
		if len(p.lat) > 0 {
			slices.Sort(p.lat)
			r.P50ms = ms(quantile(p.lat, 0.50))
			r.P99ms = ms(quantile(p.lat, 0.99))
			r.latencies = p.lat
		}
		out[i] = r
	}
	if err := end.err; err != nil {
		return nil, err
	}
	return out, nil
}

// A mark is the clock, this process's and the server's CPU time, and the
// log's commit counters at one moment of a load.
type mark struct {
	t         time.Time
	cpu, scpu time.Duration
	commits   commitCount
	err       error // reading the commit counters failed
}

// mark reads the mark of a moment a stretch starts: the commit counters
// first (an HTTP request, so not counted in the stretch), then the CPU
// times and the clock.
func (s *Sender) mark(ctx context.Context) mark {
	c, err := s.commitStats(ctx)
	return mark{commits: c, err: err, cpu: selfCPU(), scpu: s.serverCPU(), t: time.Now()}
}

// markEnd reads the mark of a load's end: the clock and the CPU times
// first, then the commit counters.
func (s *Sender) markEnd(ctx context.Context) mark {
	m := mark{t: time.Now(), cpu: selfCPU(), scpu: s.serverCPU()}
	m.commits, m.err = s.commitStats(ctx)
	return m
}

// until is the Result of the span from m to end: its seconds, CPU times
// and commits (zero if either mark is unset).
func (m mark) until(end mark) *Result {
	r := &Result{}
	if m.t.IsZero() || end.t.IsZero() {
		return r
	}
	r.Seconds = end.t.Sub(m.t).Seconds()
	r.ClientCPU = (end.cpu - m.cpu).Seconds()
	if s := end.scpu - m.scpu; s > 0 {
		r.ServerCPU = s.Seconds()
	}
	r.Commits, r.CommitSeconds = int(end.commits.n-m.commits.n), end.commits.seconds-m.commits.seconds
	return r
}

// commitCount is the log's commit counters at one moment.
type commitCount struct{ n, seconds float64 }

// commitStats reads the log's commit counters from GET /metrics with the
// sender's MetricsToken (zero counters without one).
func (s *Sender) commitStats(ctx context.Context) (commitCount, error) {
	if s.MetricsToken == "" {
		return commitCount{}, nil
	}
	ops := &Sender{URL: s.URL, Token: s.MetricsToken, client: s.client}
	var buf bytes.Buffer
	code, err := ops.do(ctx, http.MethodGet, "/metrics", nil, &buf)
	if err != nil {
		return commitCount{}, fmt.Errorf("GET /metrics: %w", err)
	}
	if code != http.StatusOK {
		return commitCount{}, fmt.Errorf("GET /metrics with the operator token: want 200, got %d %s", code, clip(buf.Bytes(), 200))
	}
	m, err := ParseMetrics(buf.Bytes())
	if err != nil {
		return commitCount{}, err
	}
	c := commitCount{}
	for name, v := range map[string]*float64{"fja_commits_total": &c.n, "fja_commit_seconds_total": &c.seconds} {
		x, ok := m[name]
		if !ok {
			return commitCount{}, fmt.Errorf("GET /metrics: no %s", name)
		}
		*v = x
	}
	return c, nil
}

func (s *Sender) serverCPU() time.Duration {
	if s.PID <= 0 {
		return 0
	}
	d, _ := ProcessCPU(s.PID)
	return d
}

// errorMark can only occur in a batch answer as the key of a failed
// record's result: receipts hold base64, numbers and JSON-escaped text, in
// which a quote is always escaped.
var errorMark = []byte(`"error":`)

// batchErrors counts the failed records in the answer to a batch of n, and
// describes the first one.
func batchErrors(b []byte, n int) (int, string) {
	if !bytes.Contains(b, errorMark) {
		return 0, ""
	}
	var res record.BatchAnswer
	if err := json.Unmarshal(b, &res); err != nil {
		return n, fmt.Sprintf("batch answer: want {\"results\":[...]}, got %s (%v)", clip(b, 200), err)
	}
	bad, msg := 0, ""
	for _, r := range res.Results {
		if r.Error != nil {
			if bad == 0 {
				msg = fmt.Sprintf("batch record: %s: %s", r.Error.Code, r.Error.Message)
			}
			bad++
		}
	}
	if len(res.Results) != n {
		return n, fmt.Sprintf("batch answer: want %d results, got %d", n, len(res.Results))
	}
	return bad, msg
}

// quantile returns the q-quantile of sorted (nearest rank).
func quantile[T cmp.Ordered](sorted []T, q float64) T {
	if len(sorted) == 0 {
		var zero T
		return zero
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func clip(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}
