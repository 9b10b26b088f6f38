package verify

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	flog "github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// Note key algorithms allowed for the log's own key (C2SP signed-note).
const (
	algEd25519 = 0x01
	algECDSA   = 0x02
)

// Checkpoint is a C2SP tlog-checkpoint whose signature by the log key was
// verified by OpenCheckpoint.
//
// Invariants: Origin is non-empty and equals the origin asked for; Hash is
// 32 bytes; Note.Sigs holds every signature that verified (the log key's
// first check is guaranteed) and Note.UnverifiedSigs those by unknown keys.
type Checkpoint struct {
	Origin string
	Size   uint64
	Hash   []byte // 32-byte root hash
	// Extensions are the optional lines after the root hash, without their
	// newlines, in order. Their meaning is up to the log.
	Extensions []string
	Note       *note.Note // the opened note, with verified signatures
	Raw        []byte     // the signed note bytes as given
}

// OpenCheckpoint verifies the signed note signed with the log's verifier key
// logKey and any extra verifier keys (a second log key, witnesses), then
// parses its body as a C2SP tlog-checkpoint.
//
// logKey MUST be a note vkey "<name>+<hash8hex>+<base64>" of algorithm
// Ed25519 (0x01) or ECDSA P-256 (0x02, key = DER SPKI); others may be any
// vkey github.com/transparency-dev/formats/note understands.
//
// It succeeds only if: all keys parse; the note is well formed and has no
// two signature lines by the same (name, key hash); it carries a valid
// signature by logKey; no signature by any known key is invalid; the body
// is "<origin>\n<size>\n<base64 root>\n" followed by optional non-empty
// extension lines, with the size in canonical decimal (no sign, no leading
// zeros), the root canonical base64 of exactly 32 bytes, and origin equal to
// the origin argument.
func OpenCheckpoint(signed []byte, origin, logKey string, others ...string) (*Checkpoint, error) {
	logV, err := logVerifier(logKey)
	if err != nil {
		return nil, err
	}
	vs := []note.Verifier{logV}
	for i, k := range others {
		v, err := fnote.NewVerifier(k)
		if err != nil {
			return nil, fmt.Errorf("%w: extra key %d %q: %v", ErrBadKey, i, k, err)
		}
		dup := false
		for _, w := range vs {
			if w.Name() == v.Name() && w.KeyHash() == v.KeyHash() {
				dup = true
			}
		}
		if dup {
			return nil, fmt.Errorf("%w: extra key %d %q has the same name and key hash as an earlier key", ErrBadKey, i, k)
		}
		vs = append(vs, v)
	}

	if err := checkSignatureLines(signed); err != nil {
		return nil, err
	}
	n, err := note.Open(signed, note.VerifierList(vs...))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		switch {
		case errors.As(err, &unverified):
			return nil, fmt.Errorf("%w: no signature by any known key (want %s+%08x); %d signatures by unknown keys", ErrBadSignature, logV.Name(), logV.KeyHash(), len(unverified.Note.UnverifiedSigs))
		case errors.As(err, &invalid):
			return nil, fmt.Errorf("%w: invalid signature by %s+%08x", ErrBadSignature, invalid.Name, invalid.Hash)
		default:
			return nil, fmt.Errorf("%w: signed note: %v", ErrMalformed, err)
		}
	}
	signedByLog := false
	for _, s := range n.Sigs {
		if s.Name == logV.Name() && s.Hash == logV.KeyHash() {
			signedByLog = true
		}
	}
	if !signedByLog {
		return nil, fmt.Errorf("%w: no signature by log key %s+%08x; found %d verified signatures by other keys", ErrBadSignature, logV.Name(), logV.KeyHash(), len(n.Sigs))
	}

	cp, err := parseCheckpointBody(n.Text)
	if err != nil {
		return nil, err
	}
	if cp.Origin != origin {
		return nil, fmt.Errorf("%w: checkpoint origin is %q, want %q", ErrOriginMismatch, cp.Origin, origin)
	}
	cp.Note = n
	cp.Raw = bytes.Clone(signed)
	return cp, nil
}

