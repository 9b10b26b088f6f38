// Package apitest starts a real ledger server for tests: Badger on disk, real
// HTTP on loopback, real signatures, a token for every role.
//
// It is imported by tests only (package api and the commands); nothing in it
// is faked. A typical test:
//
//	s := apitest.New(t)
//	code, b := s.Do("POST", "/v1/decisions", auth.Producer, apitest.Example(t, "decision-refused.json"))
package apitest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/api"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/audit/vault"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
	"github.com/fjaledger/fja/ledger/shard"
	"github.com/fjaledger/fja/ledger/signer"
)

// DefaultOrigin is the checkpoint origin of a server started without
// WithOrigin.
const DefaultOrigin = "api.test.example.org/log"

// roles are the roles New makes a token for.
var roles = []auth.Role{auth.Producer, auth.Reviewer, auth.Regulator, auth.Operator, auth.Stakeholder}

// Server is a ledger server on loopback. Its data lives in a temporary
// directory of the test and everything is closed when the test ends.
type Server struct {
	// T is the test that Do reports failures to. A subtest may point it at
	// itself while it runs (and must point it back).
	T testing.TB

	URL    string // base URL, no trailing slash
	VKey   string // note verifier key of the log's checkpoints
	Origin string // checkpoint origin
	Dir    string // data directory: badger/ and (unless ReadOnly) vault/

	Log    *ledger.Log
	Index  ledger.IndexStore // the log's index keys (its Badger store)
	Signer *signer.Signer
	Vault  *vault.Vault // nil when ReadOnly
	Book   *audit.Book  // nil when ReadOnly
	// Tokens holds a bearer token for each of the producer, reviewer,
	// regulator, operator and stakeholder roles (nil when ReadOnly).
	Tokens map[auth.Role]string

	close func()
}

type options struct {
	origin   string
	readOnly bool
	dir      string
	book     []func(*audit.Config)
	ops      []string // the producer token's operators
	api      []func(*api.Config)
	ledger   []func(*ledger.Config)
}

// An Option changes how New builds the server.
type Option func(*options)

// WithProducerOperators binds the producer token to the system.operator
// values it may log for (the tokens file's "operators").
func WithProducerOperators(ops ...string) Option { return func(o *options) { o.ops = ops } }

// WithOrigin sets the log's checkpoint origin (default DefaultOrigin).
func WithOrigin(origin string) Option { return func(o *options) { o.origin = origin } }

// WithBook changes the record book's configuration (clock, contest and
// response windows) before audit.Open.
func WithBook(f func(*audit.Config)) Option {
	return func(o *options) { o.book = append(o.book, f) }
}

// WithAPI changes the server's configuration before api.New; f sees the
// complete configuration.
func WithAPI(f func(*api.Config)) Option {
	return func(o *options) { o.api = append(o.api, f) }
}

// ReadOnly serves the read surface only: no vault, no record book, no
// tokens (api.Config.Book and Tokens are nil).
func ReadOnly() Option { return func(o *options) { o.readOnly = true } }

// WithDir keeps the server's data in dir instead of a fresh temporary
// directory, with its signing key and digest secret, so that a later New
// with the same dir serves the same log (for scale benchmarks that reuse a
// large generated log).
func WithDir(dir string) Option { return func(o *options) { o.dir = dir } }

// WithLedger adjusts the log's configuration (say, its clock).
func WithLedger(f func(*ledger.Config)) Option {
	return func(o *options) { o.ledger = append(o.ledger, f) }
}

