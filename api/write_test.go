package api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gowebpki/jcs"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/verify"
)

// server is an apitest server (Badger, a vault, a record book, a token for
// every role) with the checks the API tests share.
//
// url, vkey, do and example repeat apitest's URL, VKey, Do and Example
// under the names api/web_test.go uses; drop them once it uses apitest's.
type server struct {
	*apitest.Server
	url, vkey string
}

func newServer(t testing.TB, opts ...apitest.Option) *server {
	t.Helper()
	s := apitest.New(t, opts...)
	return &server{Server: s, url: s.URL, vkey: s.VKey}
}

func (s *server) do(method, path string, role auth.Role, body []byte, hdr ...string) (int, []byte) {
	s.T.Helper()
	return s.Do(method, path, role, body, hdr...)
}

func example(t *testing.T, name string) []byte {
	t.Helper()
	return apitest.Example(t, name)
}

func (s *server) publishConstitution() {
	s.T.Helper()
	code, b := s.Do("POST", "/v1/constitutions", auth.Producer, apitest.Example(s.T, "constitution.json"))
	if code != http.StatusCreated {
		s.T.Fatalf("POST /v1/constitutions: %d %s", code, b)
	}
}

func (s *server) receipt(b []byte) *verify.Receipt {
	s.T.Helper()
	r, cp, err := verify.VerifyReceipt(b, s.VKey)
	if err != nil {
		s.T.Fatalf("receipt does not verify: %v\n%s", err, b)
	}
	if cp.Origin != origin {
		s.T.Fatalf("origin %q", cp.Origin)
	}
	return r
}

// TestExamplesAccepted: every example request is accepted as it is, in the
// order a deployment sends them, and every receipt verifies offline.
func TestExamplesAccepted(t *testing.T) {
	s := newServer(t)
	code, b := s.Do("POST", "/v1/constitutions", auth.Producer, apitest.Example(t, "constitution.json"))
	if code != http.StatusCreated {
		t.Fatalf("constitution: %d %s", code, b)
	}
	var cr struct {
		Receipt json.RawMessage `json:"receipt"`
	}
	json.Unmarshal(b, &cr)
	s.receipt(cr.Receipt)

	for _, name := range []string{"decision-refused.json", "decision-answered.json", "decision-modified-private.json"} {
		code, b := s.Do("POST", "/v1/decisions", auth.Producer, apitest.Example(t, name))
		if code != http.StatusCreated {
			t.Fatalf("%s: %d %s", name, code, b)
		}
		r := s.receipt(b)
		if r.ContestToken == "" {
			t.Fatalf("%s: no contest token in the receipt", name)
		}
		env, err := audit.ParseEnvelope(r.Entry)
		if err != nil {
			t.Fatal(err)
		}
		var d audit.Decision
		if err := json.Unmarshal(env.Body, &d); err != nil {
			t.Fatal(err)
		}
		if d.Contest == nil || d.Contest.TokenSHA256 != audit.TokenHash(r.ContestToken) {
			t.Fatalf("%s: leaf does not carry the SHA-256 of the receipt's token", name)
		}
		// the same request again: 200 and the first receipt, with the same
		// token (within the delivery window)
		code2, b2 := s.Do("POST", "/v1/decisions", auth.Producer, apitest.Example(t, name))
		if code2 != http.StatusOK {
			t.Fatalf("%s again: %d %s", name, code2, b2)
		}
		r2 := s.receipt(b2)
		if r2.Index != r.Index || !bytes.Equal(r2.Entry, r.Entry) || r2.ContestToken != r.ContestToken {
			t.Fatalf("%s again: index %d (first %d), token %q", name, r2.Index, r.Index, r2.ContestToken)
		}
	}
	// the private example's leaf holds commitments, never the content
	code, b = s.Do("GET", "/v1/decisions/dec-2026-11-27-000003/receipt", auth.Producer, nil)
	if code != 200 {
		t.Fatalf("receipt by id: %d %s", code, b)
	}
	r := s.receipt(b)
	for _, secret := range []string{"रिटायरमेंट", "कई विकल्प"} {
		if bytes.Contains(r.Entry, []byte(secret)) {
			t.Fatalf("private content %q is in the leaf", secret)
		}
	}
	if !bytes.Contains(r.Entry, []byte(`"request":{"commitment":"sha256:`)) || !bytes.Contains(r.Entry, []byte(`"response":{"commitment":"sha256:`)) {
		t.Fatalf("leaf lacks the computed commitments: %s", r.Entry)
	}
	if s.Log.Head().Size != 4 {
		t.Fatalf("tree size %d, want 4", s.Log.Head().Size)
	}
}

// TestLeafHashRecomputedByThirdParty rebuilds a leaf from the body the
// producer sent, the token hash and the logged_at of the receipt, with only
// the JCS rules (a JCS library this project did not write), and finds the
// receipt's leaf hash.
func TestLeafHashRecomputedByThirdParty(t *testing.T) {
	s := newServer(t)
	s.publishConstitution()
	sent := apitest.Example(t, "decision-refused.json")
	code, b := s.Do("POST", "/v1/decisions", auth.Producer, sent)
	if code != http.StatusCreated {
		t.Fatalf("%d %s", code, b)
	}
	r := s.receipt(b)
	var logged struct {
		LoggedAt string `json:"logged_at"`
	}
	json.Unmarshal(r.Entry, &logged)

	var body map[string]any
	json.Unmarshal(sent, &body)
	h := sha256.Sum256([]byte(r.ContestToken))
	body["contest"] = map[string]any{"token_sha256": hex.EncodeToString(h[:])}
	env, _ := json.Marshal(map[string]any{"kind": "decision", "v": 1, "logged_at": logged.LoggedAt, "body": body})
	canon, err := jcs.Transform(env)
	if err != nil {
		t.Fatal(err)
	}
	leaf := sha256.Sum256(append([]byte{0}, canon...))
	if !bytes.Equal(leaf[:], r.LeafHash) {
		t.Fatalf("recomputed leaf hash %x, receipt has %x\nrecomputed: %s\nlogged:     %s", leaf, r.LeafHash, canon, r.Entry)
	}
}