func logVerifier(logKey string) (note.Verifier, error) {
	parts := strings.SplitN(logKey, "+", 3)
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: log key %q has %d '+'-separated parts, want 3", ErrBadKey, logKey, len(parts))
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) == 0 {
		return nil, fmt.Errorf("%w: log key %q: key is not base64", ErrBadKey, logKey)
	}
	if raw[0] != algEd25519 && raw[0] != algECDSA {
		return nil, fmt.Errorf("%w: log key %q has algorithm 0x%02x, want 0x01 (Ed25519) or 0x02 (ECDSA)", ErrBadKey, logKey, raw[0])
	}
	v, err := fnote.NewVerifier(logKey)
	if err != nil {
		return nil, fmt.Errorf("%w: log key %q: %v", ErrBadKey, logKey, err)
	}
	return v, nil
}

// checkSignatureLines rejects a note whose signature block names the same
// (name, key hash) twice: note.Open silently drops the repeats, but a
// canonical note never has them. Structural problems are left to note.Open.
func checkSignatureLines(msg []byte) error {
	split := bytes.LastIndex(msg, []byte("\n\n"))
	if split < 0 {
		return nil
	}
	type nameHash struct {
		name string
		hash uint32
	}
	seen := make(map[nameHash]bool)
	for line := range strings.SplitSeq(string(msg[split+2:]), "\n") {
		rest, ok := strings.CutPrefix(line, "\u2014 ")
		if !ok {
			continue
		}
		name, b64, _ := strings.Cut(rest, " ")
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(sig) < 5 {
			continue
		}
		k := nameHash{name, binary.BigEndian.Uint32(sig)}
		if seen[k] {
			return fmt.Errorf("%w: signed note has more than one signature line by %s+%08x", ErrMalformed, k.name, k.hash)
		}
		seen[k] = true
	}
	return nil
}

// parseCheckpointBody parses the note text of a C2SP tlog-checkpoint.
// text always ends in '\n' (note.Open guarantees it). It accepts exactly
// what formats/log.Checkpoint.Unmarshal accepts, minus non-canonical sizes
// and hashes and empty extension lines.
func parseCheckpointBody(text string) (*Checkpoint, error) {
	var fc flog.Checkpoint
	if _, err := fc.Unmarshal([]byte(text)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	lines := strings.Split(text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		return nil, fmt.Errorf("%w: checkpoint body has %d lines, want at least 3 newline-terminated lines", ErrMalformed, len(lines)-1)
	}
	lines = lines[:len(lines)-1]
	origin, sizeStr, hashStr, ext := lines[0], lines[1], lines[2], lines[3:]
	if origin == "" {
		return nil, fmt.Errorf("%w: checkpoint origin line is empty", ErrMalformed)
	}
	size, err := strconv.ParseUint(sizeStr, 10, 64)
	if err != nil || strconv.FormatUint(size, 10) != sizeStr {
		return nil, fmt.Errorf("%w: checkpoint size %q is not a canonical decimal uint64", ErrMalformed, sizeStr)
	}
	hash, err := base64.StdEncoding.DecodeString(hashStr)
	if err != nil || base64.StdEncoding.EncodeToString(hash) != hashStr {
		return nil, fmt.Errorf("%w: checkpoint root hash %q is not canonical base64", ErrMalformed, hashStr)
	}
	if len(hash) != HashSize {
		return nil, fmt.Errorf("%w: checkpoint root hash is %d bytes, want %d", ErrMalformed, len(hash), HashSize)
	}
	for i, e := range ext {
		if e == "" {
			return nil, fmt.Errorf("%w: checkpoint extension line %d is empty", ErrMalformed, i+1)
		}
	}
	cp := &Checkpoint{Origin: origin, Size: size, Hash: hash}
	if len(ext) > 0 {
		cp.Extensions = ext
	}
	return cp, nil
}
