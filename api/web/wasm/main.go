//go:build js && wasm

// Command wasm is the web page's receipt verifier: the verify package
// compiled to WebAssembly, so a person checks a receipt in their own
// browser against the verifier key they choose, without trusting the
// server that shows the page. Build it with `go generate ./api/web`.
//
// It defines two JavaScript functions:
//
//	fjaVerifyReceipt(receiptJSON, vkey) -> {ok, error, index, size, origin, root, leaf_hash, entry, contest_token}
//	fjaVerifyExplanation(fileText, vkey) -> {ok, error, size, origin, root}
//
// ok is true only if verify.VerifyReceipt (explanation.Verify) accepts the
// receipt (the explanation file); error says why not. entry is the logged
// leaf (JSON text) as the receipt carries it, set whenever the receipt
// parses, verified or not; size and root are the verified checkpoint's,
// set only when ok. An explanation's content is the file itself: the page
// shows it only once it verified.
package main

import (
	"encoding/base64"
	"fmt"
	"syscall/js"

	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/explanation"
)

func main() {
	js.Global().Set("fjaVerifyReceipt", checker("fjaVerifyReceipt", "the receipt JSON", verifyReceipt))
	js.Global().Set("fjaVerifyExplanation", checker("fjaVerifyExplanation", "the explanation file's text", verifyExplanation))
	if ready := js.Global().Get("fjaVerifierReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	select {}
}

// checker makes the JavaScript function name(doc, vkey) -> {ok, error,
// size, root, ...}: check verifies doc with vkey, adding what it read to
// out, and returns the verified checkpoint. ok, size and root are set only
// when it verified; error says why not; a panic is an error, not a crash.
func checker(name, doc string, check func(out map[string]any, doc []byte, vkey string) (*verify.Checkpoint, error)) js.Func {
	return js.FuncOf(func(_ js.Value, args []js.Value) (result any) {
		out := map[string]any{"ok": false, "error": ""}
		defer func() {
			if p := recover(); p != nil {
				out["ok"], out["error"] = false, fmt.Sprint("verifier failure: ", p)
				result = out
			}
		}()
		if len(args) != 2 || args[0].Type() != js.TypeString || args[1].Type() != js.TypeString {
			out["error"] = name + " wants two strings: " + doc + " and the log's verifier key"
			return out
		}
		cp, err := check(out, []byte(args[0].String()), args[1].String())
		if err != nil {
			out["error"] = err.Error()
			return out
		}
		out["ok"] = true
		out["size"] = cp.Size
		out["root"] = base64.StdEncoding.EncodeToString(cp.Hash)
		return out
	})
}

func verifyReceipt(out map[string]any, doc []byte, vkey string) (*verify.Checkpoint, error) {
	r, cp, err := verify.VerifyReceipt(doc, vkey)
	if r != nil {
		out["origin"] = r.Origin
		out["index"] = r.Index
		out["leaf_hash"] = base64.StdEncoding.EncodeToString(r.LeafHash)
		out["entry"] = string(r.Entry)
		out["contest_token"] = r.ContestToken
	}
	return cp, err
}

func verifyExplanation(out map[string]any, doc []byte, vkey string) (*verify.Checkpoint, error) {
	_, cp, err := explanation.Verify(doc, vkey)
	if cp != nil {
		out["origin"] = cp.Origin
	}
	return cp, err
}
