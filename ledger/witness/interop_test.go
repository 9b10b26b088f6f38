package witness_test

// Interop with an independent witness: the transparency-dev witness
// (github.com/transparency-dev/witness), run as its own process built from
// the nested module ledger/witness/witnesstest (cmd/testwitness), which
// needs newer formats/merkle versions than this module pins. The ledger
// under test is built here, with this module's go.mod: the ledger as it
// ships. The two speak only C2SP tlog-witness over loopback HTTP.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	fwitness "github.com/transparency-dev/formats/witness"

	"github.com/fjaledger/fja/api"
	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/ledger"
	cosign "github.com/fjaledger/fja/ledger/witness"
	"github.com/fjaledger/fja/verify"
)

// binDir holds the binaries built once for the package's tests.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "witness-interop-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type built struct {
	once sync.Once
	path string
	err  error
}

var bins sync.Map // name -> *built

// build runs `go build -o binDir/name pkg` in dir once per test binary,
// and fails t if it does not build: nothing is skipped.
func build(t *testing.T, name, dir, pkg string) string {
	t.Helper()
	v, _ := bins.LoadOrStore(name, &built{})
	b := v.(*built)
	b.once.Do(func() {
		b.path = filepath.Join(binDir, name)
		cmd := exec.Command("go", "build", "-o", b.path, pkg)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off")
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build %s in %s: %v\n%s", pkg, dir, err, out)
			return
		}
		t.Logf("built %s in %s", name, time.Since(start).Round(time.Millisecond))
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// testwitness builds the witness from the nested module.
func testwitness(t *testing.T) string {
	return build(t, "testwitness", "witnesstest", "./cmd/testwitness")
}

// proc is a process started by a test, stopped when the test ends.
type proc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *lockedBuffer
	done   chan struct{}
	err    error // of Wait, once done is closed
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs bin with args and returns the process and its stdout. The
// process's stdin is a pipe held open until stop.
func start(t *testing.T, bin string, args ...string) (*proc, *bufio.Reader) {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), stderr: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.stop(t) })
	return p, bufio.NewReader(out)
}

// stop ends the process and waits for it: end of stdin and SIGINT (both
// servers shut down gracefully on either), then SIGKILL after 10 s.
func (p *proc) stop(t *testing.T) {
	p.stdin.Close()
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Logf("%s did not stop within 10s of SIGINT: killed\nstderr:\n%s", p.cmd.Path, p.stderr)
		p.cmd.Process.Kill()
		<-p.done
	}
}

// readLine reads a line from r, failing t after a minute.
func readLine(t *testing.T, p *proc, r *bufio.Reader, want *regexp.Regexp) []string {
	t.Helper()
	type line struct {
		s   string
		err error
	}
	lines := make(chan line, 1)
	go func() {
		for {
			s, err := r.ReadString('\n')
			if err != nil || want.MatchString(s) {
				lines <- line{s, err}
				return
			}
		}
	}()
	select {
	case l := <-lines:
		if l.err != nil {
			t.Fatalf("%s: no line matching %s on stdout: %v\nstderr:\n%s", p.cmd.Path, want, l.err, p.stderr)
		}
		return want.FindStringSubmatch(l.s)
	case <-time.After(time.Minute):
		t.Fatalf("%s: no line matching %s within a minute\nstderr:\n%s", p.cmd.Path, want, p.stderr)
	}
	return nil
}

// witnessProc is a transparency-dev witness in its own process.
type witnessProc struct {
	*proc
	Name, URL, VKey string
	keyFile         string
}

// startWitness starts a witness for the log with verifier key logVKey. Its
// key is kept in keyFile (made if missing), and it listens on listen
// ("": any loopback port).
func startWitness(t *testing.T, name, logVKey, keyFile, listen string) *witnessProc {
	t.Helper()
	if keyFile == "" {
		keyFile = filepath.Join(t.TempDir(), name+".key")
	}
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	p, out := start(t, testwitness(t), "--name", name, "--log-vkey", logVKey, "--key", keyFile, "--listen", listen)
	m := readLine(t, p, out, regexp.MustCompile(`^(\{.*\})\s*$`))
	var r struct{ URL, Name, VKey string }
	if err := json.Unmarshal([]byte(m[1]), &r); err != nil || r.URL == "" || r.VKey == "" {
		t.Fatalf("witness ready line %q: %v", m[1], err)
	}
	go io.Copy(io.Discard, out) // a full pipe must never block the witness
	return &witnessProc{proc: p, Name: r.Name, URL: r.URL, VKey: r.VKey, keyFile: keyFile}
}

