//go:build soak

// Package soaktest runs the soak of `make soak` (not part of `make test`): a
// real ledgerd, built from this module and started on loopback, under
// honest mixed load (single and batched appends of every example kind,
// queries, stats over the whole log, tile and proof reads, contests) and
// abusive traffic at once, for SOAK_DURATION (default 10m). It prints the
// honest appends' p50/p99 latency per minute and ledgerd's RSS over time;
// afterwards `ledgerctl fsck` must pass on the stopped store and every
// receipt the honest clients got must have verified, and every checkpoint
// they saw must be consistent with the final one.
package soaktest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fjaledger/fja/verify"
)

const origin = "soak.example.org/log"

// maxRSSKiB bounds ledgerd's anonymous resident memory during the soak
// (4 GiB).
const maxRSSKiB = 4 << 20

func TestSoak(t *testing.T) {
	dur := 10 * time.Minute
	if v := os.Getenv("SOAK_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("SOAK_DURATION=%q: %v", v, err)
		}
		dur = d
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	examples := filepath.Join(root, "..", "shared", "examples")
	tmp := t.TempDir()
	for _, cmd := range []string{"ledgerd", "ledgerctl"} {
		b := exec.Command("go", "build", "-o", filepath.Join(tmp, cmd), "./cmd/"+cmd)
		b.Dir = root
		if out, err := b.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", cmd, err, out)
		}
	}
	// Tokens of every role, in a tokens file (SHA-256 hashes only).
	tokens := map[string]string{}
	var entries []map[string]string
	for _, role := range []string{"producer", "reviewer", "regulator", "operator"} {
		tok := randHex(16)
		tokens[role] = tok
		h := sha256.Sum256([]byte(tok))
		entries = append(entries, map[string]string{"name": "soak-" + role, "role": role, "sha256": hex.EncodeToString(h[:])})
	}
	tf := filepath.Join(tmp, "tokens.json")
	writeJSON(t, tf, entries)
	keyFile := filepath.Join(tmp, "log.key")
	kg := exec.Command(filepath.Join(tmp, "ledgerctl"), "keygen", "--origin", origin, "--out", keyFile)
	vkeyOut, err := kg.Output()
	if err != nil {
		t.Fatalf("keygen: %v", err)
	}
	vkey := strings.TrimSpace(string(vkeyOut))
	addr, pprofAddr := freeAddr(t), freeAddr(t)
	data := filepath.Join(tmp, "data")
	srv := exec.Command(filepath.Join(tmp, "ledgerd"), "--data", data, "--listen", addr, "--key", keyFile,
		"--tokens", tf, "--log-level", "warn", "--pprof", pprofAddr)
	srvLog, err := os.Create(filepath.Join(tmp, "ledgerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Stdout, srv.Stderr = srvLog, srvLog
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	base := "http://" + addr
	waitUp(t, base)

	s := &soak{t: t, base: base, tokens: tokens, vkey: vkey, start: time.Now(), pprof: "http://" + pprofAddr,
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 128}}}
	s.loadExamples(t, examples)
	if code, b := s.do("POST", "/v1/constitutions", "producer", s.constitution, nil); code != 201 && code != 200 {
		t.Fatalf("publishing the constitution: %d %s", code, b)
	}

	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var wg sync.WaitGroup
	run := func(n int, f func(ctx context.Context, worker int)) {
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) { defer wg.Done(); f(ctx, i) }(i)
		}
	}
	run(16, s.singleAppender)
	run(2, s.batchAppender)
	run(2, s.reader)
	run(1, s.querier)
	run(1, s.contester)
	run(2, s.abuser)
	rss := s.sampleRSS(ctx, srv.Process.Pid)

	// Per-minute report while it runs.
	ticker := time.NewTicker(time.Minute)
	minute := 0
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-ticker.C:
			minute++
			s.reportMinute(minute)
		}
	}
	ticker.Stop()
	wg.Wait()
	s.reportMinute(minute + 1)
	samples := <-rss

	t.Logf("ledgerd memory over time, every 10 s (MiB, VmRSS/RssAnon/Go heap in use): %s", strings.Join(samples, " "))
	t.Logf("honest: %d appends with verified receipts, %d queries/stats, %d reads, %d contests; abusive: %d requests (%v)",
		s.appended.Load(), s.queries.Load(), s.reads.Load(), s.contests.Load(), s.abusive.Load(), s.abuseStatuses())
	if n := s.honestFailures.Load(); n > 0 {
		t.Errorf("%d honest requests failed (first: %v)", n, s.firstFailure.Load())
	}

	// Every checkpoint an honest client saw is consistent with the final one.
	final := s.finalCheckpoint(t)
	s.checkConsistency(t, final)

	// Stop the server and check the store offline.
	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := srv.Wait(); err != nil {
		t.Errorf("ledgerd exited: %v", err)
	}
	fsck := exec.Command(filepath.Join(tmp, "ledgerctl"), "fsck", "--data", filepath.Join(data, "badger"), "--key", vkey)
	out, err := fsck.CombinedOutput()
	if err != nil {
		t.Fatalf("fsck after the soak: %v\n%s", err, out)
	}
	t.Logf("fsck: %s", strings.TrimSpace(string(out)))
}

