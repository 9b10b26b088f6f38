// Package web serves the people-facing page of the ledger: a person pastes
// or uploads a decision receipt, checks it in the browser with the verify
// package compiled to WebAssembly (assets/verify.wasm, so the check does
// not trust the server that shows the page), reads what was decided and
// why, and files a contest and follows it.
//
// Everything the page needs is embedded: no build step at run time, no CDN,
// no external fonts or scripts. assets/verify.wasm and assets/wasm_exec.js
// are generated; after changing verify/ or the Go version, run
//
//	go generate ./api/web
//
// (TestWasmUpToDate fails until the embedded copies match.)
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

//go:generate env GOOS=js GOARCH=wasm go build -trimpath -buildvcs=false "-ldflags=-s -w -buildid=" -o assets/verify.wasm ./wasm
//go:generate sh -c "cp \"$(go env GOROOT)/lib/wasm/wasm_exec.js\" assets/wasm_exec.js && chmod 0644 assets/wasm_exec.js assets/verify.wasm"

// WasmBuildArgs are the go build arguments (after "go") that make
// assets/verify.wasm from ./wasm, with GOOS=js GOARCH=wasm: the first
// generate directive above runs the same command (TestWasmUpToDate checks).
var WasmBuildArgs = []string{"build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid="}

//go:embed assets
var files embed.FS

// Assets returns the embedded files, rooted at the assets directory.
func Assets() fs.FS {
	sub, err := fs.Sub(files, "assets")
	if err != nil {
		panic(err)
	}
	return sub
}

// CacheControl is sent with every page asset: short, so a new release
// reaches people within minutes; the ETag makes revalidation cheap.
const CacheControl = "public, max-age=60"

// ContentSecurityPolicy allows only the page's own scripts, styles and
// WebAssembly, and requests to this server.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".wasm": "application/wasm",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
}

type asset struct {
	data  []byte
	gz    []byte // gzip of data, when that is smaller by a tenth or more
	ctype string
	etag  string
}

// load reads every embedded asset, with its content type, ETag and gzip
// form, once per process on first use.
var load = sync.OnceValue(func() map[string]*asset {
	out := map[string]*asset{}
	root := Assets()
	err := fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			ct = "application/octet-stream"
		}
		sum := sha256.Sum256(b)
		out[p] = &asset{data: b, gz: compress(b), ctype: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		panic(err)
	}
	return out
})

func compress(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	if buf.Len() > len(b)*9/10 {
		return nil
	}
	return buf.Bytes()
}

// lookup returns the asset served at URL path p, or nil.
func lookup(p string) *asset {
	if p == "/" {
		return load()["index.html"]
	}
	name, ok := strings.CutPrefix(p, "/assets/")
	if !ok {
		return nil
	}
	return load()[name]
}

func serve(w http.ResponseWriter, r *http.Request, a *asset) {
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", CacheControl)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if strings.HasPrefix(a.ctype, "text/html") {
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
	}
	h.Add("Vary", "Accept-Encoding")
	data, etag := a.data, a.etag
	if a.gz != nil && acceptsGzip(r) {
		data, etag = a.gz, a.etag[:len(a.etag)-1]+`-gz"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				continue
			}
			q, ok := strings.CutPrefix(strings.TrimSpace(params), "q=")
			if f, err := strconv.ParseFloat(q, 64); !ok || (err == nil && f > 0) {
				return true
			}
		}
	}
	return false
}

// Register serves the page on e: GET (and HEAD) / and /assets/<name>,
// ahead of routing. The page is not part of the JSON API, so it adds no
// echo route (and is not in the OpenAPI document); every other request
// goes on to e's routes unchanged, and an unknown /assets/ name gets the
// API's JSON 404.
func Register(e *echo.Echo) {
	e.Pre(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				return next(c)
			}
			if a := lookup(r.URL.Path); a != nil {
				serve(c.Response(), r, a)
				return nil
			}
			if strings.HasPrefix(r.URL.Path, "/assets/") {
				return echo.NewHTTPError(http.StatusNotFound, "no such page asset")
			}
			return next(c)
		}
	})
}
