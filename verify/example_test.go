package verify_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"

	flog "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/formats/proof"
	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/reftree"
)

const origin = "ledger.example.org/fja/2026"

// exampleLog plays the log: it signs a checkpoint over entries and returns
// the receipt JSON for entries[index], and the log's verifier key.
func exampleLog(entries [][]byte, index int) (receipt []byte, vkey string) {
	seed := sha256.Sum256([]byte("example"))
	skey, vkey, _ := note.GenerateKey(bytes.NewReader(seed[:]), origin)
	signer, _ := note.NewSigner(skey)
	body := flog.Checkpoint{Origin: origin, Size: uint64(len(entries)), Hash: reftree.Root(entries)}.Marshal()
	cp, _ := note.Sign(&note.Note{Text: string(body)}, signer)
	hashes := reftree.InclusionProof(index, entries)
	tp := proof.TLogProof{Index: uint64(index), Checkpoint: cp}
	for _, h := range hashes {
		tp.Hashes = append(tp.Hashes, [32]byte(h))
	}
	receipt, _ = json.Marshal(verify.Receipt{
		Origin:         origin,
		Index:          uint64(index),
		LeafHash:       verify.LeafHash(entries[index]),
		Entry:          entries[index],
		Checkpoint:     string(cp),
		InclusionProof: hashes,
		TLogProof:      string(tp.Marshal()),
	})
	return receipt, vkey
}

func ExampleReceipt_Verify() {
	var entries [][]byte
	for i := range 10 {
		entries = append(entries, fmt.Appendf(nil, `{"kind":"decision","v":1,"n":%d}`, i))
	}
	data, vkey := exampleLog(entries, 7)

	r, err := verify.ParseReceipt(data)
	if err != nil {
		fmt.Println("malformed:", err)
		return
	}
	cp, err := r.Verify(vkey)
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	fmt.Printf("entry %d is in %s at size %d: %s\n", r.Index, cp.Origin, cp.Size, r.Entry)

	r.Entry = []byte(`{"kind":"decision","v":1,"n":8}`)
	_, err = r.Verify(vkey)
	fmt.Println("tampered entry rejected:", errors.Is(err, verify.ErrMismatch))
	// Output:
	// entry 7 is in ledger.example.org/fja/2026 at size 10: {"kind":"decision","v":1,"n":7}
	// tampered entry rejected: true
}

func ExampleInclusion() {
	entries := [][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d"), []byte("e")}
	root := reftree.Root(entries) // in real use: from an opened checkpoint
	p := reftree.InclusionProof(2, entries)

	fmt.Println(verify.Inclusion(2, 5, verify.LeafHash([]byte("c")), p, root))
	fmt.Println(verify.Inclusion(2, 5, verify.LeafHash([]byte("c")), p[:2], root))
	err := verify.Inclusion(3, 5, verify.LeafHash([]byte("c")), p, root)
	var mismatch *verify.RootMismatchError
	fmt.Println(errors.As(err, &mismatch))
	// Output:
	// <nil>
	// bad proof: proof has 2 hashes, want 3 for index 2 in tree of 5
	// true
}

func ExampleConsistency() {
	var entries [][]byte
	for i := range 9 {
		entries = append(entries, []byte{byte(i)})
	}
	old, cur := reftree.Root(entries[:4]), reftree.Root(entries)
	p := reftree.ConsistencyProof(4, entries)
	fmt.Println(verify.Consistency(4, 9, p, old, cur))
	fmt.Println(verify.Consistency(9, 4, p, cur, old))
	// Output:
	// <nil>
	// bad proof: first size 9 is greater than second size 4
}

func ExampleOpenCheckpoint() {
	entries := [][]byte{[]byte("a"), []byte("b"), []byte("c")}
	receipt, vkey := exampleLog(entries, 0)
	var r verify.Receipt
	json.Unmarshal(receipt, &r)

	cp, err := verify.OpenCheckpoint([]byte(r.Checkpoint), origin, vkey)
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	fmt.Printf("%s at size %d\n", cp.Origin, cp.Size)

	_, err = verify.OpenCheckpoint([]byte(r.Checkpoint), "another.example.org/log", vkey)
	fmt.Println("other origin rejected:", errors.Is(err, verify.ErrOriginMismatch))
	// Output:
	// ledger.example.org/fja/2026 at size 3
	// other origin rejected: true
}
