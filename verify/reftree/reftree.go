// Package reftree is a deliberately naive RFC 6962 Merkle tree, written
// straight from RFC 6962 §2.1 (MTH, PATH, PROOF and SUBPROOF), to
// cross-check the fast implementations in tests.
//
// Contracts:
//   - Leaves are raw entries; they are hashed here as SHA-256(0x00 || entry),
//     interior nodes as SHA-256(0x01 || left || right).
//   - Every function recomputes from scratch in O(n log n) or worse: it MUST
//     stay obviously correct, not fast. Do not use it on the serving path.
//   - Inputs outside the ranges the RFC defines (index out of range,
//     m not in 0..n) return nil rather than panicking.
package reftree

import "crypto/sha256"

// LeafHash is SHA-256(0x00 || entry).
func LeafHash(entry []byte) []byte {
	var buf [64]byte
	h := sha256.Sum256(append(append(buf[:0], 0x00), entry...))
	return h[:]
}

// NodeHash is SHA-256(0x01 || left || right).
func NodeHash(left, right []byte) []byte {
	var buf [1 + 2*sha256.Size]byte
	b := append(append(append(buf[:0], 0x01), left...), right...)
	h := sha256.Sum256(b)
	return h[:]
}

// split returns k, the largest power of two smaller than n (n > 1).
func split(n int) int {
	k := 1
	for k<<1 < n {
		k <<= 1
	}
	return k
}

// Root is MTH(D[n]). The root of the empty list is SHA-256 of the empty string.
func Root(leaves [][]byte) []byte {
	switch n := len(leaves); n {
	case 0:
		h := sha256.Sum256(nil)
		return h[:]
	case 1:
		return LeafHash(leaves[0])
	default:
		k := split(n)
		return NodeHash(Root(leaves[:k]), Root(leaves[k:]))
	}
}

// InclusionProof is PATH(index, D[n]), ordered from the leaf upwards. It
// returns nil if index is not in [0, n).
func InclusionProof(index int, leaves [][]byte) [][]byte {
	if index < 0 || index >= len(leaves) {
		return nil
	}
	return path(index, leaves)
}

func path(m int, d [][]byte) [][]byte {
	n := len(d)
	if n == 1 {
		return [][]byte{}
	}
	k := split(n)
	if m < k {
		return append(path(m, d[:k]), Root(d[k:]))
	}
	return append(path(m-k, d[k:]), Root(d[:k]))
}

// ConsistencyProof is PROOF(m, D[n]). It returns an empty proof for m == 0
// and m == n (RFC 6962 leaves m == 0 undefined; every size is consistent with
// the empty tree), and nil if m is not in [0, n].
func ConsistencyProof(m int, leaves [][]byte) [][]byte {
	if m < 0 || m > len(leaves) {
		return nil
	}
	if m == 0 {
		return [][]byte{}
	}
	return subproof(m, leaves, true)
}

func subproof(m int, d [][]byte, b bool) [][]byte {
	n := len(d)
	if m == n {
		if b {
			return [][]byte{}
		}
		return [][]byte{Root(d)}
	}
	k := split(n)
	if m <= k {
		return append(subproof(m, d[:k], b), Root(d[k:]))
	}
	return append(subproof(m-k, d[k:], false), Root(d[:k]))
}