// down stops the witness: its address refuses connections.
func (w *witnessProc) down(t *testing.T) { w.stop(t) }

// restart starts the witness again on the same address with the same key
// (its state, in memory, is gone).
func (w *witnessProc) restart(t *testing.T, logVKey string) *witnessProc {
	t.Helper()
	w.stop(t)
	return startWitness(t, w.Name, logVKey, w.keyFile, strings.TrimPrefix(w.URL, "http://"))
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// latestSize is the size of the last checkpoint the witness cosigned (0:
// none), as the witness itself tells.
func (w *witnessProc) latestSize(t *testing.T) uint64 {
	t.Helper()
	code, b := get(t, w.URL+"/latest")
	if code == http.StatusNotFound {
		return 0
	}
	lines := strings.SplitN(string(b), "\n", 3)
	if code != http.StatusOK || len(lines) < 3 {
		t.Fatalf("witness %s GET /latest: %d %q", w.Name, code, b)
	}
	n, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		t.Fatalf("witness %s latest checkpoint: %v", w.Name, err)
	}
	return n
}

// sawStatus reports whether the witness answered an add-checkpoint with code.
func (w *witnessProc) sawStatus(t *testing.T, code int) bool {
	t.Helper()
	_, b := get(t, w.URL+"/statuses")
	var codes []int
	if err := json.Unmarshal(b, &codes); err != nil {
		t.Fatalf("witness %s GET /statuses: %q: %v", w.Name, b, err)
	}
	for _, c := range codes {
		if c == code {
			return true
		}
	}
	return false
}

