package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// TestWitnessCosigns runs the witness as main does and asks it to cosign a
// checkpoint of a log it follows: the check of the harness alone, apart
// from the ledger (whose interop tests are in the main module).
func TestWitnessCosigns(t *testing.T) {
	logSKey, logVKey, err := note.GenerateKey(rand.Reader, "example.org/log")
	if err != nil {
		t.Fatal(err)
	}
	stdinR, stdinW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(context.Background(), []string{"--name", "w.example", "--log-vkey", logVKey}, stdinR, outW)
	}()
	var ready Ready
	line, err := bufio.NewReader(outR).ReadString('\n')
	if err != nil || json.Unmarshal([]byte(line), &ready) != nil || !strings.HasPrefix(ready.URL, "http://127.0.0.1:") {
		t.Fatalf("ready line %q: %v", line, err)
	}
	defer func() {
		stdinW.Close() // end of stdin: the witness exits
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()

	if resp, err := http.Get(ready.URL + "/latest"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /latest before any checkpoint: %v %v, want 404", resp, err)
	}
	signer, _ := note.NewSigner(logSKey)
	cp, err := note.Sign(&note.Note{Text: "example.org/log\n1\n" + base64.StdEncoding.EncodeToString(make([]byte, 32)) + "\n"}, signer)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(ready.URL+"/add-checkpoint", "text/plain", strings.NewReader("old 0\n\n"+string(cp)))
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("add-checkpoint: %d %s", resp.StatusCode, sig)
	}
	cv, err := fnote.NewVerifierForCosignatureV1(ready.VKey)
	if err != nil {
		t.Fatalf("printed vkey %q: %v", ready.VKey, err)
	}
	lv, _ := note.NewVerifier(logVKey)
	n, err := note.Open(append(cp, sig...), note.VerifierList(lv, cv))
	if err != nil || len(n.Sigs) != 2 {
		t.Fatalf("the cosigned checkpoint does not open with the log key and the printed witness key: %v", err)
	}
	resp, err = http.Get(ready.URL + "/statuses")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "[200]" {
		t.Fatalf("statuses %s, want [200]", b)
	}
	if err := run(context.Background(), []string{"--name", "w"}, nil, io.Discard); err == nil {
		t.Fatal("no --log-vkey: no error")
	}
}
