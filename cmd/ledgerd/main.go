// Command ledgerd runs the FJA Ledger server (DESIGN.md §7).
//
// With no flags it runs in development mode: an embedded Badger store in
// ./data, a development signing key and one development token per role
// (producer, reviewer, regulator, operator, stakeholder) created there on first start
// and kept (mode 0600), listening on 127.0.0.1:8080. It prints the URL,
// the verifier key and one export line a shell can paste (LEDGER_URL,
// LEDGER_TOKEN, REVIEWER_TOKEN, REGULATOR_TOKEN, OPERATOR_TOKEN,
// STAKEHOLDER_TOKEN, VKEY),
// which the README's journeys use. With any tokens file, it logs the name
// and role of every token loaded.
//
// Production mode is explicit: with --key, no development token is ever
// created or printed; without --tokens the server then starts with no
// tokens (every write and restricted route answers 401) and logs a warning.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/fjaledger/fja/api"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/ledger/badgerstore"
	"github.com/fjaledger/fja/ledger/publish"
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

// prefixList is the --trusted-proxies flag: comma-separated CIDR prefixes
// (a bare address is its own /32 or /128).
type prefixList []netip.Prefix

func (p *prefixList) String() string {
	s := make([]string, len(*p))
	for i, x := range *p {
		s[i] = x.String()
	}
	return strings.Join(s, ",")
}

