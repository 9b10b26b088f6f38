package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/fjaledger/fja/api"
	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/schemas"
)

// openAPIDocURL is where the tests load the document for schema
// validation: beside the record schemas, so that their relative $refs
// resolve whether or not the embedded $ids are honoured.
const openAPIDocURL = schemas.BaseURL + "openapi.json"

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

type openAPIDoc struct {
	OpenAPI    string                               `json:"openapi"`
	Paths      map[string]map[string]map[string]any `json:"paths"`
	Components struct {
		Schemas         map[string]json.RawMessage `json:"schemas"`
		Responses       map[string]any             `json:"responses"`
		SecuritySchemes map[string]any             `json:"securitySchemes"`
	} `json:"components"`
}

func loadOpenAPI(t *testing.T) (*openAPIDoc, any) {
	t.Helper()
	raw := api.OpenAPI()
	var doc openAPIDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	return &doc, generic
}

// routesOf builds an api.Server with the full configuration (record book
// included) and lists its routes.
func routesOf(t *testing.T) (*server, []string) {
	var cfg api.Config
	s := newServer(t, apitest.WithAPI(func(c *api.Config) { cfg = *c }))
	srv, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, srv.Routes()
}

// TestOpenAPIMatchesRoutes: the document is OpenAPI 3.1, every registered
// route is in it with its method, and everything it lists is registered.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	if !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(doc.OpenAPI) {
		t.Fatalf("openapi is %q, want 3.1.x", doc.OpenAPI)
	}
	_, routes := routesOf(t)
	registered := map[string]bool{}
	for _, r := range routes {
		registered[r] = true
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths {
		for m := range item {
			if slices.Contains(httpMethods, m) {
				documented[strings.ToUpper(m)+" "+path] = true
			}
		}
	}
	var missing, extra []string
	for r := range registered {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for d := range documented {
		if !registered[d] {
			extra = append(extra, d)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes registered but not in api/openapi.json: %q", missing)
	}
	if len(extra) > 0 {
		t.Errorf("operations in api/openapi.json that no route serves: %q", extra)
	}
	// the converted forms the document relies on
	for _, want := range []string{"POST /v1/decisions:batch", "GET /tile/{path}", "GET /v1/entries/{index}", "GET /v1/openapi.json"} {
		if !registered[want] {
			t.Errorf("Routes() lacks %q: %q", want, routes)
		}
	}
}

// TestOpenAPIWellFormed checks what a generic OpenAPI linter would: every
// local $ref resolves, every operation has responses and an operationId,
// every path template parameter is declared, security names a defined
// scheme, and every non-2xx response is the Error shape.
func TestOpenAPIWellFormed(t *testing.T) {
	doc, generic := loadOpenAPI(t)
	// every "#/..." reference resolves
	// (references inside the embedded record schemas, which carry their own
	// $id, are relative to them: the compiler checks those)
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if _, ok := v["$id"]; ok {
				return
			}
			if r, ok := v["$ref"].(string); ok && strings.HasPrefix(r, "#/") {
				if _, err := pointer(generic, r[1:]); err != nil {
					t.Errorf("%s: $ref %s: %v", at, r, err)
				}
			}
			for k, c := range v {
				walk(c, at+"/"+k)
			}
		case []any:
			for i, c := range v {
				walk(c, at+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(generic, "")

	opIDs := map[string]bool{}
	tmpl := regexp.MustCompile(`\{([^}]+)\}`)
	for path, item := range doc.Paths {
		for m, op := range item {
			if !slices.Contains(httpMethods, m) {
				continue
			}
			where := strings.ToUpper(m) + " " + path
			id, _ := op["operationId"].(string)
			if id == "" || opIDs[id] {
				t.Errorf("%s: operationId %q missing or repeated", where, id)
			}
			opIDs[id] = true
			resps, _ := op["responses"].(map[string]any)
			if len(resps) == 0 {
				t.Errorf("%s: no responses", where)
			}
			ok2xx := false
			for code, r := range resps {
				if strings.HasPrefix(code, "2") {
					ok2xx = true
					continue
				}
				ref, _ := r.(map[string]any)["$ref"].(string)
				if !strings.HasPrefix(ref, "#/components/responses/") {
					t.Errorf("%s: response %s is not one of the shared error responses", where, code)
				}
			}
			if !ok2xx {
				t.Errorf("%s: no 2xx response", where)
			}
			declared := map[string]bool{}
			params, _ := op["parameters"].([]any)
			for _, p := range params {
				pm := p.(map[string]any)
				if pm["in"] == "path" {
					declared[pm["name"].(string)] = true
					if pm["required"] != true {
						t.Errorf("%s: path parameter %v is not required", where, pm["name"])
					}
				}
			}
			for _, g := range tmpl.FindAllStringSubmatch(path, -1) {
				if !declared[g[1]] {
					t.Errorf("%s: path parameter {%s} is not declared", where, g[1])
				}
				delete(declared, g[1])
			}
			if len(declared) > 0 {
				t.Errorf("%s: declares path parameters not in the template: %v", where, declared)
			}
			sec, _ := op["security"].([]any)
			for _, req := range sec {
				for name := range req.(map[string]any) {
					if doc.Components.SecuritySchemes[name] == nil {
						t.Errorf("%s: security scheme %q is not defined", where, name)
					}
				}
			}
			_, has401 := resps["401"]
			if has401 != (len(sec) > 0) {
				t.Errorf("%s: has 401 response %v but security %v", where, has401, sec)
			}
		}
	}
	bearer, _ := doc.Components.SecuritySchemes["bearer"].(map[string]any)
	if bearer["type"] != "http" || bearer["scheme"] != "bearer" {
		t.Errorf("bearer security scheme: %v", bearer)
	}
}

// TestOpenAPIRecordSchemasInSync: the record schemas the served document
// holds are the ones the server validates with (package schemas), as JSON
// values: every schema has a placeholder (its $id) in api/openapi.json and
// is spliced in.
func TestOpenAPIRecordSchemasInSync(t *testing.T) {
	doc, _ := loadOpenAPI(t)
	byID := map[string]string{}
	for comp, raw := range doc.Components.Schemas {
		var s struct {
			ID string `json:"$id"`
		}
		json.Unmarshal(raw, &s)
		if s.ID != "" {
			byID[s.ID] = comp
		}
	}
	for _, name := range schemas.Names() {
		comp, ok := byID[schemas.ID(name)]
		if !ok {
			t.Errorf("schema %s (%s) is not in components.schemas", name, schemas.ID(name))
			continue
		}
		want, _ := schemas.Read(name)
		var a, b any
		json.Unmarshal(want, &a)
		json.Unmarshal(doc.Components.Schemas[comp], &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("components.schemas.%s differs from schemas/%s.json", comp, name)
		}
	}
}

// openAPIValidator compiles components.schemas.<name> of the document.
func openAPIValidator(t *testing.T) func(name string, body []byte) {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(api.OpenAPI()))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource(openAPIDocURL, doc); err != nil {
		t.Fatal(err)
	}
	// The compiler does not look for schema resources ($id) inside a
	// document that is not itself a schema; TestOpenAPIRecordSchemasInSync
	// checks that the embedded copies equal these.
	for _, name := range schemas.Names() {
		b, _ := schemas.Read(name)
		sd, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(schemas.ID(name), sd); err != nil {
			t.Fatal(err)
		}
	}
	compiled := map[string]*jsonschema.Schema{}
	return func(name string, body []byte) {
		t.Helper()
		sch, ok := compiled[name]
		if !ok {
			var err error
			sch, err = c.Compile(openAPIDocURL + "#/components/schemas/" + name)
			if err != nil {
				t.Fatalf("compiling %s: %v", name, err)
			}
			compiled[name] = sch
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, body)
		}
		if err := sch.Validate(v); err != nil {
			t.Errorf("answer does not match components.schemas.%s: %v\n%s", name, err, body)
		}
	}
}

// TestOpenAPIServedAndTrue: GET /v1/openapi.json serves the document, and
// real answers of the server match the schemas it gives for them.
func TestOpenAPIServedAndTrue(t *testing.T) {
	s := newServer(t)
	resp, err := http.Get(s.URL + "/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("GET /v1/openapi.json: %d %q", resp.StatusCode, ct)
	}
	code, b := s.Do("GET", "/v1/openapi.json", "", nil)
	if code != 200 || !bytes.Equal(b, api.OpenAPI()) {
		t.Fatalf("GET /v1/openapi.json: %d, body differs from api/openapi.json", code)
	}

	check := openAPIValidator(t)
	expect := func(wantCode int, schema string, method, path string, role auth.Role, body []byte, hdr ...string) []byte {
		t.Helper()
		code, b := s.Do(method, path, role, body, hdr...)
		if code != wantCode {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, code, wantCode, b)
		}
		check(schema, b)
		return b
	}
	expect(201, "ConstitutionPublished", "POST", "/v1/constitutions", auth.Producer, apitest.Example(t, "constitution.json"))
	expect(200, "ConstitutionPublished", "POST", "/v1/constitutions", auth.Producer, apitest.Example(t, "constitution.json"))
	rb := expect(201, "Receipt", "POST", "/v1/decisions", auth.Producer, apitest.Example(t, "decision-answered.json"))
	var rec struct {
		ContestToken string `json:"contest_token"`
	}
	json.Unmarshal(rb, &rec)
	if rec.ContestToken == "" {
		t.Fatal("no contest token in the receipt")
	}
	expect(200, "Receipt", "POST", "/v1/decisions", auth.Producer, apitest.Example(t, "decision-answered.json"))
	expect(201, "Receipt", "POST", "/v1/decisions", auth.Producer, apitest.Example(t, "decision-modified-private.json"))
	batch := mustJSON(t, []json.RawMessage{apitest.Example(t, "decision-refused.json"), []byte(`{"decision_id":"x"}`)})
	expect(200, "BatchResponse", "POST", "/v1/decisions:batch", auth.Producer, batch)
	expect(200, "Receipt", "GET", "/v1/decisions/dec-2026-11-27-000002/receipt", auth.Regulator, nil)
	expect(200, "DecisionView", "GET", "/v1/decisions/dec-2026-11-27-000003", auth.Regulator, nil, "X-Access-Purpose", "openapi test")
	expect(200, "DecisionView", "GET", "/v1/decisions/dec-2026-11-27-000002", "", nil, "X-Contest-Token", rec.ContestToken)
	expect(200, "Explanation", "GET", "/v1/decisions/dec-2026-11-27-000002/explanation", "", nil, "X-Contest-Token", rec.ContestToken)
	expect(200, "Erased", "DELETE", "/v1/decisions/dec-2026-11-27-000003/private", auth.Operator, nil)
	expect(200, "DecisionView", "GET", "/v1/decisions/dec-2026-11-27-000003", auth.Regulator, nil)
	expect(200, "Health", "GET", "/healthz", "", nil)
	expect(200, "LogInfo", "GET", "/v1/log", "", nil)
	expect(200, "Entry", "GET", "/v1/entries/0", "", nil)
	expect(200, "Entry", "GET", "/v1/entries/3", "", nil)
	expect(200, "InclusionProof", "GET", "/v1/proofs/inclusion?index=1&size=4", "", nil)
	expect(200, "ConsistencyProof", "GET", "/v1/proofs/consistency?from=1&to=4", "", nil)
	expect(200, "ConsistencyProof", "GET", "/v1/proofs/consistency?from=4&to=4", "", nil)
	// errors
	expect(400, "Error", "POST", "/v1/decisions", auth.Producer, []byte(`{"decision_id":1}`))
	expect(401, "Error", "POST", "/v1/decisions", "", apitest.Example(t, "decision-answered.json"))
	expect(403, "Error", "POST", "/v1/decisions", auth.Reviewer, apitest.Example(t, "decision-answered.json"))
	expect(404, "Error", "GET", "/v1/entries/999", "", nil)
	expect(409, "Error", "POST", "/v1/constitutions", auth.Producer, bytes.Replace(apitest.Example(t, "constitution.json"), []byte("412"), []byte("413"), 1))
	expect(405, "Error", "PUT", "/v1/decisions", auth.Producer, nil)
}

func pointer(doc any, p string) (any, error) {
	cur := doc
	if p == "" {
		return cur, nil
	}
	for _, tok := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, errNoSuch(p)
		}
		if cur, ok = m[tok]; !ok {
			return nil, errNoSuch(p)
		}
	}
	return cur, nil
}

type errNoSuch string

func (e errNoSuch) Error() string { return "no such location " + string(e) }
