package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/fjaledger/fja/verify/tile"
)

// Client is the part of a log's read API a monitor uses. Nothing it
// returns is trusted: checkpoints are opened with the key, proofs and
// tiles verified.
type Client interface {
	// Checkpoint returns the log's latest signed checkpoint (GET /checkpoint).
	Checkpoint(ctx context.Context) ([]byte, error)
	// ConsistencyProof returns the RFC 6962 consistency proof between two
	// tree sizes (GET /v1/proofs/consistency). When the log answered but
	// its answer is not such a proof, the error wraps a *MalformedProofError
	// holding the answer: that is the log's own statement, evidence of
	// misbehavior. Any other error (network, timeout, HTTP status) is a
	// failure to ask, evidence of nothing.
	ConsistencyProof(ctx context.Context, from, to uint64) ([][]byte, error)
	// Fetcher fetches tiles and entry bundles (C2SP tlog-tiles).
	Fetcher() tile.Fetcher
}

// maxNoteBytes bounds a checkpoint or gossip body.
const maxNoteBytes = 1 << 20

// Default timeouts of NewHTTPClient.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultHeaderTimeout  = 30 * time.Second
	DefaultRequestTimeout = 2 * time.Minute
)

// Timeouts bound each request of a monitor's HTTP client. A zero field
// takes its default.
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

// NewHTTPClient returns the HTTP client a monitor should use: every
// request bounded by t, and redirects never followed. A log, a tile server
// or a gossip source that redirects gets an error naming the Location: a
// monitor reads what the URL it was given serves, not what that URL points
// it to (a redirect could silently swap the log it follows for another
// view of it).
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

// RedirectError is a redirect a monitor's client refused to follow.
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

// defaultHTTPClient is the client of an HTTPClient or GossipSource given none.
var defaultHTTPClient = NewHTTPClient(Timeouts{})

// HTTPClient is a Client for a ledger server at URL.
type HTTPClient struct {
	URL string
	// HC is the HTTP client; nil means one from NewHTTPClient with the
	// default timeouts.
	HC *http.Client
}

func (c *HTTPClient) hc() *http.Client {
	if c.HC == nil {
		return defaultHTTPClient
	}
	return c.HC
}

// MalformedProofError is an answer to a consistency proof request that the
// log served with 200 OK but that is not the proof asked for: not the JSON
// of DESIGN.md §5, or a proof between other sizes. Body is the answer
// verbatim (at most 1 MiB), for the evidence.
type MalformedProofError struct {
	URL      string
	From, To uint64
	Body     []byte
	Err      error
}

func (e *MalformedProofError) Error() string {
	return fmt.Sprintf("GET %s: the log answered 200 OK with something that is not the consistency proof from %d to %d: %v", e.URL, e.From, e.To, e.Err)
}

func (e *MalformedProofError) Unwrap() error { return e.Err }

func (c *HTTPClient) base() string { return strings.TrimRight(c.URL, "/") }

// Checkpoint implements Client.
func (c *HTTPClient) Checkpoint(ctx context.Context) ([]byte, error) {
	return httpGet(ctx, c.hc(), c.base()+"/checkpoint")
}

// ConsistencyProof implements Client.
func (c *HTTPClient) ConsistencyProof(ctx context.Context, from, to uint64) ([][]byte, error) {
	u := c.base() + "/v1/proofs/consistency?" + url.Values{"from": {fmt.Sprint(from)}, "to": {fmt.Sprint(to)}}.Encode()
	b, err := httpGet(ctx, c.hc(), u)
	if err != nil {
		return nil, err
	}
	var p struct {
		From   uint64   `json:"from"`
		To     uint64   `json:"to"`
		Hashes [][]byte `json:"hashes"`
	}
	malformed := func(err error) error { return &MalformedProofError{URL: u, From: from, To: to, Body: b, Err: err} }
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, malformed(fmt.Errorf("want JSON {\"from\",\"to\",\"hashes\":[base64...]}: %w", err))
	}
	if p.From != from || p.To != to {
		return nil, malformed(fmt.Errorf("it is a proof from %d to %d", p.From, p.To))
	}
	return p.Hashes, nil
}

// Fetcher implements Client.
func (c *HTTPClient) Fetcher() tile.Fetcher {
	f := tile.HTTPFetcher(c.base(), c.hc())
	return func(ctx context.Context, path string) ([]byte, error) {
		b, err := f(ctx, path)
		return b, unwrapRedirect(err)
	}
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

func httpGet(ctx context.Context, hc *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, unwrapRedirect(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 3 {
		// A client whose CheckRedirect answers http.ErrUseLastResponse.
		return nil, &RedirectError{From: u, Status: resp.Status, Location: resp.Header.Get("Location")}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxNoteBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if len(b) > maxNoteBytes {
		return nil, fmt.Errorf("GET %s: body exceeds %d bytes", u, maxNoteBytes)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", u, resp.Status, bytes.TrimSpace(b[:min(len(b), 300)]))
	}
	return b, nil
}

// Source is a place checkpoints are gossiped from: another monitor's
// copy, a witness, a file kept by hand.
type Source struct {
	Name string // shown in reports and evidence
	Read func(ctx context.Context) ([]byte, error)
}

// GossipSource reads a file, or GETs an http:// or https:// URL with hc
// (nil: one from NewHTTPClient with the default timeouts). Either holds
// signed checkpoints in the format ParseCheckpoints reads.
func GossipSource(nameOrURL string, hc *http.Client) Source {
	if strings.HasPrefix(nameOrURL, "http://") || strings.HasPrefix(nameOrURL, "https://") {
		if hc == nil {
			hc = defaultHTTPClient
		}
		return Source{Name: nameOrURL, Read: func(ctx context.Context) ([]byte, error) { return httpGet(ctx, hc, nameOrURL) }}
	}
	return Source{Name: nameOrURL, Read: func(context.Context) ([]byte, error) {
		f, err := os.Open(nameOrURL)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return io.ReadAll(io.LimitReader(f, 64<<20))
	}}
}

// ParseCheckpoints splits a gossip file into signed notes. The format: one
// or more signed checkpoints, each byte for byte as GET /checkpoint serves
// it, separated by one or more blank lines. A note is its text lines, the
// one blank line that ends its text, and the signature lines after it
// ("— name base64"); the next blank line, or the next line that is not a
// signature line, ends it. Lines starting with '#' between notes are
// comments. Nothing is verified here.
func ParseCheckpoints(data []byte) [][]byte {
	var (
		notes [][]byte
		cur   []string
		sigs  int  // signature lines of cur
		inSig bool // past cur's blank line
	)
	flush := func() {
		if len(cur) > 0 {
			notes = append(notes, []byte(strings.Join(cur, "\n")+"\n"))
		}
		cur, sigs, inSig = nil, 0, false
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		switch {
		case len(cur) == 0 && (line == "" || strings.HasPrefix(line, "#")):
			// between notes
		case line == "" && !inSig:
			cur = append(cur, line)
			inSig = true
		case line == "":
			flush()
		case inSig && !strings.HasPrefix(line, "\u2014 ") && sigs > 0:
			flush()
			if !strings.HasPrefix(line, "#") {
				cur = append(cur, line)
			}
		default:
			if inSig {
				sigs++
			}
			cur = append(cur, line)
		}
	}
	flush()
	return notes
}
