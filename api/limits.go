package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// Rate limits and the expensive-route gate.
//
// Contracts:
//   - A request is counted against exactly one bucket: its token's when it
//     authenticates (authentication comes first), else its client
//     address's. The client address is the connection's peer, or, from a
//     Config.TrustedProxies peer only, the nearest untrusted address of
//     X-Forwarded-For; a client cannot choose its own key.
//   - IPv6 clients are counted per /64 (one host usually holds a whole
//     /64), IPv4 clients per address.
//   - Unknown bearer tokens are counted per client address; once an
//     address is over its failure rate, its requests with a bearer token
//     are 429 before the token is hashed.
//   - The buckets held are bounded (maxLimiterKeys per limiter): idle
//     full buckets are dropped, and past the bound new keys share one
//     bucket.

// The defaults of the Config limits.
const (
	DefaultRatePerAddr      = 100
	DefaultReadRatePerAddr  = 2000
	DefaultAuthFailRate     = 10
	DefaultExpensiveTimeout = 10 * time.Second
	DefaultTileCacheBytes   = 64 << 20
)

// DefaultMaxExpensive is the default Config.MaxExpensive: 2×GOMAXPROCS.
func DefaultMaxExpensive() int { return 2 * runtime.GOMAXPROCS(0) }

// setLimitDefaults fills the limits left zero; bursts default to twice
// their rate.
func (c *Config) setLimitDefaults() {
	rateDefault := func(r *float64, b *int, def float64) {
		if *r == 0 {
			*r = def
		}
		if *b == 0 {
			*b = max(1, int(math.Min(2**r, math.MaxInt32)))
		}
	}
	rateDefault(&c.RatePerAddr, &c.AddrBurst, DefaultRatePerAddr)
	rateDefault(&c.ReadRatePerAddr, &c.ReadBurst, DefaultReadRatePerAddr)
	rateDefault(&c.AuthFailRate, &c.AuthFailBurst, DefaultAuthFailRate)
	if c.MaxExpensive == 0 {
		c.MaxExpensive = DefaultMaxExpensive()
	}
	if c.ExpensiveTimeout == 0 {
		c.ExpensiveTimeout = DefaultExpensiveTimeout
	}
	if c.TileCacheBytes == 0 {
		c.TileCacheBytes = DefaultTileCacheBytes
	}
}

// limits are a server's rate limiters and its expensive-route gate.
type limits struct {
	token    *keyedLimiter // authenticated requests, by token name
	anon     *keyedLimiter // anonymous requests to token routes, by address
	read     *keyedLimiter // public reads, by address
	authFail *keyedLimiter // unknown bearer tokens, by address
	// heavy holds one element per expensive request being served.
	heavy chan struct{}
}

func newLimits(cfg Config) *limits {
	return &limits{
		token:    newKeyedLimiter(cfg.RatePerToken, cfg.RateBurst),
		anon:     newKeyedLimiter(cfg.RatePerAddr, cfg.AddrBurst),
		read:     newKeyedLimiter(cfg.ReadRatePerAddr, cfg.ReadBurst),
		authFail: newKeyedLimiter(cfg.AuthFailRate, cfg.AuthFailBurst),
		heavy:    make(chan struct{}, max(1, cfg.MaxExpensive)),
	}
}

// limitToken is the rate limit of the routes that take tokens. It
// authenticates first (an unknown token is 401, or 429 when its address
// has failed too often), then counts the request against its token, or,
// without a token, against its client address.
func (s *Server) limitToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		who, err := s.authenticate(c)
		if err != nil {
			return err
		}
		if who != nil {
			if wait, ok := s.limits.token.allow(who.Name); !ok {
				return tooMany(c, wait, fmt.Sprintf("token %s is over its rate of %g requests/s", who.Name, s.cfg.RatePerToken))
			}
			return next(c)
		}
		addr := clientAddr(c)
		if wait, ok := s.limits.anon.allow(addr); !ok {
			return tooMany(c, wait, fmt.Sprintf("client %s is over the rate of %g requests/s without a token", addr, s.cfg.RatePerAddr))
		}
		return next(c)
	}
}

// limitAddr is the rate limit of the public read routes: per client
// address, whatever token the request carries.
func (s *Server) limitAddr(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		addr := clientAddr(c)
		if wait, ok := s.limits.read.allow(addr); !ok {
			return tooMany(c, wait, fmt.Sprintf("client %s is over the rate of %g public reads/s", addr, s.cfg.ReadRatePerAddr))
		}
		return next(c)
	}
}

