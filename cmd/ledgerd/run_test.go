package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
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
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		err := run(ctx, args, pw, io.Discard)
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
	banner, stop := startDaemon(t, "development producer token", "--data", dir, "--listen", "127.0.0.1:0")
	url := regexp.MustCompile(`http://\S+`).FindString(banner)
	vkey := field(t, banner, "vkey")
	if !strings.Contains(banner, "development producer token:") {
		t.Fatalf("no development token printed:\n%s", banner)
	}
	resp, err := http.Get(url + "/checkpoint")
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
