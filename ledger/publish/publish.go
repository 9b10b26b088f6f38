// Package publish mirrors a ledger to a bucket of S3-compatible object
// storage as a C2SP tlog-tiles log (DESIGN.md §7, ledgerd --publish): the
// bucket alone then serves the checkpoint, every hash tile and every entry
// bundle, under the same names and with the same bytes as ledgerd's
// /checkpoint and /tile/ routes, so that clients, monitors and CDNs read
// the log without ledgerd.
//
// Contracts:
//   - The bucket is always a consistent tlog-tiles log: its checkpoint is
//     written last, only after every tile and entry bundle of the tree it
//     signs is in the bucket.
//   - Full tiles and bundles are written once, with Cache-Control
//     "public, max-age=31536000, immutable"; partial ones as they change,
//     with a short cache. An object the bucket's checkpoint covers is never
//     written again, even across restarts: the publisher resumes from the
//     bucket's checkpoint, which it first verifies was signed by the log
//     (the verifier key) for a prefix of the log's tree.
//   - Publishing never blocks or slows appends: it runs in its own
//     goroutine, reads the log's latest head, retries failures with
//     exponential backoff, and after an outage skips to the newest head.
package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/tile"
)

// Cache-Control of the objects written: full tiles and bundles never
// change; partial ones and the checkpoint do (as ledgerd serves them).
const (
	CacheImmutable = "public, max-age=31536000, immutable"
	CacheShort     = "public, max-age=5"
)

// Config configures a Publisher.
type Config struct {
	// Log is the ledger published.
	Log *ledger.Log
	// Origin and VerifierKey are the log's checkpoint origin and its
	// Ed25519 note vkey: the checkpoint found in the bucket at start must
	// verify with them, or nothing is published (the bucket holds another
	// log).
	Origin, VerifierKey string
	// Bucket is where the log is published.
	Bucket *Bucket
	// Checkpoint, when set, chooses the checkpoint to publish and gives
	// its tree size, which must not exceed the log's head (nil: none to
	// publish yet). By default it is the log's head: ledgerd passes what
	// GET /checkpoint serves (api.ServedCheckpoint), cosigned when witnessed.
	Checkpoint func() (checkpoint []byte, size uint64)
	// Interval is how often the log's head is checked for a new
	// checkpoint (default 1 s).
	Interval time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failed round, which
	// doubles from MinBackoff up to MaxBackoff (defaults 250 ms and 30 s).
	MinBackoff, MaxBackoff time.Duration
	// Parallel is how many objects are uploaded at once (default 8).
	Parallel int
	// Logger receives publishing errors (default slog.Default()).
	Logger *slog.Logger
}

// Publisher mirrors a log to a bucket; see the package documentation.
type Publisher struct {
	cfg    Config
	cancel context.CancelFunc
	done   chan struct{}

	// Written by the publishing goroutine only, read by Collect.
	published  atomic.Uint64 // size of the bucket's checkpoint
	resumed    atomic.Bool   // the bucket's checkpoint has been read
	lastOK     atomic.Int64  // unix nanoseconds of the last checkpoint written (or start)
	uploads    atomic.Uint64 // objects written
	errs       atomic.Uint64 // failed rounds
	stoppedErr atomic.Pointer[error]

	// The publishing goroutine's own state.
	cp     []byte // the bucket's checkpoint
	fullMu sync.Mutex
	full   map[string]bool // full objects written beyond the bucket's checkpoint
}

