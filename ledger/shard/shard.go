// Package shard keeps the temporal shards of one data directory
// (DESIGN.md §4, §7 `ledgerctl rotate`): a sequence of logs, each with its
// own origin, key, Badger store and vault, of which only the last is
// active (takes appends); the others are frozen at a final signed
// checkpoint and serve reads.
//
// Layout. Shard 1 is today's layout at the top of the data directory
// (badger/, vault/), so a data directory from before sharding opens
// unchanged as one active shard. Shard n ≥ 2 lives in shards/<n>/ (its
// own badger/ and vault/, and signer.key when rotate made its key). The
// manifest shards.json lists the shards once the first rotation happened;
// without it the directory is one active shard. The digest secret
// (digest.secret) is shared by every shard.
//
// Trust chain (checked by package verify/shard). Rotate freezes the
// active shard at its latest signed checkpoint (the final one) and makes
// the old key sign an endorsement (record.ShardEndorsementText) naming
// that final tree and the successor's origin and verifier key; the
// successor's entry 0 is a `shard` record carrying the previous origin,
// vkey, final checkpoint and the endorsement. A verifier pinned to shard
// 1's key so learns every later key from a statement the previous key
// signed.
//
// Rotation is offline: ledgerd MUST be stopped (Badger's directory lock
// refuses a store another process has open, so a running ledgerd makes
// Rotate fail before it changes anything). A crash during Rotate leaves
// the manifest unchanged (it is replaced last, atomically): the new
// shard's directory is then left over and Rotate refuses to run until it
// is removed.
package shard

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// States of a shard.
const (
	Active = "active"
	Frozen = "frozen"
)

// The layout of ledgerd's --data directory: the manifest (once rotated)
// and the digest secret at its top; each shard's Badger store and vault in
// the shard's directory (DirOf).
const (
	ManifestFile = "shards.json"   // the shards, once the ledger has rotated
	SecretFile   = "digest.secret" // the server secret keying request digests, shared by the shards
	StoreDir     = "badger"        // a shard's Badger store
	VaultDir     = "vault"         // a shard's vault (audit/vault): its key file and legacy key files
)

// Info describes one shard in the manifest.
type Info struct {
	// N numbers the shards from 1, oldest first.
	N int `json:"n"`
	// Origin and VKey are the shard's checkpoint origin and Ed25519 note
	// verifier key.
	Origin string `json:"origin"`
	VKey   string `json:"vkey"`
	// Key is the signer spec (a key file path, relative to the data
	// directory when inside it, or a KMS reference) the active shard signs
	// with; empty for shard 1, which signs with ledgerd's --key (or the
	// development key).
	Key string `json:"key,omitempty"`
	// Dir is the shard's directory, relative to the data directory (""
	// for shard 1).
	Dir string `json:"dir"`
	// State is Active or Frozen.
	State string `json:"state"`
	// Final is a frozen shard's final signed checkpoint.
	Final string `json:"final,omitempty"`
}

// Manifest lists the shards of a data directory, oldest first; the last
// is the active one.
type Manifest struct {
	Shards []Info `json:"shards"`
}

// Load reads the manifest of data directory dir. A directory that was
// never rotated has none: Load returns the one active shard 1 (its Origin
// and VKey empty: they are the key's that ledgerd is started with).
func Load(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return &Manifest{Shards: []Info{{N: 1, State: Active}}}, nil
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("shard: %s: %w", filepath.Join(dir, ManifestFile), err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("shard: %s: %w", filepath.Join(dir, ManifestFile), err)
	}
	return &m, nil
}

// check enforces the manifest's invariants: shards numbered 1..n, all
// frozen (with a final checkpoint) but the last, which is active.
func (m *Manifest) check() error {
	if len(m.Shards) == 0 {
		return errors.New("no shards listed")
	}
	for i, s := range m.Shards {
		want := Frozen
		if i == len(m.Shards)-1 {
			want = Active
		}
		switch {
		case s.N != i+1:
			return fmt.Errorf("shard %d is numbered %d", i+1, s.N)
		case s.State != want:
			return fmt.Errorf("shard %d is %q, want %q", s.N, s.State, want)
		case s.State == Frozen && (s.Final == "" || s.Origin == "" || s.VKey == ""):
			return fmt.Errorf("frozen shard %d lacks its origin, vkey or final checkpoint", s.N)
		case s.Dir != DirOf(s.N):
			return fmt.Errorf("shard %d is in %q, want %q", s.N, s.Dir, DirOf(s.N))
		}
	}
	return nil
}

// Rotated reports whether the directory has more than one shard.
func (m *Manifest) Rotated() bool { return len(m.Shards) > 1 }

// Active returns the active shard.
func (m *Manifest) Active() Info { return m.Shards[len(m.Shards)-1] }

// DirOf is the directory of shard n, relative to the data directory.
func DirOf(n int) string {
	if n == 1 {
		return ""
	}
	return filepath.Join("shards", strconv.Itoa(n))
}

// Paths are where a shard's parts live.
type Paths struct {
	Badger, Vault string
}

// PathsOf returns the paths of shard s of data directory dir.
func PathsOf(dir string, s Info) Paths {
	d := filepath.Join(dir, s.Dir)
	return Paths{Badger: filepath.Join(d, StoreDir), Vault: filepath.Join(d, VaultDir)}
}

// KeySpec returns the signer spec of s resolved against data directory
// dir ("" for shard 1).
func KeySpec(dir string, s Info) string {
	if s.Key == "" || filepath.IsAbs(s.Key) || containsScheme(s.Key) {
		return s.Key
	}
	return filepath.Join(dir, s.Key)
}

func containsScheme(spec string) bool { return strings.Contains(spec, "://") }

// PublishURL is where ledgerd --publish base mirrors shard s: each shard
// is a tlog-tiles log of its own, so shard 1 keeps base (what it was
// published to before any rotation) and shard n >= 2 is published under
// base/shards/<n>, never over shard 1's copy.
func PublishURL(base string, s Info) string {
	if s.N <= 1 {
		return base
	}
	return strings.TrimRight(base, "/") + "/shards/" + strconv.Itoa(s.N)
}

// save replaces the manifest of dir atomically and durably.
func (m *Manifest) save(dir string) error {
	if err := m.check(); err != nil {
		return fmt.Errorf("shard: refusing to save an invalid manifest: %w", err)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, ManifestFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, ManifestFile))
	}
	if err != nil {
		return fmt.Errorf("shard: writing the manifest: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// LoadSecret reads the digest secret of data directory dir (shared by its
// shards), creating it (32 random bytes, mode 0600) when absent.
func LoadSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, SecretFile)
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) < 32 {
			return nil, fmt.Errorf("%s has %d bytes, want 32", path, len(b))
		}
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, err
	}
	return b, nil
}