// TestErasure: private content is stored encrypted outside the tree; the
// regulator reads it back; erasure destroys it, the leaf, receipt and
// proofs stay valid, and nothing in the data directory holds the content
// in clear any more. (TestErasureLeavesNothing, in erasure_test.go, proves
// that nothing left can open or confirm it either.)
func TestErasure(t *testing.T) {
	s := newServer(t)
	s.publishConstitution()
	code, b := s.Do("POST", "/v1/decisions", auth.Producer, apitest.Example(t, "decision-modified-private.json"))
	if code != http.StatusCreated {
		t.Fatalf("%d %s", code, b)
	}
	first := s.receipt(b)
	const id = "dec-2026-11-27-000003"
	secrets := [][]byte{[]byte("मुझे रिटायरमेंट के लिए कहाँ निवेश करना चाहिए?"), []byte("कई विकल्प हैं ... (भविष्य के रिटर्न अनिश्चित हैं)")}

	code, b = s.Do("GET", "/v1/decisions/"+id, auth.Regulator, nil, "X-Access-Purpose", "erasure test")
	if code != 200 || !bytes.Contains(b, []byte(`"private"`)) {
		t.Fatalf("regulator read: %d %s", code, b)
	}
	var got struct {
		Private map[string]string `json:"private"`
	}
	json.Unmarshal(b, &got)
	if got.Private["request"] != string(secrets[0]) || got.Private["response"] != string(secrets[1]) {
		t.Fatalf("regulator read private %q", got.Private)
	}
	if code, _ := s.Do("DELETE", "/v1/decisions/"+id+"/private", auth.Producer, nil); code != http.StatusForbidden {
		t.Fatalf("erasure by a producer: %d, want 403", code)
	}
	if code, b := s.Do("DELETE", "/v1/decisions/"+id+"/private", auth.Operator, nil); code != 200 {
		t.Fatalf("erasure: %d %s", code, b)
	}
	if code, _ := s.Do("DELETE", "/v1/decisions/"+id+"/private", auth.Operator, nil); code != 404 {
		t.Fatalf("second erasure: %d, want 404", code)
	}
	code, b = s.Do("GET", "/v1/decisions/"+id, auth.Regulator, nil)
	if code != 200 || bytes.Contains(b, secrets[0]) {
		t.Fatalf("regulator read after erasure: %d %s", code, b)
	}
	code, b = s.Do("GET", "/v1/decisions/"+id+"/receipt", auth.Producer, nil)
	if code != 200 {
		t.Fatalf("receipt after erasure: %d %s", code, b)
	}
	after := s.receipt(b)
	if !bytes.Equal(after.LeafHash, first.LeafHash) || after.Index != first.Index {
		t.Fatal("the leaf changed with erasure")
	}
	if _, _, err := verify.VerifyReceipt(mustJSON(t, first), s.VKey); err != nil {
		t.Fatalf("the first receipt no longer verifies: %v", err)
	}
	// Flush everything to disk, then scan every file of the data directory.
	s.Close()
	filepath.Walk(s.Dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, sec := range secrets {
			if bytes.Contains(data, sec) {
				t.Errorf("%s holds private content in clear", p)
			}
		}
		return nil
	})
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBatch(t *testing.T) {
	s := newServer(t)
	s.publishConstitution()
	good := apitest.Example(t, "decision-answered.json")
	bad := bytes.Replace(apitest.Example(t, "decision-refused.json"), []byte(`"effect": "refuse"`), []byte(`"effect": "allow"`), 1)
	var many []json.RawMessage
	many = append(many, good, bad)
	for i := 0; i < 50; i++ {
		many = append(many, bytes.Replace(good, []byte("dec-2026-11-27-000002"), []byte("dec-batch-"+strings.Repeat("x", i%5)+string(rune('a'+i%26))+string(rune('a'+i/26))), 1))
	}
	code, b := s.Do("POST", "/v1/decisions:batch", auth.Producer, mustJSON(t, many))
	if code != 200 {
		t.Fatalf("batch: %d %s", code, b)
	}
	var res struct {
		Results []struct {
			Receipt json.RawMessage `json:"receipt"`
			Error   *struct{ Code, Message, Field string }
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &res); err != nil || len(res.Results) != len(many) {
		t.Fatalf("batch answer: %v, %d results for %d", err, len(res.Results), len(many))
	}
	for i, r := range res.Results {
		if i == 1 {
			if r.Error == nil || r.Error.Code != "invalid_record" || !strings.Contains(r.Error.Message, "refuse") {
				t.Fatalf("bad record: %+v", r.Error)
			}
			continue
		}
		if r.Error != nil {
			t.Fatalf("record %d: %+v", i, r.Error)
		}
		s.receipt(r.Receipt)
	}
	if got := s.Log.Head().Size; got != uint64(1+1+50) {
		t.Fatalf("tree size %d, want 52", got)
	}
	if code, _ := s.Do("POST", "/v1/decisions:batch", auth.Producer, []byte(`[]`)); code != 400 {
		t.Fatalf("empty batch: %d", code)
	}
	if code, _ := s.Do("POST", "/v1/decisions:batch", auth.Producer, mustJSON(t, make([]json.RawMessage, 1001))); code != 400 {
		t.Fatalf("batch of 1001: %d", code)
	}
}
