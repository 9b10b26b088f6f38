package audit

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gowebpki/jcs"
)

// LoggedAtFormat is the layout of logged_at: UTC, nine fractional digits,
// so that the strings sort like the times.
const LoggedAtFormat = "2006-01-02T15:04:05.000000000Z"

// Canonical returns the RFC 8785 (JCS) form of a JSON value, through the
// JCS library.
func Canonical(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jcs.Transform(b)
}

// canonicalRecord returns the JCS form of a record struct of this package
// without re-parsing it, when encoding/json already writes it canonically:
// fields declared in JCS order (records.go), no HTML escaping, ES6 number
// formatting (what encoding/json does for float64), and ASCII only, so
// that map keys sort the same by bytes as by UTF-16 code units and no
// U+2028/U+2029 escaping can differ. Anything else, and negative zero, goes
// through the JCS library. A decision is written by appendDecisionJCS,
// without reflection. A differential test holds it to Canonical.
func canonicalRecord(v any) ([]byte, error) {
	switch d := v.(type) {
	case Decision:
		return appendDecisionJCS(make([]byte, 0, 2048), &d)
	case *Decision:
		if d != nil {
			return appendDecisionJCS(make([]byte, 0, 2048), d)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if !plainASCII(b) || bytes.Contains(b, []byte(`\u202`)) {
		// encoding/json escapes U+2028 and U+2029; JCS does not.
		return jcs.Transform(b)
	}
	return b, nil
}

// plainASCII reports whether b is ASCII and holds no negative zero.
func plainASCII(b []byte) bool {
	for i, c := range b {
		if c >= 0x80 {
			return false
		}
		if c == '-' && i+1 < len(b) && b[i+1] == '0' && (i+2 == len(b) || bytes.IndexByte([]byte(",}] "), b[i+2]) >= 0) {
			return false
		}
	}
	return true
}

// EnvelopeBytes is the leaf of a record: the JCS envelope around a body
// that is already canonical. JCS orders the members body, kind, logged_at,
// v, and kind and logged_at need no escaping, so the envelope is built by
// concatenation on the sequencer's hot path.
func EnvelopeBytes(kind Kind, loggedAt time.Time, canonicalBody []byte) []byte {
	b := make([]byte, 0, len(canonicalBody)+96)
	b = append(b, `{"body":`...)
	b = append(b, canonicalBody...)
	b = append(b, `,"kind":"`...)
	b = append(b, kind...)
	b = append(b, `","logged_at":"`...)
	b = loggedAt.UTC().AppendFormat(b, LoggedAtFormat)
	b = append(b, `","v":1}`...)
	return b
}

// ParseEnvelope parses a leaf.
func ParseEnvelope(entry []byte) (*Envelope, error) {
	var e Envelope
	dec := json.NewDecoder(bytes.NewReader(entry))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("audit: entry is not a record envelope: %w", err)
	}
	if e.V != 1 {
		return nil, fmt.Errorf("audit: envelope version %d, want 1", e.V)
	}
	return &e, nil
}

// saltSize is the size of a commitment's salt.
const saltSize = 32

// Commit returns a fresh 32-byte salt and the commitment to content:
// "sha256:" + hex(SHA-256(salt || content)).
func Commit(content []byte) (salt []byte, commitment string, err error) {
	salt = make([]byte, saltSize)
	if _, err := rand.Read(salt); err != nil {
		return nil, "", err
	}
	return salt, commitmentOf(salt, content), nil
}

// CommitmentOf recomputes a commitment from its opening.
func CommitmentOf(salt, content []byte) string { return commitmentOf(salt, content) }

// commitmentOf is CommitmentOf for content of either type, with one
// allocation (the string).
func commitmentOf[T string | []byte](salt []byte, content T) string {
	var sum [sha256.Size]byte
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(content))
	h.Sum(sum[:0])
	const prefix = "sha256:"
	var out [len(prefix) + 2*sha256.Size]byte
	copy(out[:], prefix)
	hex.Encode(out[len(prefix):], sum[:])
	return string(out[:])
}

// NewContestToken returns a random contest token and the hex SHA-256 that
// goes into the leaf.
func NewContestToken() (token, tokenSHA256 string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, TokenHash(token), nil
}

// TokenHash is the hex SHA-256 of a contest token, as logged.
func TokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
