package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/api/otlp"
	"github.com/fjaledger/fja/api/web"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/verify/record"
)

// Config configures a Server.
type Config struct {
	// Log is the ledger served.
	Log *ledger.Log
	// Origin is the log's checkpoint origin.
	Origin string
	// Frozen are the log's frozen shards, oldest first (package
	// ledger/shard), served read-only beside Log, the active shard,
	// numbered len(Frozen)+1 (see shards.go).
	Frozen []Shard
	// VerifierKeys are the note verifier keys of the log's checkpoint
	// signers, the Ed25519 key first.
	VerifierKeys []string
	// WitnessPolicy is the C2SP witness policy text published at /v1/log
	// (empty: none).
	WitnessPolicy string
	// Witness, when set, supplies witness-cosigned checkpoints: GET
	// /checkpoint and receipts use them (see api/witness.go).
	Witness Cosigned
	// WitnessMode is WitnessOpen (default) or WitnessClosed.
	WitnessMode WitnessMode
	// WitnessWait bounds how long a fail-closed append waits for a
	// cosigned checkpoint covering it (default 10 s; then 503).
	WitnessWait time.Duration
	// Tokens authenticate write and restricted routes (nil: none can).
	Tokens *auth.Tokens
	// Book is the record layer; nil serves the read surface only.
	Book *audit.Book
	// MaxBodyBytes bounds a request body (default 1 MiB; 413 past it).
	MaxBodyBytes int64
	// MaxBatchBodyBytes bounds a POST /v1/decisions:batch body (default 32 MiB).
	MaxBatchBodyBytes int64
	// RatePerToken and RateBurst bound each token's requests per second
	// (defaults 20,000 and 40,000; 429 past them).
	RatePerToken float64
	RateBurst    int
	// RatePerAddr and AddrBurst bound the anonymous requests per second
	// of one client address to the routes that take tokens (records,
	// contests, query, stats, metrics; defaults 100 and 200).
	RatePerAddr float64
	AddrBurst   int
	// ReadRatePerAddr and ReadBurst bound the requests per second of one
	// client address to the public read routes (/checkpoint, /tile/,
	// /v1/entries, /v1/proofs, /v1/log, /v1/openapi.json; defaults 2,000 and 4,000:
	// enough for a tlog client fetching tiles as fast as it can verify).
	ReadRatePerAddr float64
	ReadBurst       int
	// AuthFailRate and AuthFailBurst bound the failed authentications
	// (unknown bearer tokens) per second of one client address (defaults
	// 10 and 20); past them a request with a bearer token is 429 before
	// its token is even hashed.
	AuthFailRate  float64
	AuthFailBurst int
	// TrustedProxies are the only peers whose X-Forwarded-For is believed
	// when the client address is decided (for rate limits); with none, the
	// address is the connection's peer address.
	TrustedProxies []netip.Prefix
	// MaxExpensive bounds the expensive read requests (query, stats)
	// served at once, server-wide (default 2×GOMAXPROCS; 503 past it).
	MaxExpensive int
	// ExpensiveTimeout is the server-side deadline of an expensive read
	// request (default 10 s; 503 past it).
	ExpensiveTimeout time.Duration
	// TileCacheBytes bounds the cache of full tiles and full entry
	// bundles, which never change (default 64 MiB; negative: no cache).
	TileCacheBytes int64
	// PublicStats makes GET /v1/stats and GET /v1/rules (aggregates, no
	// record detail) open to anyone; otherwise they need the regulator role.
	PublicStats bool
	// OTLPJoinWait bounds how long the OTLP ingest holds a decision for
	// the evaluation and finding events it expects, and an event for its
	// span (default 3 s; see package otlp).
	OTLPJoinWait time.Duration
	// Metrics are more collectors served at GET /metrics with the
	// server's own (e.g. the publisher's lag, package ledger/publish).
	Metrics []prometheus.Collector
	// Logger receives request errors (default slog.Default()).
	Logger *slog.Logger
}