func (p *prefixList) Set(v string) error {
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		x, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return fmt.Errorf("%q: want a CIDR prefix such as 10.0.0.0/8 or fd00::/8, or an address", f)
			}
			x = netip.PrefixFrom(a, a.BitLen())
		}
		*p = append(*p, x.Masked())
	}
	return nil
}

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
	fs.StringVar(&o.tokens, "tokens", "", "bearer tokens `file` (JSON; see DESIGN.md §7). Without it: in development mode (no --key) a development\ntoken per role is created in the data directory and printed as an export line; with --key the server starts with NO tokens\n(writes and restricted routes answer 401; a warning is logged) and never creates a development token")
	fs.StringVar(&o.witnessPolicy, "witness-policy", "", "C2SP witness policy `file`: each new checkpoint is sent to its witnesses (C2SP tlog-witness add-checkpoint);\nGET /checkpoint and receipts then carry their cosignatures. Published at /v1/log for clients to check")
	fs.StringVar(&o.witnessMode, "witness-mode", "open", "with --witness-policy: `open` (fail-open: serve the log-signed checkpoint, and receipts against it, until one satisfies the policy)\nor closed (fail-closed: appends answer only once a checkpoint satisfying the policy covers them, else 503 after --witness-wait)")
	fs.DurationVar(&o.witnessWait, "witness-wait", 10*time.Second, "with --witness-mode closed: how long an append waits for cosignatures before answering 503")
	fs.IntVar(&o.maxBatch, "max-batch", 1024, "most entries integrated in one commit")
	fs.DurationVar(&o.maxDelay, "max-delay", 0, "how long a batch waits to fill (default 2ms)")
	fs.IntVar(&o.maxPending, "max-pending", 0, "appends queued before the server answers 503 (default 16 × max-batch)")
	fs.Int64Var(&o.maxBody, "max-body", 1<<20, "largest request body in `bytes` (413 past it; the batch endpoint takes 32×)")
	fs.Float64Var(&o.rate, "rate", 20000, "requests per second allowed per token (429 past it; burst 2×)")
	fs.Float64Var(&o.rateAnon, "rate-anon", api.DefaultRatePerAddr, "requests per second allowed per client address without a token on the token routes\n(records, contests, query, stats, metrics; 429 past it; burst 2×; an IPv6 client counts per /64)")
	fs.Float64Var(&o.rateRead, "rate-read", api.DefaultReadRatePerAddr, "requests per second allowed per client address on the public read routes\n(/checkpoint, /tile/, /v1/entries, /v1/proofs, /v1/log; 429 past it; burst 2×; /healthz is never limited)")
	fs.Float64Var(&o.rateAuthFail, "rate-auth-fail", api.DefaultAuthFailRate, "unknown bearer tokens allowed per second per client address (burst 2×); past it every request\nwith a token from that address is 429 before the token is checked")
	fs.Var(&o.trustedProxies, "trusted-proxies", "`CIDR,...` of reverse proxies whose X-Forwarded-For names the client address (for the rate limits);\nwithout it, the client address is the connection's peer and X-Forwarded-For is ignored")
	fs.IntVar(&o.maxExpensive, "max-expensive", api.DefaultMaxExpensive(), "expensive read requests (query, stats) served at once, server-wide (503 past it; 2×GOMAXPROCS here)")
	fs.DurationVar(&o.expensiveTimeout, "expensive-timeout", api.DefaultExpensiveTimeout, "server-side deadline of an expensive read request (503 past it)")
	fs.Int64Var(&o.tileCacheMB, "tile-cache-mb", api.DefaultTileCacheBytes>>20, "MiB of full tiles and entry bundles (immutable) kept in memory; 0: no cache")
	fs.DurationVar(&o.contestWindow, "contest-window", 183*24*time.Hour, "how long after it is logged a decision can be contested (at least six months, DSA Art. 20)")
	fs.DurationVar(&o.responseWindow, "response-window", 14*24*time.Hour, "how long the operator has to resolve a contest: sets its due_by")
	fs.DurationVar(&o.otlpJoinWait, "otlp-join-wait", 3*time.Second, "how long the OTLP ingest holds a decision for the evaluation and finding events it expects from later export calls (then it is logged with what arrived, flagged otel.join.incomplete)")
	fs.DurationVar(&o.deliveryWindow, "delivery-window", audit.DefaultDeliveryWindow, "how long a producer that sends a decision again (after an error or a dropped connection) gets its contest token back; after it the token exists nowhere on the server")
	fs.BoolVar(&o.publicStats, "public-stats", false, "serve GET /v1/stats and GET /v1/rules (aggregates, no record detail) to anyone, not only to regulators")
	fs.Int64Var(&o.mappedMB, "badger-mapped-mb", badgerstore.DefaultMappedBudget>>20, "resident MiB of Badger's mapped tables and value log past which the server hands the oldest pages\nback to the kernel (madvise MADV_PAGEOUT, Linux; tables' indexes and Bloom filters stay); 0: no bound")
	fs.Int64Var(&o.memoryLimitMB, "memory-limit-mb", 1024, "soft limit of the Go runtime's memory in MiB (runtime/debug.SetMemoryLimit): the collector works\nharder near it instead of letting the heap run far past what is live under a high allocation rate (GOGC is 400\nunless set); 0: none. A GOMEMLIMIT in the environment wins unless this flag is given. With --badger-mapped-mb,\nit bounds what the server keeps resident as its log grows")
	fs.StringVar(&o.publish, "publish", "", "mirror the log to S3-compatible object storage at `s3://BUCKET/PREFIX` as a C2SP tlog-tiles log\n(checkpoint, tile/..., tile/entries/...: what /checkpoint and /tile/ serve; the checkpoint last, after every tile it covers).\nEndpoint, region and credentials from the standard AWS environment and shared config (AWS_ENDPOINT_URL, AWS_REGION,\nAWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ...). Resumes from the bucket's checkpoint; an outage of the store\nnever blocks appends (lag in /metrics: fja_publish_lag_entries, fja_publish_lag_seconds, fja_publish_errors_total)")
	fs.BoolVar(&o.publishPathStyle, "publish-path-style", false, "with --publish: address the bucket as ENDPOINT/BUCKET/KEY (path style), as most local S3-compatible servers need")
	fs.StringVar(&o.pprof, "pprof", "", "serve Go's /debug/pprof on this `address` (e.g. 127.0.0.1:6060; off by default)")
	fs.StringVar(&o.logLevel, "log-level", "info", "log `level`: debug (adds Badger's compactions and level-0 stalls), info, warn, error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, usageError{err}
	}
	fs.Visit(func(f *flag.Flag) { o.memoryLimitSet = o.memoryLimitSet || f.Name == "memory-limit-mb" })
	if o.mappedMB < 0 {
		return o, usageError{fmt.Errorf("--badger-mapped-mb %d: want >= 0", o.mappedMB)}
	}
	if o.memoryLimitMB < 0 {
		return o, usageError{fmt.Errorf("--memory-limit-mb %d: want >= 0", o.memoryLimitMB)}
	}
	if fs.NArg() > 0 {
		return o, usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(o.logLevel)); err != nil {
		return o, usageError{fmt.Errorf("--log-level %q: want debug, info, warn or error", o.logLevel)}
	}
	o.level = lvl
	for _, v := range []struct {
		name string
		rate float64
	}{{"--rate", o.rate}, {"--rate-anon", o.rateAnon}, {"--rate-read", o.rateRead}, {"--rate-auth-fail", o.rateAuthFail}} {
		if !(v.rate > 0) {
			return o, usageError{fmt.Errorf("%s %g: want a rate above 0 requests per second", v.name, v.rate)}
		}
	}
	if o.maxExpensive < 1 || o.expensiveTimeout <= 0 || o.tileCacheMB < 0 {
		return o, usageError{fmt.Errorf("--max-expensive %d, --expensive-timeout %v, --tile-cache-mb %d: want at least 1, above 0, at least 0", o.maxExpensive, o.expensiveTimeout, o.tileCacheMB)}
	}
	if o.publish != "" {
		if _, _, err := publish.ParseURL(o.publish); err != nil {
			return o, usageError{fmt.Errorf("--publish %w", err)}
		}
	}
	if o.witnessMode != "open" && o.witnessMode != "closed" {
		return o, usageError{fmt.Errorf("--witness-mode %q: want open or closed", o.witnessMode)}
	}
	return o, nil
}
