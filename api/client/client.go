// Package client is the Go client of the FJA ledger's HTTP API (DESIGN.md
// §5, §6): typed requests and answers (the wire types of verify/record),
// receipts verified against a pinned verifier key, retries that never
// lose a contest token, and a Batcher that groups single appends into
// POST /v1/decisions:batch calls.
//
// Contracts:
//
//   - Verification is on by default. New refuses a Config without a
//     VerifierKey unless InsecureSkipVerify is set. With a key, every
//     receipt the client returns has been verified offline
//     (verify.VerifyReceipt: checkpoint signature, inclusion proof) and its
//     entry checked to be the record sent; a receipt that fails is an
//     error wrapping ErrReceipt, never returned as a success.
//   - Retries. 429 and 503 answers are retried (the server did not act on
//     them) up to Config.MaxTries, honouring Retry-After, else with a
//     doubling backoff; every wait ends with the context. Network errors
//     (a connection refused, reset or cut before the answer arrived) are
//     retried only for reads and for appends of decisions and
//     constitutions: the server deduplicates those by record id, so a
//     resend returns the first receipt and, for a decision within the
//     server's delivery window (24h by default), the same contest token
//     again. A retry after a lost answer therefore recovers the token.
//     Contests and resolutions are not resent after a network error.
//   - Every method takes a context; nothing outlives it, except a
//     Batcher's batch calls, which are no one caller's and run until
//     answered (Close waits for them).
//
// The package imports nothing from the server: producers and auditors can
// use it without pulling in storage or the HTTP framework. It is also the
// I/O of a third-party monitor (verify/monitor): Client.MonitorSource
// reads the log's checkpoint, consistency proofs and tiles, GossipSource
// gossiped checkpoints, over an HTTP client that never follows redirects
// (NewHTTPClient); NewMonitor puts them together.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
)

// Config configures a Client.
type Config struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:8080.
	URL string
	// Token is the bearer token sent with every request ("" for none).
	Token string
	// VerifierKey is the log's note verifier key (vkey), pinned: every
	// receipt and checkpoint MUST carry a valid signature by it. OtherKeys
	// are further known keys (the log's KMS-held second key, witnesses):
	// a signature by one of them that does not verify fails the check
	// (verify.OpenCheckpoint).
	VerifierKey string
	OtherKeys   []string
	// Origin, when set, is the checkpoint origin receipts MUST carry; by
	// default it is the origin named by VerifierKey.
	Origin string
	// InsecureSkipVerify turns receipt verification off: receipts are
	// returned as the server sent them, unchecked. It must be set
	// explicitly; a Config with neither a key nor it is invalid.
	InsecureSkipVerify bool
	// HTTPClient does the I/O (http.DefaultClient when nil): a test, a
	// proxy or a browser transport plugs in here.
	HTTPClient *http.Client
	// MaxTries bounds the tries of one request (default 5).
	MaxTries int
	// TryTimeout bounds one try (default 2 minutes).
	TryTimeout time.Duration
	// MaxBackoff caps the wait between tries (default 8s; a server's
	// Retry-After is honoured up to 30s).
	MaxBackoff time.Duration
}

// Validate reports a Config that cannot work.
func (c *Config) Validate() error {
	if c.URL == "" {
		return errors.New("client: URL is required (the ledger's base URL)")
	}
	if !strings.HasPrefix(c.URL, "http://") && !strings.HasPrefix(c.URL, "https://") {
		return fmt.Errorf("client: URL %q is not an http:// or https:// URL", c.URL)
	}
	if c.VerifierKey == "" && !c.InsecureSkipVerify {
		return errors.New("client: VerifierKey is required to verify receipts (from GET /v1/log or the operator); set InsecureSkipVerify to go without")
	}
	if c.MaxTries < 0 {
		return fmt.Errorf("client: MaxTries is %d, want >= 0 (0 for the default)", c.MaxTries)
	}
	return nil
}

