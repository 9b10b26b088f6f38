package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
)

// abusive is one hostile request of TestHostileLoad.
type abusive struct {
	name   string
	method string
	path   string
	role   auth.Role // "": anonymous
	authz  string    // raw Authorization header (overrides role)
	hdr    map[string]string
	body   []byte
	slow   bool // send half the body, then stall until the client gives up
	repeat int  // send this many times (default 1)
	// itemErr: a batch answered 200 whose every item is this error code
	// (one bad record does not fail the others, DESIGN.md §6).
	itemErr string
}

// TestHostileLoad sends abusive requests from their own address
// (127.0.0.2) while an honest producer appends from 127.0.0.1. Every
// abusive request must be refused (4xx, 429 or 503) — never accepted, never
// a 5xx failure — and the server must stay up. It prints, per request, the
// wall time and the process CPU time it cost above the honest load's own
// rate, and the honest producer's worst append latency. With
// FJA_HOSTILE_STALL=1 (make soak) that worst latency must stay under
// 250 ms; `make test` only prints it (timed assertions flake on a busy
// machine).
func TestHostileLoad(t *testing.T) {
	s := apitest.New(t)
	s.MustPost("/v1/constitutions", auth.Producer, apitest.Example(t, "constitution.json"))
	refused := apitest.Example(t, "decision-refused.json")

	keys := func(n int) []byte {
		var b bytes.Buffer
		b.WriteString("{")
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"key-%d":%d`, i, i)
		}
		b.WriteString("}")
		return b.Bytes()
	}
	withField := func(doc []byte, field, value string) []byte {
		return bytes.Replace(doc, []byte("{"), []byte(`{"`+field+`":`+value+`,`), 1)
	}
	array := func(n int, item string) string {
		return "[" + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + "]"
	}
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	batchOf := func(items ...[]byte) []byte {
		return append(append([]byte("["), bytes.Join(items, []byte(","))...), ']')
	}
	bigElement := withField(refused, "padding", `"`+strings.Repeat("x", 2<<20)+`"`)
	forged := "Bearer " + strings.Repeat("Z", 43)
	groupBy := strings.TrimSuffix(strings.Repeat("rule,", 25), ",")
	P, Rg := auth.Producer, auth.Regulator

	cases := []abusive{
		{name: "contest with 85,000 keys (anonymous)", method: "POST", path: "/v1/contests", body: keys(85000)},
		{name: "decision with 85,000 keys", method: "POST", path: "/v1/decisions", role: P, body: keys(85000)},
		{name: "weights with 50,000 keys", method: "POST", path: "/v1/decisions", role: P, body: bytes.Replace(refused, []byte(`"weights": {`), append(append([]byte(`"weights": `), keys(50000)[:len(keys(50000))-1]...), ','), 1)},
		{name: "nesting 100,000 deep", method: "POST", path: "/v1/decisions", role: P, body: []byte(deep(100000))},
		{name: "nesting 100,000 deep in a contest", method: "POST", path: "/v1/contests", body: []byte(`{"grounds":` + deep(100000) + `}`)},
		{name: "number of 500,000 digits", method: "POST", path: "/v1/decisions", role: P, body: withField(refused, "n", strings.Repeat("9", 500000))},
		{name: "number 1e-999999", method: "POST", path: "/v1/decisions", role: P, body: bytes.Replace(refused, []byte(`0.91`), []byte(`1e-999999`), 1)},
		{name: "number 1e999999", method: "POST", path: "/v1/decisions", role: P, body: bytes.Replace(refused, []byte(`0.91`), []byte(`1e999999`), 1)},
		{name: "string of 900 KB", method: "POST", path: "/v1/decisions", role: P, body: withField(refused, "s", `"`+strings.Repeat("é", 450000)+`"`)},
		{name: "array of 200,000 items", method: "POST", path: "/v1/decisions", role: P, body: withField(refused, "a", array(200000, "1"))},
		{name: "array of 100,000 objects", method: "POST", path: "/v1/decisions", role: P, body: withField(refused, "a", array(100000, "{}"))},
		{name: "body over the limit", method: "POST", path: "/v1/decisions", role: P, body: withField(refused, "s", `"`+strings.Repeat("x", 3<<20)+`"`)},
		{name: "batch of 1,001", method: "POST", path: "/v1/decisions:batch", role: P, body: []byte(array(1001, "{}"))},
		{name: "batch element over the single-body limit", method: "POST", path: "/v1/decisions:batch", role: P, body: batchOf(bigElement, bigElement), itemErr: "too_large"},
		{name: "batch of 200,000 nulls", method: "POST", path: "/v1/decisions:batch", role: P, body: []byte(array(200000, "null"))},
		{name: "batch nested 100,000 deep", method: "POST", path: "/v1/decisions:batch", role: P, body: []byte("[" + deep(100000) + "]")},
		{name: "group_by rule ×25", method: "GET", path: "/v1/stats?group_by=" + groupBy, role: Rg},
		{name: "group_by 7 fields", method: "GET", path: "/v1/stats?group_by=outcome,category,rule,flag,jurisdiction,model,operator", role: Rg},
		{name: "group_by unknown field", method: "GET", path: "/v1/stats?group_by=prompt", role: Rg},
		{name: "query limit 100,000,000", method: "GET", path: "/v1/query?limit=100000000", role: Rg},
		{name: "query with a misspelt filter", method: "GET", path: "/v1/query?jurisdction=DE", role: Rg},
		{name: "query from after to", method: "GET", path: "/v1/query?from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z", role: Rg},
		{name: "query with a 10 KB cursor", method: "GET", path: "/v1/query?cursor=" + strings.Repeat("A", 10000), role: Rg},
		{name: "stats anonymous", method: "GET", path: "/v1/stats?group_by=rule"},
		{name: "forged X-Forwarded-For on a write", method: "POST", path: "/v1/decisions", authz: forged, hdr: map[string]string{"X-Forwarded-For": "203.0.113.9"}, body: refused, repeat: 30},
		{name: "bad tokens in bulk", method: "GET", path: "/v1/query", authz: forged, repeat: 60},
		{name: "producer token on a regulator route", method: "GET", path: "/v1/query", role: P},
		{name: "tile path traversal", method: "GET", path: "/tile/0/../../etc/passwd"},
		{name: "tile level 99", method: "GET", path: "/tile/99/000"},
		{name: "tile far beyond the log", method: "GET", path: "/tile/0/x999/999/999"},
		{name: "inclusion proof of an absurd size", method: "GET", path: "/v1/proofs/inclusion?index=1&size=18446744073709551615"},
		{name: "consistency proof reversed", method: "GET", path: "/v1/proofs/consistency?from=1000000&to=1"},
		{name: "entry index overflow", method: "GET", path: "/v1/entries/99999999999999999999999"},
		{name: "contest with a forged token", method: "POST", path: "/v1/contests", body: []byte(`{"contest_id":"con-x","decision_id":"dec-2026-11-27-000001","contest_token":"` + strings.Repeat("A", 43) + `","grounds":{"category":"false-refusal","text":"x"},"remedy":"reconsider"}`)},
		{name: "slow body (stalls half-way)", method: "POST", path: "/v1/decisions", role: P, body: refused, slow: true},
		{name: "header of 1 MB", method: "GET", path: "/v1/log", hdr: map[string]string{"X-Junk": strings.Repeat("j", 1<<20)}},
	}
	if len(cases) < 30 {
		t.Fatalf("only %d abusive cases", len(cases))
	}

	// The honest producer, from 127.0.0.1.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	var lat []time.Duration
	var honestErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			body := bytes.Replace(refused, []byte(`"dec-2026-11-27-000001"`), []byte(fmt.Sprintf(`"dec-honest-%06d"`, i)), 1)
			t0 := time.Now()
			code, b := s.Do("POST", "/v1/decisions", auth.Producer, body)
			d := time.Since(t0)
			mu.Lock()
			if code != http.StatusCreated && honestErr == nil {
				honestErr = fmt.Errorf("honest append %d: %d %s", i, code, b)
			}
			lat = append(lat, d)
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	// The honest load's own CPU rate, to tell what each abusive request adds.
	time.Sleep(300 * time.Millisecond)
	c0, w0 := cpuTime(), time.Now()
	time.Sleep(500 * time.Millisecond)
	baseline := float64(cpuTime()-c0) / float64(time.Since(w0))

	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DialContext: dialer.DialContext}}
	for _, c := range cases {
		n := max(c.repeat, 1)
		statuses := map[int]int{}
		c0, w0 := cpuTime(), time.Now()
		for i := 0; i < n; i++ {
			code, b, err := sendAbusive(client, s, c)
			switch {
			case c.slow && err != nil:
				statuses[0]++ // the client gave up on its own stalled body
			case err != nil:
				t.Errorf("%s: %v", c.name, err)
			case c.itemErr != "":
				statuses[code]++
				var ans struct {
					Results []struct {
						Receipt json.RawMessage
						Error   *struct{ Code string }
					}
				}
				if code != http.StatusOK || json.Unmarshal(b, &ans) != nil || len(ans.Results) == 0 {
					t.Errorf("%s: %d %.300s; want 200 with per-item errors", c.name, code, b)
				}
				for i, r := range ans.Results {
					if r.Receipt != nil || r.Error == nil || r.Error.Code != c.itemErr {
						t.Errorf("%s: item %d is not the error %s: %+v", c.name, i, c.itemErr, r)
					}
				}
			case code < 400 || code >= 500 && code != http.StatusServiceUnavailable:
				t.Errorf("%s: answered %d %.300s; want a refusal (4xx, 429, 503)", c.name, code, b)
			default:
				statuses[code]++
				if !json.Valid(b) && code != http.StatusRequestHeaderFieldsTooLarge {
					t.Errorf("%s: %d with a body that is not JSON: %.200s", c.name, code, b)
				}
			}
		}
		wall := time.Since(w0)
		extra := time.Duration(float64(cpuTime()-c0) - baseline*float64(wall))
		t.Logf("%-45s %v  wall %8v  CPU above the honest load %8v (per request)", c.name, statuses,
			(wall / time.Duration(n)).Round(time.Microsecond), max(extra/time.Duration(n), 0).Round(time.Microsecond))
	}
	stop()
	wg.Wait()
	if honestErr != nil {
		t.Fatal(honestErr)
	}
	slices.Sort(lat)
	worst := lat[len(lat)-1]
	t.Logf("honest producer: %d appends during the abuse, p50 %v, p99 %v, worst %v", len(lat),
		lat[len(lat)/2].Round(time.Microsecond), lat[len(lat)*99/100].Round(time.Microsecond), worst.Round(time.Microsecond))
	if os.Getenv("FJA_HOSTILE_STALL") == "1" && worst > 250*time.Millisecond {
		t.Errorf("an honest append stalled %v during the abuse, want at most 250ms", worst)
	}
	if code, b := s.Do("GET", "/healthz", "", nil); code != 200 {
		t.Fatalf("after the abuse, /healthz: %d %s", code, b)
	}
}

// sendAbusive sends c once; a slow case writes half its body, stalls, and
// gives up after a second.
func sendAbusive(client *http.Client, s *apitest.Server, c abusive) (int, []byte, error) {
	var body io.Reader = bytes.NewReader(c.body)
	ctx := context.Background()
	if c.slow {
		pr, pw := io.Pipe()
		go func() {
			pw.Write(c.body[:len(c.body)/2])
			time.Sleep(1500 * time.Millisecond)
			pw.CloseWithError(io.ErrUnexpectedEOF)
		}()
		body = pr
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Second)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, c.method, s.URL+c.path, body)
	if err != nil {
		return 0, nil, err
	}
	switch {
	case c.authz != "":
		req.Header.Set("Authorization", c.authz)
	case c.role != "":
		req.Header.Set("Authorization", "Bearer "+s.Tokens[c.role])
	}
	for k, v := range c.hdr {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
