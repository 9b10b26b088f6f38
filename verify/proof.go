package verify

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/bits"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// HashSize is the size of every RFC 6962 (SHA-256) hash.
const HashSize = sha256.Size

// emptyRoot is MTH({}) = SHA-256("").
var emptyRoot = rfc6962.DefaultHasher.EmptyRoot()

// LeafHash is the RFC 6962 leaf hash SHA-256(0x00 || entry).
func LeafHash(entry []byte) []byte {
	return rfc6962.DefaultHasher.HashLeaf(entry)
}

// InclusionProofSize is the exact number of hashes an RFC 6962 inclusion
// proof for index in a tree of size has. It returns -1 if index >= size.
func InclusionProofSize(index, size uint64) int {
	if index >= size {
		return -1
	}
	inner := bits.Len64(index ^ (size - 1))
	return inner + bits.OnesCount64(index>>uint(inner))
}

// ConsistencyProofSize is the exact number of hashes an RFC 6962
// consistency proof from size1 to size2 has. It returns -1 if size1 > size2.
func ConsistencyProofSize(size1, size2 uint64) int {
	switch {
	case size1 > size2:
		return -1
	case size1 == size2 || size1 == 0:
		return 0
	}
	n := InclusionProofSize(size1-1, size2) - bits.TrailingZeros64(size1)
	if size1&(size1-1) != 0 { // not a power of two: the proof starts with the seed
		n++
	}
	return n
}

func checkHashes(what string, hashes [][]byte) error {
	for i, h := range hashes {
		if len(h) != HashSize {
			return fmt.Errorf("%w: %s hash %d is %d bytes, want %d", ErrBadProof, what, i, len(h), HashSize)
		}
	}
	return nil
}

func checkHash(what string, h []byte) error {
	if len(h) != HashSize {
		return fmt.Errorf("%w: %s is %d bytes, want %d", ErrMalformed, what, len(h), HashSize)
	}
	return nil
}

// Inclusion verifies that leafHash is the leaf at index in the tree of the
// given size whose root hash is root, with an RFC 6962 inclusion proof
// (PATH, ordered from the leaf upwards).
//
// It MUST be called with a root the caller trusts (from an opened
// checkpoint). Shape errors (index >= size, wrong proof length, a hash not
// 32 bytes) wrap ErrBadProof or ErrMalformed; a well-formed proof that does
// not lead to root returns a *RootMismatchError.
func Inclusion(index, size uint64, leafHash []byte, proof [][]byte, root []byte) error {
	if err := checkHash("leaf hash", leafHash); err != nil {
		return err
	}
	if err := checkHash("root hash", root); err != nil {
		return err
	}
	if index >= size {
		return fmt.Errorf("%w: index %d is not in tree of size %d", ErrBadProof, index, size)
	}
	if want := InclusionProofSize(index, size); len(proof) != want {
		return fmt.Errorf("%w: proof has %d hashes, want %d for index %d in tree of %d", ErrBadProof, len(proof), want, index, size)
	}
	if err := checkHashes("inclusion proof", proof); err != nil {
		return err
	}
	return wrapMismatch(fmt.Sprintf("inclusion of index %d in tree of %d", index, size),
		verifyInclusion(index, size, leafHash, proof, root))
}

func verifyInclusion(index, size uint64, leafHash []byte, p [][]byte, root []byte) error {
	got, err := proof.RootFromInclusionProof(rfc6962.DefaultHasher, index, size, leafHash, p)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadProof, err)
	}
	if !bytes.Equal(got, root) {
		return &RootMismatchError{Want: root, Got: got}
	}
	return nil
}

// Consistency verifies an RFC 6962 consistency proof (PROOF(size1, D[size2]))
// that the tree of size1 with root root1 is a prefix of the tree of size2
// with root root2. size1 == 0 is consistent with every tree: the proof MUST
// then be empty and root1 MUST be the empty-tree hash SHA-256("") (this is
// the one deliberate difference from golang.org/x/mod/sumdb/tlog.CheckTree,
// which rejects size1 == 0; FuzzDifferentialConsistency checks that every
// other accept/reject agrees with it). size1 == size2 requires an empty
// proof and equal roots, as in tlog.
//
// Errors are as for Inclusion.
func Consistency(size1, size2 uint64, proof [][]byte, root1, root2 []byte) error {
	if err := checkHash("first root hash", root1); err != nil {
		return err
	}
	if err := checkHash("second root hash", root2); err != nil {
		return err
	}
	if size1 > size2 {
		return fmt.Errorf("%w: first size %d is greater than second size %d", ErrBadProof, size1, size2)
	}
	if want := ConsistencyProofSize(size1, size2); len(proof) != want {
		return fmt.Errorf("%w: proof has %d hashes, want %d from size %d to %d", ErrBadProof, len(proof), want, size1, size2)
	}
	if err := checkHashes("consistency proof", proof); err != nil {
		return err
	}
	what := fmt.Sprintf("consistency from size %d to %d", size1, size2)
	if size1 == 0 {
		if !bytes.Equal(root1, emptyRoot) {
			return wrapMismatch(what, &RootMismatchError{Want: root1, Got: emptyRoot})
		}
		if size2 == 0 && !bytes.Equal(root2, emptyRoot) {
			return wrapMismatch(what, &RootMismatchError{Want: root2, Got: emptyRoot})
		}
		return nil
	}
	return wrapMismatch(what, verifyConsistency(size1, size2, proof, root1, root2))
}

func verifyConsistency(size1, size2 uint64, p [][]byte, root1, root2 []byte) error {
	err := proof.VerifyConsistency(rfc6962.DefaultHasher, size1, size2, p, root1, root2)
	var mm proof.RootMismatchError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &mm):
		return &RootMismatchError{Want: mm.ExpectedRoot, Got: mm.CalculatedRoot}
	default:
		return fmt.Errorf("%w: %v", ErrBadProof, err)
	}
}

func wrapMismatch(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
