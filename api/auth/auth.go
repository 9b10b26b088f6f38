// Package auth holds the ledger's bearer tokens: the tokens file of
// DESIGN.md §7 and constant-time authentication against it.
//
// Contracts:
//   - Only SHA-256 hashes of tokens are stored or kept in memory.
//   - Authenticate compares against every configured hash in constant time,
//     so its timing does not tell which token, if any, was close.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Role is what a token may do.
type Role string

// The roles of DESIGN.md §7.
const (
	Producer  Role = "producer"
	Reviewer  Role = "reviewer"
	Regulator Role = "regulator"
	Operator  Role = "operator"
	// Stakeholder files rule challenges and proposes amendments.
	Stakeholder Role = "stakeholder"
)

var roles = []Role{Producer, Reviewer, Regulator, Operator, Stakeholder}

// Roles returns every role a tokens file may name, in the order of
// DESIGN.md §7.
func Roles() []Role { return slices.Clone(roles) }

// Entry is one line of the tokens file.
type Entry struct {
	Name   string `json:"name"`
	Role   Role   `json:"role"`
	SHA256 string `json:"sha256"` // lowercase hex of SHA-256(token)
	// Operators, for a producer, are the system.operator values it may
	// log for; empty: any (a single-tenant deployment). Other roles MUST
	// NOT carry it.
	Operators []string `json:"operators,omitempty"`
}

// Tokens is a parsed tokens file.
type Tokens struct {
	entries []Entry
	hashes  [][]byte
}

// Parse parses a tokens file: a JSON array of entries.
func Parse(data []byte) (*Tokens, error) {
	var es []Entry
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&es); err != nil {
		return nil, fmt.Errorf("tokens file: want a JSON array of {name, role, sha256[, operators]}: %w", err)
	}
	t := &Tokens{}
	for i, e := range es {
		if e.Name == "" {
			return nil, fmt.Errorf("tokens file: entry %d has no name", i)
		}
		if !slices.Contains(roles, e.Role) {
			return nil, fmt.Errorf("tokens file: entry %d (%s) has role %q, want one of %v", i, e.Name, e.Role, roles)
		}
		if len(e.Operators) > 0 && e.Role != Producer {
			return nil, fmt.Errorf("tokens file: entry %d (%s) has role %s and operators; only a producer logs for operators", i, e.Name, e.Role)
		}
		for _, op := range e.Operators {
			if op == "" {
				return nil, fmt.Errorf("tokens file: entry %d (%s) lists an empty operator", i, e.Name)
			}
		}
		h, err := hex.DecodeString(e.SHA256)
		if err != nil || len(h) != sha256.Size {
			return nil, fmt.Errorf("tokens file: entry %d (%s): sha256 is %q, want 64 hex digits", i, e.Name, e.SHA256)
		}
		t.entries = append(t.entries, e)
		t.hashes = append(t.hashes, h)
	}
	return t, nil
}

// Load reads and parses a tokens file.
func Load(path string) (*Tokens, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Authenticate returns the entry whose hash matches token.
func (t *Tokens) Authenticate(token string) (Entry, bool) {
	h := sha256.Sum256([]byte(token))
	found := -1
	for i, want := range t.hashes {
		if subtle.ConstantTimeCompare(h[:], want) == 1 {
			found = i
		}
	}
	if found < 0 {
		return Entry{}, false
	}
	return t.entries[found], true
}

// Entries returns the configured entries (names, roles, hashes) in file
// order, so that a server can say which tokens it loaded.
func (t *Tokens) Entries() []Entry { return slices.Clone(t.entries) }

// Len is the number of tokens configured.
func (t *Tokens) Len() int { return len(t.entries) }

// NewToken returns a fresh random token (256 bits, URL-safe base64) and the
// tokens-file entry for it.
func NewToken(name string, role Role) (token string, e Entry, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", Entry{}, err
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, entryFor(name, role, token), nil
}

// entryFor is the tokens-file entry of token.
func entryFor(name string, role Role, token string) Entry {
	h := sha256.Sum256([]byte(token))
	return Entry{Name: name, Role: role, SHA256: hex.EncodeToString(h[:])}
}
