package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/fjaledger/fja/verify/tile"
)

// Client is the part of a log's read API a monitor uses. Nothing it
// returns is trusted: checkpoints are opened with the key, proofs and
// tiles verified.
type Client interface {
	// Checkpoint returns the log's latest signed checkpoint (GET /checkpoint).
	Checkpoint(ctx context.Context) ([]byte, error)
	// ConsistencyProof returns the RFC 6962 consistency proof between two
	// tree sizes (GET /v1/proofs/consistency).
	ConsistencyProof(ctx context.Context, from, to uint64) ([][]byte, error)
	// Fetcher fetches tiles and entry bundles (C2SP tlog-tiles).
	Fetcher() tile.Fetcher
}

// maxNoteBytes bounds a checkpoint or gossip body.
const maxNoteBytes = 1 << 20

// HTTPClient is a Client for a ledger server at URL.
type HTTPClient struct {
	URL string
	HC  *http.Client // nil: http.DefaultClient
}

func (c *HTTPClient) hc() *http.Client {
	if c.HC == nil {
		return http.DefaultClient
	}
	return c.HC
}

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
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("GET %s: not a consistency proof: %w", u, err)
	}
	if p.From != from || p.To != to {
		return nil, fmt.Errorf("GET %s: answered a proof from %d to %d", u, p.From, p.To)
	}
	return p.Hashes, nil
}

// Fetcher implements Client.
func (c *HTTPClient) Fetcher() tile.Fetcher { return tile.HTTPFetcher(c.base(), c.hc()) }

func httpGet(ctx context.Context, hc *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
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

// GossipSource reads a file, or GETs an http:// or https:// URL. Either
// holds signed checkpoints in the format ParseCheckpoints reads.
func GossipSource(nameOrURL string, hc *http.Client) Source {
	if strings.HasPrefix(nameOrURL, "http://") || strings.HasPrefix(nameOrURL, "https://") {
		if hc == nil {
			hc = http.DefaultClient
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
