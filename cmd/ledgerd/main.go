// Command ledgerd runs the FJA Ledger server (DESIGN.md §7).
//
// With no flags it runs in development mode: an embedded Badger store in
// ./data, a development signing key and producer token created there on
// first start, listening on 127.0.0.1:8080. It prints the verifier key, the
// token and the URL.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ledgerd:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ error }

// keyList is a repeatable --key flag.
type keyList []string

func (k *keyList) String() string     { return strings.Join(*k, ",") }
func (k *keyList) Set(v string) error { *k = append(*k, v); return nil }

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("ledgerd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.data, "data", "./data", "Badger data `directory` (created if missing)")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "`address` to serve HTTP on")
	fs.Var(&o.keys, "key", "checkpoint signing key: a note private key `file` from 'ledgerctl keygen' (Ed25519, required first),\nor a sigstore KMS reference (ECDSA P-256, adds a second signature); repeatable.\nWithout --key, a development key is created in the data directory")
	fs.StringVar(&o.origin, "origin", "", "checkpoint `origin` (default: the key file's name; in development mode "+devOrigin+")")
	fs.StringVar(&o.tokens, "tokens", "", "bearer tokens `file` (JSON; see DESIGN.md §7). Without it, a development producer token is created in the data directory")
	fs.StringVar(&o.witnessPolicy, "witness-policy", "", "C2SP witness policy `file`: each new checkpoint is sent to its witnesses (C2SP tlog-witness add-checkpoint);\nGET /checkpoint and receipts then carry their cosignatures. Published at /v1/log for clients to check")
	fs.StringVar(&o.witnessMode, "witness-mode", "open", "with --witness-policy: `open` (fail-open: serve the log-signed checkpoint, and receipts against it, until one satisfies the policy)\nor closed (fail-closed: appends answer only once a checkpoint satisfying the policy covers them, else 503 after --witness-wait)")
	fs.DurationVar(&o.witnessWait, "witness-wait", 10*time.Second, "with --witness-mode closed: how long an append waits for cosignatures before answering 503")
	fs.IntVar(&o.maxBatch, "max-batch", 1024, "most entries integrated in one commit")
	fs.DurationVar(&o.maxDelay, "max-delay", 0, "how long a batch waits to fill (default 2ms)")
	fs.IntVar(&o.maxPending, "max-pending", 0, "appends queued before the server answers 503 (default 16 × max-batch)")
	fs.Int64Var(&o.maxBody, "max-body", 1<<20, "largest request body in `bytes` (413 past it; the batch endpoint takes 32×)")
	fs.Float64Var(&o.rate, "rate", 20000, "requests per second allowed per token (429 past it; burst 2×)")
	fs.DurationVar(&o.contestWindow, "contest-window", 183*24*time.Hour, "how long after it is logged a decision can be contested (at least six months, DSA Art. 20)")
	fs.DurationVar(&o.responseWindow, "response-window", 14*24*time.Hour, "how long the operator has to resolve a contest: sets its due_by")
	fs.BoolVar(&o.publicStats, "public-stats", false, "serve GET /v1/stats (aggregates, no record detail) to anyone, not only to regulators")
	fs.StringVar(&o.pprof, "pprof", "", "serve Go's /debug/pprof on this `address` (e.g. 127.0.0.1:6060; off by default)")
	fs.StringVar(&o.logLevel, "log-level", "info", "log `level`: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, usageError{err}
	}
	if fs.NArg() > 0 {
		return o, usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(o.logLevel)); err != nil {
		return o, usageError{fmt.Errorf("--log-level %q: want debug, info, warn or error", o.logLevel)}
	}
	o.level = lvl
	if o.witnessMode != "open" && o.witnessMode != "closed" {
		return o, usageError{fmt.Errorf("--witness-mode %q: want open or closed", o.witnessMode)}
	}
	return o, nil
}
