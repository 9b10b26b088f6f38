package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/transparency-dev/formats/witness"
	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/api"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/audit/vault"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
	"github.com/fjaledger/fja/ledger/publish"
	"github.com/fjaledger/fja/ledger/shard"
	"github.com/fjaledger/fja/ledger/signer"
	cosign "github.com/fjaledger/fja/ledger/witness"
)

const devOrigin = "dev.fja-ledger.localhost/log"

type options struct {
	data, listen, origin, tokens, witnessPolicy, logLevel   string
	witnessMode                                             string
	witnessWait                                             time.Duration
	pprof, publish                                          string
	publishPathStyle                                        bool
	keys                                                    keyList
	maxBatch, maxPending                                    int
	maxBody                                                 int64
	rate, rateAnon, rateRead, rateAuthFail                  float64
	trustedProxies                                          prefixList
	maxExpensive                                            int
	expensiveTimeout                                        time.Duration
	tileCacheMB                                             int64
	maxDelay, contestWindow, responseWindow, deliveryWindow time.Duration
	otlpJoinWait                                            time.Duration
	memoryLimitMB                                           int64
	mappedMB                                                int64 // --badger-mapped-mb; 0: no bound
	memoryLimitSet                                          bool
	publicStats                                             bool
	level                                                   slog.Level
}