// Validate reports what is missing from c.
func (c Config) Validate() error {
	switch {
	case c.Log == nil:
		return errors.New("api: Log is nil")
	case c.Origin == "":
		return errors.New("api: Origin is empty")
	case len(c.VerifierKeys) == 0:
		return errors.New("api: no VerifierKeys, want at least the log's Ed25519 vkey")
	case !(c.RatePerToken >= 0 && c.RatePerAddr >= 0 && c.ReadRatePerAddr >= 0 && c.AuthFailRate >= 0),
		c.RateBurst < 0 || c.AddrBurst < 0 || c.ReadBurst < 0 || c.AuthFailBurst < 0:
		return errors.New("api: a negative (or NaN) rate limit or burst; want 0 (the default) or more")
	case c.MaxExpensive < 0 || c.ExpensiveTimeout < 0:
		return fmt.Errorf("api: MaxExpensive %d, ExpensiveTimeout %v: want 0 (the default) or more", c.MaxExpensive, c.ExpensiveTimeout)
	}
	for i, f := range c.Frozen {
		if f.N != i+1 || f.Log == nil || !f.Log.Frozen() || f.Origin == "" || f.VKey == "" {
			return fmt.Errorf("api: Frozen[%d] is shard %d (frozen log: %v); want shard %d, its log opened frozen, its origin and vkey", i, f.N, f.Log != nil && f.Log.Frozen(), i+1)
		}
	}
	return nil
}

// Server serves the ledger over HTTP.
type Server struct {
	cfg     Config
	echo    *echo.Echo
	http    *http.Server
	metrics *metrics
	limits  *limits
	tiles   *tileCache
	otlp    *otlp.Ingest       // nil without a Book
	frozen  []record.ShardInfo // of Config.Frozen, which never change
}

// New builds a Server; it does not listen yet.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.MaxBatchBodyBytes == 0 {
		cfg.MaxBatchBodyBytes = 32 << 20
	}
	if cfg.RatePerToken == 0 {
		cfg.RatePerToken = 20000
	}
	if cfg.RateBurst == 0 {
		cfg.RateBurst = 40000
	}
	cfg.setLimitDefaults()
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = ipExtractor(cfg.TrustedProxies)
	m := newMetrics(cfg.Log, cfg.Metrics...)
	e.Use(m.middleware)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			cfg.Logger.Error("panic in handler", "path", c.Request().URL.Path, "err", err, "stack", string(stack))
			return err
		},
	}))
	s := &Server{cfg: cfg, echo: e, metrics: m, limits: newLimits(cfg), tiles: newTileCache(cfg.TileCacheBytes), http: &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}}
	for _, f := range cfg.Frozen {
		s.frozen = append(s.frozen, shardInfo(f.N, f.Origin, f.VKey, record.ShardFrozen, f.Log))
	}
	e.HTTPErrorHandler = s.handleError
	m.registerTileCache(s.tiles)
	if err := s.routes(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) routes() error {
	e := s.echo
	read := s.limitAddr          // public reads: per client address, generously
	e.GET("/healthz", s.healthz) // cheap; never 429, or an orchestrator would restart a healthy server
	e.GET("/metrics", s.getMetrics, s.limitToken)
	e.GET("/checkpoint", s.checkpoint, read)
	e.GET("/tile/*", s.tile, read)
	e.GET("/shards/:n/checkpoint", s.shardCheckpoint, read)
	e.GET("/shards/:n/tile/*", s.shardTile, read)
	e.GET("/v1/log", s.logInfo, read)
	e.GET("/v1/entries/:index", s.entry, read)
	e.GET("/v1/proofs/inclusion", s.inclusionProof, read)
	e.GET("/v1/proofs/consistency", s.consistencyProof, read)
	e.GET("/v1/openapi.json", s.openAPI, read)
	web.Register(e) // the people-facing page at / and /assets/ (not an API route)
	if s.cfg.Book != nil {
		s.writeRoutes()
		s.challengeRoutes()
		return s.otlpRoutes()
	}
	return nil
}

// Handler returns the server's HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.echo }

// Serve serves on l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	err := s.http.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close closes the listeners and every connection at once.
func (s *Server) Close() error { return s.http.Close() }

// Shutdown stops taking connections and waits for requests in flight.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	if s.otlp != nil {
		s.otlp.Close() // decisions still waiting for a join are logged with what arrived
	}
	if err != nil {
		return fmt.Errorf("api: shutdown: %w", err)
	}
	return nil
}
