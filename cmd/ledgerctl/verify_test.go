package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/api"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
	"github.com/fjaledger/fja/ledger/signer"
)

// runCLI runs ledgerctl in-process and returns its exit status and output.
func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	code := report(&out, cmd, err)
	return code, out.String()
}

type verifyFixture struct {
	dir, vkey, url string
	log            *ledger.Log
	signer         *signer.Signer
}

func newVerifyFixture(t *testing.T) *verifyFixture {
	t.Helper()
	const origin = "cli.test.example.org/log"
	skey, vkey, err := signer.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signer.FromNoteKey(skey)
	if err != nil {
		t.Fatal(err)
	}
	st, err := badgerstore.Open(badgerstore.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	l, err := ledger.Open(ledger.Config{Origin: origin, Signers: []note.Signer{s}, Storage: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	srv, err := api.New(api.Config{Log: l, Origin: origin, VerifierKeys: []string{vkey}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &verifyFixture{dir: t.TempDir(), vkey: vkey, url: hs.URL, log: l, signer: s}
}

func (f *verifyFixture) write(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVerifyReceiptCommand(t *testing.T) {
	f := newVerifyFixture(t)
	var ack *ledger.Ack
	for i := 0; i < 5; i++ {
		var err error
		if ack, err = f.log.Append(context.Background(), []byte{'e', byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	good, err := json.Marshal(api.NewReceipt("cli.test.example.org/log", ack))
	if err != nil {
		t.Fatal(err)
	}
	p := f.write(t, "receipt.json", good)
	if code, out := runCLI(t, "verify", p, "--key", f.vkey); code != 0 || !strings.Contains(out, "OK: entry 4") {
		t.Fatalf("verify good receipt: exit %d\n%s", code, out)
	}
	if code, out := runCLI(t, "verify", "receipt", p, "--key", f.vkey, "--json"); code != 0 || !strings.Contains(out, `"ok":true`) {
		t.Fatalf("verify receipt --json: exit %d\n%s", code, out)
	}
	keyFile := f.write(t, "vkey", []byte(f.vkey+"\n"))
	if code, out := runCLI(t, "verify", p, "--key", keyFile); code != 0 {
		t.Fatalf("verify with a key file: exit %d\n%s", code, out)
	}
	// one changed byte in the entry: exit 1
	var r map[string]any
	json.Unmarshal(good, &r)
	r["entry"] = "ZTU=" // "e5" instead of "e\x04"
	bad, _ := json.Marshal(r)
	if code, out := runCLI(t, "verify", f.write(t, "bad.json", bad), "--key", f.vkey); code != 1 || !strings.Contains(out, "does NOT verify") {
		t.Fatalf("verify tampered receipt: exit %d\n%s", code, out)
	}
	// another log's key: exit 1
	_, other, _ := signer.GenerateKey(rand.Reader, "cli.test.example.org/log")
	if code, _ := runCLI(t, "verify", p, "--key", other); code != 1 {
		t.Fatalf("verify with another key: exit %d, want 1", code)
	}
	if code, _ := runCLI(t, "verify", p); code != 2 {
		t.Fatalf("verify without --key: exit %d, want 2", code)
	}
}

func TestVerifyCheckpointAndConsistency(t *testing.T) {
	f := newVerifyFixture(t)
	ctx := context.Background()
	var cps []string
	for i := 0; i < 40; i++ {
		ack, err := f.log.Append(ctx, []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		if i == 2 || i == 17 || i == 39 {
			cps = append(cps, f.write(t, "cp"+string(rune('a'+len(cps))), ack.Checkpoint))
		}
	}
	if code, out := runCLI(t, "verify", "checkpoint", cps[0], "--key", f.vkey); code != 0 || !strings.Contains(out, "size 3") {
		t.Fatalf("verify checkpoint: exit %d\n%s", code, out)
	}
	for _, pair := range [][2]string{{cps[0], cps[2]}, {cps[2], cps[1]}, {cps[1], cps[1]}} {
		if code, out := runCLI(t, "--url", f.url, "verify", "consistency", pair[0], pair[1], "--key", f.vkey); code != 0 || !strings.Contains(out, "OK") {
			t.Fatalf("verify consistency %v: exit %d\n%s", pair, code, out)
		}
	}
	// a fork: another log with the same key and origin but another history
	st, err := badgerstore.Open(badgerstore.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	fork, err := ledger.Open(ledger.Config{Origin: "cli.test.example.org/log", Signers: []note.Signer{f.signer}, Storage: st})
	if err != nil {
		t.Fatal(err)
	}
	defer fork.Close()
	var fack *ledger.Ack
	for i := 0; i < 40; i++ {
		if fack, err = fork.Append(ctx, []byte{byte(i), 'f'}); err != nil {
			t.Fatal(err)
		}
	}
	fp := f.write(t, "fork", fack.Checkpoint)
	if code, out := runCLI(t, "verify", "checkpoint", fp, "--key", f.vkey); code != 0 {
		t.Fatalf("the fork's checkpoint carries a good signature, yet: exit %d\n%s", code, out)
	}
	if code, out := runCLI(t, "--url", f.url, "verify", "consistency", cps[0], fp, "--key", f.vkey); code != 1 || !strings.Contains(out, "NOT consistent") {
		t.Fatalf("verify consistency against a fork: exit %d, want 1\n%s", code, out)
	}
	b, _ := os.ReadFile(cps[2])
	tampered := bytes.Replace(b, []byte("\n40\n"), []byte("\n41\n"), 1)
	if code, _ := runCLI(t, "verify", "checkpoint", f.write(t, "tampered", tampered), "--key", f.vkey); code != 1 {
		t.Fatalf("verify tampered checkpoint: exit %d, want 1", code)
	}
}
