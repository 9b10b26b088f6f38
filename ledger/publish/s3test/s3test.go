// Package s3test runs a real S3-compatible server for tests: the Versity S3
// gateway (github.com/versity/versitygw, pinned by the tool directive in
// go.mod) on its POSIX backend, listening on loopback, storing objects in
// a temporary directory. Nothing in it is faked.
//
// It is imported by tests, and by command publicbucket (CreatePublicBucket
// for scripts such as make bench-publish). The gateway is built once per test binary
// (go build, from the module cache or the module proxy); Main removes it.
package s3test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The gateway's root credentials.
const (
	AccessKey = "fja-test-access"
	SecretKey = "fja-test-secret-key-0123456789"
	Region    = "us-east-1"
)

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// Main runs the tests of a package that uses Start, then removes the
// gateway binary: call it from TestMain as os.Exit(s3test.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	return code
}

// binary builds the gateway once per process.
func binary() (string, error) {
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "fja-versitygw-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "versitygw")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/versity/versitygw/cmd/versitygw")
		cmd.Env = append(os.Environ(), "GOWORK=off") // the version go.mod pins
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Errorf("go build github.com/versity/versitygw/cmd/versitygw: %v\n%s", err, out.String())
			return
		}
		fmt.Fprintf(os.Stderr, "s3test: built versitygw in %v\n", time.Since(start).Round(time.Millisecond))
	})
	return binPath, buildErr
}

// Server is a running (or stopped) gateway.
type Server struct {
	// URL is its endpoint, http://127.0.0.1:PORT; the object KEY of
	// bucket B is at URL/B/KEY (path style).
	URL  string
	t    testing.TB
	addr string
	root string // the POSIX backend's directory: one subdirectory per bucket
	bin  string
	cmd  *exec.Cmd
	exit chan struct{}
}

// Start starts a gateway on a free loopback port, with an empty store; it
// is stopped when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &Server{URL: "http://" + addr, t: t, addr: addr, root: t.TempDir(), bin: bin}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// Restart starts the gateway again (after Stop) on the same address and
// store, and waits until it answers.
func (s *Server) Restart() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatal("s3test: Restart of a running gateway")
	}
	cmd := exec.Command(s.bin, "--port", s.addr, "--access", AccessKey, "--secret", SecretKey, "--region", Region, "--quiet", "posix", s.root)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.cmd, s.exit = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(s.exit) }()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case <-s.exit:
			s.cmd = nil
			s.t.Fatalf("versitygw exited at start: %s", out.String())
		default:
		}
		resp, err := http.Get(s.URL + "/")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			s.Stop()
			s.t.Fatalf("versitygw did not answer on %s in 30 s: %v\n%s", s.addr, err, out.String())
		}
	}
}

// Stop kills the gateway (SIGKILL: an outage, not a shutdown) and waits
// until it is gone. It is a no-op on a stopped gateway.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.exit
	s.cmd = nil
}

// BucketDir is the directory of bucket on the POSIX backend: the object
// KEY is the file BucketDir/KEY.
func (s *Server) BucketDir(bucket string) string { return filepath.Join(s.root, bucket) }

// Env is the standard AWS environment that points an SDK at the gateway.
func (s *Server) Env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL": s.URL, "AWS_REGION": Region,
		"AWS_ACCESS_KEY_ID": AccessKey, "AWS_SECRET_ACCESS_KEY": SecretKey,
		// No shared configuration of the machine running the tests.
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_PROFILE": "",
	}
}

// SetEnv sets Env for the rest of the test (t.Setenv).
func (s *Server) SetEnv(t *testing.T) {
	for k, v := range s.Env() {
		t.Setenv(k, v)
	}
}

// Client is an S3 client of the gateway with its root credentials.
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		BaseEndpoint: aws.String(s.URL), Region: Region, UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	})
}

// PublicBucket creates bucket name and lets anyone read its objects with
// a plain HTTP GET (CreatePublicBucket), as a bucket behind a CDN would.
func (s *Server) PublicBucket(name string) {
	s.t.Helper()
	if err := CreatePublicBucket(context.Background(), s.Client(), name); err != nil {
		s.t.Fatal(err)
	}
}

// CreatePublicBucket creates bucket name with c and gives it a bucket
// policy granting s3:GetObject to "*": anyone then reads its objects with
// a plain anonymous HTTP GET. It is what PublicBucket does, for a server
// not started by a test (command publicbucket, make bench-publish).
func CreatePublicBucket(ctx context.Context, c *s3.Client, name string) error {
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		return fmt.Errorf("create bucket %s: %w", name, err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::` + name + `/*"]}]}`
	if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(name), Policy: aws.String(policy)}); err != nil {
		return fmt.Errorf("bucket policy of %s: %w", name, err)
	}
	return nil
}

// Objects lists the keys under prefix in bucket.
func (s *Server) Objects(bucket, prefix string) []string {
	s.t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(s.Client(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			s.t.Fatalf("list %s/%s: %v", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
