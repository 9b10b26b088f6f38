package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fjaledger/fja/api/auth"
)

// chromiumPath is Debian's Chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// TestWebPage drives the page at / in headless Chromium against a real
// server: it checks a real receipt in the browser (the verify package
// compiled to WebAssembly), shows a receipt with one changed byte in its
// entry as failing, files a contest through the form, verifies the contest
// receipt and reads the contest's status. Each step leaves a PNG
// screenshot in the test's artifact directory (go test -artifacts keeps
// them).
func TestWebPage(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser test needs Chromium at %s (%v): install it with `apt-get install -y chromium` (.ci/run does)", chromiumPath, err)
	}
	s := newServer(t)
	s.publishConstitution()
	code, receipt := s.do("POST", "/v1/decisions", auth.Producer, example(t, "decision-refused.json"))
	if code != http.StatusCreated {
		t.Fatalf("POST /v1/decisions: %d %s", code, receipt)
	}
	s.receipt(receipt) // it verifies in Go
	tampered := tamperEntry(t, receipt)

	b := newBrowser(t, 1280, 900)
	b.do(chromedp.Navigate(s.url + "/"))
	b.poll(`document.getElementById('verifier-state').textContent.includes('Verifier ready')`)
	b.poll(`document.getElementById('vkey').value !== ''`)
	if got := b.value("#vkey"); got != s.vkey {
		t.Errorf("verifier key field is %q, want the log's %q", got, s.vkey)
	}
	if title := b.eval(`document.title`); !strings.Contains(title, "receipt") {
		t.Errorf("title %q", title)
	}
	// keyboard: Tab reaches the skip link, then the receipt box, with a
	// visible focus outline
	b.do(chromedp.KeyEvent("\t"))
	if got := b.eval(`document.activeElement.className + ' ' + getComputedStyle(document.activeElement).outlineStyle`); got != "skip solid" {
		t.Errorf("first Tab: focus on %q, want the skip link with a solid outline", got)
	}
	b.do(chromedp.KeyEvent("\r"))
	b.do(chromedp.KeyEvent("\t"))
	if got := b.eval(`document.activeElement.id + ' ' + getComputedStyle(document.activeElement).outlineStyle`); got != "receipt solid" {
		t.Errorf("Tab after the skip link: focus on %q, want the receipt box with a solid outline", got)
	}

	// 1. a good receipt verifies and reads in plain language
	b.checkReceipt(receipt, "#verdict .banner.ok")
	result := b.text("#result")
	for _, want := range []string{
		"Verified", "Refused", "medical", "H-12", "dosage question matched the self-harm screen",
		"A-03", "I can't help with dosage questions", "fja-default", "Logged at", "entry #1 (counting from 0), in a log of 2 entries",
	} {
		if !strings.Contains(result, want) {
			t.Errorf("verified result lacks %q:\n%s", want, result)
		}
	}
	if b.eval(`String(document.getElementById('contest').hidden)`) != "false" {
		t.Error("the contest form is not shown for a verified, contestable receipt with a token")
	}
	b.screenshot("1-receipt-verified.png")

	// 2. one changed byte in the entry: shown as failing, no contest form
	b.checkReceipt(tampered, "#verdict .banner.bad")
	verdict := b.text("#verdict")
	for _, want := range []string{"Not verified", "leaf_hash"} {
		if !strings.Contains(verdict, want) {
			t.Errorf("tampered verdict lacks %q:\n%s", want, verdict)
		}
	}
	if strings.Contains(verdict, "\u2714") || b.eval(`String(document.getElementById('contest').hidden)`) != "true" {
		t.Errorf("tampered receipt: verdict %q, contest form shown: %s", verdict, b.eval(`String(!document.getElementById('contest').hidden)`))
	}
	b.screenshot("2-receipt-tampered.png")

	// 3. file a contest through the form, typed from the keyboard
	b.checkReceipt(receipt, "#verdict .banner.ok")
	b.do(chromedp.SetValue(chromedp.CSS("#contest-category"), "false-refusal"))
	b.do(chromedp.SendKeys(chromedp.CSS("#contest-text"), "I am an adult asking for the dose printed on the package leaflet."))
	b.do(chromedp.Click(chromedp.CSS("#remedy-reconsider")))
	b.do(chromedp.Click(chromedp.CSS("#contest-btn")))
	b.poll(`document.getElementById('contest-receipt-verdict') || document.querySelector('#contest-result .banner.bad')`)
	if got := b.text("#contest-result"); !strings.Contains(got, "Your contest is filed") {
		t.Fatalf("contest not filed:\n%s", got)
	}
	if got := b.text("#contest-receipt-verdict"); !strings.Contains(got, "\u2714 verified") {
		t.Errorf("contest receipt: %q, want verified", got)
	}
	contestID := b.text("#contest-id-out")
	if !strings.HasPrefix(contestID, "con-") {
		t.Errorf("contest id %q", contestID)
	}
	if got := b.text("#contest-result"); !strings.Contains(got, "Answer due by") {
		t.Errorf("contest result shows no deadline:\n%s", got)
	}
	b.poll(`document.getElementById('contest-status')`)
	if got := b.text("#contest-status"); !strings.HasPrefix(got, "Open") {
		t.Errorf("contest status %q, want Open", got)
	}
	if got := b.text("#contest-record-verdict"); !strings.Contains(got, "\u2714 verified") {
		t.Errorf("contest record in the status view: %q, want verified", got)
	}
	b.screenshot("3-contest-filed.png")
	if got := b.eval(`String(localStorage.length)`); got != "0" {
		t.Errorf("with the box unticked, localStorage has %s items", got)
	}

	// the server agrees: the contest is logged and open
	var tok struct {
		ContestToken string `json:"contest_token"`
	}
	json.Unmarshal(receipt, &tok)
	code, body := s.do("GET", "/v1/contests/"+contestID, "", nil, "X-Contest-Token", tok.ContestToken)
	if code != http.StatusOK || !strings.Contains(string(body), `"status":"open"`) {
		t.Errorf("GET /v1/contests/%s: %d %s", contestID, code, body)
	}

	// 4. a reviewer resolves it; the status view shows the outcome, proven
	code, body = s.do("POST", "/v1/contests/"+contestID+"/resolution", auth.Reviewer, example(t, "resolution.json"))
	if code != http.StatusCreated {
		t.Fatalf("POST resolution: %d %s", code, body)
	}
	b.do(chromedp.Click(chromedp.CSS("#status-btn")))
	b.poll(`document.getElementById('resolution-record-verdict')`)
	status := b.text("#status-result")
	for _, want := range []string{"Resolved", "Overturned", "rule A-03 should prevail over H-12", "H-12: amend", "Reviewed by a person\nYes"} {
		if !strings.Contains(status, want) {
			t.Errorf("status view lacks %q:\n%s", want, status)
		}
	}
	if got := b.text("#resolution-record-verdict"); !strings.Contains(got, "\u2714 verified") {
		t.Errorf("resolution record: %q, want verified", got)
	}
	b.screenshot("4-contest-resolved.png")

	// 5. at phone width, a receipt uploaded as a file, remembered on the
	// device when (and only when) the box is ticked
	b.do(chromedp.EmulateViewport(360, 800, chromedp.EmulateMobile, chromedp.EmulatePortrait))
	file := filepath.Join(t.TempDir(), "receipt.json")
	if err := os.WriteFile(file, receipt, 0o644); err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.Click(chromedp.CSS("#remember")))
	b.do(chromedp.SetUploadFiles(chromedp.CSS("#receipt-file"), []string{file}))
	b.poll(`document.querySelector('#verdict .banner.ok') && document.getElementById('receipt').value.includes('contest_token')`)
	if w := b.eval(`String(document.documentElement.scrollWidth)`); w != "360" {
		t.Errorf("at 360px the page is %spx wide", w)
	}
	b.screenshot("5-uploaded-360px.png")
	b.do(chromedp.Reload())
	b.poll(`document.querySelector('#verdict .banner.ok')`) // checked again on load
	if b.value("#receipt") != strings.TrimSpace(string(receipt)) || b.eval(`String(document.getElementById('remember').checked)`) != "true" {
		t.Error("a remembered receipt is not there after a reload")
	}
	b.do(chromedp.Click(chromedp.CSS("#remember")))
	if got := b.eval(`String(localStorage.length)`); got != "0" {
		t.Errorf("unticking left %s items in localStorage", got)
	}
	b.checkReceipt(tampered, "#verdict .banner.bad")
	b.screenshot("6-tampered-360px.png")

	b.noConsoleErrors()
}