type soak struct {
	t      *testing.T
	base   string
	pprof  string // ledgerd's /debug/pprof
	tokens map[string]string
	vkey   string
	client *http.Client
	start  time.Time

	constitution []byte
	decisions    []map[string]any // the three example decisions, as sent
	contest      map[string]any
	resolution   []byte

	mu        sync.Mutex
	latencies []sample          // honest append latencies of the current minute
	sizes     map[uint64]string // checkpoint size -> checkpoint text, from receipts
	refused   []struct{ id, tk string }

	appended, queries, reads, contests, abusive atomic.Int64
	honestFailures                              atomic.Int64
	firstFailure                                atomic.Value
	statusMu                                    sync.Mutex
	statuses                                    map[int]int
}

type sample struct {
	d time.Duration
}

func (s *soak) loadExamples(t *testing.T, dir string) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("example %s: %v (the examples live in ../shared/examples beside the module)", name, err)
		}
		return b
	}
	s.constitution = read("constitution.json")
	for _, n := range []string{"decision-refused.json", "decision-answered.json", "decision-modified-private.json"} {
		var m map[string]any
		if err := json.Unmarshal(read(n), &m); err != nil {
			t.Fatal(err)
		}
		s.decisions = append(s.decisions, m)
	}
	s.resolution = read("resolution.json")
	if err := json.Unmarshal(read("contest.json"), &s.contest); err != nil {
		t.Fatal(err)
	}
	s.sizes = map[uint64]string{}
	s.statuses = map[int]int{}
}

// decision returns example kind k with a fresh id (and fresh private text).
func (s *soak) decision(k int) (string, []byte) {
	m := map[string]any{}
	for key, v := range s.decisions[k] {
		m[key] = v
	}
	id := "soak-" + randHex(8)
	m["decision_id"] = id
	if p, ok := m["private"].(map[string]any); ok {
		m["private"] = map[string]any{"request": fmt.Sprint(p["request"], " ", id), "response": p["response"]}
	}
	b, _ := json.Marshal(m)
	return id, b
}

func (s *soak) do(method, path, role string, body []byte, hdr map[string]string) (int, []byte) {
	return s.doWith(s.client, method, path, role, body, hdr)
}

func (s *soak) doWith(client *http.Client, method, path, role string, body []byte, hdr map[string]string) (int, []byte) {
	req, err := http.NewRequest(method, s.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, []byte(err.Error())
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+s.tokens[role])
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		time.Sleep(50 * time.Millisecond) // a server that is gone is not hammered
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (s *soak) fail(format string, a ...any) {
	if s.honestFailures.Add(1) == 1 {
		s.firstFailure.Store(fmt.Sprintf(format, a...))
	}
}

// accept verifies a receipt with the log's key and records its checkpoint.
func (s *soak) accept(raw []byte) *verify.Receipt {
	r, cp, err := verify.VerifyReceipt(raw, s.vkey)
	if err != nil {
		s.fail("receipt does not verify: %v", err)
		return nil
	}
	s.mu.Lock()
	if _, ok := s.sizes[cp.Size]; !ok {
		s.sizes[cp.Size] = string(cp.Raw)
	}
	s.mu.Unlock()
	s.appended.Add(1)
	return r
}

func (s *soak) record(d time.Duration) {
	s.mu.Lock()
	s.latencies = append(s.latencies, sample{d})
	s.mu.Unlock()
}

// post retries 429 and 503 (pushback) as a client would.
func (s *soak) post(ctx context.Context, path string, body []byte) (int, []byte, time.Duration) {
	t0 := time.Now()
	for {
		code, b := s.do("POST", path, "producer", body, nil)
		if (code == 429 || code == 503) && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
			continue
		}
		return code, b, time.Since(t0)
	}
}

