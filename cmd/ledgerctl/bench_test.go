package main

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
)

func examplesFlag(t *testing.T) string {
	return filepath.Dir(apitest.ExamplePath(t, "constitution.json"))
}

// bench --http sends every example kind, single and batched, and prints one
// table with the peer and raw log beside them; with --pprof it saves the
// server's CPU profile.
func TestBenchHTTPTable(t *testing.T) {
	t.Setenv("LEDGER_TOKEN", "")
	s := apitest.New(t)
	dir := t.TempDir()
	peer := filepath.Join(dir, "peer.json")
	raw := filepath.Join(dir, "raw.json")
	os.WriteFile(peer, []byte(`{"peer":"tessera-posix v1.0.4","entries":1000,"in_flight":64,"published_per_sec":20000}`+"\n"), 0o644)
	os.WriteFile(raw, []byte(`{"mode":"embedded","entries":1000,"in_flight":64,"acked_per_sec":50000,"ratio":2.5}`+"\n"), 0o644)
	// The test process is the server: profile it as ledgerd --pprof would.
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	pp := httptest.NewServer(mux)
	defer pp.Close()
	prof := filepath.Join(dir, "cpu.pprof")

	code, out, progress := ctl(t, "", "--url", s.URL, "--token", s.Tokens[auth.Producer], "bench", "--http",
		"--examples", examplesFlag(t), "--single", "12", "--single-clients", "3", "--batched", "40", "--batch", "15",
		"--batch-clients", "2", "--warmup", "10", "--rounds", "3", "--compare", peer, "--raw", raw, "--pid", strconv.Itoa(os.Getpid()),
		"--operator-token", s.Tokens[auth.Operator],
		"--pprof", pp.URL, "--profile", prof, "--profile-time", "1s")
	if code != 0 {
		t.Fatalf("bench --http: exit %d", code)
	}
	// --pid: the warm-up says what it measured of the server (this process).
	if !strings.Contains(progress, "warm-up   1 of 6: 20 records") || !strings.Contains(progress, "server page faults a record") {
		t.Errorf("want the first warm-up round's page faults of the server, got:\n%s", progress)
	}
	// --rounds 3: each kind's phases in three parts, reported once each:
	// the batched parts a line each, the single slices a line a round.
	if n := strings.Count(progress, "(round 3 of 3)"); n != 3 {
		t.Errorf("want 3 batched parts in round 3 (3 kinds), got %d in:\n%s", n, progress)
	}
	for l := range strings.Lines(progress) {
		if rest, ok := strings.CutPrefix(l, "single    round 3 of 3:"); ok {
			for _, k := range []string{"refused", "answered", "private"} {
				if strings.Count(rest, " "+k+" 4 at ") != 1 {
					t.Errorf("single round 3: want one slice of 4 %s records, got %q", k, l)
				}
			}
		}
	}
	if n := strings.Count(progress, "single    round "); n != 3 {
		t.Errorf("want a line for each of the single phase's 3 rounds, got %d in:\n%s", n, progress)
	}
	rows := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) != 12 {
			t.Fatalf("want 12 cells per row, got %d: %q", len(cells), line)
		}
		rows[cells[0]+" / "+cells[1]] = cells
	}
	if r := rows["peer: tessera-posix v1.0.4 / in-process, 64 in flight"]; r == nil || r[3] != "20,000" || r[4] != "1.00×" {
		t.Errorf("peer row: %q", r)
	}
	if r := rows["raw log (1200-byte entries) / in-process, 64 in flight"]; r == nil || r[3] != "50,000" || r[4] != "2.50×" {
		t.Errorf("raw log row: %q", r)
	}
	for _, k := range []string{"refused", "answered", "private"} {
		for mode, sent := range map[string]string{"single, 3 clients": "12", "batches of 15, 2 clients": "40"} {
			r := rows[k+" / "+mode]
			if r == nil {
				t.Errorf("no row for %s, %s", k, mode)
				continue
			}
			// (The server's CPU time is counted in 10 ms ticks: a phase this
			// short may show none.)
			if r[2] != sent || r[7] != "0" || !strings.HasSuffix(r[4], "×") {
				t.Errorf("%s, %s: want %s sent, 0 errors and a ratio, got %q", k, mode, sent, r)
			}
			// --operator-token: records a commit and ms a commit, from the
			// server's metrics. A commit holds at most one batch's records
			// here (2 clients of 15) and at least one record.
			perCommit, commitMs, ok := strings.Cut(r[11], ", ")
			n, err1 := strconv.ParseFloat(perCommit, 64)
			d, err2 := strconv.ParseFloat(commitMs, 64)
			if !ok || err1 != nil || err2 != nil || n < 1 || n > 30 || d <= 0 {
				t.Errorf("%s, %s: commits cell %q, want records a commit in [1, 30] and a positive ms a commit", k, mode, r[11])
			}
		}
	}
	for _, mode := range []string{"single", "batch"} {
		if !strings.Contains(out, "\n"+mode+": private decisions at ") {
			t.Errorf("no private/public ratio for %s", mode)
		}
	}
	if len(rows) != 2+2+6 {
		t.Errorf("want the header and its rule, 2 references and 6 phases, got %d rows", len(rows))
	}
	for _, k := range []string{"refused", "answered", "private"} {
		p := filepath.Join(dir, "cpu-"+k+".pprof")
		b, err := os.ReadFile(p)
		if err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("CPU profile of %s: want a gzipped profile in %s, got %d bytes, %v", k, p, len(b), err)
		}
	}
}