// tamperEntry changes one byte of the receipt's entry (decoded), keeping
// everything else.
func tamperEntry(t *testing.T, receipt []byte) []byte {
	t.Helper()
	var r map[string]any
	if err := json.Unmarshal(receipt, &r); err != nil {
		t.Fatal(err)
	}
	entry, err := base64.StdEncoding.DecodeString(r["entry"].(string))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(entry, []byte("dosage"))
	if i < 0 {
		t.Fatalf("entry has no 'dosage': %s", entry)
	}
	entry[i] ^= 0x20 // "dosage" -> "Dosage": still valid JSON
	r["entry"] = base64.StdEncoding.EncodeToString(entry)
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// browser is one headless Chromium tab.
type browser struct {
	t   *testing.T
	ctx context.Context
	dir string

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

func newBrowser(t *testing.T, width, height int) *browser {
	t.Helper()
	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	b := &browser{t: t, ctx: ctx, dir: t.ArtifactDir()}
	msgs := chromedp.Console(ctx)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting %s: %v", chromiumPath, err)
	}
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	return b
}

// do runs steps, each step bounded in time.
func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v\nconsole:\n%s", err, b.consoleText())
	}
}

func run[T any](b *browser, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %v\nconsole:\n%s", err, b.consoleText())
	}
	return v
}

