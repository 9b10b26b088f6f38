package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/api/auth"
)

// jsonLines writes the examples compacted to one line each into a file.
func jsonLines(t *testing.T, docs ...[]byte) string {
	t.Helper()
	var b bytes.Buffer
	for _, d := range docs {
		if err := json.Compact(&b, d); err != nil {
			t.Fatal(err)
		}
		b.WriteByte('\n')
	}
	p := filepath.Join(t.TempDir(), "records.jsonl")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

var decisionExamples = map[string]string{
	"dec-2026-11-27-000001": "decision-refused.json",
	"dec-2026-11-27-000002": "decision-answered.json",
	"dec-2026-11-27-000003": "decision-modified-private.json",
}

func TestAppendAndGet(t *testing.T) {
	t.Setenv("LEDGER_TOKEN", "")
	s := apitest.New(t)
	prod := []string{"--url", s.URL, "--token", s.Tokens[auth.Producer]}
	reg := []string{"--url", s.URL, "--token", s.Tokens[auth.Regulator]}
	rdir := filepath.Join(t.TempDir(), "receipts")

	// the constitution, with its inner receipt written and verified
	code, out, _ := ctl(t, "", append(prod, "append", apitest.ExamplePath(t, "constitution.json"),
		"--kind", "constitution", "--receipts", rdir, "--key", s.VKey)...)
	if code != 0 || out != "index 0  fja-default@2026.11  created\n" {
		t.Fatalf("constitution: %d %q", code, out)
	}
	if code, _, _ := ctl(t, "", "verify", filepath.Join(rdir, "fja-default@2026.11.receipt.json"), "--key", s.VKey); code != 0 {
		t.Fatalf("constitution receipt does not verify: %d", code)
	}

	// three decisions as JSON lines, with a progress bar
	var docs [][]byte
	for _, n := range []string{"decision-refused.json", "decision-answered.json", "decision-modified-private.json"} {
		docs = append(docs, apitest.Example(t, n))
	}
	lines := jsonLines(t, docs...)
	code, out, _ = ctl(t, "", append(prod, "append", lines, "--receipts", rdir, "--key", s.VKey, "--progress", "-c", "2")...)
	if code != 0 {
		t.Fatalf("append: %d", code)
	}
	want := "index 1  dec-2026-11-27-000001  created\nindex 2  dec-2026-11-27-000002  created\nindex 3  dec-2026-11-27-000003  created\n"
	// -c 2 may append out of order, but lines come in input order
	if strings.Count(out, "created\n") != 3 || !strings.Contains(out, "dec-2026-11-27-000001  created\nindex ") || len(out) != len(want) {
		t.Fatalf("append output:\n%s", out)
	}
	tokens := map[string]string{}
	indexes := map[string]uint64{}
	for id := range decisionExamples {
		p := filepath.Join(rdir, id+".receipt.json")
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: mode %v", p, fi.Mode())
		}
		if code, _, _ := ctl(t, "", "verify", p, "--key", s.VKey); code != 0 {
			t.Fatalf("%s does not verify", p)
		}
		var r struct {
			Index        uint64 `json:"index"`
			ContestToken string `json:"contest_token"`
		}
		b, _ := os.ReadFile(p)
		json.Unmarshal(b, &r)
		if r.ContestToken == "" {
			t.Fatalf("%s has no contest token", p)
		}
		tokens[id], indexes[id] = r.ContestToken, r.Index
	}

	// again: duplicates, exit 0, and the first receipts (with their
	// contest tokens) are kept
	code, out, _ = ctl(t, "", append(prod, "append", lines, "--receipts", rdir, "--key", s.VKey, "--json")...)
	if code != 0 || strings.Count(out, `"status":"duplicate"`) != 3 {
		t.Fatalf("again: %d %s", code, out)
	}
	for id, tok := range tokens {
		b, _ := os.ReadFile(filepath.Join(rdir, id+".receipt.json"))
		if !bytes.Contains(b, []byte(tok)) {
			t.Fatalf("the receipt of %s lost its contest token", id)
		}
	}

	// one bad record among good ones: exit 1, the field is named, the
	// others are appended
	var bad map[string]any
	json.Unmarshal(apitest.Example(t, "decision-answered.json"), &bad)
	bad["decision_id"] = "dec-bad-1"
	bad["subject"].(map[string]any)["jurisdiction"] = "kenya"
	badDoc, _ := json.Marshal(bad)
	good := apitest.Example(t, "decision-answered.json")
	good = bytes.Replace(good, []byte("dec-2026-11-27-000002"), []byte("dec-good-1"), 1)
	code, out, _ = ctl(t, "", append(prod, "append", jsonLines(t, badDoc, good))...)
	if code != 1 || !strings.Contains(out, "record 1  dec-bad-1  error: subject.jurisdiction: ") || !strings.Contains(out, "(HTTP 400 invalid_record)\n") ||
		!strings.Contains(out, "dec-good-1  created") {
		t.Fatalf("bad record: %d %q", code, out)
	}

	// batch mode, from stdin as a JSON array, with one duplicate
	var arr []json.RawMessage
	for i := range 3 {
		d := bytes.Replace(good, []byte("dec-good-1"), []byte("dec-batch-"+string(rune('a'+i))), 1)
		arr = append(arr, d)
	}
	arr = append(arr, good)
	in, _ := json.Marshal(arr)
	bdir := t.TempDir()
	code, out, _ = ctl(t, string(in), append(prod, "append", "-", "--batch", "2", "--receipts", bdir, "--key", s.VKey)...)
	if code != 0 || strings.Count(out, "created\n") != 3 || !strings.HasSuffix(out, "dec-good-1  duplicate\n") {
		t.Fatalf("batch: %d %q", code, out)
	}
	if code, _, _ := ctl(t, "", "verify", filepath.Join(bdir, "dec-batch-b.receipt.json"), "--key", s.VKey); code != 0 {
		t.Fatal("batch receipt does not verify")
	}

	// get --receipt (producer) verifies and prints a receipt that verifies
	code, out, _ = ctl(t, "", append(prod, "get", "dec-2026-11-27-000002", "--receipt", "--key", s.VKey)...)
	if code != 0 {
		t.Fatalf("get --receipt: %d", code)
	}
	rp := filepath.Join(t.TempDir(), "r.json")
	os.WriteFile(rp, []byte(out), 0o644)
	if code, _, _ := ctl(t, "", "verify", rp, "--key", s.VKey); code != 0 {
		t.Fatal("fetched receipt does not verify")
	}

	// get with the regulator token, verified against the checkpoint
	code, out, _ = ctl(t, "", append(reg, "get", "dec-2026-11-27-000003", "--purpose", "append test", "--key", s.VKey)...)
	var view struct {
		DecisionID string          `json:"decision_id"`
		Index      uint64          `json:"index"`
		Record     json.RawMessage `json:"record"`
		Private    map[string]string
	}
	if code != 0 || json.Unmarshal([]byte(out), &view) != nil || view.DecisionID != "dec-2026-11-27-000003" || view.Index != indexes["dec-2026-11-27-000003"] ||
		len(view.Record) == 0 || len(view.Private) == 0 {
		t.Fatalf("get: %d %s", code, out)
	}
	// the subject with its contest token; the producer without one is refused
	code, out, _ = ctl(t, "", "--url", s.URL, "get", "dec-2026-11-27-000001", "--contest-token", tokens["dec-2026-11-27-000001"])
	if code != 0 || !strings.Contains(out, fmt.Sprintf(`"index": %d`, indexes["dec-2026-11-27-000001"])) || strings.Contains(out, `"private"`) {
		t.Fatalf("get with contest token: %d %s", code, out)
	}
	if code, _, errOut := ctl(t, "", append(prod, "get", "dec-2026-11-27-000001")...); code != 1 || !strings.Contains(errOut, "403") && !strings.Contains(errOut, "forbidden") {
		t.Fatalf("producer get: %d %s", code, errOut)
	}

	// get --index prints the decoded entry
	code, out, _ = ctl(t, "", "--url", s.URL, "get", "--index", "0", "--key", s.VKey)
	if code != 0 || !strings.Contains(out, `"kind": "constitution"`) {
		t.Fatalf("get --index: %d %s", code, out)
	}

	// no token: the server's 401, exit 1
	code, _, errOut := ctl(t, "", "--url", s.URL, "append", lines)
	if code != 1 || !strings.Contains(errOut, "401") && !strings.Contains(errOut, "unauthorized") {
		t.Fatalf("no token: %d %s", code, errOut)
	}
}

