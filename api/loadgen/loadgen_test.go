package loadgen

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
)

func examples(t *testing.T) *Examples {
	t.Helper()
	e, err := Load(filepath.Dir(apitest.ExamplePath(t, ConstitutionFile)))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("generated body is not a JSON object: %v\n%s", err, b)
	}
	return m
}

var commitment = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// Generated bodies are the example with exactly the varying fields
// changed: fresh id, fresh commitments and subject ref, unique private
// text, and the run's constitution.
func TestTemplatesVaryOnlyWhatMustVary(t *testing.T) {
	e := examples(t)
	c := decode(t, e.Constitution())
	version, _ := c["version"].(string)
	if !strings.Contains(version, e.Run) || c["constitution_id"] != "fja-default" {
		t.Fatalf("constitution: want fja-default with a version holding run %s, got %v@%v", e.Run, c["constitution_id"], c["version"])
	}
	if len(e.Kinds) != 3 {
		t.Fatalf("want 3 kinds, got %d", len(e.Kinds))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ids := map[any]bool{}
	for _, k := range e.Kinds {
		want := decode(t, apitest.Example(t, filepath.Base(k.File)))
		var prev map[string]any
		for seq := uint64(1); seq <= 3; seq++ {
			got := decode(t, k.Append(nil, seq, rng))
			if ids[got["decision_id"]] {
				t.Fatalf("%s: decision id %v generated twice", k.Name, got["decision_id"])
			}
			ids[got["decision_id"]] = true
			if cr := got["constitution"].(map[string]any); cr["id"] != "fja-default" || cr["version"] != version {
				t.Errorf("%s: cites %v, want fja-default@%s", k.Name, cr, version)
			}
			varied := []string{"subject.ref", "request.commitment", "response.commitment", "private.request", "private.response"}
			for _, path := range varied {
				w, ok := lookup(want, path)
				g, gok := lookup(got, path)
				if ok != gok {
					t.Fatalf("%s: %s present in the example: %v, in the body: %v", k.Name, path, ok, gok)
				}
				if !ok {
					continue
				}
				ws, gs := w.(string), g.(string)
				if strings.HasPrefix(path, "private.") {
					if !strings.HasPrefix(gs, ws+" #") {
						t.Errorf("%s: %s = %q, want the example's text and a unique suffix", k.Name, path, gs)
					}
				} else if !commitment.MatchString(gs) || gs == ws {
					t.Errorf("%s: %s = %q, want a fresh sha256:<64 hex>", k.Name, path, gs)
				}
				if prev != nil {
					if p, _ := lookup(prev, path); p == g {
						t.Errorf("%s: %s repeats %q", k.Name, path, gs)
					}
				}
			}
			prev = got
			// Everything else is the example as it is.
			rest, wrest := strip(got, varied), strip(want, varied)
			if !reflect.DeepEqual(rest, wrest) {
				t.Errorf("%s: the body differs from the example beyond the varied fields:\n got %v\nwant %v", k.Name, rest, wrest)
			}
		}
		if k.HasPrivate() != (k.Name == "private") {
			t.Errorf("%s: HasPrivate %v", k.Name, k.HasPrivate())
		}
	}
}

func lookup(m map[string]any, path string) (any, bool) {
	a, b, _ := strings.Cut(path, ".")
	sub, ok := m[a].(map[string]any)
	if !ok {
		return nil, false
	}
	v, ok := sub[b]
	return v, ok
}

// strip copies m without the decision id, the constitution reference and
// the varied fields.
func strip(m map[string]any, varied []string) map[string]any {
	b, _ := json.Marshal(m)
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var c map[string]any
	d.Decode(&c)
	delete(c, "decision_id")
	delete(c, "constitution")
	for _, p := range varied {
		a, f, _ := strings.Cut(p, ".")
		if sub, ok := c[a].(map[string]any); ok {
			delete(sub, f)
		}
	}
	return c
}

func TestLoadNamesWhatIsMissing(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "nope")); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("missing directory: want an error naming it, got %v", err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), ConstitutionFile) {
		t.Fatalf("empty directory: want an error naming %s, got %v", ConstitutionFile, err)
	}
}