func TestBenchHTTPUsage(t *testing.T) {
	t.Setenv("LEDGER_TOKEN", "")
	s := apitest.New(t)
	prod := []string{"--url", s.URL, "--token", s.Tokens[auth.Producer]}
	if code, _, errOut := ctl(t, "", append(prod, "bench", "--http", "-n", "10")...); code != 2 || !strings.Contains(errOut, "--entries is for the embedded") {
		t.Errorf("-n with --http: want usage error 2, got %d %q", code, errOut)
	}
	if code, _, errOut := ctl(t, "", append(prod, "bench", "--http", "--kinds", "refused,nope", "--examples", examplesFlag(t))...); code != 2 || !strings.Contains(errOut, `"nope"`) {
		t.Errorf("unknown kind: want usage error 2 naming it, got %d %q", code, errOut)
	}
	if code, _, errOut := ctl(t, "", append(prod, "bench", "--http", "--single-rounds", "-1", "--examples", examplesFlag(t))...); code != 2 || !strings.Contains(errOut, "--single-rounds >= 0") {
		t.Errorf("--single-rounds -1: want usage error 2 naming it, got %d %q", code, errOut)
	}
	missing := filepath.Join(t.TempDir(), "examples")
	if code, _, errOut := ctl(t, "", append(prod, "bench", "--http", "--examples", missing)...); code != 1 || !strings.Contains(errOut, missing) {
		t.Errorf("missing examples: want exit 1 naming %s, got %d %q", missing, code, errOut)
	}
	if code, _, _ := ctl(t, "", "--url", s.URL, "bench", "--http", "--examples", examplesFlag(t)); code != 2 {
		t.Errorf("no token: want usage error 2, got %d", code)
	}
	// A --pid whose page faults cannot be read: the warm-up is sent once,
	// and says why.
	if code, _, errOut := ctl(t, "", append(prod, "bench", "--http", "--examples", examplesFlag(t), "--single", "3", "--batched", "0",
		"--warmup", "2", "--pid", "2147483647")...); code != 0 || !strings.Contains(errOut, "warm-up: the server's page faults cannot be read") || strings.Contains(errOut, "warm-up   1 of") {
		t.Errorf("an unreadable --pid: want exit 0 and the warm-up sent once, saying why, got %d %q", code, errOut)
	}
	// An operator token the server does not take: the run stops before
	// its first phase, naming the metrics it could not read.
	if code, _, errOut := ctl(t, "", append(prod, "bench", "--http", "--examples", examplesFlag(t), "--single", "3", "--batched", "0",
		"--warmup", "0", "--operator-token", "not-a-token")...); code != 1 || !strings.Contains(errOut, "GET /metrics with the operator token: want 200, got 401") {
		t.Errorf("a wrong --operator-token: want exit 1 naming GET /metrics and its 401, got %d %q", code, errOut)
	}
}

// bench publish refuses, as usage errors, a run it cannot make: no
// producer token, no second server or bucket, no decisions.
func TestBenchPublishUsage(t *testing.T) {
	t.Setenv("LEDGER_TOKEN", "")
	full := []string{"bench", "publish", "--off-url", "http://127.0.0.1:1", "--off-token", "t", "--operator-token", "o",
		"--bucket-url", "http://127.0.0.1:1/b", "--bucket-dir", t.TempDir()}
	for _, c := range []struct {
		args []string
		want string
	}{
		{append([]string{"--url", "http://127.0.0.1:1"}, full...), "--token"},
		{[]string{"--url", "http://127.0.0.1:1", "--token", "p", "bench", "publish", "--off-url", "http://127.0.0.1:1"}, "--off-token"},
		{append(append([]string{"--url", "http://127.0.0.1:1", "--token", "p"}, full...), "-n", "0"), "-n"},
	} {
		if code, _, errOut := ctl(t, "", c.args...); code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%q: want usage error 2 naming %s, got %d %q", c.args, c.want, code, errOut)
		}
	}
}

