// Command testwitness runs the transparency-dev witness
// (github.com/transparency-dev/witness) on loopback for the ledger's
// interop tests: a C2SP tlog-witness add-checkpoint endpoint that cosigns
// the checkpoints of one log, with its state in memory.
//
// Usage:
//
//	testwitness --name NAME --log-vkey VKEY [--key FILE] [--listen 127.0.0.1:0]
//
// --log-vkey is the log's note verifier key; its name is the origin the
// witness follows. --key is the witness's note signer key file: created
// with a new Ed25519 key if missing, so that a restarted witness keeps its
// identity (not its state: that is in memory). Without --key a new key is
// generated.
//
// Once listening it prints one JSON line on stdout:
//
//	{"url":"http://127.0.0.1:PORT","name":NAME,"vkey":COSIGNATURE_V1_VKEY}
//
// and serves:
//
//   - POST /add-checkpoint: the witness (C2SP tlog-witness);
//   - GET /latest: the last checkpoint it cosigned for the origin, 404 if none;
//   - GET /statuses: the HTTP status codes it answered to add-checkpoint so
//     far, as a JSON array.
//
// It exits when stdin reaches end of file (the test that started it went
// away) or on SIGINT/SIGTERM.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/witness/persistence/inmemory"
	twitness "github.com/transparency-dev/witness/witness"
	"golang.org/x/mod/sumdb/note"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "testwitness:", err)
		os.Exit(1)
	}
}

// Ready is the line printed once the witness listens.
type Ready struct {
	URL  string `json:"url"`
	Name string `json:"name"`
	VKey string `json:"vkey"` // cosignature/v1 verifier key
}

// run serves until ctx is done or stdin (if not nil) reaches end of file.
func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fl := flag.NewFlagSet("testwitness", flag.ContinueOnError)
	name := fl.String("name", "", "witness `name` (required)")
	logVKey := fl.String("log-vkey", "", "the log's note verifier `key` (required)")
	keyFile := fl.String("key", "", "witness note signer key `file` (created if missing; default: a new key)")
	listen := fl.String("listen", "127.0.0.1:0", "listen `address`")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *name == "" || *logVKey == "" || fl.NArg() > 0 {
		return fmt.Errorf("want --name NAME --log-vkey VKEY [--key FILE] [--listen ADDR], got %q", args)
	}
	skey, err := signerKey(*keyFile, *name)
	if err != nil {
		return err
	}
	signer, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		return fmt.Errorf("witness key: %w", err)
	}
	ed, err := vkeyOf(skey)
	if err != nil {
		return err
	}
	vkey, err := fnote.VKeyToCosignatureV1(ed)
	if err != nil {
		return err
	}
	logV, err := fnote.NewVerifier(*logVKey)
	if err != nil {
		return fmt.Errorf("--log-vkey %q: %w", *logVKey, err)
	}
	origin := logV.Name()
	w, err := twitness.New(ctx, twitness.Opts{
		Persistence: inmemory.New(),
		Signers:     []note.Signer{signer},
		VerifierForLog: func(_ context.Context, o string) (note.Verifier, bool, error) {
			if o != origin {
				return nil, false, nil
			}
			return logV, true, nil
		},
	})
	if err != nil {
		return err
	}

	var mu sync.Mutex
	statuses := []int{}
	h := twitness.NewHTTPHandler(w)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /add-checkpoint", func(rw http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: rw}
		h.AddCheckpoint(rec, r)
		mu.Lock()
		statuses = append(statuses, rec.status())
		mu.Unlock()
	})
	mux.HandleFunc("GET /latest", func(rw http.ResponseWriter, r *http.Request) {
		cp, err := w.GetCheckpoint(r.Context(), origin)
		switch {
		case err != nil:
			http.Error(rw, err.Error(), http.StatusInternalServerError)
		case cp == nil:
			http.Error(rw, "no checkpoint of "+origin+" cosigned yet", http.StatusNotFound)
		default:
			rw.Write(cp)
		}
	})
	mux.HandleFunc("GET /statuses", func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		b, _ := json.Marshal(statuses)
		mu.Unlock()
		rw.Header().Set("Content-Type", "application/json")
		rw.Write(b)
	})

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if err := json.NewEncoder(stdout).Encode(Ready{URL: "http://" + ln.Addr().String(), Name: *name, VKey: vkey}); err != nil {
		srv.Close()
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if stdin != nil {
		go func() {
			io.Copy(io.Discard, stdin)
			cancel()
		}()
	}
	select {
	case <-ctx.Done():
	case err := <-served:
		return err
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	return srv.Shutdown(sctx)
}

// signerKey reads the note signer key in file, or creates it (file "": a
// key that is not kept).
func signerKey(file, name string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err == nil {
			return strings.TrimSpace(string(b)), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	skey, _, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", err
	}
	if file != "" {
		if err := os.WriteFile(file, []byte(skey+"\n"), 0o600); err != nil {
			return "", err
		}
	}
	return skey, nil
}

// vkeyOf is the note verifier key of the Ed25519 note signer key skey
// ("PRIVATE+KEY+<name>+<hash>+<base64(0x01 || seed)>").
func vkeyOf(skey string) (string, error) {
	parts := strings.SplitN(skey, "+", 5) // the base64 key may hold "+"
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", fmt.Errorf("witness key: want PRIVATE+KEY+<name>+<hash>+<key>, got %d fields", len(parts))
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", fmt.Errorf("witness key: want an Ed25519 key (algorithm 1, %d-byte seed)", ed25519.SeedSize)
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(parts[2], pub)
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(c int) {
	if r.code == 0 {
		r.code = c
	}
	r.ResponseWriter.WriteHeader(c)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}