// Every kind is accepted by a real server, single and batched; without the
// constitution every record fails and the failures are counted, not lost.
func TestRunAgainstServer(t *testing.T) {
	s := apitest.New(t)
	e := examples(t)
	snd := NewSender(s.URL, s.Tokens[auth.Producer], 4)
	ctx := context.Background()

	r, err := snd.Run(ctx, Phase{Kinds: e.Kinds[:1], N: 5, Clients: 2})
	if err != nil {
		t.Fatal(err)
	}
	if r.Records != 0 || r.Errors != 5 || !strings.Contains(r.FirstError, "constitution") {
		t.Fatalf("before the constitution: want 5 errors naming the constitution, got %+v", r)
	}
	if err := snd.PublishConstitution(ctx, e); err != nil {
		t.Fatal(err)
	}
	for _, k := range e.Kinds {
		for _, batch := range []int{1, 7} {
			r, err := snd.Run(ctx, Phase{Kinds: []*Template{k}, N: 20, Clients: 3, Batch: batch})
			if err != nil {
				t.Fatal(err)
			}
			if r.Records != 20 || r.Errors != 0 || r.P50ms <= 0 || r.P99ms < r.P50ms {
				t.Fatalf("%s, batch %d: want 20 records, no error, latencies, got %+v", k.Name, batch, r)
			}
		}
	}
	size, err := snd.TreeSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(1 + 3*2*20); size != want {
		t.Fatalf("tree size %d, want %d (the constitution and every decision once)", size, want)
	}
}

