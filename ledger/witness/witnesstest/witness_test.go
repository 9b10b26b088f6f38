package witnesstest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	fwitness "github.com/transparency-dev/formats/witness"
	"github.com/transparency-dev/witness/persistence/inmemory"
	twitness "github.com/transparency-dev/witness/witness"
	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/api"
	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/ledger"
	cosign "github.com/fjaledger/fja/ledger/witness"
	"github.com/fjaledger/fja/verify"
)

// realWitness is a transparency-dev witness serving C2SP tlog-witness
// add-checkpoint on a loopback httptest server.
type realWitness struct {
	name string
	vkey string // cosignature/v1 verifier key
	w    *twitness.Witness
	srv  *httptest.Server
	url  string

	mu    sync.Mutex
	calls int
	codes []int
}

// newWitness starts a witness that trusts the log key logVKey for its origin.
func newWitness(t *testing.T, name, logVKey string) *realWitness {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	cvkey, err := fnote.VKeyToCosignatureV1(vkey)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		t.Fatal(err)
	}
	logV, err := fnote.NewVerifier(logVKey)
	if err != nil {
		t.Fatal(err)
	}
	origin, _, _ := strings.Cut(logVKey, "+")
	w, err := twitness.New(context.Background(), twitness.Opts{
		Persistence: inmemory.New(),
		Signers:     []note.Signer{signer},
		VerifierForLog: func(_ context.Context, o string) (note.Verifier, bool, error) {
			if o != origin {
				return nil, false, nil
			}
			return logV, true, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	rw := &realWitness{name: name, vkey: cvkey, w: w}
	rw.serve(t)
	return rw
}

// serve (re)starts the witness's HTTP server, with the same state.
func (rw *realWitness) serve(t *testing.T) {
	h := twitness.NewHTTPHandler(rw.w)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /add-checkpoint", func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		h.AddCheckpoint(rec, r)
		rw.mu.Lock()
		rw.calls++
		rw.codes = append(rw.codes, rec.code)
		rw.mu.Unlock()
	})
	rw.srv = httptest.NewServer(mux)
	if rw.url == "" {
		rw.url = rw.srv.URL
	}
	t.Cleanup(rw.srv.Close)
}

// down stops the witness's HTTP server: connections are refused.
func (rw *realWitness) down() { rw.srv.Close() }

func (rw *realWitness) sawStatus(code int) bool {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	for _, c := range rw.codes {
		if c == code {
			return true
		}
	}
	return false
}

