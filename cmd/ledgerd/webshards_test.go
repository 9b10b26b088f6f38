package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/fjaledger/fja/api/apitest"
)

// TestWebAcrossShards: after a rotation, the receipt page (the Go verifier
// compiled to WebAssembly, in headless Chromium) verifies a receipt from
// the frozen shard 1 with shard 1's key, as GET /v1/log lists it, and says
// so; a key the person types is the one used. The status of the contest,
// logged and resolved in shard 2, of that shard 1 decision shows resolved,
// both records verified under shard 2's key. Screenshot as an artifact.
func TestWebAcrossShards(t *testing.T) {
	apitest.RequireChromium(t)
	r := startRotated(t)
	b := apitest.NewBrowser(t, 1280, 900)
	b.Do(chromedp.Navigate(r.s2.url + "/"))
	b.Poll(`document.getElementById('verifier-state').textContent.includes('Verifier ready')`)
	b.Poll(`document.getElementById('vkey').value !== ''`)

	check := func() {
		t.Helper()
		b.Do(chromedp.SetValue(chromedp.CSS("#receipt"), string(r.refused)), chromedp.Click(chromedp.CSS("#verify-btn")))
		b.Poll(`document.querySelector('#verdict .banner.ok, #verdict .banner.bad, #verdict .banner.warn')`)
	}
	check()
	verdict := b.Text("#verdict")
	if !strings.Contains(verdict, "Verified") || !strings.Contains(verdict, "of the log "+r.s1.origin) {
		t.Fatalf("shard 1 receipt after the rotation:\n%s", verdict)
	}
	if got, want := b.Text("#key-used"), "Checked with the key of shard 1 ("+r.s1.origin+", frozen) as this server lists it."; got != want {
		t.Errorf("key used: %q, want %q", got, want)
	}

	// The contest of the shard 1 decision, in shard 2: resolved, both
	// records verified.
	b.Poll(`document.getElementById('status-token').value !== ''`)
	b.Do(chromedp.SetValue(chromedp.CSS("#status-id"), r.contestID))
	b.Eval(`document.getElementById('status-form').requestSubmit(), ''`)
	b.Poll(`document.getElementById('contest-status') !== null`)
	b.Poll(`document.getElementById('resolution-record-verdict') !== null`)
	if got := b.Eval(`document.getElementById('contest-status').className`); !strings.Contains(got, "resolved") {
		t.Errorf("contest status badge %q, want resolved:\n%s", got, b.Text("#status-result"))
	}
	for _, id := range []string{"#contest-record-verdict", "#resolution-record-verdict"} {
		if got := b.Text(id); !strings.Contains(got, "verified: entry #") || strings.Contains(got, "not verified") {
			t.Errorf("%s: %q, want verified under shard 2's key", id, got)
		}
	}
	b.Screenshot("shard1-receipt-after-rotation.png")

	// A key typed by the person is the one used: shard 2's key does not
	// verify shard 1's receipt, and the page says which key it used.
	b.Do(chromedp.SetValue(chromedp.CSS("#vkey"), r.s2.vkey))
	b.Eval(`document.getElementById('vkey').dispatchEvent(new Event('input')), ''`)
	check()
	if v := b.Text("#verdict"); !strings.Contains(v, "Not verified") {
		t.Errorf("shard 1 receipt with shard 2's key typed in:\n%s", v)
	}
	if got := b.Text("#key-used"); got != "Checked with the key you entered of shard 2 (dev.fja-ledger.localhost/log/2, active)." {
		t.Errorf("key used: %q", got)
	}
	b.NoConsoleErrors()
}
