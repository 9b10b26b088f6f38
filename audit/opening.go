package audit

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// The opening of a record's private content is what is sealed for it in
// the vault (the plaintext of its sealed blob, in its "m/" value or, for
// records logged before, its "v/" value): for each part (a decision's
// "request" and "response", a contest's or challenge's "grounds") its name,
// the salt of its logged commitment and its text. It is read in two
// encodings:
//
//   - binary, the one written (appendOpening): the byte openingBinary, then
//     for each part, in increasing order of name: len(name) (one byte),
//     name, the salt (saltSize bytes), uvarint len(text), text;
//   - JSON, what earlier versions wrote: a sealedContent object (its first
//     byte '{'), kept in existing data directories.
//
// The binary form is smaller (no syntax, no base64; 70 bytes less for the
// example private decision), and every byte sealed is also written to the
// index's log and memtable with the record.
//
// The text kept is valid UTF-8: each byte of an invalid sequence is kept
// as U+FFFD, as the JSON encoding kept it, so that Private reads back the
// same text from either. (The commitment is to the text as sent.)

// openingBinary is the first byte of a binary opening.
const openingBinary = 1

// sealedContent is the JSON encoding of an opening: part name -> salt and
// text. Written by earlier versions; read, no longer written.
type sealedContent map[string]struct {
	Salt []byte `json:"salt"`
	Text string `json:"text"`
}

// sealedPart is one part of an opening.
type sealedPart struct {
	name string
	salt []byte // saltSize bytes
	text string
}

// appendOpening appends the binary opening of parts (names distinct, at
// most 255 bytes, in increasing order; salts of saltSize bytes) to b.
func appendOpening(b []byte, parts []sealedPart) []byte {
	n := 1
	for _, p := range parts {
		n += 1 + len(p.name) + saltSize + binary.MaxVarintLen64 + len(p.text)
	}
	b = slices.Grow(b, n)
	b = append(b, openingBinary)
	for _, p := range parts {
		b = append(b, byte(len(p.name)))
		b = append(b, p.name...)
		b = append(b, p.salt...)
		if utf8.ValidString(p.text) {
			b = binary.AppendUvarint(b, uint64(len(p.text)))
			b = append(b, p.text...)
		} else {
			t := validText(p.text)
			b = binary.AppendUvarint(b, uint64(len(t)))
			b = append(b, t...)
		}
	}
	return b
}

// validText is s with each byte of an invalid UTF-8 sequence replaced by
// U+FFFD, as encoding/json writes it.
func validText(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			sb.WriteRune(utf8.RuneError)
		} else {
			sb.WriteString(s[i : i+size])
		}
		i += size
	}
	return sb.String()
}

// parseOpening returns the parts of an opening in either encoding, in
// increasing order of name.
func parseOpening(pt []byte) ([]sealedPart, error) {
	if len(pt) > 0 && pt[0] == '{' {
		var c sealedContent
		if err := json.Unmarshal(pt, &c); err != nil {
			return nil, fmt.Errorf("audit: sealed content: %w", err)
		}
		parts := make([]sealedPart, 0, len(c))
		for name, p := range c {
			parts = append(parts, sealedPart{name: name, salt: p.Salt, text: p.Text})
		}
		slices.SortFunc(parts, func(a, b sealedPart) int { return strings.Compare(a.name, b.name) })
		return parts, nil
	}
	if len(pt) == 0 || pt[0] != openingBinary {
		return nil, fmt.Errorf("audit: sealed content of %d bytes is neither a binary opening (%#x) nor JSON", len(pt), openingBinary)
	}
	var parts []sealedPart
	for rest := pt[1:]; len(rest) > 0; {
		n := int(rest[0])
		if len(rest) < 1+n+saltSize {
			return nil, fmt.Errorf("audit: sealed content: part %d is cut short", len(parts))
		}
		p := sealedPart{name: string(rest[1 : 1+n]), salt: rest[1+n : 1+n+saltSize : 1+n+saltSize]}
		rest = rest[1+n+saltSize:]
		l, k := binary.Uvarint(rest)
		if k <= 0 || l > uint64(len(rest)-k) {
			return nil, fmt.Errorf("audit: sealed content: the text of part %q is cut short", p.name)
		}
		p.text, rest = string(rest[k:k+int(l)]), rest[k+int(l):]
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return nil, errors.New("audit: sealed content has no parts")
	}
	return parts, nil
}