// TestRunSliced: one load in rounds of slices, each round a slice of
// every kind in an order that is not the same every round, each slice
// reported with its records, seconds and latencies; the log holds every
// kind's records, as many as asked, and a kind's slices add up to them.
func TestRunSliced(t *testing.T) {
	s, e, snd := published(t)
	ctx := context.Background()
	const n, rounds = 10, 4
	rs, err := snd.RunSliced(ctx, Phase{Kinds: e.Kinds, N: n, Clients: 3}, rounds)
	if err != nil {
		t.Fatal(err)
	}
	if want := rounds * len(e.Kinds); len(rs) != want {
		t.Fatalf("want %d slices, got %d", want, len(rs))
	}
	perKind := map[string][]*Result{}
	orders := map[string]bool{}
	for r := range rounds {
		records := 2 + btoi(r < 2) // n/rounds, the first n%rounds rounds one more
		var order []string
		for i, x := range rs[r*len(e.Kinds) : (r+1)*len(e.Kinds)] {
			if x.Records != records || x.Errors != 0 || x.Mode != "single" || x.Seconds <= 0 || x.PerSec <= 0 || x.P50ms <= 0 {
				t.Fatalf("round %d, slice %d: want %d records, no error, seconds, a rate and latencies, got %+v", r+1, i+1, records, x)
			}
			order = append(order, x.Kind)
			perKind[x.Kind] = append(perKind[x.Kind], x)
		}
		orders[strings.Join(order, ",")] = true
		if slices.Sort(order); !reflect.DeepEqual(order, kindNames(e)) {
			t.Fatalf("round %d: want one slice of every kind, got %v", r+1, order)
		}
	}
	if len(orders) < 2 {
		t.Fatalf("every round in the same order: %v", orders)
	}
	// The order is drawn, not rotated, and from a fixed seed: every run
	// sends the same sequence (the second run is below, after the log's
	// counts of this one).
	var seq, rotated []string
	for i, x := range rs {
		seq = append(seq, x.Kind)
		r, j := i/len(e.Kinds), i%len(e.Kinds)
		rotated = append(rotated, e.Kinds[(r+j)%len(e.Kinds)].Name)
	}
	if reflect.DeepEqual(seq, rotated) {
		t.Fatalf("the kinds came in the rotated order: %v", seq)
	}
	for _, kind := range e.Kinds {
		if m := mergeResults(perKind[kind.Name]); m.Records != n {
			t.Fatalf("%s: its slices add up to %d records, want %d", kind.Name, m.Records, n)
		}
	}
	// What the log holds, by outcome: n of each kind's.
	wantCount := map[string]float64{}
	for _, kind := range e.Kinds {
		var d struct {
			Outcome struct{ Action string } `json:"outcome"`
		}
		if err := json.Unmarshal(kind.Append(nil, 1, rand.New(rand.NewPCG(1, 2))), &d); err != nil || d.Outcome.Action == "" {
			t.Fatalf("%s: no outcome action in its body (%v)", kind.Name, err)
		}
		wantCount[d.Outcome.Action] += n
	}
	code, body := s.Do("GET", "/v1/stats?group_by=outcome", auth.Regulator, nil)
	var st struct {
		Groups []struct {
			Key   map[string]string `json:"key"`
			Count float64           `json:"count"`
		} `json:"groups"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &st) != nil {
		t.Fatalf("GET /v1/stats: %d %s", code, body)
	}
	got := map[string]float64{}
	for _, g := range st.Groups {
		got[g.Key["outcome"]] += g.Count
	}
	if !reflect.DeepEqual(got, wantCount) {
		t.Fatalf("decisions logged by outcome: got %v, want %v", got, wantCount)
	}
	again, err := snd.RunSliced(ctx, Phase{Kinds: e.Kinds, N: n, Clients: 3}, rounds)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range again {
		if x.Kind != seq[i] {
			t.Fatalf("a second run sent slice %d as %s, the first as %s: want the same sequence", i+1, x.Kind, seq[i])
		}
	}
	if _, err := snd.RunSliced(ctx, Phase{Kinds: e.Kinds, N: n, Clients: 3}, 0); err == nil {
		t.Fatal("0 rounds: want an error")
	}
}

// published starts a server with the examples' constitution published,
// and a sender to it with a producer token.
func published(t *testing.T) (*apitest.Server, *Examples, *Sender) {
	t.Helper()
	s := apitest.New(t)
	e := examples(t)
	snd := NewSender(s.URL, s.Tokens[auth.Producer], 4)
	if err := snd.PublishConstitution(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	return s, e, snd
}

func kindNames(e *Examples) []string {
	var names []string
	for _, k := range e.Kinds {
		names = append(names, k.Name)
	}
	slices.Sort(names)
	return names
}

// A sliced load that stops early (too many failures) counts the records
// of the slices it never reached as failed, and reports those slices
// with no seconds.
func TestRunSlicedStopsEarly(t *testing.T) {
	s := apitest.New(t) // no constitution: every decision is refused
	e := examples(t)
	snd := NewSender(s.URL, s.Tokens[auth.Producer], 2)
	rs, err := snd.RunSliced(context.Background(), Phase{Kinds: e.Kinds[:2], N: 40, Clients: 1, MaxErrors: 5}, 4)
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for i, r := range rs {
		if r.Records != 0 || r.Errors != 10 {
			t.Fatalf("slice %d: want its 10 records failed, got %+v", i+1, r)
		}
		failed += r.Errors
	}
	if first := rs[0]; first.Seconds <= 0 || !strings.Contains(first.FirstError, "constitution") {
		t.Fatalf("first slice: want seconds and the error naming the constitution, got %+v", first)
	}
	if last := rs[len(rs)-1]; last.Seconds != 0 || last.FirstError != "" {
		t.Fatalf("a slice never reached: want no seconds and no error of its own, got %+v", last)
	}
	if failed != 80 {
		t.Fatalf("want all 80 records counted as failed, got %d", failed)
	}
}

// TestBenchWarmsUpEachMode: the warm-up is sent in batches and, before a
// single phase, one record per request too, and not reported.
func TestBenchWarmsUpEachMode(t *testing.T) {
	e := examples(t)
	for _, c := range []struct {
		single, batched int
		want            uint64 // the constitution, the warm-ups, the phases
	}{
		{single: 4, want: 1 + 5 + 5 + 3*4},
		{batched: 6, want: 1 + 5 + 3*6},
	} {
		s := apitest.New(t)
		snd := NewSender(s.URL, s.Tokens[auth.Producer], 4)
		res, err := Bench(context.Background(), BenchConfig{Sender: snd, Examples: e, Single: c.single, SingleClients: 2,
			Batched: c.batched, BatchClients: 2, Batch: 3, Warmup: 5})
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 3 {
			t.Errorf("single %d, batched %d: %d results, want one a kind (the warm-ups unreported)", c.single, c.batched, len(res))
		}
		size, err := snd.TreeSize(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if size != c.want {
			t.Errorf("single %d, batched %d: tree size %d, want %d", c.single, c.batched, size, c.want)
		}
	}
}

// TestBenchWarmsUpUntilSettled: with Faults set, the warm-up is sent again
// while the server takes SettledFaults page faults a record or more, at
// most MaxWarmups times, says so on Progress, and a fault count that cannot
// be read stops the run. Faults here is a script of fault counts (the rule,
// not the server's heap, is under test; TestProcFigures reads real ones).
func TestBenchWarmsUpUntilSettled(t *testing.T) {
	e := examples(t)
	const warmup, single = 5, 4
	perRound := 2 * warmup // batched, then one per request
	for _, c := range []struct {
		name      string
		perRecord []float64 // faults a record in warm-up round i (the last one repeats)
		rounds    int
		last      string // what the last progress line says
	}{
		{"settles in the third", []float64{5, SettledFaults, 0.4}, 3, "(settled)"},
		{"settled at once", []float64{0}, 1, "(settled)"},
		{"never settles", []float64{9}, MaxWarmups, "measuring anyway"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := apitest.New(t)
			snd := NewSender(s.URL, s.Tokens[auth.Producer], 4)
			var calls int
			var total int64
			faults := func() (int64, error) {
				calls++
				if calls%2 == 0 { // the reading after a round
					r := min(calls/2-1, len(c.perRecord)-1)
					total += int64(c.perRecord[r] * float64(perRound))
				}
				return total, nil
			}
			var progress strings.Builder
			_, err := Bench(context.Background(), BenchConfig{Sender: snd, Examples: e, Single: single, SingleClients: 2,
				BatchClients: 2, Batch: 3, Warmup: warmup, Faults: faults, Progress: &progress})
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for l := range strings.Lines(progress.String()) {
				if strings.HasPrefix(l, "warm-up") {
					lines = append(lines, l)
				}
			}
			if len(lines) != c.rounds || !strings.Contains(lines[len(lines)-1], c.last) {
				t.Fatalf("want %d warm-up lines, the last saying %q, got:\n%s", c.rounds, c.last, progress.String())
			}
			size, err := snd.TreeSize(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if want := uint64(1 + c.rounds*perRound + 3*single); size != want {
				t.Fatalf("tree size %d, want %d (the constitution, %d warm-up rounds of %d, %d of each kind)", size, want, c.rounds, perRound, single)
			}
		})
	}
	s := apitest.New(t)
	broken := func() (int64, error) { return 0, errors.New("no such process") }
	_, err := Bench(context.Background(), BenchConfig{Sender: NewSender(s.URL, s.Tokens[auth.Producer], 4), Examples: e,
		Single: single, SingleClients: 2, BatchClients: 2, Batch: 3, Warmup: warmup, Faults: broken})
	if err == nil || !strings.Contains(err.Error(), "page faults: no such process") {
		t.Fatalf("unreadable fault count: want an error naming it, got %v", err)
	}
}

func TestBatchErrors(t *testing.T) {
	ok := []byte(`{"results":[{"receipt":{"index":1,"checkpoint":"a\n\"error\": b"}},{"receipt":{}}]}`)
	if n, _ := batchErrors(ok, 2); n != 0 {
		t.Fatalf("all receipts: %d errors", n)
	}
	mixed := []byte(`{"results":[{"receipt":{}},{"error":{"code":"invalid","message":"rules: unknown rule"}}]}`)
	if n, msg := batchErrors(mixed, 2); n != 1 || !strings.Contains(msg, "unknown rule") {
		t.Fatalf("one failed record: got %d %q", n, msg)
	}
	if n, _ := batchErrors([]byte(`{"error":{"code":"x"}}`), 5); n != 5 {
		t.Fatalf("unparsable answer: want all 5 failed, got %d", n)
	}
	short := []byte(`{"results":[{"error":{"code":"x","message":"y"}}]}`)
	if n, _ := batchErrors(short, 3); n != 3 {
		t.Fatalf("1 result for 3 records: want 3 failed, got %d", n)
	}
}

func TestTicks(t *testing.T) {
	for _, c := range []struct {
		max  float64
		want []float64
	}{
		{0, []float64{0, 1}},
		{7, []float64{0, 2, 4, 6, 8}},
		{10, []float64{0, 2, 4, 6, 8, 10}},
		{1e7, []float64{0, 2e6, 4e6, 6e6, 8e6, 1e7}},
		{0.9, []float64{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}},
	} {
		if got := ticks(c.max); !reflect.DeepEqual(got, c.want) {
			t.Errorf("ticks(%v) = %v, want %v", c.max, got, c.want)
		}
	}
}

func TestSVGIsXMLWithEveryLine(t *testing.T) {
	samples := []Sample{
		{Entries: 500_001, RSS: 300 << 20, AppendsPerSec: 9000, ProofP50ms: 0.3, ProofP99ms: 1.2, BytesPerEntry: 2100},
		{Entries: 1_000_001, RSS: 310 << 20, AppendsPerSec: 8800, ProofP50ms: 0.35, ProofP99ms: 1.4, BytesPerEntry: 2080},
	}
	var b bytes.Buffer
	if err := WriteSVG(&b, `growth <&> "run"`, samples); err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(&b)
	lines, texts := 0, []string{}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not XML: %v", err)
		}
		switch v := tok.(type) {
		case xml.StartElement:
			if v.Name.Local == "polyline" {
				lines++
			}
		case xml.CharData:
			texts = append(texts, string(v))
		}
	}
	if lines != 6 {
		t.Errorf("want 6 lines (VmRSS, RssAnon, rate, p50, p99, bytes; no settled proofs fetched), got %d", lines)
	}
	samples[1].SettledP50ms = 0.3 // a run with --settle: its line too
	b.Reset()
	if err := WriteSVG(&b, "settled", samples); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "<polyline"); n != 7 || !strings.Contains(b.String(), "p50 settled") {
		t.Errorf("with settled proofs: want 7 lines, one named p50 settled, got %d", n)
	}
	all := strings.Join(texts, "|")
	for _, w := range []string{`growth <&> "run"`, "server RSS", "MiB", "records/s", "ms", "bytes", "log size (millions of entries)"} {
		if !strings.Contains(all, w) {
			t.Errorf("chart text lacks %q", w)
		}
	}
}

// The live heap is HeapAlloc from a Go server's text heap profile, read
// after the collection it asks for; a server whose profile lacks it, or
// that answers otherwise than 200, is an error, not a zero.
func TestLiveHeap(t *testing.T) {
	var gc atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/missing/"):
			http.NotFound(w, r)
		case r.URL.Path == "/plain/debug/pprof/heap":
			io.WriteString(w, "heap profile: 0: 0 [0: 0] @ heap/1048576\n")
		default:
			gc.Store(r.URL.Query().Get("gc") == "1" && r.URL.Query().Get("debug") == "1")
			io.WriteString(w, "heap profile: 1: 2 [3: 4] @ heap/1048576\n\n# runtime.MemStats\n# Alloc = 99\n# HeapAlloc = 123456\n# Sys = 1\n")
		}
	}))
	defer srv.Close()
	c := &GrowConfig{PprofURL: srv.URL + "/"}
	if n, err := c.liveHeap(context.Background()); err != nil || n != 123456 || !gc.Load() {
		t.Fatalf("liveHeap: %d, %v (gc and debug asked: %v); want 123456 after a forced collection", n, err, gc.Load())
	}
	for _, u := range []string{srv.URL + "/plain", srv.URL + "/missing"} {
		c.PprofURL = u
		if n, err := c.liveHeap(context.Background()); err == nil {
			t.Errorf("liveHeap from %s: %d, want an error", u, n)
		}
	}
	c.PprofURL = ""
	if n, err := c.liveHeap(context.Background()); n != 0 || err != nil {
		t.Errorf("liveHeap without a pprof URL: %d, %v; want 0 and no error", n, err)
	}
}

// A stretch is profiled for 80% of its time at the faster of the last two
// stretches' rates, never under a second.
func TestProfileLength(t *testing.T) {
	for _, c := range []struct {
		rates []float64
		n     int
		want  time.Duration
	}{
		{nil, 500_000, time.Second},
		{[]float64{20_000}, 500_000, 20 * time.Second},
		{[]float64{25_000, 10_000}, 500_000, 16 * time.Second},
		{[]float64{1, 10_000, 20_000}, 500_000, 20 * time.Second},
		{[]float64{10_000, 20_000}, 1_000, time.Second},
	} {
		var samples []Sample
		for _, r := range c.rates {
			samples = append(samples, Sample{AppendsPerSec: r})
		}
		if got := profileLength(samples, c.n); got != c.want {
			t.Errorf("rates %v, %d records: %v, want %v", c.rates, c.n, got, c.want)
		}
	}
}

func TestCSV(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, []Sample{{Entries: 11, Appended: 10, Elapsed: 1.25, RSS: 1 << 20, AppendsPerSec: 8.4, ProofP50ms: 0.5, ProofP99ms: 2, DiskBytes: 2200, BytesPerEntry: 200, LiveHeap: 5 << 20, CPUPerRecord: 61.25, WrittenPerRecord: 3001.4}}); err != nil {
		t.Fatal(err)
	}
	want := strings.Join(CSVHeader, ",") + "\n11,10,1.2,1048576,8,0.500,2.000,2200,200.0,0,0.000,0.000,0.0,5242880,61.2,3001\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// The figures read from /proc for a process agree with what the process
// says of itself.
func TestProcFigures(t *testing.T) {
	pid := os.Getpid()
	for i := 0; selfCPU() < 50*time.Millisecond; i++ { // some CPU time to see
		sha256.Sum256([]byte(strconv.Itoa(i)))
	}
	got, err := ProcessCPU(pid)
	self := selfCPU()
	if err != nil || got <= 0 || got > self+20*time.Millisecond || got < self-100*time.Millisecond {
		t.Fatalf("ProcessCPU = %v, %v; want about this process's own %v", got, err, self)
	}
	touched := make([]byte, 64<<20) // resident once written
	for i := range touched {
		touched[i] = byte(i)
	}
	rss, err := RSS(pid)
	runtime.KeepAlive(touched)
	if err != nil || rss < int64(len(touched)) || rss > 4<<30 {
		t.Fatalf("RSS = %d, %v; want at least the %d bytes just written", rss, err, len(touched))
	}
	if _, err := RSS(1 << 30); err == nil {
		t.Fatal("RSS of a process that does not exist: no error")
	}
	if _, err := ProcessWriteBytes(pid); err != nil {
		t.Fatalf("ProcessWriteBytes of this process: %v", err)
	}
	stat := []byte("4242 (a (b) c) S 1 4242 4242 0 -1 4194560 7654 0 3 0 120 35 0 0 20 0 9 0 100 1000 250\n")
	if f, err := parseStat(stat, 10, 14, 15); err != nil || !reflect.DeepEqual(f, []int64{7654, 120, 35}) {
		t.Errorf("parseStat fields 10, 14, 15 of %q: %v, %v; want minflt 7654, utime 120, stime 35", stat, f, err)
	}
	for _, bad := range []struct {
		stat  string
		field int
	}{{"4242 (x) S 1 2", 10}, {"4242 x S 1 2 3 4 5 6 7 8", 10}, {"4242 (x) S 1 2 3 4 5 6 -7", 10}, {"4242 (x) S 1 2 3 4 5 6 seven", 10}, {"4242 (x) S", 2}} {
		if f, err := parseStat([]byte(bad.stat), bad.field); err == nil {
			t.Errorf("parseStat field %d of %q: %v, want an error", bad.field, bad.stat, f)
		}
	}
	io := []byte("rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 5\nwrite_bytes: 409600\ncancelled_write_bytes: 7\n")
	if n, err := ioField(io, "write_bytes"); err != nil || n != 409600 {
		t.Errorf("write_bytes: %d, %v; want 409600 (not cancelled_write_bytes)", n, err)
	}
	for _, bad := range []string{"write_bytes: x\n", "write_bytes: -1\n", "cancelled_write_bytes: 7\n"} {
		if n, err := ioField([]byte(bad), "write_bytes"); err == nil {
			t.Errorf("write_bytes of %q: %d, want an error", bad, n)
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a"), make([]byte, 100_000), 0o644)
	os.Mkdir(filepath.Join(dir, "d"), 0o755)
	os.WriteFile(filepath.Join(dir, "d", "b"), make([]byte, 50_000), 0o644)
	if du, err := DiskUsage(dir); err != nil || du < 150_000 || du > 1<<20 {
		t.Fatalf("DiskUsage = %d, %v; want about 150,000 bytes", du, err)
	}
}

func TestCommandLineHidesToken(t *testing.T) {
	got := CommandLine([]string{"/tmp/x/ledgerctl", "--token", "s3cret", "--token=s3cret", "bench", "grow"})
	if want := "ledgerctl --token … --token=… bench grow"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestReportInfoComplete(t *testing.T) {
	i := ReportInfo{Revision: "given", CSV: "out/figs/g.csv", SVG: "out/g.svg"}
	i.Complete([]string{"/bin/ledgerctl", "--token=x", "bench", "grow"}, "out/note.md")
	if i.Revision != "given" || i.Command != "ledgerctl --token=… bench grow" || i.CSV != "figs/g.csv" || i.SVG != "g.svg" || i.Made == "" || !strings.Contains(i.Machine, "CPUs") {
		t.Fatalf("%+v", i)
	}
}

// TestNewGrowFiles: the files keep the paths given, the note names them
// relative to itself, and a title not given names the run.
func TestNewGrowFiles(t *testing.T) {
	info := ReportInfo{CSV: "out/figs/g.csv", SVG: "out/g.svg"}
	f := NewGrowFiles(GrowConfig{N: 3000, Batch: 250, Clients: 8}, info, "out/note.md", []string{"ledgerctl", "bench", "grow"}, nil)
	if f.CSV != "out/figs/g.csv" || f.SVG != "out/g.svg" || f.MD != "out/note.md" || f.Info.CSV != "figs/g.csv" || f.Info.SVG != "g.svg" {
		t.Fatalf("%+v", f)
	}
	if want := "ledgerd as its log grows by 3,000 decisions (3 example kinds mixed, HTTP batches of 250, 8 clients)"; f.Title != want || f.Info.Title != want {
		t.Fatalf("title %q, want %q", f.Title, want)
	}
	info.Title = "mine"
	if f := NewGrowFiles(GrowConfig{N: 1}, info, "", nil, nil); f.Title != "mine" || f.Info.CSV != "out/figs/g.csv" {
		t.Fatalf("%+v", f)
	}
}

func TestSelect(t *testing.T) {
	e := examples(t)
	ks, err := e.Select("refused, private")
	if err != nil || len(ks) != 2 || ks[0] != e.Kind("refused") || ks[1] != e.Kind("private") {
		t.Fatalf("%v %v", ks, err)
	}
	if _, err := e.Select("refused,nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("unknown kind: %v", err)
	}
}

// A kind sent in rounds is reported once: its parts' counts, seconds and
// CPU add up, its rate is records over seconds, and its latency quantiles
// are over every part's requests.
func TestMergeResults(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	a := &Result{Kind: "private", Mode: "batch", Records: 300, Errors: 1, Retries: 2, Seconds: 1, ClientCPU: 0.5, ServerCPU: 1, GenCPU: 0.1, Commits: 3, CommitSeconds: 0.5, latencies: ms(1, 2, 3)}
	b := &Result{Kind: "private", Mode: "batch", Records: 100, Seconds: 3, ClientCPU: 0.25, ServerCPU: 2, GenCPU: 0.1, Commits: 1, CommitSeconds: 0.25, FirstError: "boom", latencies: ms(100, 101)}
	m := mergeResults([]*Result{a, b})
	if m.Records != 400 || m.Errors != 1 || m.Retries != 2 || m.Seconds != 4 || m.PerSec != 100 || m.ClientCPU != 0.75 || m.ServerCPU != 3 || m.GenCPU < 0.19 || m.GenCPU > 0.21 || m.Commits != 4 || m.CommitSeconds != 0.75 {
		t.Fatalf("merged counts: got %+v", m)
	}
	if m.P50ms != 3 || m.P99ms != 101 || m.FirstError != "boom" || m.Kind != "private" || m.Mode != "batch" {
		t.Fatalf("merged latencies and names: want p50 3 ms, p99 101 ms, the first error, got %+v", m)
	}
	if a.Records != 300 || len(a.latencies) != 3 {
		t.Fatalf("merging changed a part: %+v", a)
	}
	if one := mergeResults([]*Result{b}); one != b {
		t.Fatal("one part: want it as it is")
	}
}

// TestTrendRatio: the line fitted against log2 n goes through samples on
// such a line, and the report shows it beside the raw ratio.
func TestTrendRatio(t *testing.T) {
	var samples []Sample
	for e := uint64(500_000); e <= 10_000_000; e += 500_000 {
		p50 := 0.1 + 0.01*math.Log2(float64(e))
		if e%1_000_000 != 0 { // noise that cancels out in pairs
			p50 += 0.05
		} else {
			p50 -= 0.05
		}
		samples = append(samples, Sample{Entries: e, ProofP50ms: p50, RSS: 1, AnonRSS: 1, AppendsPerSec: 1, ProofP99ms: 1, BytesPerEntry: 1})
	}
	r, ok := trendRatio(samples, 1_000_000, 10_000_000, func(s Sample) float64 { return s.ProofP50ms })
	want := func(e float64) float64 { return 0.1 + 0.01*math.Log2(e) }
	if !ok || math.Abs(r.then-want(1e6)) > 0.01 || math.Abs(r.now-want(1e7)) > 0.01 {
		t.Fatalf("got %+v %v, want about %.3f and %.3f", r, ok, want(1e6), want(1e7))
	}
	if _, ok := trendRatio(samples[:2], 1, 2, func(s Sample) float64 { return s.ProofP50ms }); ok {
		t.Fatal("a line through two samples")
	}
	var b bytes.Buffer
	if err := WriteReport(&b, ReportInfo{Title: "t"}, samples); err != nil {
		t.Fatal(err)
	}
	row := fmt.Sprintf("| proof p50, the line fitted to every sample against log n | %.3f | %.3f | %.2f |", r.then, r.now, r.now/r.then)
	if !strings.Contains(b.String(), row) {
		t.Fatalf("the report lacks %q:\n%s", row, b.String())
	}
}
