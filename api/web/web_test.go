package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/fjaledger/fja/api/web"
)

// TestWasmUpToDate rebuilds verify.wasm with the go:generate command and
// requires the embedded copy to be byte-identical, and wasm_exec.js to be
// the one of the Go that builds it, so neither can go stale when verify/
// or the Go version changes.
func TestWasmUpToDate(t *testing.T) {
	goBin := goCommand(t)
	// the go:generate line runs the same build
	src, err := os.ReadFile("web.go")
	if err != nil {
		t.Fatal(err)
	}
	quoted := make([]string, len(web.WasmBuildArgs))
	for i, a := range web.WasmBuildArgs {
		quoted[i] = a
		if strings.Contains(a, " ") {
			quoted[i] = `"` + a + `"`
		}
	}
	gen := "//go:generate env GOOS=js GOARCH=wasm go " + strings.Join(quoted, " ") + " -o assets/verify.wasm ./wasm\n"
	if !strings.Contains(string(src), gen) {
		t.Errorf("web.go lacks the line %q: keep it and WasmBuildArgs the same", gen)
	}

	out := filepath.Join(t.TempDir(), "verify.wasm")
	args := append(append([]string{}, web.WasmBuildArgs...), "-o", out, "./wasm")
	cmd := exec.Command(goBin, args...)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=js GOARCH=wasm go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	built, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := os.ReadFile("assets/verify.wasm")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(built, embedded) {
		t.Errorf("assets/verify.wasm (%d bytes) differs from a fresh build (%d bytes): run go generate ./api/web", len(embedded), len(built))
	}

	goroot, err := exec.Command(goBin, "env", "GOROOT").Output()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("assets/wasm_exec.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("assets/wasm_exec.js is not the one of this Go: run go generate ./api/web")
	}
}

// TestWasmImports: the in-browser verifier depends on nothing of this
// module but verify/... (so the page checks receipts and explanations with
// exactly the code an auditor vendors).
func TestWasmImports(t *testing.T) {
	cmd := exec.Command(goCommand(t), "list", "-deps", "-f", "{{.ImportPath}}", "./wasm")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for p := range strings.Lines(string(out)) {
		p = strings.TrimSpace(p)
		if strings.HasPrefix(p, "github.com/fjaledger/fja/") && p != "github.com/fjaledger/fja/verify" &&
			!strings.HasPrefix(p, "github.com/fjaledger/fja/verify/") && p != "github.com/fjaledger/fja/api/web/wasm" {
			t.Errorf("the wasm verifier depends on %s", p)
		}
	}
}

// goCommand is the go command running the test (go test puts its
// GOROOT/bin first in PATH).
func goCommand(t *testing.T) string {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command: %v", err)
	}
	return goBin
}

func newServer(t *testing.T) *httptest.Server {
	e := echo.New()
	web.Register(e)
	e.GET("/v1/log", func(c echo.Context) error { return c.String(http.StatusOK, "api") })
	hs := httptest.NewServer(e)
	t.Cleanup(hs.Close)
	return hs
}

func get(t *testing.T, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	tr := &http.Transport{DisableCompression: true}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestServe: the page and its assets with their content types, a short
// cache, a strict CSP on the page, gzip when asked, 304 on a matching ETag,
// JSON 404 for an unknown asset, and the API routes untouched.
func TestServe(t *testing.T) {
	hs := newServer(t)
	for path, ctype := range map[string]string{
		"/":                    "text/html; charset=utf-8",
		"/assets/index.html":   "text/html; charset=utf-8",
		"/assets/app.js":       "text/javascript; charset=utf-8",
		"/assets/wasm_exec.js": "text/javascript; charset=utf-8",
		"/assets/style.css":    "text/css; charset=utf-8",
		"/assets/verify.wasm":  "application/wasm",
	} {
		resp, body := get(t, hs.URL+path)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != ctype {
			t.Errorf("GET %s: %d %q, want 200 %q", path, resp.StatusCode, resp.Header.Get("Content-Type"), ctype)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != web.CacheControl {
			t.Errorf("GET %s: Cache-Control %q", path, cc)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("ETag") == "" {
			t.Errorf("GET %s: headers %v", path, resp.Header)
		}
		if len(body) == 0 {
			t.Errorf("GET %s: empty", path)
		}
		if strings.HasPrefix(ctype, "text/html") && resp.Header.Get("Content-Security-Policy") != web.ContentSecurityPolicy {
			t.Errorf("GET %s: CSP %q", path, resp.Header.Get("Content-Security-Policy"))
		}
	}

	// gzip when asked, the same bytes once decoded
	_, plain := get(t, hs.URL+"/assets/verify.wasm")
	if !bytes.HasPrefix(plain, []byte("\x00asm")) {
		t.Fatalf("verify.wasm does not start with the wasm magic")
	}
	resp, gz := get(t, hs.URL+"/assets/verify.wasm", "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" || len(gz) >= len(plain) {
		t.Fatalf("gzip: Content-Encoding %q, %d bytes of %d", resp.Header.Get("Content-Encoding"), len(gz), len(plain))
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	if dec, _ := io.ReadAll(zr); !bytes.Equal(dec, plain) {
		t.Error("gzip body does not decode to the wasm")
	}
	if resp, _ := get(t, hs.URL+"/assets/verify.wasm", "Accept-Encoding", "gzip;q=0"); resp.Header.Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 got gzip")
	}

	// revalidation
	resp, _ = get(t, hs.URL+"/")
	if r2, _ := get(t, hs.URL+"/", "If-None-Match", resp.Header.Get("ETag")); r2.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", r2.StatusCode)
	}

	// unknown asset: the API's JSON 404; other paths go on to the routes
	resp, body := get(t, hs.URL+"/assets/nope.js")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown asset: %d %s", resp.StatusCode, body)
	}
	if _, body := get(t, hs.URL+"/v1/log"); string(body) != "api" {
		t.Errorf("/v1/log: %q", body)
	}
	if resp, _ := get(t, hs.URL+"/assets/"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/assets/: %d", resp.StatusCode)
	}
}

// TestPageSelfContained: the page loads nothing from another origin and
// has a label for every form control.
func TestPageSelfContained(t *testing.T) {
	for _, name := range []string{"assets/index.html", "assets/app.js", "assets/rules.js", "assets/style.css"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"http://", "https://", "//cdn", "@import", "fonts.g"} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s refers to %q: the page must not load anything from elsewhere", name, bad)
			}
		}
	}
	html, _ := os.ReadFile("assets/index.html")
	s := string(html)
	for _, tag := range []string{"<input ", "<textarea ", "<select "} {
		for rest := s; ; {
			i := strings.Index(rest, tag)
			if i < 0 {
				break
			}
			rest = rest[i+len(tag):]
			id, ok := attr(rest, "id")
			if !ok {
				t.Errorf("%s without an id", tag)
				continue
			}
			if !strings.Contains(s, `<label for="`+id+`"`) {
				t.Errorf("%s id=%q has no <label for>", tag, id)
			}
		}
	}
}

func attr(tag, name string) (string, bool) {
	end := strings.IndexByte(tag, '>')
	if end < 0 {
		return "", false
	}
	_, v, ok := strings.Cut(tag[:end], name+`="`)
	if !ok {
		return "", false
	}
	v, _, ok = strings.Cut(v, `"`)
	return v, ok
}
