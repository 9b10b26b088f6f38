package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/api"
	"github.com/fjaledger/fja/api/apitest"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
	"github.com/fjaledger/fja/ledger/signer"
)

// verifyFixture is a read-only server and a directory for the files
// handed to ledgerctl verify.
type verifyFixture struct {
	*apitest.Server
	files string
}

func newVerifyFixture(t *testing.T) *verifyFixture {
	t.Helper()
	return &verifyFixture{Server: apitest.New(t, apitest.ReadOnly()), files: t.TempDir()}
}

func (f *verifyFixture) write(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(f.files, name)
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
		if ack, err = f.Log.Append(context.Background(), []byte{'e', byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	good, err := json.Marshal(api.NewReceipt(f.Origin, ack))
	if err != nil {
		t.Fatal(err)
	}
	p := f.write(t, "receipt.json", good)
	if code, out, errOut := ctl(t, "", "verify", p, "--key", f.VKey); code != 0 || !strings.Contains(out+errOut, "OK: entry 4") {
		t.Fatalf("verify good receipt: exit %d\n%s", code, out+errOut)
	}
	if code, out, errOut := ctl(t, "", "verify", "receipt", p, "--key", f.VKey, "--json"); code != 0 || !strings.Contains(out+errOut, `"ok":true`) {
		t.Fatalf("verify receipt --json: exit %d\n%s", code, out+errOut)
	}
	keyFile := f.write(t, "vkey", []byte(f.VKey+"\n"))
	if code, out, errOut := ctl(t, "", "verify", p, "--key", keyFile); code != 0 {
		t.Fatalf("verify with a key file: exit %d\n%s", code, out+errOut)
	}
	// one changed byte in the entry: exit 1
	var r map[string]any
	json.Unmarshal(good, &r)
	r["entry"] = "ZTU=" // "e5" instead of "e\x04"
	bad, _ := json.Marshal(r)
	if code, out, errOut := ctl(t, "", "verify", f.write(t, "bad.json", bad), "--key", f.VKey); code != 1 || !strings.Contains(out+errOut, "does NOT verify") {
		t.Fatalf("verify tampered receipt: exit %d\n%s", code, out+errOut)
	}
	// another log's key: exit 1
	_, other, _ := signer.GenerateKey(rand.Reader, f.Origin)
	if code, _, _ := ctl(t, "", "verify", p, "--key", other); code != 1 {
		t.Fatalf("verify with another key: exit %d, want 1", code)
	}
	if code, _, _ := ctl(t, "", "verify", p); code != 2 {
		t.Fatalf("verify without --key: exit %d, want 2", code)
	}
}

func TestVerifyCheckpointAndConsistency(t *testing.T) {
	f := newVerifyFixture(t)
	ctx := context.Background()
	var cps []string
	for i := 0; i < 40; i++ {
		ack, err := f.Log.Append(ctx, []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		if i == 2 || i == 17 || i == 39 {
			cps = append(cps, f.write(t, "cp"+string(rune('a'+len(cps))), ack.Checkpoint))
		}
	}
	if code, out, errOut := ctl(t, "", "verify", "checkpoint", cps[0], "--key", f.VKey); code != 0 || !strings.Contains(out+errOut, "size 3") {
		t.Fatalf("verify checkpoint: exit %d\n%s", code, out+errOut)
	}
	for _, pair := range [][2]string{{cps[0], cps[2]}, {cps[2], cps[1]}, {cps[1], cps[1]}} {
		if code, out, errOut := ctl(t, "", "--url", f.URL, "verify", "consistency", pair[0], pair[1], "--key", f.VKey); code != 0 || !strings.Contains(out+errOut, "OK") {
			t.Fatalf("verify consistency %v: exit %d\n%s", pair, code, out+errOut)
		}
	}
	// a fork: another log with the same key and origin but another history
	st, err := badgerstore.Open(badgerstore.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	fork, err := ledger.Open(ledger.Config{Origin: f.Origin, Signers: []note.Signer{f.Signer}, Storage: st})
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
	if code, out, errOut := ctl(t, "", "verify", "checkpoint", fp, "--key", f.VKey); code != 0 {
		t.Fatalf("the fork's checkpoint carries a good signature, yet: exit %d\n%s", code, out+errOut)
	}
	if code, out, errOut := ctl(t, "", "--url", f.URL, "verify", "consistency", cps[0], fp, "--key", f.VKey); code != 1 || !strings.Contains(out+errOut, "NOT consistent") {
		t.Fatalf("verify consistency against a fork: exit %d, want 1\n%s", code, out+errOut)
	}
	b, _ := os.ReadFile(cps[2])
	tampered := bytes.Replace(b, []byte("\n40\n"), []byte("\n41\n"), 1)
	if code, _, _ := ctl(t, "", "verify", "checkpoint", f.write(t, "tampered", tampered), "--key", f.VKey); code != 1 {
		t.Fatalf("verify tampered checkpoint: exit %d, want 1", code)
	}
}
