package verify

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

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
// It succeeds only if: all keys parse and their base64 is canonical; the
// note is well formed (UTF-8, LF line endings only, no other control
// characters), every signature line is "— <name> <canonical base64>", and
// no two signature lines share a (name, key hash); it carries a valid
// signature by logKey (signatures by unknown keys alone are not enough); no
// signature by any known key is invalid; the body is
// "<origin>\n<size>\n<base64 root>\n" followed by optional non-empty
// extension lines (no blank line anywhere), with the size in canonical
// decimal (no sign, no leading zeros), the root canonical base64 of exactly
// 32 bytes, and origin equal to the origin argument.
func OpenCheckpoint(signed []byte, origin, logKey string, others ...string) (*Checkpoint, error) {
	logV, err := logVerifier(logKey)
	if err != nil {
		return nil, err
	}
	vs := []note.Verifier{logV}
	for i, k := range others {
		if err := checkKeyBase64(fmt.Sprintf("extra key %d", i), k); err != nil {
			return nil, err
		}
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

	if err := checkNoteSyntax(signed); err != nil {
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
	if err := checkKeyBase64("log key", logKey); err != nil {
		return nil, err
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.SplitN(logKey, "+", 3)[2])
	if raw[0] != algEd25519 && raw[0] != algECDSA {
		return nil, fmt.Errorf("%w: log key %q has algorithm 0x%02x, want 0x01 (Ed25519) or 0x02 (ECDSA)", ErrBadKey, logKey, raw[0])
	}
	v, err := fnote.NewVerifier(logKey)
	if err != nil {
		return nil, fmt.Errorf("%w: log key %q: %v", ErrBadKey, logKey, err)
	}
	return v, nil
}

// maxSignatures is the most signature lines note.Open accepts.
const maxSignatures = 100

// checkNoteSyntax checks the signed-note framing before note.Open does, so
// that every rejection says what was expected and what was found, and adds
// the canonical-form rules note.Open lacks:
//   - the note is UTF-8 with no control character but '\n' (so CRLF line
//     endings are rejected, naming the offending byte);
//   - the text ends at the last blank line, and the signature block after it
//     is non-empty, newline-terminated lines "— <name> <base64>";
//   - each signature's base64 is canonical standard padded base64: no
//     whitespace, no URL alphabet, no non-zero padding bits (note.Open would
//     otherwise accept several encodings of one signature);
//   - no two lines carry the same (name, key hash): note.Open silently
//     drops the repeats, but a canonical note never has them;
//   - at most 100 signature lines.
func checkNoteSyntax(msg []byte) error {
	if len(msg) == 0 {
		return fmt.Errorf("%w: signed note is empty, want text, a blank line and signature lines", ErrMalformed)
	}
	for i := 0; i < len(msg); {
		r, size := utf8.DecodeRune(msg[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return fmt.Errorf("%w: signed note has invalid UTF-8 byte 0x%02x at offset %d, want UTF-8 text", ErrMalformed, msg[i], i)
		case r == '\r':
			return fmt.Errorf("%w: signed note has a carriage return at offset %d (CRLF line ending?), want lines ending in LF only", ErrMalformed, i)
		case r < 0x20 && r != '\n':
			return fmt.Errorf("%w: signed note has control character 0x%02x at offset %d, want no control characters but LF", ErrMalformed, r, i)
		}
		i += size
	}
	split := bytes.LastIndex(msg, []byte("\n\n"))
	if split < 0 {
		return fmt.Errorf("%w: signed note has no blank line, want text, a blank line and signature lines", ErrMalformed)
	}
	sigs := msg[split+2:]
	if len(sigs) == 0 {
		return fmt.Errorf("%w: signed note has no signature lines after its last blank line", ErrMalformed)
	}
	if sigs[len(sigs)-1] != '\n' {
		return fmt.Errorf("%w: signed note's last signature line does not end in a newline", ErrMalformed)
	}
	type nameHash struct {
		name string
		hash uint32
	}
	seen := make(map[nameHash]bool)
	lines := strings.Split(string(sigs[:len(sigs)-1]), "\n")
	if len(lines) > maxSignatures {
		return fmt.Errorf("%w: signed note has %d signature lines, want at most %d", ErrMalformed, len(lines), maxSignatures)
	}
	for i, line := range lines {
		rest, ok := strings.CutPrefix(line, "\u2014 ")
		if !ok {
			return fmt.Errorf("%w: signature line %d %q does not start with \"\u2014 \"", ErrMalformed, i+1, line)
		}
		name, b64, ok := strings.Cut(rest, " ")
		if !ok || name == "" || strings.Contains(name, "+") || strings.IndexFunc(name, unicode.IsSpace) >= 0 {
			return fmt.Errorf("%w: signature line %d %q, want \"\u2014 <name> <base64>\" with a name without spaces or '+'", ErrMalformed, i+1, line)
		}
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || b64 == "" || base64.StdEncoding.EncodeToString(sig) != b64 {
			return fmt.Errorf("%w: signature line %d by %s: signature %q is not canonical standard padded base64", ErrMalformed, i+1, name, b64)
		}
		if len(sig) < 5 {
			return fmt.Errorf("%w: signature line %d by %s: signature is %d bytes, want a 4-byte key hash and at least 1 byte of signature", ErrMalformed, i+1, name, len(sig))
		}
		k := nameHash{name, binary.BigEndian.Uint32(sig)}
		if seen[k] {
			return fmt.Errorf("%w: signed note has more than one signature line by %s+%08x, want at most one per key", ErrMalformed, k.name, k.hash)
		}
		seen[k] = true
	}
	return nil
}

// checkKeyBase64 requires the key part of a vkey "<name>+<hash>+<base64>"
// to be canonical standard padded base64 (note.NewVerifier would skip
// embedded newlines and accept non-zero padding bits).
func checkKeyBase64(what, vkey string) error {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return fmt.Errorf("%w: %s %q has %d '+'-separated parts, want 3 (<name>+<hash>+<base64 key>)", ErrBadKey, what, vkey, len(parts))
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) == 0 || base64.StdEncoding.EncodeToString(raw) != parts[2] {
		return fmt.Errorf("%w: %s %q: key %q is not non-empty canonical standard padded base64", ErrBadKey, what, vkey, parts[2])
	}
	return nil
}

// parseCheckpointBody parses the note text of a C2SP tlog-checkpoint.
// text always ends in '\n' (note.Open guarantees it). It accepts exactly
// what formats/log.Checkpoint.Unmarshal accepts, minus non-canonical sizes
// and hashes and empty (blank) lines anywhere in the body.
func parseCheckpointBody(text string) (*Checkpoint, error) {
	lines := strings.Split(text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		return nil, fmt.Errorf("%w: checkpoint body has %d lines, want at least 3 newline-terminated lines (origin, size, root hash)", ErrMalformed, len(lines)-1)
	}
	lines = lines[:len(lines)-1]
	origin, sizeStr, hashStr, ext := lines[0], lines[1], lines[2], lines[3:]
	if origin == "" {
		return nil, fmt.Errorf("%w: checkpoint origin line is empty (leading blank line?), want the log's origin", ErrMalformed)
	}
	size, err := strconv.ParseUint(sizeStr, 10, 64)
	if err != nil || strconv.FormatUint(size, 10) != sizeStr {
		return nil, fmt.Errorf("%w: checkpoint size line is %q, want a canonical decimal uint64 (no sign, no leading zeros)", ErrMalformed, sizeStr)
	}
	hash, err := base64.StdEncoding.DecodeString(hashStr)
	if err != nil || base64.StdEncoding.EncodeToString(hash) != hashStr {
		return nil, fmt.Errorf("%w: checkpoint root hash line is %q, want canonical standard padded base64", ErrMalformed, hashStr)
	}
	if len(hash) != HashSize {
		return nil, fmt.Errorf("%w: checkpoint root hash is %d bytes, want %d", ErrMalformed, len(hash), HashSize)
	}
	for i, e := range ext {
		if e == "" {
			return nil, fmt.Errorf("%w: checkpoint body line %d is blank, want a non-empty extension line (an extra blank line?)", ErrMalformed, i+4)
		}
	}
	// Cross-check: never accept what the reference parser rejects.
	var fc flog.Checkpoint
	if _, err := fc.Unmarshal([]byte(text)); err != nil {
		return nil, fmt.Errorf("%w: checkpoint body: %v", ErrMalformed, err)
	}
	cp := &Checkpoint{Origin: origin, Size: size, Hash: hash}
	if len(ext) > 0 {
		cp.Extensions = ext
	}
	return cp, nil
}
