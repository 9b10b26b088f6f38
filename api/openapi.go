package api

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/fjaledger/fja/schemas"
)

// openAPITemplate is the OpenAPI 3.1 document of the API. Its record
// schemas (components.schemas entries with an $id) are placeholders: the
// schemas of package schemas, which the server validates with, are spliced
// in by OpenAPI. openapi_test.go checks that the document names exactly
// the routes the server registers.
//
//go:embed openapi.json
var openAPITemplate []byte

var openAPIDoc = sync.OnceValue(func() []byte {
	var doc map[string]any
	if err := json.Unmarshal(openAPITemplate, &doc); err != nil {
		panic("api: openapi.json does not parse: " + err.Error()) // a build defect, caught by tests
	}
	comps, _ := doc["components"].(map[string]any)
	sch, _ := comps["schemas"].(map[string]any)
	ids := map[string]string{}
	for _, name := range schemas.Names() {
		ids[schemas.ID(name)] = name
	}
	for comp, v := range sch {
		m, _ := v.(map[string]any)
		id, _ := m["$id"].(string)
		if name, ok := ids[id]; ok {
			raw, err := schemas.Read(name)
			if err != nil {
				panic("api: schema " + name + ": " + err.Error())
			}
			var s any
			if err := json.Unmarshal(raw, &s); err != nil {
				panic("api: schema " + name + ": " + err.Error())
			}
			sch[comp] = s
		}
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(err)
	}
	return out
})

// OpenAPI returns the OpenAPI 3.1 document of the API.
func OpenAPI() []byte { return append([]byte(nil), openAPIDoc()...) }

func (s *Server) openAPI(c echo.Context) error {
	c.Response().Header().Set(echo.HeaderCacheControl, cacheShort)
	return c.JSONBlob(http.StatusOK, openAPIDoc())
}

// Routes returns the registered routes as "METHOD /path" strings in
// OpenAPI path-template form: echo's ":param" becomes "{param}", the
// escaped "\:batch" becomes ":batch" and the tile wildcard "/tile/*"
// becomes "/tile/{path}".
func (s *Server) Routes() []string {
	var out []string
	for _, r := range s.echo.Routes() {
		out = append(out, r.Method+" "+openAPIPath(r.Path))
	}
	return out
}

func openAPIPath(p string) string {
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		switch {
		case seg == "*":
			segs[i] = "{path}"
		case strings.HasPrefix(seg, ":"):
			segs[i] = "{" + seg[1:] + "}"
		default:
			segs[i] = strings.ReplaceAll(seg, `\:`, ":")
		}
	}
	return strings.Join(segs, "/")
}