// latestSize is the size of the last checkpoint the witness cosigned.
func (rw *realWitness) latestSize(t *testing.T, origin string) uint64 {
	cp, err := rw.w.GetCheckpoint(context.Background(), origin)
	if err != nil {
		t.Fatal(err)
	}
	if cp == nil {
		return 0
	}
	lines := strings.SplitN(string(cp), "\n", 3)
	var n uint64
	fmt.Sscan(lines[1], &n)
	return n
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(c int) { r.code = c; r.ResponseWriter.WriteHeader(c) }
func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// policyText is a C2SP policy: the witnesses, and a quorum of n of them.
func policyText(n int, ws ...*realWitness) string {
	var b strings.Builder
	var names []string
	for _, w := range ws {
		fmt.Fprintf(&b, "witness %s %s %s\n", w.name, w.vkey, w.url)
		names = append(names, w.name)
	}
	fmt.Fprintf(&b, "group g %d %s\nquorum g\n", n, strings.Join(names, " "))
	return b.String()
}

// ledgerWith starts a ledger server whose api.Config gets a cosigner for
// the policy made from the witnesses newWitnesses returns (they need the
// log's vkey, known only once the server's key exists).
type fixture struct {
	*apitest.Server
	cos    *cosign.Cosigner
	policy string
}

func newFixture(t *testing.T, mode api.WitnessMode, quorum int, ws func(logVKey string) []*realWitness) *fixture {
	t.Helper()
	f := &fixture{}
	f.Server = apitest.New(t, apitest.WithAPI(func(c *api.Config) {
		witnesses := ws(c.VerifierKeys[0])
		f.policy = policyText(quorum, witnesses...)
		g, err := fwitness.ParsePolicy([]byte(f.policy))
		if err != nil {
			t.Fatal(err)
		}
		f.cos, err = cosign.New(cosign.Config{Log: c.Log, Policy: g, Poll: 20 * time.Millisecond,
			RequestTimeout: 2 * time.Second, MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		f.cos.Start()
		t.Cleanup(f.cos.Close)
		c.Witness, c.WitnessMode, c.WitnessPolicy, c.WitnessWait = f.cos, mode, f.policy, 5*time.Second
	}))
	return f
}

func (f *fixture) appendN(t *testing.T, n int) *ledger.Ack {
	t.Helper()
	var ack *ledger.Ack
	for i := range n {
		var err error
		if ack, err = f.Log.Append(context.Background(), fmt.Appendf(nil, "entry %d %d", time.Now().UnixNano(), i)); err != nil {
			t.Fatal(err)
		}
	}
	return ack
}

func waitCosigned(t *testing.T, c *cosign.Cosigner, size uint64) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cp, got, err := c.WaitCosigned(ctx, size)
	if err != nil {
		t.Fatalf("no cosigned checkpoint of size >= %d: %v", size, err)
	}
	if got < size {
		t.Fatalf("cosigned size %d < %d", got, size)
	}
	return cp
}

func example(t *testing.T, name string) []byte {
	t.Helper()
	// the shared examples live beside the main module's root, four levels up
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "shared", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	ctlOnce sync.Once
	ctlPath string
	ctlErr  error
)

// ledgerctl builds the real ledgerctl command once.
func ledgerctl(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctlOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ledgerctl-*")
		if err != nil {
			ctlErr = err
			return
		}
		ctlPath = filepath.Join(dir, "ledgerctl")
		out, err := exec.Command("go", "build", "-o", ctlPath, "github.com/fjaledger/fja/cmd/ledgerctl").CombinedOutput()
		if err != nil {
			ctlErr = fmt.Errorf("go build ledgerctl: %v\n%s", err, out)
		}
	})
	if ctlErr != nil {
		t.Fatal(ctlErr)
	}
	cmd := exec.Command(ctlPath, args...)
	out, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	t.Logf("ledgerctl %s: exit %d\n%s", strings.Join(args, " "), code, out)
	return code, string(out)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if ctlPath != "" {
		os.RemoveAll(filepath.Dir(ctlPath))
	}
	os.Exit(code)
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Test1of1: one witness cosigns every new checkpoint; GET /checkpoint and
// receipts carry its cosignature; verify.CheckWitnessPolicy and ledgerctl
// verify --witness-policy accept them, and reject them under a policy
// naming a witness that never cosigned.
func Test1of1(t *testing.T) {
	var w *realWitness
	f := newFixture(t, api.WitnessOpen, 1, func(vk string) []*realWitness {
		w = newWitness(t, "witness1.example", vk)
		return []*realWitness{w}
	})
	ack := f.appendN(t, 5)
	cp := waitCosigned(t, f.cos, ack.Size)
	if _, err := verify.OpenCheckpoint(cp, f.Origin, f.VKey); err != nil {
		t.Fatalf("cosigned checkpoint does not open with the log key: %v", err)
	}
	if err := verify.CheckWitnessPolicy(cp, []byte(f.policy)); err != nil {
		t.Fatalf("CheckWitnessPolicy: %v", err)
	}
	if got := w.latestSize(t, f.Origin); got != ack.Size {
		t.Fatalf("witness holds size %d, want %d", got, ack.Size)
	}

	// GET /checkpoint serves the cosigned head.
	code, body := f.Do("GET", "/checkpoint", "", nil)
	if code != 200 {
		t.Fatalf("GET /checkpoint: %d %s", code, body)
	}
	if err := verify.CheckWitnessPolicy(body, []byte(f.policy)); err != nil {
		t.Fatalf("GET /checkpoint is not cosigned: %v\n%s", err, body)
	}
	policyFile := writeFile(t, "policy", []byte(f.policy))
	cpFile := writeFile(t, "checkpoint", body)
	if code, out := ledgerctl(t, "verify", "checkpoint", cpFile, "--key", f.VKey, "--witness-policy", policyFile); code != 0 {
		t.Fatalf("ledgerctl verify checkpoint --witness-policy: exit %d\n%s", code, out)
	}

	// A decision's receipt, via POST and via GET .../receipt.
	if code, b := f.Do("POST", "/v1/constitutions", auth.Producer, example(t, "constitution.json")); code != 201 {
		t.Fatalf("constitution: %d %s", code, b)
	}
	code, b := f.Do("POST", "/v1/decisions", auth.Producer, example(t, "decision-refused.json"))
	if code != 201 {
		t.Fatalf("decision: %d %s", code, b)
	}
	var rc verify.Receipt
	if err := json.Unmarshal(b, &rc); err != nil {
		t.Fatal(err)
	}
	waitCosigned(t, f.cos, rc.Index+1)
	var dec struct {
		DecisionID string `json:"decision_id"`
	}
	json.Unmarshal(example(t, "decision-refused.json"), &dec)
	code, b = f.Do("GET", "/v1/decisions/"+dec.DecisionID+"/receipt", auth.Regulator, nil)
	if code != 200 {
		t.Fatalf("GET receipt: %d %s", code, b)
	}
	rFile := writeFile(t, "receipt.json", b)
	if code, out := ledgerctl(t, "verify", "receipt", rFile, "--key", f.VKey, "--witness-policy", policyFile); code != 0 {
		t.Fatalf("ledgerctl verify receipt --witness-policy: exit %d\n%s", code, out)
	}
	if _, _, err := verify.VerifyReceipt(b, f.VKey); err != nil {
		t.Fatalf("cosigned receipt does not verify: %v", err)
	}

	// GET /v1/entries/{i} too.
	code, b = f.Do("GET", fmt.Sprintf("/v1/entries/%d", rc.Index), "", nil)
	if code != 200 {
		t.Fatalf("GET entry: %d %s", code, b)
	}
	var e api.Entry
	json.Unmarshal(b, &e)
	if err := verify.CheckWitnessPolicy([]byte(e.Checkpoint), []byte(f.policy)); err != nil {
		t.Fatalf("entry's checkpoint is not cosigned: %v", err)
	}

	// A policy naming a witness that never cosigned rejects the receipt.
	other := newWitness(t, "witness2.example", f.VKey)
	strict := writeFile(t, "strict", []byte(policyText(2, w, other)))
	code, out := ledgerctl(t, "verify", "receipt", rFile, "--key", f.VKey, "--witness-policy", strict)
	if code != 1 || !strings.Contains(out, "witness policy") || !strings.Contains(out, "witness2.example") {
		t.Fatalf("ledgerctl verify with an unmet policy: exit %d, want 1 naming witness2.example\n%s", code, out)
	}
	only := writeFile(t, "only", []byte(policyText(1, other)))
	if code, _ := ledgerctl(t, "verify", "checkpoint", cpFile, "--key", f.VKey, "--witness-policy", only); code != 1 {
		t.Fatalf("ledgerctl verify checkpoint with a policy of another witness: exit %d, want 1", code)
	}
	// The log-signed checkpoint alone (no cosignature) fails the policy.
	if err := verify.CheckWitnessPolicy(f.Log.Head().Checkpoint, []byte(f.policy)); !errors.Is(err, verify.ErrWitnessPolicy) {
		t.Fatalf("uncosigned checkpoint: err %v, want ErrWitnessPolicy", err)
	}
}

// Test2of3: with three witnesses and a 2-of-3 quorum, checkpoints are
// cosigned with all three up and with one down; a checkpoint cosigned by
// only one witness is rejected.
func Test2of3(t *testing.T) {
	var ws []*realWitness
	f := newFixture(t, api.WitnessOpen, 2, func(vk string) []*realWitness {
		for i := range 3 {
			ws = append(ws, newWitness(t, fmt.Sprintf("w%d.example", i+1), vk))
		}
		return ws
	})
	policyFile := writeFile(t, "policy", []byte(f.policy))

	ack := f.appendN(t, 3)
	cp := waitCosigned(t, f.cos, ack.Size)
	if err := verify.CheckWitnessPolicy(cp, []byte(f.policy)); err != nil {
		t.Fatalf("3 up: %v", err)
	}
	// all three eventually cosign this head
	deadline := time.Now().Add(10 * time.Second)
	for {
		cp, _ = f.cos.Latest()
		names, _ := verify.Cosigners(cp, []byte(f.policy))
		if len(names) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cosigned by %v, want all 3", names)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, out := ledgerctl(t, "verify", "checkpoint", writeFile(t, "cp3", cp), "--key", f.VKey, "--witness-policy", policyFile); code != 0 {
		t.Fatalf("3 cosignatures: exit %d\n%s", code, out)
	}

	// One witness down: 2 of 3 still cosign.
	ws[2].down()
	ack = f.appendN(t, 4)
	cp = waitCosigned(t, f.cos, ack.Size)
	names, _ := verify.Cosigners(cp, []byte(f.policy))
	if len(names) != 2 {
		t.Fatalf("with w3 down cosigned by %v, want 2", names)
	}
	if code, out := ledgerctl(t, "verify", "checkpoint", writeFile(t, "cp2", cp), "--key", f.VKey, "--witness-policy", policyFile); code != 0 {
		t.Fatalf("2 cosignatures: exit %d\n%s", code, out)
	}

	// Strip one cosignature: only one witness left, the policy is not met.
	one := dropSignatures(t, cp, ws[1].name)
	err := verify.CheckWitnessPolicy(one, []byte(f.policy))
	if !errors.Is(err, verify.ErrWitnessPolicy) {
		t.Fatalf("1 of 3: err %v, want ErrWitnessPolicy", err)
	}
	t.Logf("1 of 3 rejected: %v", err)
	if _, err := verify.OpenCheckpoint(one, f.Origin, f.VKey); err != nil {
		t.Fatalf("the stripped checkpoint still has the log's signature: %v", err)
	}
	if code, out := ledgerctl(t, "verify", "checkpoint", writeFile(t, "cp1", one), "--key", f.VKey, "--witness-policy", policyFile); code != 1 {
		t.Fatalf("1 cosignature: exit %d, want 1\n%s", code, out)
	}

	// Two down: the cosigner cannot satisfy the policy for a new head;
	// fail-open, GET /checkpoint serves the log-signed head.
	ws[1].down()
	ack = f.appendN(t, 2)
	time.Sleep(300 * time.Millisecond)
	if _, size := f.cos.Latest(); size >= ack.Size {
		t.Fatalf("cosigned size %d with 2 of 3 witnesses down", size)
	}
	code, body := f.Do("GET", "/checkpoint", "", nil)
	if code != 200 || !bytes.Equal(body, f.Log.Head().Checkpoint) {
		t.Fatalf("fail-open GET /checkpoint: %d, want the log-signed head\n%s", code, body)
	}
	// w2 back (same state, same URL is not possible with httptest, so
	// only the fail-open behaviour is checked here).
}

// dropSignatures removes the signature lines by name from a signed note.
func dropSignatures(t *testing.T, signed []byte, name string) []byte {
	t.Helper()
	var out []byte
	n := 0
	for _, line := range strings.SplitAfter(string(signed), "\n") {
		if strings.HasPrefix(line, "— "+name+" ") {
			n++
			continue
		}
		out = append(out, line...)
	}
	if n == 0 {
		t.Fatalf("no signature by %s in\n%s", name, signed)
	}
	return out
}

// TestConflict: a cosigner that starts fresh (after a restart) sends
// "old 0"; the witness answers 409 with its size and the cosigner resends
// with the right consistency proof. A cosigner whose view of the log is
// behind the witness waits until the log catches up.
func TestConflict(t *testing.T) {
	var w *realWitness
	f := newFixture(t, api.WitnessOpen, 1, func(vk string) []*realWitness {
		w = newWitness(t, "witness1.example", vk)
		return []*realWitness{w}
	})
	ack := f.appendN(t, 5)
	waitCosigned(t, f.cos, ack.Size)
	f.cos.Close()

	g, _ := fwitness.ParsePolicy([]byte(f.policy))
	// Restart: a fresh cosigner knows nothing of the witness's size.
	ack = f.appendN(t, 3)
	c2, err := cosign.New(cosign.Config{Log: f.Log, Policy: g, Poll: 20 * time.Millisecond, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c2.Start()
	defer c2.Close()
	cp := waitCosigned(t, c2, ack.Size)
	if !w.sawStatus(http.StatusConflict) {
		t.Fatalf("the witness never answered 409")
	}
	if err := verify.CheckWitnessPolicy(cp, []byte(f.policy)); err != nil {
		t.Fatal(err)
	}
	if got := w.latestSize(t, f.Origin); got != ack.Size {
		t.Fatalf("witness at %d, want %d", got, ack.Size)
	}

	// A cosigner that sees an older head than the witness has cosigned.
	old := f.Log.Head()
	f.appendN(t, 4)
	c2.Close()
	view := &laggingLog{Log: f.Log}
	view.pin(old)
	// The witness moves past what the cosigner sees.
	c3, _ := cosign.New(cosign.Config{Log: f.Log, Policy: g, Poll: 20 * time.Millisecond})
	c3.Start()
	ahead := waitCosigned(t, c3, f.Log.Head().Size)
	c3.Close()
	_ = ahead
	c4, _ := cosign.New(cosign.Config{Log: view, Policy: g, Poll: 20 * time.Millisecond, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	c4.Start()
	defer c4.Close()
	time.Sleep(300 * time.Millisecond)
	if cp, _ := c4.Latest(); cp != nil {
		t.Fatalf("cosigned a checkpoint older than the witness's:\n%s", cp)
	}
	view.pin(ledger.Head{}) // the view catches up
	ack = f.appendN(t, 1)
	waitCosigned(t, c4, ack.Size)
}

// laggingLog shows a pinned head instead of the log's (zero: the real one).
type laggingLog struct {
	*ledger.Log
	mu   sync.Mutex
	head *ledger.Head
}

func (l *laggingLog) pin(h ledger.Head) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h.Checkpoint == nil {
		l.head = nil
	} else {
		l.head = &h
	}
}

func (l *laggingLog) Head() ledger.Head {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.head != nil {
		return *l.head
	}
	return l.Log.Head()
}

// TestClosed: fail-closed, an append's receipt is against a cosigned
// checkpoint covering it; with the quorum down the append answers 503
// with Retry-After (the entry is logged all the same).
func TestClosed(t *testing.T) {
	var ws []*realWitness
	f := newFixture(t, api.WitnessClosed, 1, func(vk string) []*realWitness {
		ws = append(ws, newWitness(t, "witness1.example", vk))
		return ws
	})
	policyFile := writeFile(t, "policy", []byte(f.policy))
	code, b := f.Do("POST", "/v1/constitutions", auth.Producer, example(t, "constitution.json"))
	if code != 201 {
		t.Fatalf("constitution: %d %s", code, b)
	}
	var cr struct{ Receipt json.RawMessage }
	json.Unmarshal(b, &cr)
	if code, out := ledgerctl(t, "verify", "receipt", writeFile(t, "c.json", cr.Receipt), "--key", f.VKey, "--witness-policy", policyFile); code != 0 {
		t.Fatalf("constitution receipt: exit %d\n%s", code, out)
	}
	code, b = f.Do("POST", "/v1/decisions", auth.Producer, example(t, "decision-refused.json"))
	if code != 201 {
		t.Fatalf("decision: %d %s", code, b)
	}
	if code, out := ledgerctl(t, "verify", "receipt", writeFile(t, "d.json", b), "--key", f.VKey, "--witness-policy", policyFile); code != 0 {
		t.Fatalf("decision receipt: exit %d\n%s", code, out)
	}
	code, body := f.Do("GET", "/checkpoint", "", nil)
	if err := verify.CheckWitnessPolicy(body, []byte(f.policy)); code != 200 || err != nil {
		t.Fatalf("GET /checkpoint: %d %v", code, err)
	}

	// Quorum down: 503 with Retry-After, bounded by WitnessWait.
	ws[0].down()
	req, _ := http.NewRequest("POST", f.URL+"/v1/decisions", bytes.NewReader(example(t, "decision-answered.json")))
	req.Header.Set("Authorization", "Bearer "+f.Tokens[auth.Producer])
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("append with the quorum down: %d (Retry-After %q), want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if d := time.Since(start); d < 4*time.Second || d > 15*time.Second {
		t.Fatalf("waited %v, want about WitnessWait (5s)", d)
	}
	// Fail-closed GET /checkpoint still serves only the cosigned checkpoint.
	code, body = f.Do("GET", "/checkpoint", "", nil)
	if err := verify.CheckWitnessPolicy(body, []byte(f.policy)); code != 200 || err != nil {
		t.Fatalf("fail-closed GET /checkpoint: %d %v\n%s", code, err, body)
	}
}