// ReadKey is a verifier key given as vkey text (name+hash+key) or as the
// name of a file holding one (anything without a '+').
func ReadKey(k string) (string, error) {
	if strings.Contains(k, "+") {
		return k, nil
	}
	b, err := os.ReadFile(k)
	if err != nil {
		return "", fmt.Errorf("%q is neither a vkey nor a readable file: %v", k, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Keys are a log's verifier keys as a person names them (flags, a
// config): Key the log's, Others further known keys (the log's second key,
// witnesses), and the checkpoint Origin they must verify.
type Keys struct {
	Origin, Key string
	Others      []string
}

// ReadKeys reads keys, each as ReadKey does (the first is the log's), and
// defaults origin to the name of the log's key. It needs one key at least.
func ReadKeys(keys []string, origin string) (*Keys, error) {
	if len(keys) == 0 {
		return nil, errors.New("no verifier key given")
	}
	k := &Keys{Origin: origin}
	for i, s := range keys {
		v, err := ReadKey(s)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			k.Key = v
		} else {
			k.Others = append(k.Others, v)
		}
	}
	if k.Origin == "" {
		k.Origin, _, _ = strings.Cut(k.Key, "+")
	}
	return k, nil
}

// OpenCheckpoint opens a signed checkpoint note with the keys
// (verify.OpenCheckpoint: the origin, the log's signature, and no bad
// signature by another known key).
func (k *Keys) OpenCheckpoint(note []byte) (*verify.Checkpoint, error) {
	return verify.OpenCheckpoint(note, k.Origin, k.Key, k.Others...)
}

// Client talks to one ledger. It is safe for concurrent use.
type Client struct {
	cfg    Config
	base   string
	origin string
	hc     *http.Client
}

// New returns a client for cfg (see Config.Validate).
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, base: strings.TrimRight(cfg.URL, "/"), hc: cfg.HTTPClient, origin: cfg.Origin}
	if c.hc == nil {
		c.hc = http.DefaultClient
	}
	if c.cfg.MaxTries == 0 {
		c.cfg.MaxTries = 5
	}
	if c.cfg.TryTimeout == 0 {
		c.cfg.TryTimeout = 2 * time.Minute
	}
	if c.cfg.MaxBackoff == 0 {
		c.cfg.MaxBackoff = 8 * time.Second
	}
	if c.origin == "" && cfg.VerifierKey != "" {
		c.origin, _, _ = strings.Cut(cfg.VerifierKey, "+")
	}
	return c, nil
}

// Verifies reports whether the client verifies receipts.
func (c *Client) Verifies() bool { return c.cfg.VerifierKey != "" && !c.cfg.InsecureSkipVerify }

// URL is the server's base URL, without a trailing slash.
func (c *Client) URL() string { return c.base }

// Error is an error answer of the server ({"error":{...}} with its HTTP
// status), or a client-side failure of one record (Status 0).
type Error struct {
	Status int `json:"-"`
	record.ErrorBody
}

// newError is a client-side failure: code and message.
func newError(code, msg string) *Error {
	return &Error{ErrorBody: record.ErrorBody{Code: code, Message: msg}}
}

// Error says each thing once: the message (less a leading repeat of the
// code in words, as in "not found: ..."), then the HTTP status, the code
// and the field unless the message names it: "no contest con-1 (HTTP 404
// not_found)".
func (e *Error) Error() string {
	msg := strings.TrimPrefix(e.Message, strings.ReplaceAll(e.Code, "_", " ")+": ")
	tag := e.Code
	if e.Status != 0 {
		tag = "HTTP " + strconv.Itoa(e.Status) + " " + tag
	}
	if e.Field != "" && !strings.Contains(msg, e.Field) {
		tag += ", field " + e.Field
	}
	return msg + " (" + tag + ")"
}

// IsAuth reports whether err is an authentication or authorization
// failure (401, 403): the same token fails for every request.
func IsAuth(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden)
}

// Retryable reports whether an error code of a batch result means the
// server did not act on the record (its sequencer pushed back).
func Retryable(code string) bool { return code == "overloaded" || code == "shutting_down" }

