package api_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
)

// TestWebPage drives the page at / in headless Chromium against a real
// server: it checks a real receipt in the browser (the verify package
// compiled to WebAssembly), shows a receipt with one changed byte in its
// entry as failing, files a contest through the form, verifies the contest
// receipt and reads the contest's status. Each step leaves a PNG
// screenshot in the test's artifact directory (go test -artifacts keeps
// them).
func TestWebPage(t *testing.T) {
	apitest.RequireChromium(t)
	s := newServer(t)
	s.publishConstitution()
	code, receipt := s.do("POST", "/v1/decisions", auth.Producer, example(t, "decision-refused.json"))
	if code != http.StatusCreated {
		t.Fatalf("POST /v1/decisions: %d %s", code, receipt)
	}
	s.receipt(receipt) // it verifies in Go
	tampered := tamperEntry(t, receipt)
	// the log grows past the receipt's checkpoint (size 2): the page tells
	// the receipt's tree size from the log's size now
	if code, b := s.do("POST", "/v1/decisions", auth.Producer, example(t, "decision-answered.json")); code != http.StatusCreated {
		t.Fatalf("POST /v1/decisions: %d %s", code, b)
	}

	b := apitest.NewBrowser(t, 1280, 900)
	b.Do(chromedp.Navigate(s.url + "/"))
	b.Poll(`document.getElementById('verifier-state').textContent.includes('Verifier ready')`)
	b.Poll(`document.getElementById('vkey').value !== ''`)
	if got := b.Value("#vkey"); got != s.vkey {
		t.Errorf("verifier key field is %q, want the log's %q", got, s.vkey)
	}
	if title := b.Eval(`document.title`); !strings.Contains(title, "receipt") {
		t.Errorf("title %q", title)
	}
	// keyboard: Tab reaches the skip link, then the receipt box, with a
	// visible focus outline
	b.Do(chromedp.KeyEvent("\t"))
	if got := b.Eval(`document.activeElement.className + ' ' + getComputedStyle(document.activeElement).outlineStyle`); got != "skip solid" {
		t.Errorf("first Tab: focus on %q, want the skip link with a solid outline", got)
	}
	b.Do(chromedp.KeyEvent("\r"))
	b.Do(chromedp.KeyEvent("\t"))
	if got := b.Eval(`document.activeElement.id + ' ' + getComputedStyle(document.activeElement).outlineStyle`); got != "receipt solid" {
		t.Errorf("Tab after the skip link: focus on %q, want the receipt box with a solid outline", got)
	}

	// 1. a good receipt verifies and reads in plain language
	checkReceipt(b, receipt, "#verdict .banner.ok")
	result := b.Text("#result")
	for _, want := range []string{
		"Verified", "Refused", "medical", "H-12", "dosage question matched the self-harm screen",
		"A-03", "I can't help with dosage questions", "fja-default", "Logged at", "entry #1 (counting from 0), in the receipt\u2019s checkpoint of 2 entries",
		"covers the first 2 entries of the log", "the log now has 3 entries", "Log size now", "3 entries (as this server says)",
	} {
		if !strings.Contains(result, want) {
			t.Errorf("verified result lacks %q:\n%s", want, result)
		}
	}
	if b.Eval(`String(document.getElementById('contest').hidden)`) != "false" {
		t.Error("the contest form is not shown for a verified, contestable receipt with a token")
	}
	b.Screenshot("1-receipt-verified.png")

	// 2. one changed byte in the entry: shown as failing, no contest form
	checkReceipt(b, tampered, "#verdict .banner.bad")
	verdict := b.Text("#verdict")
	for _, want := range []string{"Not verified", "leaf_hash"} {
		if !strings.Contains(verdict, want) {
			t.Errorf("tampered verdict lacks %q:\n%s", want, verdict)
		}
	}
	if strings.Contains(verdict, "\u2714") || b.Eval(`String(document.getElementById('contest').hidden)`) != "true" {
		t.Errorf("tampered receipt: verdict %q, contest form shown: %s", verdict, b.Eval(`String(!document.getElementById('contest').hidden)`))
	}
	b.Screenshot("2-receipt-tampered.png")

	// 3. file a contest through the form, typed from the keyboard
	checkReceipt(b, receipt, "#verdict .banner.ok")
	b.Do(chromedp.SetValue(chromedp.CSS("#contest-category"), "false-refusal"))
	b.Do(chromedp.SendKeys(chromedp.CSS("#contest-text"), "I am an adult asking for the dose printed on the package leaflet."))
	b.Do(chromedp.Click(chromedp.CSS("#remedy-reconsider")))
	b.Do(chromedp.Click(chromedp.CSS("#contest-btn")))
	b.Poll(`document.getElementById('contest-receipt-verdict') || document.querySelector('#contest-result .banner.bad')`)
	if got := b.Text("#contest-result"); !strings.Contains(got, "Your contest is filed") {
		t.Fatalf("contest not filed:\n%s", got)
	}
	if got := b.Text("#contest-receipt-verdict"); !strings.Contains(got, "\u2714 verified") {
		t.Errorf("contest receipt: %q, want verified", got)
	}
	contestID := b.Text("#contest-id-out")
	if !strings.HasPrefix(contestID, "con-") {
		t.Errorf("contest id %q", contestID)
	}
	if got := b.Text("#contest-result"); !strings.Contains(got, "Answer due by") {
		t.Errorf("contest result shows no deadline:\n%s", got)
	}
	b.Poll(`document.getElementById('contest-status')`)
	if got := b.Text("#contest-status"); !strings.HasPrefix(got, "Open") {
		t.Errorf("contest status %q, want Open", got)
	}
	if got := b.Text("#contest-record-verdict"); !strings.Contains(got, "\u2714 verified") {
		t.Errorf("contest record in the status view: %q, want verified", got)
	}
	b.Screenshot("3-contest-filed.png")
	if got := b.Eval(`String(localStorage.length)`); got != "0" {
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
	b.Do(chromedp.Click(chromedp.CSS("#status-btn")))
	b.Poll(`document.getElementById('resolution-record-verdict')`)
	status := b.Text("#status-result")
	for _, want := range []string{"Resolved", "Overturned", "rule A-03 should prevail over H-12", "H-12: amend", "Reviewed by a person\nYes"} {
		if !strings.Contains(status, want) {
			t.Errorf("status view lacks %q:\n%s", want, status)
		}
	}
	if got := b.Text("#resolution-record-verdict"); !strings.Contains(got, "\u2714 verified") {
		t.Errorf("resolution record: %q, want verified", got)
	}
	b.Screenshot("4-contest-resolved.png")

	// 5. at phone width, a receipt uploaded as a file, remembered on the
	// device when (and only when) the box is ticked
	b.Do(chromedp.EmulateViewport(360, 800, chromedp.EmulateMobile, chromedp.EmulatePortrait))
	file := filepath.Join(t.TempDir(), "receipt.json")
	if err := os.WriteFile(file, receipt, 0o644); err != nil {
		t.Fatal(err)
	}
	b.Do(chromedp.Click(chromedp.CSS("#remember")))
	b.Do(chromedp.SetUploadFiles(chromedp.CSS("#receipt-file"), []string{file}))
	b.Poll(`document.querySelector('#verdict .banner.ok') && document.getElementById('receipt').value.includes('contest_token')`)
	if w := b.Eval(`String(document.documentElement.scrollWidth)`); w != "360" {
		t.Errorf("at 360px the page is %spx wide", w)
	}
	b.Screenshot("5-uploaded-360px.png")
	b.Do(chromedp.Reload())
	b.Poll(`document.querySelector('#verdict .banner.ok')`) // checked again on load
	if b.Value("#receipt") != strings.TrimSpace(string(receipt)) || b.Eval(`String(document.getElementById('remember').checked)`) != "true" {
		t.Error("a remembered receipt is not there after a reload")
	}
	b.Do(chromedp.Click(chromedp.CSS("#remember")))
	if got := b.Eval(`String(localStorage.length)`); got != "0" {
		t.Errorf("unticking left %s items in localStorage", got)
	}
	checkReceipt(b, tampered, "#verdict .banner.bad")
	b.Screenshot("6-tampered-360px.png")

	b.NoConsoleErrors()
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

// checkReceipt pastes receipt, presses the button and waits for the
// verdict matching want.
func checkReceipt(b *apitest.Browser, receipt []byte, want string) {
	b.T.Helper()
	b.Do(
		chromedp.SetValue(chromedp.CSS("#receipt"), string(receipt)),
		chromedp.Click(chromedp.CSS("#verify-btn")),
	)
	b.Poll(`document.querySelector('#verdict .banner.ok, #verdict .banner.bad, #verdict .banner.warn')`)
	b.Do(chromedp.WaitVisible(chromedp.CSS(want)))
}

// TestWebExplanation: the page checks an explanation file downloaded from
// a real server in headless Chromium (the same Go verifier, compiled to
// WebAssembly) and shows the cited rules in full, the weighing, the flags
// in plain words and the contest window; the file with one byte changed
// is shown as failing, with nothing of its content. Screenshots at
// desktop and phone width are saved as test artifacts.
func TestWebExplanation(t *testing.T) {
	apitest.RequireChromium(t)
	s, token := explanationFixture(t)
	code, bundle := s.do("GET", "/v1/decisions/"+refusedID+"/explanation?download=1", "", nil, "X-Contest-Token", token)
	if code != http.StatusOK {
		t.Fatalf("GET explanation: %d %s", code, bundle)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "explanation.json")
	bad := filepath.Join(dir, "explanation-changed.json")
	changed := bytes.Clone(bundle)
	i := bytes.LastIndex(changed, []byte("answer with care"))
	if i < 0 {
		t.Fatalf("no rule text in %s", bundle)
	}
	changed[i] ^= 0x20 // "Answer with care" in the rule text shown
	if err := os.WriteFile(good, bundle, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, changed, 0o644); err != nil {
		t.Fatal(err)
	}

	b := apitest.NewBrowser(t, 1280, 900)
	b.Do(chromedp.Navigate(s.url + "/"))
	b.Poll(`document.getElementById('verifier-state').textContent.includes('Verifier ready')`)
	b.Poll(`document.getElementById('vkey').value !== ''`)

	b.Do(chromedp.SetUploadFiles(chromedp.CSS("#explanation-file"), []string{good}))
	b.Poll(`document.querySelector('#explanation-verdict .banner.ok, #explanation-verdict .banner.bad')`)
	if got := b.Text("#explanation-verdict"); !strings.Contains(got, "Verified") {
		t.Fatalf("the real explanation: %q, want verified", got)
	}
	shown := b.Text("#explanation-details")
	for _, want := range []string{
		"Refused", refusedID, "medical",
		"H-12", "When a request may concern self-harm, answer with care and include support resources.",
		"A-03", "Give adults the medical information they ask for, with risks explained, rather than refusing.",
		"Why it applied here: dosage question matched the self-harm screen",
		"harmlessness 0.4", "Candidate c2 (chosen)", "harmlessness 0.97",
		"Caution: The answer relies mostly on sources from Western countries", "A flag the format does not know.",
		"Contestable until", "(still open)", "fja-default", "2026.11",
	} {
		if !strings.Contains(shown, want) {
			t.Errorf("the verified explanation lacks %q:\n%s", want, shown)
		}
	}
	b.Do(chromedp.ScrollIntoView(chromedp.CSS("#explanation")))
	b.Screenshot("1-explanation-verified.png")

	b.Do(chromedp.SetUploadFiles(chromedp.CSS("#explanation-file"), []string{bad}))
	b.Poll(`document.querySelector('#explanation-verdict .banner.bad')`)
	if got := b.Text("#explanation-verdict"); !strings.Contains(got, "Not verified") || !strings.Contains(got, "rules") {
		t.Errorf("one byte changed: %q, want not verified, naming the rules", got)
	}
	if got := b.Text("#explanation-details"); got != "" {
		t.Errorf("a file that does not verify is shown: %q", got)
	}
	b.Screenshot("2-explanation-changed.png")

	b.Do(chromedp.EmulateViewport(360, 800, chromedp.EmulateMobile, chromedp.EmulatePortrait))
	b.Do(chromedp.SetUploadFiles(chromedp.CSS("#explanation-file"), []string{good}))
	b.Poll(`document.querySelector('#explanation-verdict .banner.ok')`)
	if w := b.Eval(`String(document.documentElement.scrollWidth)`); w != "360" {
		t.Errorf("at 360px the page is %spx wide", w)
	}
	b.Do(chromedp.ScrollIntoView(chromedp.CSS("#explanation-rules")))
	b.Screenshot("3-explanation-360px.png")
	b.NoConsoleErrors()
}