// bench grow appends n records and writes one CSV row per sample (with
// --settle, the proofs fetched again once the server settled), an SVG
// chart that is XML, and with --profile the CPU profiles of the stretch
// nearest a tenth of n and of the last one.
func TestBenchGrow(t *testing.T) {
	t.Setenv("LEDGER_TOKEN", "")
	s := apitest.New(t)
	dir := t.TempDir()
	csvFile, svgFile, mdFile := filepath.Join(dir, "scale.csv"), filepath.Join(dir, "scale.svg"), filepath.Join(dir, "scale.md")
	// The test process is the server: its heap is read as ledgerd --pprof
	// would serve it.
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	pp := httptest.NewServer(mux)
	defer pp.Close()
	code, out, errOut := ctl(t, "", "--url", s.URL, "--token", s.Tokens[auth.Producer], "bench", "grow",
		"--examples", examplesFlag(t), "--pid", strconv.Itoa(os.Getpid()), "--data", s.Dir, "--pprof", pp.URL,
		"-n", "3000", "--every", "1000", "--proofs", "20", "--settle", "1s", "--csv", csvFile, "--svg", svgFile,
		"--md", mdFile, "--command", "make scale-grow SCALE_GROW_N=3000", "--profile", filepath.Join(dir, "cpu"))
	if code != 0 {
		t.Fatalf("bench grow: exit %d", code)
	}
	md, err := os.ReadFile(mdFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"Made by `make scale-grow SCALE_GROW_N=3000`", "](scale.svg)", "](scale.csv)", "| RSS (VmRSS), MiB |", "| 3,001 |", "| proof p50 once settled, ms |", "| live Go heap after a forced collection, MiB |", "| server CPU over the stretch, µs a record |", "| bytes the server wrote over the stretch, a record |"} {
		if !strings.Contains(string(md), w) {
			t.Errorf("%s lacks %q:\n%s", mdFile, w, md)
		}
	}
	if !strings.Contains(out, "3 samples") || !strings.Contains(errOut, "bytes/entry") {
		t.Errorf("want a summary and a progress table, got %q and %q", out, errOut)
	}
	// A tenth of 3,000 is nearest the first sample: its stretch and the
	// last are profiled, not the one between.
	for _, n := range []int{1000, 2000, 3000} {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("cpu-%d.pprof", n)))
		switch {
		case n == 2000 && !errors.Is(err, fs.ErrNotExist):
			t.Errorf("cpu-2000.pprof: want none (%v)", err)
		case n != 2000 && (err != nil || !bytes.HasPrefix(b, []byte{0x1f, 0x8b})):
			t.Errorf("cpu-%d.pprof: want a gzipped profile, got %d bytes, %v", n, len(b), err)
		}
	}
	f, err := os.Open(csvFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || strings.Join(recs[0], ",") != "entries,appended,elapsed_s,rss_bytes,appends_per_sec,proof_p50_ms,proof_p99_ms,disk_bytes,bytes_per_entry,anon_rss_bytes,settled_proof_p50_ms,settled_proof_p99_ms,settle_s,live_heap_bytes,server_cpu_us_per_record,server_written_bytes_per_record" {
		t.Fatalf("want the header and 3 rows, got %q", recs)
	}
	for i, r := range recs[1:] {
		appended := 1000 * (i + 1)
		if r[0] != strconv.Itoa(appended+1) || r[1] != strconv.Itoa(appended) {
			t.Errorf("row %d: want %d entries (with the constitution), %d appended, got %q", i, appended+1, appended, r)
		}
		for j, v := range r {
			x, err := strconv.ParseFloat(v, 64)
			// Writes to a tmpfs count nothing (the test's data may be on one).
			if recs[0][j] == "server_written_bytes_per_record" && err == nil && x == 0 && onTmpfs(t, s.Dir) {
				continue
			}
			if err != nil || x <= 0 {
				t.Errorf("row %d, %s = %q: want a number > 0", i, recs[0][j], v)
			}
		}
	}
	b, err := os.ReadFile(svgFile)
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	root := ""
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s is not XML: %v", svgFile, err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Errorf("SVG root element %q", root)
	}

	if code, _, errOut := ctl(t, "", "--url", s.URL, "--token", s.Tokens[auth.Producer], "bench", "grow", "--data", s.Dir, "--csv", csvFile, "--svg", svgFile); code != 2 || !strings.Contains(errOut, "--pid") {
		t.Errorf("no --pid: want usage error naming it, got %d %q", code, errOut)
	}
}
