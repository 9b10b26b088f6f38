// Package witness gets the log's checkpoints cosigned by C2SP tlog-witness
// witnesses (https://c2sp.org/tlog-witness) named in a C2SP/Sigsum witness
// policy, and keeps the latest checkpoint whose cosignatures satisfy it.
//
// A Cosigner watches the log head. For each new head it runs a round: it
// submits the checkpoint to every witness's add-checkpoint endpoint with
// "old <size>" (the size that witness last cosigned, 0 at first) and the
// consistency proof from that size, handles 409 Conflict (the witness
// tells its size; the request is resent with the right proof), verifies
// each returned cosignature with that witness's key, and publishes the
// checkpoint with the log's signature and every cosignature gathered once
// they satisfy the policy. State is in memory only: after a restart the
// first round learns each witness's size from its 409 and gets cosigned
// again.
//
// HTTP requests go only to the add-checkpoint URLs of the policy, never
// follow redirects, and each has a timeout.
package witness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	fwitness "github.com/transparency-dev/formats/witness"
	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/ledger"
)

// Log is what the Cosigner needs of the log (a *ledger.Log).
type Log interface {
	Head() ledger.Head
	ConsistencyProof(from, to uint64) ([][]byte, error)
}

// Config configures a Cosigner.
type Config struct {
	// Log is the log whose checkpoints are cosigned.
	Log Log
	// Policy is the parsed witness policy (formats/witness.ParsePolicy).
	Policy fwitness.Group
	// Client sends the requests (default: an http.Client that never
	// follows redirects). Its Timeout, if any, adds to RequestTimeout.
	Client *http.Client
	// Logger (default slog.Default()).
	Logger *slog.Logger
	// Poll is how often the head is checked (default 100 ms).
	Poll time.Duration
	// RequestTimeout bounds one add-checkpoint request (default 10 s).
	RequestTimeout time.Duration
	// MinBackoff and MaxBackoff bound how long a failing witness is left
	// out of rounds (default 250 ms, doubling up to 30 s).
	MinBackoff, MaxBackoff time.Duration
}

// ErrClosed is returned by WaitCosigned once the Cosigner has stopped.
var ErrClosed = errors.New("witness: cosigner stopped")

// Cosigner gets checkpoints cosigned. Start it with Start; stop it with Close.
type Cosigner struct {
	cfg       Config
	witnesses []*peer

	mu      sync.Mutex
	best    *cosigned     // latest checkpoint that satisfies the policy
	changed chan struct{} // closed and replaced whenever best changes
	stopped bool

	cancel context.CancelFunc
	done   chan struct{}
}

// peer is one witness and what this log knows of it.
type peer struct {
	url      string
	verifier note.Verifier
	// Guarded by the round (one goroutine at a time).
	size      uint64 // size the witness last cosigned, as far as we know
	known     bool   // size was learnt (a 200 or a 409), not assumed
	failures  int
	retryAt   time.Time
	lastError string
}

// cosigned is a log-signed checkpoint and the witness cosignature lines
// gathered for it, by witness URL.
type cosigned struct {
	size uint64
	cp   []byte
	sigs map[string][]byte
	raw  []byte // cp with sigs appended, in URL order
}

func (c *cosigned) assemble() {
	urls := make([]string, 0, len(c.sigs))
	for u := range c.sigs {
		urls = append(urls, u)
	}
	sort.Strings(urls)
	b := bytes.Clone(c.cp)
	for _, u := range urls {
		b = append(b, c.sigs[u]...)
	}
	c.raw = b
}

// New makes a Cosigner; it does nothing until Start.
func New(cfg Config) (*Cosigner, error) {
	if cfg.Log == nil {
		return nil, errors.New("witness: Config.Log is nil")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 100 * time.Millisecond
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 250 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(30*time.Second, cfg.MinBackoff)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	// Never leave the policy's URLs.
	cl := *cfg.Client
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cfg.Client = &cl

	c := &Cosigner{cfg: cfg, changed: make(chan struct{}), done: make(chan struct{})}
	eps := cfg.Policy.Endpoints()
	urls := make([]string, 0, len(eps))
	for u := range eps {
		urls = append(urls, u)
	}
	sort.Strings(urls)
	for _, u := range urls {
		if eps[u] == nil {
			return nil, fmt.Errorf("witness: no verifier for %s", u)
		}
		c.witnesses = append(c.witnesses, &peer{url: u, verifier: eps[u]})
	}
	return c, nil
}

// Start runs the Cosigner in the background until Close.
func (c *Cosigner) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go func() {
		defer close(c.done)
		c.run(ctx)
	}()
}

