package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// requestTimeout bounds one request of a phase, as the Sender's
// http.Client does for every other request.
const requestTimeout = 5 * time.Minute

// A poster is one load-generating client: it sends POST requests to one
// path over a keep-alive HTTP/1.1 connection of its own, one at a time,
// and reads each whole answer with net/http's own response parser.
//
// It stands in for http.Client on a phase's hot path only. The client's
// transport (a connection pool, a request and header map per call, and a
// reader and a writer goroutine per connection handing each request
// across) costs the generator about as much CPU per small request as the
// server spends on its HTTP layer; on a machine the generator shares with
// the server, that cost came off the server's throughput. A poster writes
// each request with one write and reads its answer on the calling
// goroutine.
//
// A request that fails on a kept-alive connection before any byte of the
// answer arrived (the server closed the idle connection) is sent once
// more on a new connection: the ledger's appends are idempotent (a
// decision by its id, an OTLP span by its trace and span ids), so the
// worst case is a repeat the server answers with the first receipt. A
// poster is not safe for concurrent use.
type poster struct {
	addr string // host:port to dial
	head []byte // request line and fixed headers, up to the length's value
	conn net.Conn
	br   *bufio.Reader
	out  []byte // the request being written
	used bool   // an answer has arrived on conn already
	stop func() bool
	ctx  context.Context
}

// newPoster returns a poster of POST path with content type ct to the
// sender's server, or nil if the server is not plain http:// (then the
// sender's http.Client is used).
func (s *Sender) newPoster(ctx context.Context, path, ct string) *poster {
	u, err := url.Parse(s.URL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	h := []byte("POST " + u.EscapedPath() + path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nUser-Agent: fja-ledgerctl-bench\r\n")
	if s.Token != "" {
		h = append(h, "Authorization: Bearer "+s.Token+"\r\n"...)
	}
	if ct != "" {
		h = append(h, "Content-Type: "+ct+"\r\n"...)
	}
	h = append(h, "Content-Length: "...)
	return &poster{addr: addr, head: h, ctx: ctx}
}

// post sends body and reads the whole answer into buf (reset first),
// returning its status code.
func (p *poster) post(body []byte, buf *bytes.Buffer) (int, error) {
	p.out = append(strconv.AppendInt(append(p.out[:0], p.head...), int64(len(body)), 10), "\r\n\r\n"...)
	p.out = append(p.out, body...)
	code, answered, err := p.roundTrip(buf)
	if err != nil && p.used && !answered && p.ctx.Err() == nil {
		p.close() // a kept-alive connection the server had closed: once more, on a new one
		code, _, err = p.roundTrip(buf)
	}
	if err != nil {
		p.close()
		if cerr := p.ctx.Err(); cerr != nil {
			return 0, cerr
		}
	}
	return code, err
}

// roundTrip writes p.out and reads the answer. answered reports whether
// any of the answer had arrived when err occurred.
func (p *poster) roundTrip(buf *bytes.Buffer) (code int, answered bool, err error) {
	if p.conn == nil {
		if err := p.dial(); err != nil {
			return 0, false, err
		}
	}
	if err := p.conn.SetDeadline(time.Now().Add(requestTimeout)); err != nil {
		return 0, false, err
	}
	// After the deadline is set: a cancellation from here on moves it
	// into the past (dial's AfterFunc); one before is seen here.
	if err := p.ctx.Err(); err != nil {
		return 0, false, err
	}
	if _, err := p.conn.Write(p.out); err != nil {
		return 0, false, err
	}
	if _, err := p.br.Peek(1); err != nil {
		return 0, false, err
	}
	p.used = true
	resp, err := http.ReadResponse(p.br, nil)
	if err != nil {
		return 0, true, fmt.Errorf("reading the answer: %w", err)
	}
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, true, fmt.Errorf("reading the answer's body (status %d): %w", resp.StatusCode, err)
	}
	if resp.Close {
		p.close()
	}
	return resp.StatusCode, true, nil
}

func (p *poster) dial() error {
	var d net.Dialer
	c, err := d.DialContext(p.ctx, "tcp", p.addr)
	if err != nil {
		return err
	}
	p.conn, p.used = c, false
	if p.br == nil {
		p.br = bufio.NewReaderSize(c, 64<<10)
	} else {
		p.br.Reset(c)
	}
	// A cancelled phase unblocks a request in flight.
	p.stop = context.AfterFunc(p.ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	return nil
}

// close drops the connection (the next post dials a new one).
func (p *poster) close() {
	if p.conn == nil {
		return
	}
	p.stop()
	p.conn.Close()
	p.conn = nil
}