// run starts the server and blocks until ctx is done, then shuts down:
// the listener closes, requests in flight finish, queued appends are
// committed, and the store is closed.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: o.level}))
	if os.Getenv("GOGC") == "" {
		// The heap is mostly short-lived request garbage; trade memory
		// (plenty) for less GC CPU (scarce) on the append path.
		debug.SetGCPercent(400)
	}
	if o.memoryLimitMB > 0 && (o.memoryLimitSet || os.Getenv("GOMEMLIMIT") == "") {
		debug.SetMemoryLimit(o.memoryLimitMB << 20)
	}
	if o.pprof != "" {
		pl, err := net.Listen("tcp", o.pprof)
		if err != nil {
			return fmt.Errorf("--pprof: %w", err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		go http.Serve(pl, mux)
		defer pl.Close()
	}
	if err := os.MkdirAll(o.data, 0o700); err != nil {
		return err
	}
	shards, err := shard.Load(o.data)
	if err != nil {
		return err
	}
	active := shards.Active()
	dev := len(o.keys) == 0
	if shards.Rotated() { // the active shard's origin and key are the manifest's
		if o.origin != "" && o.origin != active.Origin {
			return fmt.Errorf("--origin %q: the active shard of %s is %q (ledgerctl rotate starts a new one)", o.origin, o.data, active.Origin)
		}
		o.origin = active.Origin
		if dev {
			o.keys = keyList{shard.KeySpec(o.data, active)}
		}
		if o.publish != "" {
			o.publish = shard.PublishURL(o.publish, active)
		}
	} else if dev {
		if o.origin == "" {
			o.origin = devOrigin
		}
		path, err := devKey(o.data, o.origin)
		if err != nil {
			return err
		}
		o.keys = keyList{path}
	}
	signers, vkeys, err := loadSigners(ctx, o.origin, o.keys)
	if err != nil {
		return err
	}
	origin := signers[0].Name()

	// Development tokens exist only in development mode (no --key, no
	// --tokens): with --key and no --tokens, the server starts with none.
	var devToks map[auth.Role]string
	if o.tokens == "" && dev {
		if devToks, o.tokens, err = auth.EnsureDev(o.data); err != nil {
			return err
		}
	}
	var tokens *auth.Tokens
	if o.tokens != "" {
		if tokens, err = auth.Load(o.tokens); err != nil {
			return err
		}
		logTokens(logger, o.tokens, tokens)
	} else {
		logger.Warn("no --tokens: the server has no bearer tokens, so no record can be written and every restricted route answers 401; " +
			"create tokens (ledgerctl keygen, DESIGN.md §7) and pass --tokens FILE")
	}
	var policy string
	var group witness.Group
	if o.witnessPolicy != "" {
		b, err := os.ReadFile(o.witnessPolicy)
		if err != nil {
			return err
		}
		if group, err = witness.ParsePolicy(b); err != nil {
			return fmt.Errorf("--witness-policy %s: %w", o.witnessPolicy, err)
		}
		policy = string(b)
	}

	paths := shard.PathsOf(o.data, active)
	mapped := o.mappedMB << 20
	if mapped == 0 {
		mapped = -1 // badgerstore's "no bound"
	}
	store, err := badgerstore.Open(badgerstore.Config{Dir: paths.Badger, Logger: logger, MappedBudget: mapped})
	if err != nil {
		return fmt.Errorf("%w (is another ledgerd using %s?)", err, o.data)
	}
	v, err := vault.Open(paths.Vault)
	if err != nil {
		store.Close()
		return err
	}
	defer func() { // after the log's Close, which commits what is queued
		if err := v.Close(); err != nil {
			logger.Error("closing the vault", "err", err)
		}
	}()
	l, err := ledger.Open(ledger.Config{
		Origin: origin, Signers: signers, Storage: store, Logger: logger,
		MaxBatch: o.maxBatch, MaxDelay: o.maxDelay, MaxPending: o.maxPending,
		Presync: v.Sync, // the vault keys of a batch are durable before its commit
	})
	if err != nil {
		store.Close()
		return err
	}
	defer func() {
		if err := l.Close(); err != nil {
			logger.Error("closing the log", "err", err)
		}
	}()
	secret, err := shard.LoadSecret(o.data)
	if err != nil {
		return err
	}
	frozen, err := openFrozen(o, shards, logger)
	if err != nil {
		return err
	}
	defer closeFrozen(frozen, logger) // after the book's Close (deferred next)
	var earlier []audit.EarlierShard
	for _, f := range frozen {
		earlier = append(earlier, audit.EarlierShard{Origin: f.Origin, Book: f.Book})
	}
	book, err := audit.Open(audit.Config{Log: l, Index: store, Vault: v, Secret: secret, Logger: logger, Earlier: earlier,
		ContestWindow: o.contestWindow, ResponseWindow: o.responseWindow, DeliveryWindow: o.deliveryWindow})
	if err != nil {
		return err
	}
	defer book.Close() // before the log's Close (deferred earlier)
	acfg := api.Config{Log: l, Book: book, Origin: origin, Frozen: frozen, VerifierKeys: vkeys, WitnessPolicy: policy,
		Tokens: tokens, Logger: logger, MaxBodyBytes: o.maxBody, MaxBatchBodyBytes: 32 * o.maxBody,
		RatePerToken: o.rate, RateBurst: burst(o.rate), PublicStats: o.publicStats,
		RatePerAddr: o.rateAnon, AddrBurst: burst(o.rateAnon), ReadRatePerAddr: o.rateRead, ReadBurst: burst(o.rateRead),
		AuthFailRate: o.rateAuthFail, AuthFailBurst: burst(o.rateAuthFail), TrustedProxies: o.trustedProxies,
		MaxExpensive: o.maxExpensive, ExpensiveTimeout: o.expensiveTimeout, TileCacheBytes: o.tileCacheMB << 20,
		OTLPJoinWait: o.otlpJoinWait, Metrics: []prometheus.Collector{store.Collector()}}
	if o.tileCacheMB == 0 {
		acfg.TileCacheBytes = -1 // no cache
	}
	if policy != "" {
		cs, err := cosign.New(cosign.Config{Log: l, Policy: group, Logger: logger})
		if err != nil {
			return err
		}
		cs.Start()
		defer cs.Close() // after the server has shut down (defers run last-in first-out)
		acfg.Witness, acfg.WitnessMode, acfg.WitnessWait = cs, api.WitnessMode(o.witnessMode), o.witnessWait
		logger.Info("witness cosigning", "policy", o.witnessPolicy, "witnesses", len(group.Endpoints()), "mode", o.witnessMode)
	}
	if o.publish != "" {
		served := func() ([]byte, uint64) { return api.ServedCheckpoint(l, acfg.Witness, acfg.WitnessMode) }
		pub, err := startPublisher(ctx, o, l, served, origin, vkeys[0], logger)
		if err != nil {
			return err
		}
		defer pub.Close() // before the log's Close (deferred earlier)
		acfg.Metrics = append(acfg.Metrics, pub)
	}
	srv, err := api.New(acfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "FJA Ledger serving %s\n  origin:   %s\n  vkey:     %s\n  size:     %d\n  data:     %s\n",
		url, origin, vkeys[0], l.Head().Size, o.data)
	if tokens == nil {
		fmt.Fprintf(stdout, "  tokens:   none (no --tokens: nothing can be written)\n")
	}
	if devToks != nil {
		printDev(stdout, url, vkeys[0], o.data, devToks)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// startPublisher mirrors the log to the --publish bucket (package
// ledger/publish), with the checkpoints GET /checkpoint serves (served):
// cosigned ones when witnessed.
func startPublisher(ctx context.Context, o options, l *ledger.Log, served func() ([]byte, uint64), origin, vkey string, logger *slog.Logger) (*publish.Publisher, error) {
	b, err := publish.NewBucket(ctx, o.publish, publish.ClientOptions{PathStyle: o.publishPathStyle})
	if err != nil {
		return nil, fmt.Errorf("--publish: %w", err)
	}
	p, err := publish.Start(publish.Config{Log: l, Checkpoint: served, Origin: origin, VerifierKey: vkey, Bucket: b, Logger: logger})
	if err != nil {
		return nil, err
	}
	logger.Info("publishing", "bucket", b.String())
	return p, nil
}

// openFrozen opens the frozen shards of the data directory for reads
// (package ledger/shard), with the contest and response windows of o.
func openFrozen(o options, m *shard.Manifest, logger *slog.Logger) ([]api.Shard, error) {
	var out []api.Shard
	for _, info := range m.Shards[:len(m.Shards)-1] {
		s, err := shard.OpenFrozen(o.data, info, audit.Config{Logger: logger,
			ContestWindow: o.contestWindow, ResponseWindow: o.responseWindow, DeliveryWindow: o.deliveryWindow})
		if err != nil {
			closeFrozen(out, logger)
			return nil, err
		}
		out = append(out, api.Shard{N: info.N, Origin: info.Origin, VKey: info.VKey, Log: s.Log, Book: s.Book, Close: s.Close})
	}
	return out, nil
}

// closeFrozen closes the shards openFrozen opened.
func closeFrozen(shards []api.Shard, logger *slog.Logger) {
	for _, s := range shards {
		if err := s.Close(); err != nil {
			logger.Error("closing a frozen shard", "shard", s.N, "err", err)
		}
	}
}

// burst is the bucket size of a rate: twice the rate, at least 1.
func burst(rate float64) int { return max(1, int(min(2*rate, 1<<31-1))) }

// loadSigners loads every --key; the first MUST be Ed25519.
func loadSigners(ctx context.Context, origin string, specs []string) ([]note.Signer, []string, error) {
	var signers []note.Signer
	var vkeys []string
	for i, spec := range specs {
		name := origin
		if i > 0 && name == "" {
			name = signers[0].Name()
		}
		s, err := signer.Load(ctx, name, spec)
		if err != nil {
			return nil, nil, fmt.Errorf("--key %s: %w", spec, err)
		}
		if i == 0 && s.Algorithm() != signer.AlgEd25519 {
			return nil, nil, fmt.Errorf("--key %s: the first key must be Ed25519 (note algorithm 0x01, what C2SP witnesses accept); got algorithm 0x%02x", spec, s.Algorithm())
		}
		signers = append(signers, s)
		vkeys = append(vkeys, s.VerifierKey())
	}
	return signers, vkeys, nil
}

// devKey returns the development key file in dir, creating it on first start.
func devKey(dir, origin string) (string, error) {
	path := filepath.Join(dir, "dev-signer.key")
	skey, _, err := signer.GenerateKey(rand.Reader, origin)
	if err != nil {
		return "", err
	}
	if err := signer.WriteKeyFile(path, skey); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	return path, nil
}

// devEnv names the environment variable of each development token in
// the export line development mode prints: LEDGER_TOKEN is what ledgerctl
// and the README's curl lines use by default, the producer's.
var devEnv = map[auth.Role]string{
	auth.Producer:    "LEDGER_TOKEN",
	auth.Reviewer:    "REVIEWER_TOKEN",
	auth.Regulator:   "REGULATOR_TOKEN",
	auth.Operator:    "OPERATOR_TOKEN",
	auth.Stakeholder: "STAKEHOLDER_TOKEN",
}

// printDev prints what a newcomer needs after the banner: the development
// producer token, one export line a shell can paste (the URL, a token per
// role, the vkey), and the README's first two curl lines, which use it.
func printDev(w io.Writer, url, vkey, data string, toks map[auth.Role]string) {
	fmt.Fprintf(w, "  development producer token: %s\n", toks[auth.Producer])
	var names []string
	for _, r := range auth.Roles() {
		names = append(names, string(r))
	}
	fmt.Fprintf(w, "Development tokens, one per role (%s), are kept in %s (mode 0600).\n"+
		"Paste this line into your shell (the README's commands use it):\n", strings.Join(names, ", "), data)
	line := "export LEDGER_URL=" + shellQuote(url)
	for _, r := range auth.Roles() {
		line += " " + devEnv[r] + "=" + shellQuote(toks[r])
	}
	fmt.Fprintln(w, line+" VKEY="+shellQuote(vkey))
	fmt.Fprintf(w, "Try it (publish the example constitution first, then a decision):\n%s\n%s\n", curlConstitution, curlDecision)
}

// The README's first two commands, printed as they are written there.
const (
	curlConstitution = `curl -s -H "Authorization: Bearer $LEDGER_TOKEN" --data-binary @../shared/examples/constitution.json "$LEDGER_URL/v1/constitutions"`
	curlDecision     = `curl -s -H "Authorization: Bearer $LEDGER_TOKEN" --data-binary @../shared/examples/decision-refused.json "$LEDGER_URL/v1/decisions" > receipt.json`
)

// shellQuote quotes s for a POSIX shell, unless every byte of it is safe
// bare.
func shellQuote(s string) string {
	safe := s != ""
	for _, c := range s {
		safe = safe && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("+-./:=@_,%", c))
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// logTokens logs the name and role of every token loaded from path, so
// that an operator sees which roles the server can serve.
func logTokens(logger *slog.Logger, path string, t *auth.Tokens) {
	var list []string
	for _, e := range t.Entries() {
		list = append(list, e.Name+" ("+string(e.Role)+")")
	}
	logger.Info("bearer tokens loaded", "file", path, "count", t.Len(), "tokens", strings.Join(list, ", "))
}