// Start checks cfg and starts publishing in a goroutine of its own; Close
// stops it.
func Start(cfg Config) (*Publisher, error) {
	switch {
	case cfg.Log == nil || cfg.Bucket == nil:
		return nil, errors.New("publish: Log and Bucket are required")
	case cfg.Origin == "" || cfg.VerifierKey == "":
		return nil, errors.New("publish: Origin and VerifierKey are required, to check the bucket's checkpoint")
	}
	if cfg.Checkpoint == nil {
		cfg.Checkpoint = func() ([]byte, uint64) { h := cfg.Log.Head(); return h.Checkpoint, h.Size }
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 250 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(30*time.Second, cfg.MinBackoff)
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 8
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Publisher{cfg: cfg, cancel: cancel, done: make(chan struct{}), full: map[string]bool{}}
	p.lastOK.Store(time.Now().UnixNano())
	go p.run(ctx)
	return p, nil
}

// Close stops publishing and waits for the goroutine to end; an upload in
// flight is abandoned (the bucket stays consistent: its checkpoint is
// written last).
func (p *Publisher) Close() {
	p.cancel()
	<-p.done
}

// Published is the size of the tree whose checkpoint the bucket holds, as
// far as this publisher knows (0 until it has read the bucket).
func (p *Publisher) Published() uint64 { return p.published.Load() }

// Uploads is the number of objects written since Start.
func (p *Publisher) Uploads() uint64 { return p.uploads.Load() }

// Stopped is the error that stopped publishing for good (the bucket holds
// a checkpoint this log did not sign, or one of another tree), or nil.
func (p *Publisher) Stopped() error {
	if e := p.stoppedErr.Load(); e != nil {
		return *e
	}
	return nil
}

// errFatal marks the errors that stop publishing: retrying cannot help.
var errFatal = errors.New("publishing stopped")

func (p *Publisher) run(ctx context.Context) {
	defer close(p.done)
	backoff := time.Duration(0)
	for {
		wait := p.cfg.Interval
		if err := p.round(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, errFatal) {
				p.stoppedErr.Store(&err)
				p.cfg.Logger.Error("publish: stopped", "bucket", p.cfg.Bucket.String(), "err", err)
				return
			}
			p.errs.Add(1)
			backoff = min(max(2*backoff, p.cfg.MinBackoff), p.cfg.MaxBackoff)
			wait = backoff
			p.cfg.Logger.Warn("publish: round failed; retrying", "bucket", p.cfg.Bucket.String(), "in", wait, "err", err)
		} else {
			backoff = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// round brings the bucket up to the checkpoint to publish (Config.Checkpoint).
func (p *Publisher) round(ctx context.Context) error {
	if !p.resumed.Load() {
		if err := p.resume(ctx); err != nil {
			return err
		}
	}
	cp, size := p.cfg.Checkpoint()
	old := p.published.Load()
	if cp == nil || size == old && bytes.Equal(cp, p.cp) {
		return nil
	}
	if size < old {
		return fmt.Errorf("the checkpoint to publish (size %d) is behind the bucket's (size %d)", size, old)
	}
	var objs []tile.Tile
	for _, t := range tlog.NewTiles(tile.Height, int64(old), int64(size)) {
		objs = append(objs, tile.Tile{Level: uint8(t.L), Index: uint64(t.N), Width: t.W})
		if t.L == 0 {
			objs = append(objs, tile.Tile{Index: uint64(t.N), Width: t.W, Entries: true})
		}
	}
	if err := p.upload(ctx, objs); err != nil {
		return err
	}
	// Every tile and bundle of the tree of size is in the bucket.
	if err := p.cfg.Bucket.put(ctx, "checkpoint", cp, CacheShort, "text/plain; charset=utf-8"); err != nil {
		return err
	}
	p.uploads.Add(1)
	p.cp = cp
	p.published.Store(size)
	p.lastOK.Store(time.Now().UnixNano())
	clear(p.full)
	return nil
}

// upload writes objs, Parallel at a time, skipping the full ones already
// written; it returns the first error once every upload started has ended.
func (p *Publisher) upload(ctx context.Context, objs []tile.Tile) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, p.cfg.Parallel)
	var wg sync.WaitGroup
	var first error // guarded by p.fullMu
	for _, t := range objs {
		path := t.Path()
		full := t.Width == tile.Width
		p.fullMu.Lock()
		done := full && p.full[path]
		p.fullMu.Unlock()
		if done {
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := p.put(ctx, t, path, full)
			p.fullMu.Lock()
			defer p.fullMu.Unlock()
			switch {
			case err == nil && full:
				p.full[path] = true
			case err != nil && first == nil:
				first = err
				cancel()
			}
		}()
	}
	wg.Wait()
	p.fullMu.Lock()
	defer p.fullMu.Unlock()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

func (p *Publisher) put(ctx context.Context, t tile.Tile, path string, full bool) error {
	var data []byte
	var err error
	if t.Entries {
		data, err = p.cfg.Log.EntryBundle(t.Index, t.Width)
	} else {
		data, err = p.cfg.Log.Tile(t.Level, t.Index, t.Width)
	}
	if err != nil {
		return fmt.Errorf("reading %s from the log: %w", path, err)
	}
	cache := CacheShort
	if full {
		cache = CacheImmutable
	}
	if err := p.cfg.Bucket.put(ctx, path, data, cache, "application/octet-stream"); err != nil {
		return err
	}
	p.uploads.Add(1)
	return nil
}

// resume reads the bucket's checkpoint, if any, and checks that the log
// signed it for a prefix of its current tree.
func (p *Publisher) resume(ctx context.Context) error {
	cp, err := p.cfg.Bucket.get(ctx, "checkpoint")
	if errors.Is(err, fs.ErrNotExist) {
		p.resumed.Store(true) // an empty bucket: publish everything
		return nil
	}
	if err != nil {
		return err
	}
	c, err := verify.OpenCheckpoint(cp, p.cfg.Origin, p.cfg.VerifierKey)
	if err != nil {
		return fmt.Errorf("%w: the checkpoint in %s is not this log's: %v", errFatal, p.cfg.Bucket, err)
	}
	head := p.cfg.Log.Head()
	if c.Size > head.Size {
		// The log may be catching up (a restore); retry.
		return fmt.Errorf("the checkpoint in %s has size %d, the log only %d", p.cfg.Bucket, c.Size, head.Size)
	}
	if c.Size > 0 {
		proof, err := p.cfg.Log.ConsistencyProof(c.Size, head.Size)
		if err != nil {
			return fmt.Errorf("consistency proof %d..%d: %w", c.Size, head.Size, err)
		}
		tp := make(tlog.TreeProof, len(proof))
		for i, h := range proof {
			copy(tp[i][:], h)
		}
		if err := tlog.CheckTree(tp, int64(head.Size), tlog.Hash(head.Root), int64(c.Size), tlog.Hash(c.Hash)); err != nil {
			return fmt.Errorf("%w: the checkpoint in %s (size %d) is not a prefix of the log's tree (size %d): %v", errFatal, p.cfg.Bucket, c.Size, head.Size, err)
		}
	}
	p.cp = cp
	p.published.Store(c.Size)
	p.resumed.Store(true)
	p.cfg.Logger.Info("publish: resuming", "bucket", p.cfg.Bucket.String(), "published", c.Size, "size", head.Size)
	return nil
}

// Prometheus metrics of the publisher (see Collect).
var (
	descLagEntries = prometheus.NewDesc("fja_publish_lag_entries", "Entries in the log not yet covered by the checkpoint in the publish bucket.", nil, nil)
	descLagSeconds = prometheus.NewDesc("fja_publish_lag_seconds", "Seconds since the last checkpoint was written to the publish bucket while the log has entries it does not cover; 0 when it covers them all.", nil, nil)
	descPublished  = prometheus.NewDesc("fja_published_size", "Size of the tree whose checkpoint the publish bucket holds.", nil, nil)
	descUploads    = prometheus.NewDesc("fja_publish_uploads_total", "Objects (tiles, entry bundles, checkpoints) written to the publish bucket since start.", nil, nil)
	descErrors     = prometheus.NewDesc("fja_publish_errors_total", "Failed publishing rounds (each retried with backoff) since start.", nil, nil)
	descStopped    = prometheus.NewDesc("fja_publish_stopped", "1 once publishing stopped for good: the bucket holds a checkpoint that is not this log's.", nil, nil)
)

// Describe implements prometheus.Collector.
func (p *Publisher) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLagEntries, descLagSeconds, descPublished, descUploads, descErrors, descStopped} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (p *Publisher) Collect(ch chan<- prometheus.Metric) {
	size, pub := p.cfg.Log.Head().Size, p.published.Load()
	lag, secs, stopped := float64(0), float64(0), float64(0)
	if size > pub {
		lag = float64(size - pub)
		secs = time.Since(time.Unix(0, p.lastOK.Load())).Seconds()
	}
	if p.Stopped() != nil {
		stopped = 1
	}
	ch <- prometheus.MustNewConstMetric(descLagEntries, prometheus.GaugeValue, lag)
	ch <- prometheus.MustNewConstMetric(descLagSeconds, prometheus.GaugeValue, secs)
	ch <- prometheus.MustNewConstMetric(descPublished, prometheus.GaugeValue, float64(pub))
	ch <- prometheus.MustNewConstMetric(descUploads, prometheus.CounterValue, float64(p.uploads.Load()))
	ch <- prometheus.MustNewConstMetric(descErrors, prometheus.CounterValue, float64(p.errs.Load()))
	ch <- prometheus.MustNewConstMetric(descStopped, prometheus.GaugeValue, stopped)
}