func (s *soak) singleAppender(ctx context.Context, w int) {
	for i := 0; ctx.Err() == nil; i++ {
		k := (w + i) % 3
		id, body := s.decision(k)
		code, b, d := s.post(ctx, "/v1/decisions", body)
		if ctx.Err() != nil && code == 0 {
			return
		}
		if code != 201 {
			s.fail("append %s: %d %s", id, code, b)
			continue
		}
		s.record(d)
		if r := s.accept(b); r != nil && k == 0 && r.ContestToken != "" {
			s.mu.Lock()
			if len(s.refused) < 10000 {
				s.refused = append(s.refused, struct{ id, tk string }{id, r.ContestToken})
			}
			s.mu.Unlock()
		}
	}
}

func (s *soak) batchAppender(ctx context.Context, w int) {
	for ctx.Err() == nil {
		var parts [][]byte
		for i := 0; i < 250; i++ {
			_, b := s.decision(i % 3)
			parts = append(parts, b)
		}
		body := append(append([]byte("["), bytes.Join(parts, []byte(","))...), ']')
		code, b, d := s.post(ctx, "/v1/decisions:batch", body)
		if ctx.Err() != nil && code == 0 {
			return
		}
		if code != 200 {
			s.fail("batch: %d %.300s", code, b)
			continue
		}
		var ans struct {
			Results []struct {
				Receipt json.RawMessage `json:"receipt"`
				Error   json.RawMessage `json:"error"`
			} `json:"results"`
		}
		if err := json.Unmarshal(b, &ans); err != nil || len(ans.Results) != 250 {
			s.fail("batch answer: %v (%d results)", err, len(ans.Results))
			continue
		}
		for _, r := range ans.Results {
			if r.Receipt == nil {
				s.fail("batch item: %s", r.Error)
				continue
			}
			s.accept(r.Receipt)
		}
		s.record(d)
	}
}

// reader reads tiles, bundles, entries and proofs at random places.
func (s *soak) reader(ctx context.Context, w int) {
	for ctx.Err() == nil {
		code, b := s.do("GET", "/checkpoint", "", nil, nil)
		if code != 200 {
			s.fail("checkpoint: %d %s", code, b)
			continue
		}
		lines := strings.SplitN(string(b), "\n", 3)
		size, _ := strconv.ParseUint(lines[1], 10, 64)
		if size < 2 {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		i := mrand.Uint64N(size)
		for _, p := range []string{
			fmt.Sprintf("/v1/entries/%d", i),
			fmt.Sprintf("/v1/proofs/inclusion?index=%d&size=%d", i, size),
			fmt.Sprintf("/v1/proofs/consistency?from=%d&to=%d", 1+mrand.Uint64N(size-1), size),
			"/tile/0/" + tilePath(i/256),
			"/tile/entries/" + tilePath(i/256),
		} {
			code, b := s.do("GET", p, "", nil, nil)
			// a partial tile or bundle is served by its width: the full one 404s until it exists
			if code != 200 && !(code == 404 && strings.HasPrefix(p, "/tile/")) {
				s.fail("%s: %d %.200s", p, code, b)
			}
			s.reads.Add(1)
		}
	}
}

func tilePath(n uint64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/", n%1000) + s
	}
	return s
}

