package auth

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestTokens(t *testing.T) {
	tok, e, err := NewToken("gateway-eu", Producer)
	if err != nil {
		t.Fatal(err)
	}
	other, e2, _ := NewToken("regulator", Regulator)
	data, _ := json.Marshal([]Entry{e, e2})
	ts, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := ts.Authenticate(tok); !ok || got.Name != "gateway-eu" || got.Role != Producer {
		t.Fatalf("Authenticate(producer token) = %+v, %v", got, ok)
	}
	if got, ok := ts.Authenticate(other); !ok || got.Role != Regulator {
		t.Fatalf("Authenticate(regulator token) = %+v, %v", got, ok)
	}
	for _, bad := range []string{"", tok + "x", tok[:len(tok)-1], e.SHA256} {
		if _, ok := ts.Authenticate(bad); ok {
			t.Errorf("Authenticate(%q) accepted", bad)
		}
	}
	if strings.Contains(string(data), tok) {
		t.Error("tokens file holds the token itself")
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{
		``, `{}`, `[{"name":"a","role":"producer"}]`,
		`[{"name":"a","role":"admin","sha256":"` + strings.Repeat("0", 64) + `"}]`,
		`[{"name":"","role":"producer","sha256":"` + strings.Repeat("0", 64) + `"}]`,
		`[{"name":"a","role":"producer","sha256":"` + strings.Repeat("0", 63) + `"}]`,
		`[{"name":"a","role":"producer","sha256":"` + strings.Repeat("z", 64) + `"}]`,
		`[{"name":"a","role":"producer","sha256":"` + strings.Repeat("0", 64) + `","extra":1}]`,
		`[{"name":"a","role":"regulator","sha256":"` + strings.Repeat("0", 64) + `","operators":["x"]}]`,
		`[{"name":"a","role":"producer","sha256":"` + strings.Repeat("0", 64) + `","operators":[""]}]`,
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%s) accepted", in)
		}
	}
}

func TestOperators(t *testing.T) {
	tok, e, _ := NewToken("gateway-eu", Producer)
	e.Operators = []string{"example-ai", "other-ai"}
	data, _ := json.Marshal([]Entry{e})
	ts, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := ts.Authenticate(tok)
	if !ok || strings.Join(got.Operators, ",") != "example-ai,other-ai" {
		t.Fatalf("Authenticate = %+v, %v; want the operators of the tokens file", got, ok)
	}
}