// Do sends one request and returns the status and body of a 2xx answer,
// or an *Error for an error answer (after the retries of the package
// contract), or the context's or the network's error. hdr may be nil.
// Paths are relative to the base URL ("/v1/log").
func (c *Client) Do(ctx context.Context, method, path string, body []byte, hdr http.Header) (int, []byte, error) {
	resend := method == http.MethodGet || method == http.MethodHead || resendable(path)
	for try := 1; ; try++ {
		code, b, h, err := c.once(ctx, method, path, body, hdr)
		if err != nil {
			if ctx.Err() != nil {
				return 0, nil, ctx.Err()
			}
			var re *RedirectError
			if !resend || try >= c.cfg.MaxTries || errors.As(err, &re) {
				return 0, nil, err
			}
			if err := sleep(ctx, c.backoff(try, "")); err != nil {
				return 0, nil, err
			}
			continue
		}
		if code >= 200 && code < 300 {
			return code, b, nil
		}
		e := &Error{Status: code}
		var w struct {
			Error *record.ErrorBody `json:"error"`
		}
		if json.Unmarshal(b, &w) == nil && w.Error != nil && w.Error.Code != "" {
			e.ErrorBody = *w.Error
		} else {
			e.Code, e.Message = "http_"+strconv.Itoa(code), http.StatusText(code)
			if t := Clip(b); t != "" {
				e.Message += ": " + t
			}
		}
		if (code != http.StatusTooManyRequests && code != http.StatusServiceUnavailable) || try >= c.cfg.MaxTries {
			return code, b, e
		}
		if err := sleep(ctx, c.backoff(try, h.Get("Retry-After"))); err != nil {
			return 0, nil, err
		}
	}
}

// resendable reports whether a POST to path may be sent again after its
// answer was lost: the server deduplicates these appends by record id and
// answers a repeat with the first receipt (and a decision's contest token
// within the delivery window).
func resendable(path string) bool {
	switch path {
	case "/v1/decisions", "/v1/decisions:batch", "/v1/constitutions":
		return true
	}
	return false
}

func (c *Client) once(ctx context.Context, method, path string, body []byte, hdr http.Header) (int, []byte, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.TryTimeout)
	defer cancel()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return 0, nil, nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, unwrapRedirect(err)
	}
	defer resp.Body.Close()
	limit := answerLimit(path)
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return 0, nil, nil, err
	}
	if int64(len(b)) > limit {
		return 0, nil, nil, fmt.Errorf("%s %s: the answer exceeds %d bytes, the most this client reads from that path", method, path, limit)
	}
	return resp.StatusCode, b, resp.Header, nil
}

// Bounds of what the client reads from one answer: a log that answers
// with an endless body (by fault or to exhaust a monitor's memory) gets an
// error, not the client's memory. The largest legitimate answers are query
// pages of 1,000 records with their proofs (a few MB).
const (
	maxAnswerBytes     = 64 << 20
	maxCheckpointBytes = 1 << 20
)

// answerLimit is the most the client reads from an answer to path.
func answerLimit(path string) int64 {
	if path == "/checkpoint" {
		return maxCheckpointBytes
	}
	return maxAnswerBytes
}

// backoff is the wait before try+1: Retry-After when given (capped at
// 30s), else 250ms doubling up to MaxBackoff.
func (c *Client) backoff(try int, retryAfter string) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(retryAfter)); err == nil && s >= 0 {
		return min(time.Duration(s)*time.Second, 30*time.Second)
	}
	if t, err := http.ParseTime(retryAfter); err == nil {
		return min(max(time.Until(t), 0), 30*time.Second)
	}
	return min(250*time.Millisecond<<(try-1), c.cfg.MaxBackoff)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Clip is a short one-line excerpt of a response body for messages.
func Clip(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// getJSON GETs path and decodes the answer into v.
func (c *Client) getJSON(ctx context.Context, path string, hdr http.Header, v any) ([]byte, error) {
	_, b, err := c.Do(ctx, http.MethodGet, path, nil, hdr)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return nil, fmt.Errorf("GET %s: the answer is not the JSON expected: %v: %s", path, err, Clip(b))
	}
	return b, nil
}

// openCheckpoint verifies a signed checkpoint with the pinned key.
func (c *Client) openCheckpoint(text string) (*verify.Checkpoint, error) {
	cp, err := verify.OpenCheckpoint([]byte(text), c.origin, c.cfg.VerifierKey, c.cfg.OtherKeys...)
	if err != nil {
		return nil, fmt.Errorf("%w: the checkpoint does NOT verify with the pinned key: %v", ErrReceipt, err)
	}
	return cp, nil
}
