package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fjaledger/fja/ledger/signer"
	"github.com/fjaledger/fja/verify"
)

// startDaemon runs ledgerd in-process and returns what it printed up to the
// line starting with until, and a stop function that waits for a clean
// shutdown.
func startDaemon(t *testing.T, until string, args ...string) (banner string, stop func() error) {
	t.Helper()
	return startDaemonTo(t, io.Discard, until, args...)
}

// startDaemonTo is startDaemon with ledgerd's log written to stderr.
func startDaemonTo(t *testing.T, stderr io.Writer, until string, args ...string) (banner string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		err := run(ctx, args, pw, stderr)
		pw.CloseWithError(errors.Join(err, io.EOF))
		errc <- err
	}()
	var b strings.Builder
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(strings.TrimSpace(sc.Text()), until) {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if !strings.Contains(b.String(), "serving") {
		cancel()
		t.Fatalf("ledgerd did not start: %q %v", b.String(), <-errc)
	}
	return b.String(), func() error { cancel(); return <-errc }
}

func field(t *testing.T, banner, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*` + name + `:\s+(\S+)`).FindStringSubmatch(banner)
	if m == nil {
		t.Fatalf("no %s in %q", name, banner)
	}
	return m[1]
}

func TestDevelopmentMode(t *testing.T) {
	dir := t.TempDir()
	var logs lockedBuffer
	banner, stop := startDaemonTo(t, &logs, "export ", "--data", dir, "--listen", "127.0.0.1:0")
	url := regexp.MustCompile(`http://\S+`).FindString(banner)
	vkey := field(t, banner, "vkey")
	if !strings.Contains(banner, "development producer token:") {
		t.Fatalf("no development token printed:\n%s", banner)
	}
	// One export line: the URL, a token per role that authenticates with
	// that role, and the vkey.
	m := regexp.MustCompile(`(?m)^export LEDGER_URL=(\S+) LEDGER_TOKEN=(\S+) REVIEWER_TOKEN=(\S+) REGULATOR_TOKEN=(\S+) OPERATOR_TOKEN=(\S+) STAKEHOLDER_TOKEN=(\S+) VKEY=(\S+)$`).FindStringSubmatch(banner)
	if m == nil || m[1] != url || m[7] != vkey {
		t.Fatalf("no export line of the URL %s, the tokens and the vkey %s:\n%s", url, vkey, banner)
	}
	for i, want := range map[int]int{2: http.StatusForbidden, 3: http.StatusForbidden, 4: http.StatusOK, 5: http.StatusForbidden, 6: http.StatusForbidden} {
		req, _ := http.NewRequest("GET", url+"/v1/stats", nil)
		req.Header.Set("Authorization", "Bearer "+m[i])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET /v1/stats with exported token %d: %d, want %d (only the regulator's answers)", i-1, resp.StatusCode, want)
		}
	}
	for _, role := range []string{"dev-producer (producer)", "dev-reviewer (reviewer)", "dev-regulator (regulator)", "dev-operator (operator)", "dev-stakeholder (stakeholder)"} {
		if !strings.Contains(logs.String(), role) {
			t.Errorf("the log does not name the token %s it loaded:\n%s", role, logs.String())
		}
	}
	// GET /metrics (operator) has the store's LSM tree by level.
	req, _ := http.NewRequest("GET", url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+m[5])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"\nfja_badger_tables{level=\"0\"} ", "\nfja_badger_level_bytes{level=\"1\"} ", "\nfja_badger_level_target_bytes{level=\"6\"} ", "\nfja_badger_level0_stall_tables "} {
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(metrics), want) {
			t.Errorf("GET /metrics with the operator token: %d, want 200 and a line starting %q", resp.StatusCode, want[1:])
		}
	}
	resp, err = http.Get(url + "/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	cp, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if _, err := verify.OpenCheckpoint(cp, devOrigin, vkey); err != nil {
		t.Fatalf("the printed vkey does not open the served checkpoint: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	fi, err := os.Stat(filepath.Join(dir, "dev-signer.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("dev key file: %v, mode %v", err, fi.Mode())
	}
	// A restart keeps the key and the token.
	banner2, stop2 := startDaemon(t, "development producer token", "--data", dir, "--listen", "127.0.0.1:0")
	defer stop2()
	if field(t, banner2, "vkey") != vkey {
		t.Fatal("the development key changed across restarts")
	}
}

