package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's Chromium, which .ci/run installs.
const ChromiumPath = "/usr/bin/chromium"

// stepTimeout bounds each browser step (Do, Run and the helpers on them).
const stepTimeout = 30 * time.Second

// RequireChromium fails t (it does not skip it) if Chromium is not at
// ChromiumPath, saying how to install it. NewBrowser calls it; a test may
// call it first to fail before building its fixture.
func RequireChromium(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		t.Fatalf("%s needs Chromium at %s (%v): install it with `apt-get install -y chromium` (.ci/run does)", t.Name(), ChromiumPath, err)
	}
}

// Browser is one headless Chromium tab. Every step fails T, with the
// console so far, if it does not succeed within 30 seconds.
//
//	b := apitest.NewBrowser(t, 1280, 900)
//	b.Do(chromedp.Navigate(s.URL + "/"))
//	b.Poll(`document.readyState === 'complete'`)
//	b.Screenshot("page.png")
//	b.NoConsoleErrors()
type Browser struct {
	T   testing.TB
	Ctx context.Context

	// MinScreenshot is the smallest size Screenshot accepts (NewBrowser
	// sets 300×300).
	MinScreenshot image.Point

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
	// consoleErr ends the console's collection before the test ended.
	consoleErr error
}

// startAttempts is how many times NewBrowser starts Chromium before it
// gives up: a browser that dies while it starts is replaced by a fresh one,
// and the failure is logged. (CI once hit such a start on a loaded machine:
// chromedp then started a second browser in the same context and panicked
// stopping it.)
const startAttempts = 3

// NewBrowser starts headless Chromium with a window of width×height for
// the test t and collects its console messages. It fails t if Chromium is
// missing or does not start in startAttempts tries; the browser is stopped
// when t ends.
func NewBrowser(t testing.TB, width, height int) *Browser {
	t.Helper()
	RequireChromium(t)
	var ctx context.Context
	for attempt := 1; ; attempt++ {
		var err error
		if ctx, err = startBrowser(t, ChromiumPath, width, height); err == nil {
			break
		}
		if attempt == startAttempts {
			t.Fatalf("starting %s (%d tries, the last one): %v", ChromiumPath, attempt, err)
		}
		t.Logf("starting %s, try %d of %d: %v; starting a fresh browser", ChromiumPath, attempt, startAttempts, err)
	}
	b := &Browser{T: t, Ctx: ctx, MinScreenshot: image.Pt(300, 300)}
	// The browser and its tab exist, so Console only subscribes. (Called
	// before the browser started, Console would start it, swallow a failed
	// start, and leave the context to start a second browser, which
	// chromedp v0.23.0 cannot stop: "close of closed channel".)
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				if ctx.Err() == nil { // not the end of the test
					b.mu.Lock()
					b.consoleErr = err
					b.mu.Unlock()
				}
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	return b
}

// startBrowser starts the browser at execPath with its own allocator,
// profile and temporary directories, and opens its tab. Whatever it started
// is stopped when t ends, also when it fails.
func startBrowser(t testing.TB, execPath string, width, height int) (context.Context, error) {
	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(execPath),
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
		// Chromium's singleton socket directory too, so that nothing of
		// the browser outlives the test
		chromedp.Env("TMPDIR="+t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	// A context starts its browser at most once: after a failure the
	// caller drops ctx and starts another. No timeout here: the browser
	// lives as long as the context that starts it.
	if err := chromedp.Do(ctx); err != nil {
		return nil, err
	}
	return ctx, nil
}

// Do runs steps, each step bounded in time.
func (b *Browser) Do(steps ...chromedp.Action[chromedp.Void]) {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.T.Fatalf("browser: %v\nconsole:\n%s", err, b.ConsoleText())
	}
}

// Run runs the action a in b and returns its value.
func Run[T any](b *Browser, a chromedp.Action[T]) T {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.T.Fatalf("browser: %v\nconsole:\n%s", err, b.ConsoleText())
	}
	return v
}

// Poll waits until the JavaScript expression is truthy.
func (b *Browser) Poll(expr string) {
	b.T.Helper()
	Run(b, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(stepTimeout)))
}

// Eval evaluates the JavaScript expression, whose value must be a string.
func (b *Browser) Eval(expr string) string {
	b.T.Helper()
	return Run(b, chromedp.Evaluate[string](expr))
}

// EvalJSON evaluates expr in the page and decodes its value, as JSON, into v.
func (b *Browser) EvalJSON(expr string, v any) {
	b.T.Helper()
	s := Run(b, chromedp.Evaluate[string]("JSON.stringify("+expr+")"))
	if err := json.Unmarshal([]byte(s), v); err != nil {
		b.T.Fatalf("browser: %s: %v", s, err)
	}
}

// Text is the text of the first element matching the CSS selector sel,
// without leading and trailing space.
func (b *Browser) Text(sel string) string {
	b.T.Helper()
	return strings.TrimSpace(Run(b, chromedp.Text(chromedp.CSS(sel))))
}

// Value is the value of the first form field matching the CSS selector sel.
func (b *Browser) Value(sel string) string {
	b.T.Helper()
	return Run(b, chromedp.Value(chromedp.CSS(sel)))
}

// Screenshot saves the whole page as the PNG name in the test's artifact
// directory (go test -artifacts keeps it) and checks it is a real image, at
// least MinScreenshot in size and not of one colour.
func (b *Browser) Screenshot(name string) {
	b.T.Helper()
	buf := Run(b, chromedp.FullScreenshot(100))
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		b.T.Fatalf("screenshot %s is not a PNG: %v", name, err)
	}
	if r := img.Bounds(); r.Dx() < b.MinScreenshot.X || r.Dy() < b.MinScreenshot.Y || uniform(img) {
		b.T.Errorf("screenshot %s is %v and uniform=%v", name, r, uniform(img))
	}
	p := filepath.Join(b.T.ArtifactDir(), name)
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		b.T.Fatal(err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
		b.T.Fatalf("screenshot %s: %v", p, err)
	}
	b.T.Logf("screenshot %s", p)
}

// uniform reports whether every 7th pixel of every 7th row has the colour
// of the top-left one.
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

// ConsoleText is the console so far, one message a line.
func (b *Browser) ConsoleText() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var sb strings.Builder
	for _, m := range b.console {
		sb.WriteString(m.String() + "\n")
	}
	return sb.String()
}

// NoConsoleErrors fails on an uncaught exception or an error in the
// console (a CSP violation or a failed load included).
func (b *Browser) NoConsoleErrors() {
	b.T.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.consoleErr != nil {
		b.T.Errorf("browser console: the messages stopped arriving: %v", b.consoleErr)
	}
	for _, m := range b.console {
		if m.IsException() || m.Type == "error" {
			b.T.Errorf("browser console: %s", m.String())
		}
	}
}