// New starts a server for the test t (nil options are ignored). It fails t
// if anything does not start.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	o := options{origin: DefaultOrigin}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	dir := o.dir
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "log.key")
	if _, err := os.Stat(keyFile); err != nil {
		skey, _, err := signer.GenerateKey(rand.Reader, o.origin)
		if err != nil {
			t.Fatal(err)
		}
		if err := signer.WriteKeyFile(keyFile, skey); err != nil {
			t.Fatal(err)
		}
	}
	sg, err := signer.Load(context.Background(), o.origin, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	vkey := sg.VerifierKey()
	st, err := badgerstore.Open(badgerstore.Config{Dir: filepath.Join(dir, shard.StoreDir)})
	if err != nil {
		t.Fatal(err)
	}
	var v *vault.Vault
	if !o.readOnly {
		if v, err = vault.Open(filepath.Join(dir, shard.VaultDir)); err != nil {
			st.Close()
			t.Fatal(err)
		}
	}
	lcfg := ledger.Config{Origin: o.origin, Signers: []note.Signer{sg}, Storage: st}
	if v != nil {
		lcfg.Presync = v.Sync // a batch's vault keys are durable before its commit
	}
	for _, f := range o.ledger {
		f(&lcfg)
	}
	l, err := ledger.Open(lcfg)
	closeVault := func() {
		if v != nil {
			v.Close()
		}
	}
	if err != nil {
		st.Close()
		closeVault()
		t.Fatal(err)
	}
	s := &Server{T: t, VKey: vkey, Origin: o.origin, Dir: dir, Log: l, Index: st, Signer: sg, Vault: v}
	s.close = func() { l.Close(); closeVault() }
	t.Cleanup(s.Close)

	cfg := api.Config{Log: l, Origin: o.origin, VerifierKeys: []string{vkey}}
	if !o.readOnly {
		secret, err := os.ReadFile(filepath.Join(dir, shard.SecretFile))
		if err != nil {
			secret = make([]byte, 32)
			rand.Read(secret)
			if err := os.WriteFile(filepath.Join(dir, shard.SecretFile), secret, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		bcfg := audit.Config{Log: l, Index: st, Vault: s.Vault, Secret: secret}
		for _, f := range o.book {
			f(&bcfg)
		}
		if s.Book, err = audit.Open(bcfg); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Book.Close() }) // runs before the log's cleanup
		s.Tokens = map[auth.Role]string{}
		var entries []auth.Entry
		for _, r := range roles {
			tok, e, err := auth.NewToken("test-"+string(r), r)
			if err != nil {
				t.Fatal(err)
			}
			s.Tokens[r] = tok
			if r == auth.Producer {
				e.Operators = o.ops
			}
			entries = append(entries, e)
		}
		tf, _ := json.Marshal(entries)
		if cfg.Tokens, err = auth.Parse(tf); err != nil {
			t.Fatal(err)
		}
		cfg.Book = s.Book
	}
	for _, f := range o.api {
		f(&cfg)
	}
	srv, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The server as ledgerd runs it (its timeouts and header limit), on
	// loopback.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s.URL = "http://" + ln.Addr().String()
	s.close = sync.OnceFunc(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close() // a client holding a connection open: cut it
		}
		cancel()
		if err := <-served; err != nil {
			t.Errorf("apitest: serving: %v", err)
		}
		if err := l.Close(); err != nil {
			t.Errorf("apitest: closing the log: %v", err)
		}
		if v != nil {
			if err := v.Close(); err != nil {
				t.Errorf("apitest: closing the vault: %v", err)
			}
		}
	})
	return s
}

// MustPost posts body with role's token and fails the test unless the
// answer is 201 Created; it returns the answer.
func (s *Server) MustPost(path string, role auth.Role, body []byte) []byte {
	s.T.Helper()
	code, b := s.Do("POST", path, role, body)
	if code != http.StatusCreated {
		s.T.Fatalf("POST %s: %d %s", path, code, b)
	}
	return b
}

// Close stops the HTTP server and closes the log, flushing it to disk (a
// test may close early to look at the files in Dir). It may be called more
// than once; New also registers it with t.Cleanup.
func (s *Server) Close() { s.close() }

// Do sends a request to the server with the bearer token of role (none if
// role is "") and the extra headers hdr (name, value pairs), and returns the
// status and body. It fails s.T if the request cannot be sent.
func (s *Server) Do(method, path string, role auth.Role, body []byte, hdr ...string) (int, []byte) {
	s.T.Helper()
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
	if err != nil {
		s.T.Fatal(err)
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+s.Tokens[role])
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// ExamplePath is the path of the shared example request name: in
// ../shared/examples beside the module root (the nearest directory above
// the working directory that holds go.mod). It fails t if the file is not
// there.
func ExamplePath(t testing.TB, name string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		up := filepath.Dir(root)
		if up == root {
			t.Fatalf("apitest: no go.mod in %s or above: cannot find the shared examples", wd)
		}
		root = up
	}
	p := filepath.Join(root, "..", "shared", "examples", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("apitest: example %q: %v (the examples live in ../shared/examples beside the module root %s)", name, err, root)
	}
	return p
}

// Example returns the content of the shared example request name (see
// ExamplePath).
func Example(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(ExamplePath(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
