package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fjaledger/fja/api/loadgen"
	"github.com/fjaledger/fja/ledger/publish/s3test"
	"github.com/fjaledger/fja/verify"
)

// TestMain lets the test binary run as ledgerd itself (for the tests that
// kill it with SIGKILL), and removes the S3 gateway s3test builds.
func TestMain(m *testing.M) {
	if os.Getenv("FJA_TEST_LEDGERD") == "1" {
		main()
		return
	}
	os.Exit(s3test.Main(m))
}

// child is ledgerd running as a subprocess.
type child struct {
	cmd                *exec.Cmd
	url, vkey          string
	producer, operator string
	exited             chan struct{}
	stderr             *lockedBuffer
}

// startChild starts ledgerd (this test binary) with args and env, and
// reads its banner.
func startChild(t *testing.T, env map[string]string, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "FJA_TEST_LEDGERD=1")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, exited: make(chan struct{}), stderr: &lockedBuffer{}}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() { c.kill() })
	var b strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "export ") {
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	m := regexp.MustCompile(`(?m)^export LEDGER_URL=(\S+) LEDGER_TOKEN=(\S+) .*OPERATOR_TOKEN=(\S+) .*VKEY=(\S+)$`).FindStringSubmatch(b.String())
	if m == nil {
		t.Fatalf("ledgerd did not start:\n%s\n%s", b.String(), c.stderr.String())
	}
	c.url, c.producer, c.operator, c.vkey = m[1], m[2], m[3], m[4]
	return c
}

// kill kills ledgerd with SIGKILL and waits until it is gone.
func (c *child) kill() {
	c.cmd.Process.Kill()
	<-c.exited
}

// get GETs path from ledgerd with token (if any), wanting 200.
func (c *child) get(t *testing.T, path, token string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", c.url+"/"+strings.TrimPrefix(path, "/"), nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %v %q", path, resp.Status, err, b)
	}
	return b
}

// TestPublishKilled: ledgerd --publish to a real S3 gateway, killed with
// SIGKILL while decisions pour in and it uploads; restarted, it completes
// the bucket, which then passes an independent audit over plain HTTP and
// holds byte for byte what ledgerd serves.
func TestPublishKilled(t *testing.T) {
	srv := s3test.Start(t)
	srv.PublicBucket("fja")
	bucketURL := srv.URL + "/fja/logs/dev"
	dir := t.TempDir()
	args := []string{"--data", dir, "--listen", "127.0.0.1:0", "--publish", "s3://fja/logs/dev", "--publish-path-style"}
	ld := startChild(t, srv.Env(), args...)

	ex, err := loadgen.Load(loadgen.ExamplesDir(""))
	if err != nil {
		t.Fatal(err)
	}
	s := loadgen.NewSender(ld.url, ld.producer, 4)
	ctx := context.Background()
	if err := s.PublishConstitution(ctx, ex); err != nil {
		t.Fatal(err)
	}
	loaded := make(chan *loadgen.Result, 1)
	go func() {
		r, err := s.Run(ctx, loadgen.Phase{Kinds: ex.Kinds, N: 20000, Clients: 4, Batch: 10, NoLatency: true, MaxErrors: 1})
		if err != nil {
			t.Error(err)
		}
		loaded <- r
	}()
	// Kill once the publisher has written a checkpoint and more decisions
	// keep coming: it is then uploading the tiles of the next one.
	for {
		resp, err := http.Get(bucketURL + "/checkpoint")
		if err != nil {
			t.Fatal(err)
		}
		cp, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			c, err := verify.OpenCheckpoint(cp, devOrigin, ld.vkey)
			if err != nil {
				t.Fatal(err)
			}
			if c.Size > 300 {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	ld.kill()
	r := <-loaded
	// Killed at any moment, the bucket is a consistent log: its checkpoint
	// was written only after every tile and bundle it covers.
	killedAt := s3test.Audit(t, bucketURL, devOrigin, ld.vkey, nil)
	if r.Records == 0 || r.Errors == 0 {
		t.Fatalf("the load ended before the kill (%d records, %d errors)", r.Records, r.Errors)
	}

	ld = startChild(t, srv.Env(), args...)
	var size uint64
	for {
		var info struct {
			TreeSize uint64 `json:"tree_size"`
		}
		if err := json.Unmarshal(ld.get(t, "/v1/log", ""), &info); err != nil {
			t.Fatal(err)
		}
		size = info.TreeSize
		m := ld.get(t, "/metrics", ld.operator)
		if bytes.Contains(m, []byte("\nfja_publish_lag_entries 0\n")) && bytes.Contains(m, fmt.Appendf(nil, "\nfja_published_size %d\n", size)) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if size < uint64(r.Records) {
		t.Fatalf("the log has %d entries, %d decisions were acknowledged", size, r.Records)
	}
	got := s3test.Audit(t, bucketURL, devOrigin, ld.vkey, func(path string) ([]byte, error) {
		return ld.get(t, path, ""), nil
	})
	if got != size {
		t.Fatalf("the bucket holds %d entries, the log %d", got, size)
	}
	t.Logf("killed after %d acknowledged decisions, the bucket then at %d; after the restart it holds all %d entries", r.Records, killedAt, size)
	if err := ld.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-ld.exited
	if !strings.Contains(ld.stderr.String(), `msg="publish: resuming"`) {
		t.Errorf("the restarted ledgerd did not resume from the bucket's checkpoint:\n%s", ld.stderr.String())
	}
}

// TestPublishFlag: a --publish that is not an s3:// URL is a usage error
// naming the flag and the form expected.
func TestPublishFlag(t *testing.T) {
	for _, bad := range []string{"http://bucket/prefix", "s3:///prefix", "s3://bucket/p?x=1"} {
		_, err := parseFlags([]string{"--publish", bad}, io.Discard)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--publish") || !strings.Contains(err.Error(), "s3://BUCKET/PREFIX") {
			t.Errorf("--publish %s: %v, want a usage error naming --publish and s3://BUCKET/PREFIX", bad, err)
		}
	}
	o, err := parseFlags([]string{"--publish", "s3://bucket/a/b/", "--publish-path-style"}, io.Discard)
	if err != nil || o.publish != "s3://bucket/a/b/" || !o.publishPathStyle {
		t.Fatalf("%+v %v", o, err)
	}
}