// expensive gates the expensive read routes (query, stats, explanation
// bundles): at most Config.MaxExpensive run at once, server-wide (503 with
// Retry-After past it, never a queue), each under a server-side deadline
// of Config.ExpensiveTimeout on its request context (503 once it passed).
// Place it after the rate limit, so that a client over its rate never
// takes a slot.
func (s *Server) expensive(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		select {
		case s.limits.heavy <- struct{}{}:
		default:
			return errorf(http.StatusServiceUnavailable, "overloaded", fmt.Sprintf("the server is already serving its limit of %d expensive requests (query, stats); retry shortly", cap(s.limits.heavy)))
		}
		defer func() { <-s.limits.heavy }()
		ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.ExpensiveTimeout)
		defer cancel()
		c.SetRequest(c.Request().WithContext(ctx))
		err := next(c)
		if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return errorf(http.StatusServiceUnavailable, "query_timeout", fmt.Sprintf("the request ran past the server's deadline of %v; narrow it (a shorter window, a lower limit)", s.cfg.ExpensiveTimeout))
		}
		return err
	}
}

// tooMany is the 429 answer, with Retry-After in whole seconds.
func tooMany(c echo.Context, wait time.Duration, msg string) error {
	secs := max(1, int64(math.Ceil(wait.Seconds())))
	c.Response().Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	return errorf(http.StatusTooManyRequests, "rate_limited", fmt.Sprintf("%s; retry after %d s", msg, secs))
}

// clientAddr is the rate-limit key of a request's client: its address
// (see ipExtractor), an IPv6 address as its /64.
func clientAddr(c echo.Context) string {
	ip := c.RealIP()
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// ipExtractor decides a request's client address: the connection's peer,
// or, when the peer is in trusted, the nearest address of X-Forwarded-For
// that is not (echo's X-Forwarded-For walk, trusting nothing but trusted:
// not loopback, link-local or private networks by default).
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		p = p.Masked()
		opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// maxLimiterKeys bounds the buckets one keyedLimiter holds.
const maxLimiterKeys = 1 << 18

// sweepEvery is how often a keyedLimiter drops its full buckets.
const sweepEvery = 30 * time.Second

// keyedLimiter is a token bucket per key: rate tokens per second, at most
// burst; a request takes one. A key never seen has a full bucket, so a
// full bucket can be dropped without changing any answer.
type keyedLimiter struct {
	rate  float64
	burst float64

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newKeyedLimiter(rate float64, burst int) *keyedLimiter {
	return &keyedLimiter{rate: rate, burst: float64(burst), buckets: map[string]*bucket{}, swept: time.Now()}
}

// level returns b's tokens at now.
func (k *keyedLimiter) level(b *bucket, now time.Time) float64 {
	return math.Min(k.burst, b.tokens+max(0, now.Sub(b.at).Seconds())*k.rate)
}

// bucket returns key's bucket, refilled to now. k.mu is held.
func (k *keyedLimiter) bucket(key string, now time.Time) *bucket {
	if now.Sub(k.swept) > sweepEvery || len(k.buckets) >= maxLimiterKeys {
		k.sweep(now)
	}
	b, ok := k.buckets[key]
	if !ok {
		if len(k.buckets) >= maxLimiterKeys {
			key = "" // past the bound, newcomers share one bucket
			if b, ok = k.buckets[key]; ok {
				b.tokens, b.at = k.level(b, now), now
				return b
			}
		}
		b = &bucket{tokens: k.burst, at: now}
		k.buckets[key] = b
		return b
	}
	b.tokens, b.at = k.level(b, now), now
	return b
}

func (k *keyedLimiter) sweep(now time.Time) {
	for key, b := range k.buckets {
		if k.level(b, now) >= k.burst {
			delete(k.buckets, key)
		}
	}
	k.swept = now
}

// wait is how long b takes to hold one token again.
func (k *keyedLimiter) wait(b *bucket) time.Duration {
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) / k.rate * float64(time.Second))
}

// allow takes a token of key's bucket if it has one; otherwise it reports
// how long until it has.
func (k *keyedLimiter) allow(key string) (time.Duration, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	b := k.bucket(key, time.Now())
	if b.tokens < 1 {
		return k.wait(b), false
	}
	b.tokens--
	return 0, true
}

// exhausted reports whether key's bucket is empty (without taking from
// it), and if so how long until it holds a token.
func (k *keyedLimiter) exhausted(key string) (time.Duration, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	b := k.bucket(key, time.Now())
	return k.wait(b), b.tokens < 1
}

// spend takes a token of key's bucket, if it has one.
func (k *keyedLimiter) spend(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	b := k.bucket(key, time.Now())
	b.tokens = math.Max(0, b.tokens-1)
}