func TestAppendUsage(t *testing.T) {
	for _, args := range [][]string{
		{"append", "a", "b"},
		{"append", "--kind", "contest", "x"},
		{"append", "--batch", "1001", "x"},
		{"append", "--kind", "constitution", "--batch", "2", "x"},
		{"get"},
		{"get", "x", "--index", "1"},
		{"get", "x", "--receipt", "--contest-token", "t"},
	} {
		if code, _, _ := ctl(t, "", args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	p := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(p, []byte("{\"a\":1}\n{oops\n"), 0o644)
	if code, _, errOut := ctl(t, "", "--url", "http://127.0.0.1:1", "append", p); code != 1 || !strings.Contains(errOut, "record 2") || !strings.Contains(errOut, "line 2") {
		t.Errorf("malformed input: %d %s", code, errOut)
	}
}

// TestAppendRetries: 503 and 429 are retried honouring Retry-After.
func TestAppendRetries(t *testing.T) {
	var n atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"error":{"code":"overloaded","message":"busy"}}`))
		case 2:
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"error":{"code":"rate_limited","message":"slow down"}}`))
		default:
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(`{"index":7}`))
		}
	}))
	defer hs.Close()
	code, out, _ := ctl(t, `{"decision_id":"d1"}`, "--url", hs.URL, "append")
	if code != 0 || out != "index 7  d1  created\n" || n.Load() != 3 {
		t.Fatalf("%d %q after %d requests", code, out, n.Load())
	}
}
