package signer_test

import (
	"fmt"
	"strings"

	"github.com/fjaledger/fja/ledger/signer"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// A fixed key, for a reproducible example; use GenerateKey for real keys.
const exampleKey = "PRIVATE+KEY+example.com/log+9be5d3c6+AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB"

func ExampleFromNoteKey() {
	s, err := signer.FromNoteKey(exampleKey)
	if err != nil {
		panic(err)
	}
	fmt.Println(s.VerifierKey())

	msg, err := note.Sign(&note.Note{Text: "example.com/log\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"}, s)
	if err != nil {
		panic(err)
	}
	v, err := fnote.NewVerifier(s.VerifierKey())
	if err != nil {
		panic(err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		panic(err)
	}
	fmt.Printf("verified %d signature from %s\n", len(n.Sigs), n.Sigs[0].Name)
	fmt.Println(strings.Count(string(msg), "\n— "), "signature line")
	// Output:
	// example.com/log+9be5d3c6+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c
	// verified 1 signature from example.com/log
	// 1 signature line
}