func TestKeyAndOriginFlags(t *testing.T) {
	dir := t.TempDir()
	skey, vkey, err := signer.GenerateKey(rand.Reader, "ledger.example.org/test")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "log.key")
	if err := signer.WriteKeyFile(keyFile, skey); err != nil {
		t.Fatal(err)
	}
	banner, stop := startDaemon(t, "data:", "--data", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0", "--key", keyFile)
	if field(t, banner, "vkey") != vkey || field(t, banner, "origin") != "ledger.example.org/test" {
		t.Fatalf("banner %q", banner)
	}
	stop()
	err = run(context.Background(), []string{"--data", filepath.Join(dir, "data"), "--key", keyFile, "--origin", "other.example.org/x"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "is for origin") {
		t.Fatalf("origin mismatch: %v", err)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"--nope"}, {"extra"}, {"--log-level", "loud"}} {
		err := run(context.Background(), args, io.Discard, io.Discard)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("run(%q) = %v, want a usage error", args, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := run(ctx, []string{"--data", t.TempDir(), "--listen", "127.0.0.1:0", "--tokens", "/nonexistent/tokens.json"}, io.Discard, io.Discard); err == nil {
		t.Error("a missing tokens file was accepted")
	}
}

// lockedBuffer is a bytes.Buffer safe for the daemon's logger and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestProductionModeHasNoDevToken: with --key and no --tokens, ledgerd
// creates and prints no development token, warns, and no token writes.
func TestProductionModeHasNoDevToken(t *testing.T) {
	dir := t.TempDir()
	skey, _, err := signer.GenerateKey(rand.Reader, "ledger.example.org/prod")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "log.key")
	if err := signer.WriteKeyFile(keyFile, skey); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	var logs lockedBuffer
	banner, stop := startDaemonTo(t, &logs, "tokens:", "--data", data, "--listen", "127.0.0.1:0", "--key", keyFile)
	defer stop()
	if strings.Contains(banner, "development") || !strings.Contains(banner, "tokens:   none") {
		t.Fatalf("production banner:\n%s", banner)
	}
	for _, name := range []string{"dev-tokens.json", "dev-token"} {
		if _, err := os.Stat(filepath.Join(data, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s in the data directory of a production server: %v", name, err)
		}
	}
	if !strings.Contains(logs.String(), "no --tokens") {
		t.Errorf("no warning about the missing tokens in the log:\n%s", logs.String())
	}
	url := regexp.MustCompile(`http://\S+`).FindString(banner)
	req, _ := http.NewRequest("POST", url+"/v1/decisions", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer anything")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a write to a server without tokens: %d, want 401", resp.StatusCode)
	}
}

// TestMemoryFlags: the defaults bound the server's memory (the Go heap's
// limit and Badger's resident mapped pages), and 0 lifts each bound.
func TestMemoryFlags(t *testing.T) {
	o, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.memoryLimitMB != 1024 || o.mappedMB != 256 {
		t.Fatalf("defaults --memory-limit-mb %d, --badger-mapped-mb %d; want 1024 and 256", o.memoryLimitMB, o.mappedMB)
	}
	o, err = parseFlags([]string{"--badger-mapped-mb", "0", "--memory-limit-mb", "0"}, io.Discard)
	if err != nil || o.mappedMB != 0 || o.memoryLimitMB != 0 {
		t.Fatalf("0 for both: %+v, %v", o, err)
	}
}

func TestLimitFlags(t *testing.T) {
	o, err := parseFlags([]string{"--trusted-proxies", "10.0.0.0/8, 192.0.2.1,fd00::1/8", "--rate-read", "5", "--tile-cache-mb", "0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("fd00::/8")}
	if !slices.Equal(o.trustedProxies, want) || o.rateRead != 5 || o.tileCacheMB != 0 {
		t.Fatalf("parsed %v %v %v", o.trustedProxies, o.rateRead, o.tileCacheMB)
	}
	for _, args := range [][]string{
		{"--trusted-proxies", "proxy.example.org"},
		{"--trusted-proxies", "10.0.0.0/33"},
		{"--rate-read", "0"},
		{"--rate-auth-fail", "-1"},
		{"--max-expensive", "0"},
		{"--tile-cache-mb", "-5"},
		{"--badger-mapped-mb", "-1"},
		{"--memory-limit-mb", "-1"},
	} {
		_, err := parseFlags(args, io.Discard)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("parseFlags(%q) = %v, want a usage error", args, err)
		}
	}
}

// TestLimitFlagsReachTheServer: --rate-read and --trusted-proxies are
// wired to the server: from an untrusted peer, a forged X-Forwarded-For
// does not escape the read limit.
func TestLimitFlagsReachTheServer(t *testing.T) {
	banner, stop := startDaemon(t, "development producer token", "--data", t.TempDir(), "--listen", "127.0.0.1:0",
		"--rate-read", "0.000001", "--trusted-proxies", "10.0.0.0/8")
	defer stop()
	url := regexp.MustCompile(`http://\S+`).FindString(banner)
	var codes []int
	for i := range 2 {
		req, _ := http.NewRequest("GET", url+"/checkpoint", nil)
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if !slices.Equal(codes, []int{200, 429}) {
		t.Fatalf("two reads with a read burst of 1: %v, want [200 429]", codes)
	}
}
