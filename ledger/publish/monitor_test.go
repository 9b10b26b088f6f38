package publish_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/ledger/publish/s3test"
	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/monitor"
	"github.com/fjaledger/fja/verify/tile"
)

// The bucket is read by x/mod's tlog client (tlog.TileHashReader over
// tile.Reader, anonymous HTTP GETs) in s3test.Audit, which every test here
// runs through fixture.audit.

// newWritableFixture is newFixture with a log that takes decisions through
// its HTTP API, so that its entries are records a monitor checks.
func newWritableFixture(t *testing.T) *fixture {
	srv := s3test.Start(t)
	srv.SetEnv(t)
	f := &fixture{t: t, srv: srv, bucket: "ledger", prefix: "logs/one"}
	srv.PublicBucket(f.bucket)
	f.log = apitest.New(t)
	f.dir = f.log.Dir
	return f
}

// decide logs n example decisions (tag makes their ids unique) through
// POST /v1/decisions:batch.
func decide(t *testing.T, s *apitest.Server, tag string, n int) {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(apitest.Example(t, "decision-answered.json"), &d); err != nil {
		t.Fatal(err)
	}
	for start := 0; start < n; start += 100 {
		var batch []map[string]any
		for i := start; i < min(n, start+100); i++ {
			c := make(map[string]any, len(d))
			for k, v := range d {
				c[k] = v
			}
			c["decision_id"] = fmt.Sprintf("dec-%s-%06d", tag, i)
			batch = append(batch, c)
		}
		body, _ := json.Marshal(batch)
		if code, b := s.Do("POST", "/v1/decisions:batch", auth.Producer, body); code != http.StatusOK || bytes.Contains(b, []byte(`"error"`)) {
			t.Fatalf("POST /v1/decisions:batch: %d %s", code, b)
		}
	}
}

// round runs one monitor round on st over the log at url, as `ledgerctl
// monitor --once [--tiles-only]` does.
func round(t *testing.T, url string, s *apitest.Server, st *monitor.State, tilesOnly bool) (*monitor.Result, error) {
	t.Helper()
	c, err := client.New(client.Config{URL: url, InsecureSkipVerify: true, HTTPClient: client.NewHTTPClient(client.Timeouts{}), MaxTries: 1})
	if err != nil {
		t.Fatal(err)
	}
	src := c.MonitorSource()
	if tilesOnly {
		src = c.TilesMonitorSource(s.Origin, s.VKey)
	}
	m := &monitor.Monitor{Origin: s.Origin, Key: s.VKey, Client: src}
	return m.Round(context.Background(), st)
}

// trustedSize is the size of the checkpoint st trusts.
func trustedSize(t *testing.T, s *apitest.Server, st *monitor.State) uint64 {
	t.Helper()
	cp, err := verify.OpenCheckpoint([]byte(st.Checkpoint), s.Origin, s.VKey)
	if err != nil {
		t.Fatal(err)
	}
	return cp.Size
}

