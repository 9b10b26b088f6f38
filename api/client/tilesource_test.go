package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/monitor"
)

// TestTilesMonitorSource: the proofs computed from the tiles are the
// proofs the log serves, byte for byte; a proof to a size the log has no
// checkpoint of is a plain error; tiles that do not authenticate are the
// log's statement (a *monitor.MalformedProofError naming them).
func TestTilesMonitorSource(t *testing.T) {
	s := apitest.New(t)
	s.SeedCalibration(3, 150)
	// flip, when set, is a tile path whose bytes the proxy corrupts.
	var flip atomic.Value
	flip.Store("")
	u, _ := url.Parse(s.URL)
	p := httputil.NewSingleHostReverseProxy(u)
	p.ModifyResponse = func(r *http.Response) error {
		if r.Request.URL.Path != flip.Load().(string) {
			return nil
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		b[0] ^= 1
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		r.Header.Del("Content-Length")
		return nil
	}
	proxy := httptest.NewServer(p)
	defer proxy.Close()

	ctx := context.Background()
	c := monitorClient(t, proxy.URL, client.NewHTTPClient(client.Timeouts{}))
	tiles, served := c.TilesMonitorSource(s.Origin, s.VKey), c.MonitorSource()
	raw, err := tiles.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := verify.OpenCheckpoint(raw, s.Origin, s.VKey)
	if err != nil || cp.Size < 300 {
		t.Fatalf("checkpoint %+v %v; want more than one tile of entries", cp, err)
	}
	for _, from := range []uint64{1, 2, 7, 255, 256, 257, cp.Size / 2, cp.Size - 1, cp.Size} {
		got, err := tiles.ConsistencyProof(ctx, from, cp.Size)
		if err != nil {
			t.Fatalf("from %d: %v", from, err)
		}
		want, err := served.ConsistencyProof(ctx, from, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) || !bytes.Equal(bytes.Join(got, nil), bytes.Join(want, nil)) {
			t.Fatalf("from %d to %d: computed %x, the log serves %x", from, cp.Size, got, want)
		}
	}

	var mp *monitor.MalformedProofError
	if _, err := tiles.ConsistencyProof(ctx, 1, cp.Size+1); err == nil || errors.As(err, &mp) || !strings.Contains(err.Error(), "tiles-only log serving a checkpoint of size") {
		t.Fatalf("proof beyond the checkpoint: %v; want a plain error", err)
	}
	flip.Store("/tile/0/000")
	_, err = tiles.ConsistencyProof(ctx, 3, cp.Size)
	if !errors.As(err, &mp) || !strings.Contains(mp.URL, proxy.URL+"/tile/0/000") || len(mp.Body) == 0 || !strings.Contains(err.Error(), "do not authenticate") {
		t.Fatalf("a corrupted tile: %v; want a *monitor.MalformedProofError naming tile/0/000 with its bytes", err)
	}
}