// poll waits until the JavaScript expression is truthy.
func (b *browser) poll(expr string) {
	b.t.Helper()
	run(b, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(30*time.Second)))
}

func (b *browser) eval(expr string) string {
	b.t.Helper()
	return run(b, chromedp.Evaluate[string](expr))
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(run(b, chromedp.Text(chromedp.CSS(sel))))
}

func (b *browser) value(sel string) string {
	b.t.Helper()
	return run(b, chromedp.Value(chromedp.CSS(sel)))
}

// checkReceipt pastes receipt, presses the button and waits for the
// verdict matching want.
func (b *browser) checkReceipt(receipt []byte, want string) {
	b.t.Helper()
	b.do(
		chromedp.SetValue(chromedp.CSS("#receipt"), string(receipt)),
		chromedp.Click(chromedp.CSS("#verify-btn")),
	)
	b.poll(`document.querySelector('#verdict .banner.ok, #verdict .banner.bad, #verdict .banner.warn')`)
	b.do(chromedp.WaitVisible(chromedp.CSS(want)))
}

// screenshot saves the whole page as a PNG in the artifact directory and
// checks it is a real, non-blank image.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	buf := run(b, chromedp.FullScreenshot(100))
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		b.t.Fatalf("screenshot %s is not a PNG: %v", name, err)
	}
	if r := img.Bounds(); r.Dx() < 300 || r.Dy() < 300 || uniform(img) {
		b.t.Errorf("screenshot %s is %v and uniform=%v", name, r, uniform(img))
	}
	p := filepath.Join(b.dir, name)
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
		b.t.Fatalf("screenshot %s: %v", p, err)
	}
	b.t.Logf("screenshot %s", p)
}

func uniform(img image.Image) bool {
	r := img.Bounds()
	first := img.At(r.Min.X, r.Min.Y)
	for y := r.Min.Y; y < r.Max.Y; y += 7 {
		for x := r.Min.X; x < r.Max.X; x += 7 {
			if img.At(x, y) != first {
				return false
			}
		}
	}
	return true
}

func (b *browser) consoleText() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var sb strings.Builder
	for _, m := range b.console {
		sb.WriteString(m.String() + "\n")
	}
	return sb.String()
}

// noConsoleErrors fails on an uncaught exception or an error in the
// console (a CSP violation or a failed load included).
func (b *browser) noConsoleErrors() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		if m.IsException() || m.Type == "error" {
			b.t.Errorf("browser console: %s", m.String())
		}
	}
}
