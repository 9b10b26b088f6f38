package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/fjaledger/fja/verify/monitor"
	"github.com/fjaledger/fja/verify/tile"
)

// Default timeouts of NewHTTPClient.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultHeaderTimeout  = 30 * time.Second
	DefaultRequestTimeout = 2 * time.Minute
)

// Timeouts bound each request of an HTTP client from NewHTTPClient. A
// zero field takes its default.
type Timeouts struct {
	// Connect bounds the TCP connect, and the TLS handshake after it
	// (default DefaultConnectTimeout).
	Connect time.Duration
	// Header bounds the wait for the response header once the request is
	// written (default DefaultHeaderTimeout).
	Header time.Duration
	// Request bounds the whole request, reading the body included
	// (default DefaultRequestTimeout).
	Request time.Duration
}

// NewHTTPClient returns the HTTP client a monitor should use (as
// Config.HTTPClient, and for gossip): every request bounded by t, and
// redirects never followed. A log, a tile server or a gossip source that
// redirects gets a *RedirectError naming the Location: a monitor reads
// what the URL it was given serves, not what that URL points it to (a
// redirect could silently swap the log it follows for another view of it).
func NewHTTPClient(t Timeouts) *http.Client {
	connect := orDefault(t.Connect, DefaultConnectTimeout)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = connect
	tr.ResponseHeaderTimeout = orDefault(t.Header, DefaultHeaderTimeout)
	return &http.Client{Transport: tr, Timeout: orDefault(t.Request, DefaultRequestTimeout), CheckRedirect: refuseRedirect}
}

// orDefault is d if positive, else def.
func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// RedirectError is a redirect a client from NewHTTPClient refused to
// follow. It is never retried.
type RedirectError struct {
	From     string // the URL requested
	Status   string // e.g. "302 Found"
	Location string // the Location header, verbatim
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("%s answered %s with Location %q; a monitor does not follow redirects: give it the URL that serves the log", e.From, e.Status, e.Location)
}

func refuseRedirect(req *http.Request, via []*http.Request) error {
	e := &RedirectError{From: via[len(via)-1].URL.String(), Location: req.URL.String()}
	if r := req.Response; r != nil {
		e.Status = r.Status
		if loc := r.Header.Get("Location"); loc != "" {
			e.Location = loc
		}
	}
	return e
}

// unwrapRedirect returns the *RedirectError inside err, if any, instead of
// the *url.Error around it (whose URL is the Location, as if it had been
// asked).
func unwrapRedirect(err error) error {
	var re *RedirectError
	if errors.As(err, &re) {
		return re
	}
	return err
}

// MonitorSource is the client as the source a verify/monitor.Monitor
// reads the log from: the signed checkpoint verbatim (the monitor opens
// it), consistency proofs, and the C2SP tlog-tiles tiles and entry
// bundles. Nothing it returns is trusted by the monitor. Give the client
// MaxTries 1 and an HTTPClient from NewHTTPClient: a failed request ends
// the monitor's round, which is retried as a whole.
func (c *Client) MonitorSource() monitor.Client { return monitorSource{c} }

type monitorSource struct{ c *Client }

// NewMonitor is a third-party monitor of the log at url (origin, verifier
// key) whose I/O is this package's: every request bounded by timeout (the
// connect and the response header by at most DefaultConnectTimeout and
// DefaultHeaderTimeout), redirects never followed (NewHTTPClient), and
// each of gossip read as GossipSource. The log is read with no retries (a
// failed round is retried as a whole), no bearer token and no receipt
// verification: the monitor verifies what it reads. With tilesOnly, url is
// a plain tlog-tiles log (no /v1 API, e.g. a bucket of ledgerd --publish)
// read through TilesMonitorSource.
func NewMonitor(url, origin, key string, timeout time.Duration, gossip []string, tilesOnly bool) (*monitor.Monitor, error) {
	hc := NewHTTPClient(Timeouts{Request: timeout, Connect: min(timeout, DefaultConnectTimeout), Header: min(timeout, DefaultHeaderTimeout)})
	c, err := New(Config{URL: url, InsecureSkipVerify: true, HTTPClient: hc, MaxTries: 1})
	if err != nil {
		return nil, err
	}
	m := &monitor.Monitor{Origin: origin, Key: key, Client: c.MonitorSource()}
	if tilesOnly {
		m.Client = c.TilesMonitorSource(origin, key)
	}
	for _, g := range gossip {
		m.Gossip = append(m.Gossip, GossipSource(g, hc))
	}
	return m, nil
}

func (s monitorSource) Checkpoint(ctx context.Context) ([]byte, error) {
	_, b, err := s.c.Do(ctx, http.MethodGet, "/checkpoint", nil, nil)
	if err != nil {
		return nil, fmt.Errorf("GET /checkpoint: %w", err)
	}
	return b, nil
}

func (s monitorSource) ConsistencyProof(ctx context.Context, from, to uint64) ([][]byte, error) {
	proof, err := s.c.Consistency(ctx, from, to)
	return proof, tilesOnlyHint(err)
}

func (s monitorSource) Fetcher() tile.Fetcher { return s.c.Tiles() }

// Tiles fetches the log's public tiles and entry bundles (GET
// /tile/..., C2SP tlog-tiles) through the client's HTTP client, with no
// bearer token. Nothing is authenticated here: tile.Reader does that
// against a checkpoint.
func (c *Client) Tiles() tile.Fetcher {
	f := tile.HTTPFetcher(c.base, c.hc)
	return func(ctx context.Context, path string) ([]byte, error) {
		b, err := f(ctx, path)
		return b, unwrapRedirect(err)
	}
}

// maxGossipBytes bounds a gossip body.
const maxGossipBytes = 1 << 20

// GossipSource reads checkpoints gossiped to a monitor (in the format
// monitor.ParseCheckpoints reads) from a file (monitor.FileSource), or
// GETs them from an
// http:// or https:// URL with hc (another monitor's copy, a witness), a
// client from NewHTTPClient. No bearer token is sent: the source is not
// the ledger.
func GossipSource(nameOrURL string, hc *http.Client) monitor.Source {
	if !strings.HasPrefix(nameOrURL, "http://") && !strings.HasPrefix(nameOrURL, "https://") {
		return monitor.FileSource(nameOrURL)
	}
	return monitor.Source{Name: nameOrURL, Read: func(ctx context.Context) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, nameOrURL, nil)
		if err != nil {
			return nil, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, unwrapRedirect(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxGossipBytes+1))
		switch {
		case err != nil:
			return nil, fmt.Errorf("GET %s: %w", nameOrURL, err)
		case len(b) > maxGossipBytes:
			return nil, fmt.Errorf("GET %s: body exceeds %d bytes", nameOrURL, maxGossipBytes)
		case resp.StatusCode != http.StatusOK:
			return nil, fmt.Errorf("GET %s: %s: %s", nameOrURL, resp.Status, Clip(b))
		}
		return b, nil
	}}
}