// policyText is a C2SP policy: the witnesses, and a quorum of n of them.
func policyText(n int, ws ...*witnessProc) string {
	var b strings.Builder
	var names []string
	for _, w := range ws {
		fmt.Fprintf(&b, "witness %s %s %s\n", w.Name, w.VKey, w.URL)
		names = append(names, w.Name)
	}
	fmt.Fprintf(&b, "group g %d %s\nquorum g\n", n, strings.Join(names, " "))
	return b.String()
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// pollCosigned GETs url until the checkpoint it serves (as is, or in the
// JSON field "checkpoint") satisfies policy and has at least size entries.
func pollCosigned(t *testing.T, url, policy string, size uint64, vkey, origin string) []byte {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, b := get(t, url)
		var err error
		if code == http.StatusOK {
			var cp *verify.Checkpoint
			if cp, err = verify.OpenCheckpoint(b, origin, vkey); err == nil {
				if err = verify.CheckWitnessPolicy(b, []byte(policy)); err == nil && cp.Size >= size {
					return b
				}
				if err == nil {
					err = fmt.Errorf("cosigned size %d < %d", cp.Size, size)
				}
			}
		} else {
			err = fmt.Errorf("%d %s", code, b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: no checkpoint of size >= %d satisfying the policy within 20s: %v", url, size, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestLedgerdWithWitness runs the ledger as it ships: the ledgerd and
// ledgerctl binaries of this module, ledgerd started with --witness-policy
// naming a transparency-dev witness in its own process. Records appended
// over HTTP end up in a checkpoint the witness cosigned, which
// verify.CheckWitnessPolicy and `ledgerctl verify --witness-policy`
// accept, in GET /checkpoint and in a decision's receipt.
func TestLedgerdWithWitness(t *testing.T) {
	ledgerd := build(t, "ledgerd", ".", "github.com/fjaledger/fja/cmd/ledgerd")
	ledgerctl := build(t, "ledgerctl", ".", "github.com/fjaledger/fja/cmd/ledgerctl")
	data := t.TempDir()
	serving := regexp.MustCompile(`FJA Ledger serving (http://\S+)`)
	vkeyLine := regexp.MustCompile(`^\s*vkey:\s+(\S+)`)
	tokenLine := regexp.MustCompile(`development producer token: (\S+)`)

	// First start (development mode): the log key is created; its
	// verifier key is what the witness must trust.
	p, out := start(t, ledgerd, "--data", data, "--listen", "127.0.0.1:0", "--log-level", "warn")
	readLine(t, p, out, serving)
	logVKey := readLine(t, p, out, vkeyLine)[1]
	p.stop(t)
	origin, _, _ := strings.Cut(logVKey, "+")

	w := startWitness(t, "witness1.example", logVKey, "", "")
	policy := policyText(1, w)
	policyFile := writeFile(t, "policy", []byte(policy))

	p, out = start(t, ledgerd, "--data", data, "--listen", "127.0.0.1:0", "--log-level", "warn", "--witness-policy", policyFile)
	url := readLine(t, p, out, serving)[1]
	token := readLine(t, p, out, tokenLine)[1]
	go io.Copy(io.Discard, out) // a full pipe must never block ledgerd

	post := func(path string, body []byte) []byte {
		t.Helper()
		req, _ := http.NewRequest("POST", url+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
		}
		return b
	}
	post("/v1/constitutions", apitest.Example(t, "constitution.json"))
	var rc verify.Receipt
	if err := json.Unmarshal(post("/v1/decisions", apitest.Example(t, "decision-refused.json")), &rc); err != nil {
		t.Fatal(err)
	}

	// GET /checkpoint: log-signed and cosigned, covering both records.
	cp := pollCosigned(t, url+"/checkpoint", policy, rc.Index+1, logVKey, origin)
	if got := w.latestSize(t); got < rc.Index+1 {
		t.Fatalf("the witness holds size %d, want >= %d", got, rc.Index+1)
	}
	cpFile := writeFile(t, "checkpoint", cp)
	if o, err := exec.Command(ledgerctl, "verify", "checkpoint", cpFile, "--key", logVKey, "--witness-policy", policyFile).CombinedOutput(); err != nil {
		t.Fatalf("ledgerctl verify checkpoint --witness-policy: %v\n%s", err, o)
	}
	// The policy the log publishes is the one it was given.
	var info api.LogInfo
	_, b := get(t, url+"/v1/log")
	if err := json.Unmarshal(b, &info); err != nil || info.WitnessPolicy != policy {
		t.Fatalf("GET /v1/log witness_policy %q, want the policy file (%v)", info.WitnessPolicy, err)
	}

	// The decision's receipt, fetched again once cosigned, verifies with
	// the log key and satisfies the policy.
	var dec struct {
		DecisionID string `json:"decision_id"`
	}
	json.Unmarshal(apitest.Example(t, "decision-refused.json"), &dec)
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequest("GET", url+"/v1/decisions/"+dec.DecisionID+"/receipt", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		var r verify.Receipt
		if resp.StatusCode == http.StatusOK && json.Unmarshal(b, &r) == nil && verify.CheckWitnessPolicy([]byte(r.Checkpoint), []byte(policy)) == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET receipt: no cosigned receipt within 20s: %d %s", resp.StatusCode, b)
		}
		time.Sleep(25 * time.Millisecond)
	}
	if _, _, err := verify.VerifyReceipt(b, logVKey); err != nil {
		t.Fatalf("the cosigned receipt does not verify: %v", err)
	}
	rFile := writeFile(t, "receipt.json", b)
	if o, err := exec.Command(ledgerctl, "verify", "receipt", rFile, "--key", logVKey, "--witness-policy", policyFile).CombinedOutput(); err != nil {
		t.Fatalf("ledgerctl verify receipt --witness-policy: %v\n%s", err, o)
	}

	// A policy that also needs a witness that never cosigned: rejected,
	// naming it.
	other := startWitness(t, "witness2.example", logVKey, "", "")
	strict := writeFile(t, "strict", []byte(policyText(2, w, other)))
	o, err := exec.Command(ledgerctl, "verify", "receipt", rFile, "--key", logVKey, "--witness-policy", strict).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(o), "witness2.example") {
		t.Fatalf("ledgerctl verify with an unmet policy: %v, want exit 1 naming witness2.example\n%s", err, o)
	}
	if err := verify.CheckWitnessPolicy(cp, []byte(policyText(1, other))); !errors.Is(err, verify.ErrWitnessPolicy) {
		t.Fatalf("a policy of another witness: err %v, want ErrWitnessPolicy", err)
	}
}

// fixture is a ledger server (apitest, this module's code) whose cosigner
// sends its checkpoints to witness processes.
type fixture struct {
	*apitest.Server
	cos    *cosign.Cosigner
	policy string
	group  fwitness.Group
}

// newFixture starts the server; ws starts the witnesses once the log's
// verifier key is known.
func newFixture(t *testing.T, mode api.WitnessMode, quorum int, ws func(logVKey string) []*witnessProc) *fixture {
	t.Helper()
	f := &fixture{}
	f.Server = apitest.New(t, apitest.WithAPI(func(c *api.Config) {
		f.policy = policyText(quorum, ws(c.VerifierKeys[0])...)
		var err error
		if f.group, err = fwitness.ParsePolicy([]byte(f.policy)); err != nil {
			t.Fatal(err)
		}
		f.cos, err = cosign.New(cosign.Config{Log: c.Log, Policy: f.group, Poll: 20 * time.Millisecond,
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
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
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

// TestWitness2of3: with three witnesses and a 2-of-3 quorum, checkpoints
// are cosigned with all three up and with one down; one cosignature is not
// enough; with two down the log fails open; a witness back on its address
// (same key, state lost) cosigns again.
func TestWitness2of3(t *testing.T) {
	var ws []*witnessProc
	var logVKey string
	f := newFixture(t, api.WitnessOpen, 2, func(vk string) []*witnessProc {
		logVKey = vk
		for i := range 3 {
			ws = append(ws, startWitness(t, fmt.Sprintf("w%d.example", i+1), vk, "", ""))
		}
		return ws
	})

	ack := f.appendN(t, 3)
	cp := waitCosigned(t, f.cos, ack.Size)
	if err := verify.CheckWitnessPolicy(cp, []byte(f.policy)); err != nil {
		t.Fatalf("3 up: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
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

	// One witness down: 2 of 3 still cosign.
	ws[2].down(t)
	ack = f.appendN(t, 4)
	cp = waitCosigned(t, f.cos, ack.Size)
	if names, _ := verify.Cosigners(cp, []byte(f.policy)); len(names) != 2 {
		t.Fatalf("with w3 down cosigned by %v, want 2", names)
	}
	// One cosignature stripped: the policy is not met, the log signature stays.
	one := dropSignatures(t, cp, ws[1].Name)
	if err := verify.CheckWitnessPolicy(one, []byte(f.policy)); !errors.Is(err, verify.ErrWitnessPolicy) {
		t.Fatalf("1 of 3: err %v, want ErrWitnessPolicy", err)
	}
	if _, err := verify.OpenCheckpoint(one, f.Origin, f.VKey); err != nil {
		t.Fatalf("the stripped checkpoint lost the log's signature: %v", err)
	}

	// Two down: no new head satisfies the policy; fail-open, GET
	// /checkpoint serves the log-signed head.
	ws[1].down(t)
	ack = f.appendN(t, 2)
	code, body := f.Do("GET", "/checkpoint", "", nil)
	if _, size := f.cos.Latest(); size >= ack.Size {
		t.Fatalf("cosigned size %d with 2 of 3 witnesses down", size)
	}
	if code != 200 || !bytes.Equal(body, f.Log.Head().Checkpoint) {
		t.Fatalf("fail-open GET /checkpoint: %d, want the log-signed head\n%s", code, body)
	}

	// w2 back on its address with its key but no state: the cosigner's
	// "old" size is refused (409), it resends from what the witness holds,
	// and the head is cosigned again.
	ws[1] = ws[1].restart(t, logVKey)
	cp = waitCosigned(t, f.cos, ack.Size)
	if err := verify.CheckWitnessPolicy(cp, []byte(f.policy)); err != nil {
		t.Fatalf("w2 back: %v", err)
	}
	if got := ws[1].latestSize(t); got != ack.Size {
		t.Fatalf("restarted w2 holds size %d, want %d", got, ack.Size)
	}
}

// TestWitnessConflict: a cosigner that starts fresh (after a restart) sends
// "old 0"; the witness answers 409 with its size and the cosigner resends
// with the right consistency proof. A cosigner whose view of the log is
// behind the witness waits until the log catches up.
func TestWitnessConflict(t *testing.T) {
	var w *witnessProc
	f := newFixture(t, api.WitnessOpen, 1, func(vk string) []*witnessProc {
		w = startWitness(t, "witness1.example", vk, "", "")
		return []*witnessProc{w}
	})
	ack := f.appendN(t, 5)
	waitCosigned(t, f.cos, ack.Size)
	f.cos.Close()

	// Restart: a fresh cosigner knows nothing of the witness's size.
	ack = f.appendN(t, 3)
	c2, err := cosign.New(cosign.Config{Log: f.Log, Policy: f.group, Poll: 20 * time.Millisecond, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c2.Start()
	defer c2.Close()
	cp := waitCosigned(t, c2, ack.Size)
	if !w.sawStatus(t, http.StatusConflict) {
		t.Fatal("the witness never answered 409")
	}
	if err := verify.CheckWitnessPolicy(cp, []byte(f.policy)); err != nil {
		t.Fatal(err)
	}
	if got := w.latestSize(t); got != ack.Size {
		t.Fatalf("witness at %d, want %d", got, ack.Size)
	}

	// A cosigner that sees an older head than the witness has cosigned.
	old := f.Log.Head()
	f.appendN(t, 4)
	c2.Close()
	view := &laggingLog{Log: f.Log}
	view.pin(old)
	c3, _ := cosign.New(cosign.Config{Log: f.Log, Policy: f.group, Poll: 20 * time.Millisecond})
	c3.Start()
	waitCosigned(t, c3, f.Log.Head().Size) // the witness moves past what c4 sees
	c3.Close()
	c4, _ := cosign.New(cosign.Config{Log: view, Policy: f.group, Poll: 20 * time.Millisecond, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	c4.Start()
	defer c4.Close()
	time.Sleep(300 * time.Millisecond) // rounds in which c4 tries its stale head
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

// TestWitnessClosed: fail-closed, an append's receipt is against a
// cosigned checkpoint covering it; with the quorum down, GET /checkpoint
// still serves only a cosigned checkpoint.
func TestWitnessClosed(t *testing.T) {
	var ws []*witnessProc
	f := newFixture(t, api.WitnessClosed, 1, func(vk string) []*witnessProc {
		ws = append(ws, startWitness(t, "witness1.example", vk, "", ""))
		return ws
	})
	var cr struct{ Receipt json.RawMessage }
	if err := json.Unmarshal(f.MustPost("/v1/constitutions", auth.Producer, apitest.Example(t, "constitution.json")), &cr); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"constitution": cr.Receipt,
		"decision":     f.MustPost("/v1/decisions", auth.Producer, apitest.Example(t, "decision-refused.json")),
	} {
		var r verify.Receipt
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s receipt: %v", name, err)
		}
		if _, _, err := verify.VerifyReceipt(b, f.VKey); err != nil {
			t.Fatalf("%s receipt: %v", name, err)
		}
		if err := verify.CheckWitnessPolicy([]byte(r.Checkpoint), []byte(f.policy)); err != nil {
			t.Fatalf("%s receipt is not against a cosigned checkpoint: %v", name, err)
		}
	}
	code, body := f.Do("GET", "/checkpoint", "", nil)
	if err := verify.CheckWitnessPolicy(body, []byte(f.policy)); code != 200 || err != nil {
		t.Fatalf("GET /checkpoint: %d %v", code, err)
	}

	// Quorum down: whatever the append is answered (DESIGN.md: a committed
	// record's receipt, not yet witnessed), GET /checkpoint serves only a
	// cosigned checkpoint, never the log-signed head past it.
	ws[0].down(t)
	req, _ := http.NewRequest("POST", f.URL+"/v1/decisions", bytes.NewReader(apitest.Example(t, "decision-answered.json")))
	req.Header.Set("Authorization", "Bearer "+f.Tokens[auth.Producer])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The record is committed: the answer is its log-signed receipt, with
	// the contest token, and says the cosignature is pending.
	if resp.StatusCode != 201 || resp.Header.Get(api.HeaderWitness) != "pending" {
		t.Fatalf("append with the quorum down: %d (%s: %q) %s; want 201, pending", resp.StatusCode, api.HeaderWitness, resp.Header.Get(api.HeaderWitness), b)
	}
	pr, _, err := verify.VerifyReceipt(b, f.VKey)
	if err != nil || pr.ContestToken == "" {
		t.Fatalf("log-signed receipt with the quorum down: %v (contest token %q)", err, pr.ContestToken)
	}
	if err := verify.CheckWitnessPolicy([]byte(pr.Checkpoint), []byte(f.policy)); err == nil {
		t.Fatal("a receipt said pending is against a cosigned checkpoint")
	}
	// A producer that lost that answer sends the request again: it gets
	// the same contest token back (the delivery window, 24 h by default).
	code, b = f.Do("POST", "/v1/decisions", auth.Producer, apitest.Example(t, "decision-answered.json"))
	var again verify.Receipt
	if err := json.Unmarshal(b, &again); err != nil || code != 200 || again.ContestToken != pr.ContestToken || again.Index != pr.Index {
		t.Fatalf("resubmission after a pending answer: %d, index %d, token %q; want 200, index %d, the same token", code, again.Index, again.ContestToken, pr.Index)
	}
	code, body = f.Do("GET", "/checkpoint", "", nil)
	if err := verify.CheckWitnessPolicy(body, []byte(f.policy)); code != 200 || err != nil {
		t.Fatalf("fail-closed GET /checkpoint: %d %v\n%s", code, err, body)
	}
	if head := f.Log.Head(); bytes.Equal(body, head.Checkpoint) {
		t.Fatal("fail-closed GET /checkpoint served the uncosigned head")
	}
}
