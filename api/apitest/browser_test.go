package apitest

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A browser that fails to start is an error of startBrowser, and stopping
// what it left behind at the end of the test does not panic (Console before
// the start used to make chromedp start a second browser in the same
// context and close one channel twice).
func TestStartFailure(t *testing.T) {
	for i := 0; i < startAttempts; i++ {
		ctx, err := startBrowser(t, "/bin/false", 800, 600)
		if err == nil || ctx != nil {
			t.Fatalf("a browser that exits at once started: %v, %v", ctx, err)
		}
		if !strings.Contains(err.Error(), "failed to start") {
			t.Errorf("error %q, want it to say the browser failed to start", err)
		}
	}
}

// The console of a started browser is collected, errors included.
func TestBrowserConsole(t *testing.T) {
	b := NewBrowser(t, 800, 600)
	b.Do(chromedp.Navigate(`data:text/html,<p>x</p><script>console.log("apitest-log");console.error("apitest-error")</script>`))
	b.Poll(`document.readyState === 'complete'`)
	deadline := time.Now().Add(stepTimeout)
	for !strings.Contains(b.ConsoleText(), "apitest-error") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	text := b.ConsoleText()
	for _, want := range []string{"apitest-log", "apitest-error"} {
		if !strings.Contains(text, want) {
			t.Errorf("console %q lacks %q", text, want)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.consoleErr != nil {
		t.Errorf("console collection stopped: %v", b.consoleErr)
	}
}
