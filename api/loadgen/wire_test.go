package loadgen

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// posterServer is a real HTTP server on loopback that answers a POST with
// what it received, and counts the connections it accepted.
func posterServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func echoRequest(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusCreated)
	w.Write(b)
}

func TestPosterKeepsOneConnection(t *testing.T) {
	var seen atomic.Value
	srv, conns := posterServer(t, func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Method + " " + r.URL.Path + " " + r.Header.Get("Authorization") + " " + r.Header.Get("Content-Type") + " " + strconv.FormatInt(r.ContentLength, 10))
		echoRequest(w, r)
	})
	s := NewSender(srv.URL+"/", "tok", 1)
	p := s.newPoster(context.Background(), "/v1/decisions", "application/json")
	if p == nil {
		t.Fatalf("newPoster(%q) = nil, want a poster for a plain http URL", srv.URL)
	}
	defer p.close()
	var buf bytes.Buffer
	for i := range 5 {
		body := bytes.Repeat([]byte{'a' + byte(i)}, 1000*i+1)
		code, err := p.post(body, &buf)
		if err != nil || code != http.StatusCreated {
			t.Fatalf("post %d: got %d, %v; want 201", i, code, err)
		}
		if !bytes.Equal(buf.Bytes(), body) {
			t.Fatalf("post %d: answer is %d bytes, want the %d sent back", i, buf.Len(), len(body))
		}
		if want := "POST /v1/decisions Bearer tok application/json " + strconv.Itoa(len(body)); seen.Load() != want {
			t.Fatalf("post %d: the server saw %q, want %q", i, seen.Load(), want)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("5 posts used %d connections, want 1 kept alive", n)
	}
}

func TestPosterReadsChunkedAnswers(t *testing.T) {
	srv, _ := posterServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
		for i := range 50 {
			io.WriteString(w, strings.Repeat(strconv.Itoa(i%10), 1000))
			w.(http.Flusher).Flush()
		}
	})
	p := NewSender(srv.URL, "", 1).newPoster(context.Background(), "/x", "")
	defer p.close()
	var buf bytes.Buffer
	for range 2 {
		code, err := p.post([]byte("{}"), &buf)
		if err != nil || code != http.StatusOK || buf.Len() != 50000 {
			t.Fatalf("got %d, %d bytes, %v; want 200 with the 50,000 bytes sent in chunks", code, buf.Len(), err)
		}
	}
}

// A server that closes a kept-alive connection between two requests (an
// idle timeout, a restart) costs the next request a new connection, not
// a failure.
func TestPosterRedialsAClosedConnection(t *testing.T) {
	srv, conns := posterServer(t, echoRequest)
	p := NewSender(srv.URL, "", 1).newPoster(context.Background(), "/x", "")
	defer p.close()
	var buf bytes.Buffer
	if code, err := p.post([]byte("one"), &buf); err != nil || code != http.StatusCreated {
		t.Fatalf("first post: %d, %v", code, err)
	}
	srv.CloseClientConnections()
	if code, err := p.post([]byte("two"), &buf); err != nil || code != http.StatusCreated || buf.String() != "two" {
		t.Fatalf("post after the server closed the connection: got %d %q, %v; want 201 \"two\"", code, buf.String(), err)
	}
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2 (one closed by the server, one new)", n)
	}
}

func TestPosterHonoursConnectionClose(t *testing.T) {
	srv, conns := posterServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		echoRequest(w, r)
	})
	p := NewSender(srv.URL, "", 1).newPoster(context.Background(), "/x", "")
	defer p.close()
	var buf bytes.Buffer
	for i := range 3 {
		if code, err := p.post([]byte("x"), &buf); err != nil || code != http.StatusCreated {
			t.Fatalf("post %d: %d, %v", i, code, err)
		}
	}
	if n := conns.Load(); n != 3 {
		t.Fatalf("%d connections for 3 answers with Connection: close, want 3", n)
	}
}

// A request that fails once an answer has begun is not sent again: it
// may have been acted on, and the caller must see the failure.
func TestPosterDoesNotResendAfterAPartialAnswer(t *testing.T) {
	var calls atomic.Int64
	srv, _ := posterServer(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		io.Copy(io.Discard, r.Body)
		c, bw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		bw.WriteString("HTTP/1.1 201 Created\r\nContent-Length: 100\r\n\r\nshort")
		bw.Flush()
		c.Close()
	})
	p := NewSender(srv.URL, "", 1).newPoster(context.Background(), "/x", "")
	defer p.close()
	var buf bytes.Buffer
	if _, err := p.post([]byte("x"), &buf); err == nil {
		t.Fatal("post of an answer cut short: no error")
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("the request reached the server %d times, want 1", n)
	}
}

func TestPosterStopsWithItsContext(t *testing.T) {
	release := make(chan struct{})
	srv, _ := posterServer(t, func(w http.ResponseWriter, r *http.Request) {
		<-release
	})
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	p := NewSender(srv.URL, "", 1).newPoster(ctx, "/x", "")
	defer p.close()
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := p.post([]byte("x"), new(bytes.Buffer))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("post cancelled while waiting for its answer: got %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("post returned %v after its context was cancelled", d)
	}
}

// A poster whose context was cancelled between two requests sends no
// more (the next request's deadline must not undo the cancellation).
func TestPosterSendsNothingOnceCancelled(t *testing.T) {
	var calls atomic.Int64
	srv, _ := posterServer(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		echoRequest(w, r)
	})
	ctx, cancel := context.WithCancel(context.Background())
	p := NewSender(srv.URL, "", 1).newPoster(ctx, "/x", "")
	defer p.close()
	var buf bytes.Buffer
	if code, err := p.post([]byte("x"), &buf); err != nil || code != http.StatusCreated {
		t.Fatalf("post before the cancellation: %d, %v", code, err)
	}
	cancel()
	time.Sleep(50 * time.Millisecond) // the cancellation has moved the connection's deadline by now
	if _, err := p.post([]byte("y"), &buf); !errors.Is(err, context.Canceled) {
		t.Fatalf("post after the cancellation: %v, want context.Canceled", err)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("the server got %d requests, want 1 (none after the cancellation)", n)
	}
}

func TestPosterOnlyForPlainHTTP(t *testing.T) {
	for _, u := range []string{"https://ledger.example", "unix:///tmp/x", "::bad"} {
		if p := NewSender(u, "", 1).newPoster(context.Background(), "/x", ""); p != nil {
			t.Errorf("newPoster(%q) = %+v, want nil (left to http.Client)", u, p)
		}
	}
	p := NewSender("http://ledger.example", "", 1).newPoster(context.Background(), "/v1/decisions", "")
	if p == nil || p.addr != "ledger.example:80" || !bytes.HasPrefix(p.head, []byte("POST /v1/decisions HTTP/1.1\r\nHost: ledger.example\r\n")) {
		t.Fatalf("newPoster(http://ledger.example) = %+v, want port 80 and the request line", p)
	}
}