// TestMonitorFollowsBucket: the monitor follows the bucket alone (no
// ledgerd) as it grows, computing consistency proofs from its tiles; a
// tile rewritten in the bucket, and an older checkpoint put back, are
// alarms with evidence, and the state never moves past them.
func TestMonitorFollowsBucket(t *testing.T) {
	f := newWritableFixture(t)
	s := f.log
	p := f.publisher(nil)
	bucketURL := f.srv.URL + "/" + f.bucket + "/" + f.prefix
	put := func(key string, body []byte) {
		t.Helper()
		if _, err := f.srv.Client().PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(f.bucket),
			Key: aws.String(f.prefix + "/" + key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	// grow appends n decisions and waits until the bucket holds them and
	// passes the independent audit.
	grow := func(tag string, n int, want uint64) {
		t.Helper()
		decide(t, s, tag, n)
		f.caughtUp(p)
		if got := f.audit(); got != want {
			t.Fatalf("the bucket holds %d entries, want %d", got, want)
		}
	}
	follows := func(st *monitor.State, from, to uint64) {
		t.Helper()
		res, err := round(t, bucketURL, s, st, true)
		if err != nil || res == nil || !res.OK() || res.PreviousSize != from || res.Size != to || res.From != from || res.To != to {
			t.Fatalf("round %d -> %d: %+v %v", from, to, res, err)
		}
		if st.Checked != to || trustedSize(t, s, st) != to {
			t.Fatalf("state after the round %d -> %d: checked %d, trusts size %d", from, to, st.Checked, trustedSize(t, s, st))
		}
	}

	s.MustPost("/v1/constitutions", auth.Producer, apitest.Example(t, "constitution.json"))
	grow("a", 300, 301)
	st := monitor.NewState(s.Origin, s.VKey)
	follows(st, 0, 301)
	// A monitor without the tiles-only source reads the first round (no
	// proof needed), then fails on the proof the bucket cannot answer,
	// with an error that says what to do.
	plain := monitor.NewState(s.Origin, s.VKey)
	if res, err := round(t, bucketURL, s, plain, false); err != nil || !res.OK() {
		t.Fatalf("first round through the /v1 source: %+v %v", res, err)
	}

	grow("b", 400, 701)
	cp701 := fetch(t, bucketURL+"/checkpoint")
	if res, err := round(t, bucketURL, s, plain, false); err == nil || res != nil || !strings.Contains(err.Error(), "--tiles-only") {
		t.Fatalf("second round through the /v1 source: %+v, error %v; want an error suggesting --tiles-only", res, err)
	} else {
		t.Logf("through the /v1 source: %v", err)
	}
	follows(st, 301, 701)
	grow("c", 300, 1001)
	follows(st, 701, 1001)

	// The proof from 1001 to 1301 reads level-0 tile 3 (entries
	// 768..1023), full only in the larger tree. A forged one is caught.
	grow("d", 300, 1301)
	p.Close() // from here the test alone writes to the bucket
	// alarmed runs a round that must raise one alarm, of kind, whose
	// evidence holds each of the signed checkpoints cps, and must leave
	// the state trusting the checkpoint of size trusted.
	alarmed := func(what, kind string, trusted uint64, cps ...[]byte) monitor.Alarm {
		t.Helper()
		res, err := round(t, bucketURL, s, st, true)
		if err != nil || res == nil || len(res.Alarms) != 1 || res.Alarms[0].Kind != kind {
			t.Fatalf("round over %s: %+v %v; want one %s alarm", what, res, err, kind)
		}
		a := res.Alarms[0]
		for _, cp := range cps {
			if !strings.Contains(a.Evidence, strings.TrimSpace(string(cp))) {
				t.Fatalf("%s: alarm %s, evidence:\n%s\nwant it to hold the checkpoint\n%s", what, a, a.Evidence, cp)
			}
		}
		if trustedSize(t, s, st) != trusted || st.Checked != trusted {
			t.Fatalf("%s: the state moved: trusts %d, checked %d, want %d", what, trustedSize(t, s, st), st.Checked, trusted)
		}
		t.Logf("%s: %s\n%s", what, a, a.Evidence)
		return a
	}
	genuine := fetch(t, bucketURL+"/tile/0/003")
	forged := bytes.Clone(genuine)
	forged[900] ^= 0x01
	put("tile/0/003", forged)
	cp1301 := fetch(t, bucketURL+"/checkpoint")
	if a := alarmed("a forged tile", monitor.KindTile, 1001, cp1301); !strings.Contains(a.Evidence, "tile/0/003") {
		t.Errorf("the forged-tile alarm's evidence does not name tile/0/003:\n%s", a.Evidence)
	}

	// The genuine tile back: the monitor follows again.
	put("tile/0/003", genuine)
	follows(st, 1001, 1301)

	// The bucket's checkpoint replaced by an older one the log signed: a
	// rollback, with both signed checkpoints as evidence.
	put("checkpoint", cp701)
	alarmed("a rolled-back checkpoint", monitor.KindRollback, 1301, cp701, cp1301)

	// A split view: the bucket rewritten with another tree of 1301
	// entries (the last one differs), its tiles and a checkpoint the log's
	// key signed. The tiles authenticate against that checkpoint; the two
	// signed roots of one size are a fork, with both as evidence.
	forkRaw := forkBucket(t, bucketURL, s, 1301, put)
	alarmed("a forked bucket", monitor.KindFork, 1301, forkRaw, cp1301)
	if st.Checkpoint != string(cp1301) {
		t.Fatalf("the state moved to the forked checkpoint:\n%s", st.Checkpoint)
	}
}

// forkBucket rewrites the log of size n in the bucket at bucketURL (with
// put) as another tree of n entries, its last entry changed: the tiles
// and bundles of that tree, and its checkpoint signed with the log's key,
// which it returns.
func forkBucket(t *testing.T, bucketURL string, s *apitest.Server, n uint64, put func(key string, body []byte)) []byte {
	t.Helper()
	var entries [][]byte
	for b := uint64(0); b*tile.Width < n; b++ {
		w := int(min(tile.Width, n-b*tile.Width))
		es, err := tile.ParseBundle(fetch(t, bucketURL+"/"+tile.Tile{Entries: true, Index: b, Width: w}.Path()))
		if err != nil || len(es) != w {
			t.Fatalf("bundle %d: %d entries, %v", b, len(es), err)
		}
		entries = append(entries, es...)
	}
	last := bytes.Clone(entries[n-1])
	last[len(last)/2] ^= 0x01
	entries[n-1] = last
	var stored []tlog.Hash
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	for i, e := range entries {
		hs, err := tlog.StoredHashes(int64(i), e, hr)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
	}
	for _, tl := range tlog.NewTiles(tile.Height, 0, int64(n)) {
		data, err := tlog.ReadTileData(tl, hr)
		if err != nil {
			t.Fatal(err)
		}
		put(tile.Tile{Level: uint8(tl.L), Index: uint64(tl.N), Width: tl.W}.Path(), data)
		if tl.L == 0 {
			var b []byte
			for _, e := range entries[tl.N*tile.Width : tl.N*tile.Width+int64(tl.W)] {
				b, _ = tile.AppendBundleEntry(b, e)
			}
			put(tile.Tile{Entries: true, Index: uint64(tl.N), Width: tl.W}.Path(), b)
		}
	}
	root, err := tlog.TreeHash(int64(n), hr)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := note.Sign(&note.Note{Text: fmt.Sprintf("%s\n%d\n%s\n", s.Origin, n, base64.StdEncoding.EncodeToString(root[:]))}, s.Signer)
	if err != nil {
		t.Fatal(err)
	}
	put("checkpoint", cp)
	return cp
}
