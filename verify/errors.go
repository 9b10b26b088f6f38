package verify

import (
	"errors"
	"fmt"
)

// Sentinel errors callers branch on with errors.Is. Every error returned by
// this package wraps exactly one of them, or is a *RootMismatchError; the
// message around it says what was expected and what was found.
var (
	// ErrMalformed: the input does not parse, or is not in canonical form
	// (bad base64, wrong hash length, non-decimal size, bad JSON, ...).
	ErrMalformed = errors.New("malformed input")
	// ErrBadKey: a verifier key given by the caller is not a usable note
	// verifier key.
	ErrBadKey = errors.New("bad verifier key")
	// ErrBadSignature: the note carries no valid signature by the log key,
	// or carries an invalid signature by a known key.
	ErrBadSignature = errors.New("bad signature")
	// ErrOriginMismatch: the checkpoint is signed but names another log.
	ErrOriginMismatch = errors.New("origin mismatch")
	// ErrBadProof: a proof has the wrong shape for the index and sizes it
	// claims (length, hash size, index beyond the tree, size1 > size2).
	ErrBadProof = errors.New("bad proof")
	// ErrMismatch: two parts of a receipt that MUST agree do not (leaf hash
	// vs entry, tlog_proof vs inclusion_proof or checkpoint).
	ErrMismatch = errors.New("receipt fields disagree")
	// ErrWitnessPolicy (witness.go): cosignatures do not satisfy a witness
	// policy.
)

// RootMismatchError reports a well-formed proof whose recomputed root is
// not the root it was checked against: either the proof, the leaf or the
// root is wrong. Match it with errors.As.
type RootMismatchError struct {
	Want []byte // the trusted root hash given by the caller
	Got  []byte // the root hash recomputed from the proof
}

func (e *RootMismatchError) Error() string {
	return fmt.Sprintf("root mismatch: proof yields %x, want %x", e.Got, e.Want)
}