// querier runs queries and stats over the whole log, as a regulator.
func (s *soak) querier(ctx context.Context, w int) {
	paths := []string{
		"/v1/stats?group_by=rule",
		"/v1/stats?group_by=jurisdiction,outcome",
		"/v1/query?action=refused&limit=100",
		"/v1/query?jurisdiction=IN&limit=10",
	}
	for i := 0; ctx.Err() == nil; i++ {
		p := paths[i%len(paths)]
		code, b := s.do("GET", p, "regulator", nil, nil)
		if code == 503 { // the expensive-route limit or deadline: allowed, retried
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if code != 200 {
			s.fail("%s: %d %.200s", p, code, b)
		}
		s.queries.Add(1)
	}
}

// contester files contests against refused decisions and resolves them.
func (s *soak) contester(ctx context.Context, w int) {
	for ctx.Err() == nil {
		s.mu.Lock()
		var d struct{ id, tk string }
		if n := len(s.refused); n > 0 {
			d = s.refused[n-1]
			s.refused = s.refused[:n-1]
		}
		s.mu.Unlock()
		if d.id == "" {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		c := map[string]any{}
		for k, v := range s.contest {
			c[k] = v
		}
		c["contest_id"], c["decision_id"], c["contest_token"] = "con-"+randHex(8), d.id, d.tk
		body, _ := json.Marshal(c)
		code, b := s.do("POST", "/v1/contests", "", body, nil)
		if code != 201 {
			s.fail("contest on %s: %d %.200s", d.id, code, b)
			continue
		}
		var ans struct {
			Receipt json.RawMessage `json:"receipt"`
		}
		json.Unmarshal(b, &ans)
		s.accept(ans.Receipt)
		s.contests.Add(1)
		code, b = s.do("POST", "/v1/contests/"+c["contest_id"].(string)+"/resolution", "reviewer", s.resolution, nil)
		if code != 201 {
			s.fail("resolution: %d %.200s", code, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// abuser sends hostile requests; each must be refused with a 4xx, 429 or
// 503, never a 5xx that says the server failed and never a 2xx. It comes
// from its own loopback address (127.0.0.2), as an attacker would from
// theirs: the server limits failed authentications per address.
func (s *soak) abuser(ctx context.Context, w int) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
	many := func(n int) []byte {
		var b bytes.Buffer
		b.WriteString("{")
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `"k%d":%d`, i, i)
		}
		b.WriteString("}")
		return b.Bytes()
	}
	deep := []byte(strings.Repeat("[", 100000) + strings.Repeat("]", 100000))
	cases := []struct {
		method, path, role string
		body               []byte
		hdr                map[string]string
	}{
		{"POST", "/v1/contests", "", many(60000), nil},
		{"POST", "/v1/decisions", "producer", deep, nil},
		{"POST", "/v1/decisions", "producer", []byte(`{"decision_id":` + strings.Repeat("9", 500000) + `}`), nil},
		{"GET", "/v1/stats?group_by=" + strings.Repeat("rule,", 25) + "rule", "regulator", nil, nil},
		{"GET", "/v1/query?limit=100000000", "regulator", nil, nil},
		{"POST", "/v1/decisions", "", []byte("{}"), map[string]string{"Authorization": "Bearer " + randHex(16), "X-Forwarded-For": "10.9.8.7"}},
		{"GET", "/v1/query?jurisdction=DE", "regulator", nil, nil},
		{"GET", "/tile/9/000", "", nil, nil},
	}
	for i := w; ctx.Err() == nil; i++ {
		c := cases[i%len(cases)]
		hdr := map[string]string{}
		for k, v := range c.hdr {
			hdr[k] = v
		}
		code, _ := s.doWith(client, c.method, c.path, c.role, c.body, hdr)
		s.abusive.Add(1)
		s.statusMu.Lock()
		s.statuses[code]++
		s.statusMu.Unlock()
		if code >= 200 && code < 300 || code >= 500 && code != 503 {
			s.fail("abusive %s %.80s: %d", c.method, c.path, code)
		}
	}
}

func (s *soak) abuseStatuses() map[int]int {
	s.statusMu.Lock()
	defer s.statusMu.Unlock()
	return maps(s.statuses)
}

func maps(m map[int]int) map[int]int {
	out := map[int]int{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (s *soak) reportMinute(minute int) {
	s.mu.Lock()
	l := s.latencies
	s.latencies = nil
	s.mu.Unlock()
	if len(l) == 0 {
		s.t.Logf("minute %d: no appends", minute)
		return
	}
	ds := make([]time.Duration, len(l))
	for i, x := range l {
		ds[i] = x.d
	}
	slices.Sort(ds)
	s.t.Logf("minute %2d: %6d honest append requests, p50 %v, p99 %v, max %v", minute, len(ds),
		ds[len(ds)/2].Round(time.Microsecond), ds[len(ds)*99/100].Round(time.Microsecond), ds[len(ds)-1].Round(time.Microsecond))
}

// sampleRSS reads the server's VmRSS every 2 s until ctx is done, and
// kills the server past maxRSSKiB.
func (s *soak) sampleRSS(ctx context.Context, pid int) <-chan []string {
	out := make(chan []string, 1)
	go func() {
		var samples []string
		n := 0
		heapSaved := false
		read := func() {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if err != nil {
				return
			}
			kib := map[string]int{}
			for _, line := range strings.Split(string(b), "\n") {
				if f := strings.Fields(line); len(f) >= 2 {
					kib[strings.TrimSuffix(f[0], ":")], _ = strconv.Atoi(f[1])
				}
			}
			// VmRSS counts the pages of Badger's memory-mapped files
			// (value log, memtables) the kernel keeps resident;
			// RssAnon is the server's own memory, the one that must
			// stay bounded.
			inuse := s.heapInuse()
			if n++; n%5 == 1 {
				samples = append(samples, fmt.Sprintf("%s=%d/%d/%d", time.Since(s.start).Round(time.Second), kib["VmRSS"]/1024, kib["RssAnon"]/1024, inuse))
			}
			if inuse > maxRSSKiB/1024/4 && !heapSaved {
				// evidence of where the memory goes, before it is too late
				heapSaved = true
				s.saveHeap(fmt.Sprintf("%d MiB of Go heap in use", inuse))
			}
			if kib["RssAnon"] > maxRSSKiB {
				// A runaway server would take the machine down with it.
				s.fail("ledgerd anonymous RSS %d MiB is over the soak's bound of %d MiB: killed", kib["RssAnon"]/1024, maxRSSKiB/1024)
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		tk := time.NewTicker(2 * time.Second)
		defer tk.Stop()
		read()
		for {
			select {
			case <-ctx.Done():
				read()
				out <- samples
				return
			case <-tk.C:
				read()
			}
		}
	}()
	return out
}

// heapInuse is ledgerd's Go heap in use, in MiB, from its metrics: the
// memory it holds, as opposed to what the kernel still counts for it.
func (s *soak) heapInuse() int {
	code, b := s.do("GET", "/metrics", "operator", nil, nil)
	if code != 200 {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "go_memstats_heap_inuse_bytes "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return int(f / (1 << 20))
		}
	}
	return -1
}

// saveHeap saves ledgerd's heap profile in the system's temp directory
// (soak-heap.pprof), so that a memory alarm comes with its evidence.
func (s *soak) saveHeap(why string) {
	resp, err := http.Get(s.pprof + "/debug/pprof/heap")
	if err != nil {
		s.t.Logf("heap profile at %s: %v", why, err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	p := filepath.Join(os.TempDir(), "soak-heap.pprof")
	if err := os.WriteFile(p, b, 0o644); err == nil {
		s.t.Logf("ledgerd reached %s: heap profile saved to %s", why, p)
	}
}

func (s *soak) finalCheckpoint(t *testing.T) *verify.Checkpoint {
	code, b := s.do("GET", "/checkpoint", "", nil, nil)
	if code != 200 {
		t.Fatalf("final checkpoint: %d %s", code, b)
	}
	cp, err := verify.OpenCheckpoint(b, origin, s.vkey)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// checkConsistency proves every checkpoint size seen in a receipt
// consistent with the final checkpoint (a sample of at most 500 sizes,
// chosen at random, plus the smallest and the largest).
func (s *soak) checkConsistency(t *testing.T, final *verify.Checkpoint) {
	s.mu.Lock()
	var sizes []uint64
	for n := range s.sizes {
		sizes = append(sizes, n)
	}
	s.mu.Unlock()
	slices.Sort(sizes)
	pick := sizes
	if len(sizes) > 500 {
		pick = []uint64{sizes[0], sizes[len(sizes)-1]}
		for i := 0; i < 498; i++ {
			n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(sizes))))
			pick = append(pick, sizes[n.Int64()])
		}
	}
	for _, n := range pick {
		old, err := verify.OpenCheckpoint([]byte(s.sizes[n]), origin, s.vkey)
		if err != nil {
			t.Fatalf("checkpoint of size %d: %v", n, err)
		}
		code, b := s.do("GET", fmt.Sprintf("/v1/proofs/consistency?from=%d&to=%d", n, final.Size), "", nil, nil)
		if code != 200 {
			t.Fatalf("consistency proof %d -> %d: %d %s", n, final.Size, code, b)
		}
		var p struct {
			Hashes [][]byte `json:"hashes"`
		}
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		if err := verify.Consistency(old.Size, final.Size, p.Hashes, old.Hash, final.Hash); err != nil {
			t.Fatalf("checkpoint of size %d is not consistent with the final one of size %d: %v", n, final.Size, err)
		}
	}
	t.Logf("%d of %d checkpoint sizes seen in receipts proved consistent with the final checkpoint (size %d)", len(pick), len(sizes), final.Size)
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func writeJSON(t *testing.T, path string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitUp(t *testing.T, base string) {
	for i := 0; i < 300; i++ {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("ledgerd did not come up at %s", base)
}