// Close stops the Cosigner and waits for requests in flight to end.
func (c *Cosigner) Close() {
	if c.cancel == nil {
		return
	}
	c.cancel()
	<-c.done
	c.mu.Lock()
	if !c.stopped {
		c.stopped = true
		close(c.changed)
	}
	c.mu.Unlock()
}

// Latest returns the latest checkpoint that satisfies the policy, with the
// log's signatures and every cosignature gathered for it, and its size; nil
// and 0 if there is none yet.
func (c *Cosigner) Latest() (checkpoint []byte, size uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.best == nil {
		return nil, 0
	}
	return bytes.Clone(c.best.raw), c.best.size
}

// WaitCosigned returns once a checkpoint of at least size satisfies the
// policy, with that checkpoint and its size (see Latest); or ctx's error,
// or ErrClosed.
func (c *Cosigner) WaitCosigned(ctx context.Context, size uint64) ([]byte, uint64, error) {
	for {
		c.mu.Lock()
		if c.best != nil && c.best.size >= size {
			cp, s := bytes.Clone(c.best.raw), c.best.size
			c.mu.Unlock()
			return cp, s, nil
		}
		if c.stopped {
			c.mu.Unlock()
			return nil, 0, ErrClosed
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
}

// publish makes e the best checkpoint if it satisfies the policy and is
// not older than the current one.
func (c *Cosigner) publish(e *cosigned) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.assemble()
	if !c.cfg.Policy.Satisfied(e.raw) {
		return false
	}
	if c.best != nil && c.best.size > e.size {
		return false
	}
	c.best = &cosigned{size: e.size, cp: e.cp, sigs: e.sigs, raw: e.raw}
	if !c.stopped {
		close(c.changed)
		c.changed = make(chan struct{})
	}
	return true
}

func (c *Cosigner) run(ctx context.Context) {
	t := time.NewTicker(c.cfg.Poll)
	defer t.Stop()
	var last *cosigned // the checkpoint of the last round
	for {
		head := c.cfg.Log.Head()
		c.mu.Lock()
		bestSize := uint64(0)
		haveBest := c.best != nil
		if haveBest {
			bestSize = c.best.size
		}
		c.mu.Unlock()
		// A round is due for a new head, or to retry a head whose
		// cosignatures do not satisfy the policy yet.
		if last == nil || head.Size > last.size || !haveBest || bestSize < head.Size || c.missing(last) {
			if last == nil || head.Size != last.size {
				last = &cosigned{size: head.Size, cp: head.Checkpoint, sigs: map[string][]byte{}}
			}
			c.round(ctx, last)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// missing reports whether some witness that is not backing off has not
// cosigned e.
func (c *Cosigner) missing(e *cosigned) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for _, w := range c.witnesses {
		if _, ok := e.sigs[w.url]; !ok && !now.Before(w.retryAt) {
			return true
		}
	}
	return false
}

// round submits e to every witness that has not cosigned it and is not
// backing off, concurrently, and publishes e as cosignatures arrive.
func (c *Cosigner) round(ctx context.Context, e *cosigned) {
	if len(c.witnesses) == 0 {
		c.publish(e) // a policy of "quorum none"
		return
	}
	now := time.Now()
	var wg sync.WaitGroup
	for _, w := range c.witnesses {
		c.mu.Lock()
		_, done := e.sigs[w.url]
		c.mu.Unlock()
		if done || now.Before(w.retryAt) {
			continue
		}
		wg.Add(1)
		go func(w *peer) {
			defer wg.Done()
			line, err := c.submit(ctx, w, e)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				w.failures++
				d := c.cfg.MinBackoff << min(w.failures-1, 16)
				if d > c.cfg.MaxBackoff || d <= 0 {
					d = c.cfg.MaxBackoff
				}
				w.retryAt = time.Now().Add(d)
				if msg := err.Error(); msg != w.lastError || w.failures == 1 {
					c.cfg.Logger.Warn("witness: add-checkpoint failed", "witness", w.url, "size", e.size, "err", err, "retry_in", d)
					w.lastError = msg
				}
				return
			}
			if w.failures > 0 {
				c.cfg.Logger.Info("witness: cosigning again", "witness", w.url, "size", e.size)
			}
			w.failures, w.retryAt, w.lastError = 0, time.Time{}, ""
			c.mu.Lock()
			e.sigs[w.url] = line
			n := len(e.sigs)
			c.mu.Unlock()
			if c.publish(e) {
				c.cfg.Logger.Debug("witness: checkpoint cosigned", "size", e.size, "cosignatures", n)
			}
		}(w)
	}
	wg.Wait()
}

// maxConflicts bounds the 409 answers followed within one submission.
const maxConflicts = 3

// errAhead: the witness has cosigned a larger tree than e; it can cosign
// only a later head.
var errAhead = errors.New("witness has cosigned a larger tree than this checkpoint")

// submit sends e to w, following 409 answers, and returns w's verified
// cosignature line(s) for e.
func (c *Cosigner) submit(ctx context.Context, w *peer, e *cosigned) ([]byte, error) {
	for range maxConflicts + 1 {
		if w.size > e.size {
			return nil, fmt.Errorf("%w (%d > %d)", errAhead, w.size, e.size)
		}
		var proof [][]byte
		if w.size > 0 && w.size < e.size {
			p, err := c.cfg.Log.ConsistencyProof(w.size, e.size)
			if err != nil {
				return nil, fmt.Errorf("consistency proof %d -> %d: %w", w.size, e.size, err)
			}
			proof = p
		}
		status, body, ctype, err := c.post(ctx, w.url, requestBody(w.size, proof, e.cp))
		if err != nil {
			return nil, err
		}
		switch status {
		case http.StatusOK:
			line, err := checkCosignature(e.cp, body, w.verifier)
			if err != nil {
				return nil, err
			}
			w.size, w.known = e.size, true
			return line, nil
		case http.StatusConflict:
			n, err := parseSize(body)
			if err != nil {
				return nil, fmt.Errorf("409 with content type %q: %w", ctype, err)
			}
			if n == w.size {
				return nil, fmt.Errorf("409 naming the size %d we sent", n)
			}
			c.cfg.Logger.Info("witness: size conflict, resubmitting", "witness", w.url, "sent_old", w.size, "witness_size", n, "size", e.size)
			w.size, w.known = n, true
			continue
		default:
			return nil, fmt.Errorf("%s: %s", http.StatusText(status), truncate(body))
		}
	}
	return nil, fmt.Errorf("gave up after %d size conflicts", maxConflicts)
}

// requestBody is a C2SP tlog-witness add-checkpoint request body.
func requestBody(old uint64, proof [][]byte, cp []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", old)
	for _, h := range proof {
		b.WriteString(base64.StdEncoding.EncodeToString(h))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.Write(cp)
	return b.Bytes()
}

const maxResponse = 64 << 10

func (c *Cosigner) post(ctx context.Context, url string, body []byte) (status int, resp []byte, ctype string, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, "", err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	r, err := c.cfg.Client.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer r.Body.Close()
	b, err := io.ReadAll(io.LimitReader(r.Body, maxResponse))
	if err != nil {
		return 0, nil, "", err
	}
	return r.StatusCode, b, r.Header.Get("Content-Type"), nil
}

// parseSize reads the body of a 409: the witness's size, in decimal, on
// one line (content type text/x.tlog.size).
func parseSize(body []byte) (uint64, error) {
	s := strings.TrimSuffix(string(body), "\n")
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Errorf("body %q is not a tree size", truncate(body))
	}
	return n, nil
}

// checkCosignature checks that body holds signature lines of which at
// least one is a valid cosignature of cp by v, and returns those lines.
func checkCosignature(cp, body []byte, v note.Verifier) ([]byte, error) {
	if len(body) == 0 || body[len(body)-1] != '\n' {
		return nil, fmt.Errorf("response %q is not newline-terminated signature lines", truncate(body))
	}
	var keep []byte
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "— ") {
			return nil, fmt.Errorf("response line %q is not a signature line", truncate([]byte(line)))
		}
		n, err := note.Open(append(bytes.Clone(cp), line+"\n"...), note.VerifierList(v))
		if err != nil || len(n.Sigs) != 1 {
			continue // another key of the witness, or not valid: ignore
		}
		keep = append(keep, line+"\n"...)
	}
	if keep == nil {
		return nil, fmt.Errorf("no valid cosignature by %s+%08x in the response", v.Name(), v.KeyHash())
	}
	return keep, nil
}

func truncate(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
