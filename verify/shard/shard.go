// Package shard verifies a chain of temporal shards (DESIGN.md §4): a log
// that was frozen with a final signed checkpoint and continued by a new
// log with a new origin (and a new key), whose entry 0 is a `shard`
// record citing the shard before.
//
// Trust chain. A verifier pins only the first shard's verifier key. Every
// later shard's key is learnt from its shard record, and is trusted only
// because the previous shard's key endorsed it: when a shard is frozen, its
// key signs a note (the endorsement, record.ShardEndorsementText) naming the
// shard's final size and root hash and the successor's origin and verifier
// key; the successor logs that note, with the final checkpoint, as its
// entry 0. Chain checks, for every shard after the first:
//
//   - its entry 0 is a shard record, included at index 0 of the shard's
//     checkpoint, naming the previous shard's origin and (pinned or
//     endorsed) verifier key;
//   - the record's previous checkpoint is signed by the previous key, and
//     is that shard's final tree: the previous shard's own latest
//     checkpoint has the same size and root (a frozen shard never grows),
//     and every earlier checkpoint of it the caller holds is consistent
//     with it;
//   - the endorsement is signed by the previous key, names that final tree,
//     and names this shard's origin and the verifier key it is listed with
//     (a successor key not endorsed is refused);
//   - the shard's checkpoint is signed by the endorsed key.
//
// The package is pure: no I/O; callers fetch entries, proofs and
// checkpoints (package verify/monitor and api/client do).
package shard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
)

// ErrBrokenChain is wrapped by every error Chain returns: the shards do
// not form a verified chain from the pinned key.
var ErrBrokenChain = errors.New("shard: broken chain of shards")

// Shard is one shard as a verifier fetched it.
type Shard struct {
	// Origin is the shard's origin line; VKey its note verifier key (for
	// the first shard: the pinned key; for later ones: the key the shard
	// is listed with, which the chain must endorse).
	Origin, VKey string
	// Checkpoint is the shard's latest signed checkpoint (for a frozen
	// shard, the one it was frozen at).
	Checkpoint []byte
	// Entry0 is the leaf at index 0, with its inclusion proof in
	// Checkpoint's tree (unused for the first shard).
	Entry0      []byte
	Entry0Proof [][]byte
	// Earlier are checkpoints of this shard the caller saw before, each
	// with a consistency proof from its size to the size of Checkpoint.
	Earlier []Seen
}

// Seen is an earlier checkpoint with a consistency proof to the latest.
type Seen struct {
	Checkpoint []byte
	Proof      [][]byte
}

// Link is what Chain established for one shard.
type Link struct {
	Origin, VKey string
	// Checkpoint is the shard's latest checkpoint, verified under VKey.
	Checkpoint *verify.Checkpoint
	// Final is, for every shard but the last, the final checkpoint its
	// successor's shard record cites (same size and root as Checkpoint).
	Final *verify.Checkpoint
}

// Chain verifies shards, oldest first, from the first shard's pinned key,
// and returns what it established for each. See the package doc for what
// is checked.
func Chain(shards []Shard) ([]Link, error) {
	if len(shards) == 0 {
		return nil, fmt.Errorf("%w: no shards", ErrBrokenChain)
	}
	links := make([]Link, len(shards))
	for i, s := range shards {
		cp, err := verify.OpenCheckpoint(s.Checkpoint, s.Origin, s.VKey)
		if err != nil {
			return nil, fmt.Errorf("%w: shard %d (%s): checkpoint: %w", ErrBrokenChain, i+1, s.Origin, err)
		}
		for j, e := range s.Earlier {
			if err := consistent(s, e, cp); err != nil {
				return nil, fmt.Errorf("%w: shard %d (%s): earlier checkpoint %d: %w", ErrBrokenChain, i+1, s.Origin, j, err)
			}
		}
		links[i] = Link{Origin: s.Origin, VKey: s.VKey, Checkpoint: cp}
		if i == 0 {
			continue
		}
		final, err := link(shards[i-1], links[i-1].Checkpoint, s, cp)
		if err != nil {
			return nil, fmt.Errorf("%w: shard %d (%s): %w", ErrBrokenChain, i+1, s.Origin, err)
		}
		links[i-1].Final = final
	}
	return links, nil
}

// consistent checks an earlier checkpoint of s against its latest one.
func consistent(s Shard, e Seen, latest *verify.Checkpoint) error {
	old, err := verify.OpenCheckpoint(e.Checkpoint, s.Origin, s.VKey)
	if err != nil {
		return err
	}
	return verify.Consistency(old.Size, latest.Size, e.Proof, old.Hash, latest.Hash)
}

// link checks the shard record at entry 0 of s (whose checkpoint cp is
// verified under s.VKey) against the previous shard prev, whose latest
// checkpoint prevCP is verified under prev.VKey, and returns the final
// checkpoint the record cites.
func link(prev Shard, prevCP *verify.Checkpoint, s Shard, cp *verify.Checkpoint) (*verify.Checkpoint, error) {
	if cp.Size == 0 {
		return nil, errors.New("the shard is empty, want its shard record at index 0")
	}
	if err := verify.Inclusion(0, cp.Size, verify.LeafHash(s.Entry0), s.Entry0Proof, cp.Hash); err != nil {
		return nil, fmt.Errorf("entry 0 is not in the shard's checkpoint: %w", err)
	}
	rec, err := parseRecord(s.Entry0)
	if err != nil {
		return nil, err
	}
	p := rec.Previous
	if p.Origin != prev.Origin || p.VKey != prev.VKey {
		return nil, fmt.Errorf("the shard record names previous shard %q key %q, want %q key %q", p.Origin, p.VKey, prev.Origin, prev.VKey)
	}
	final, err := verify.OpenCheckpoint([]byte(p.Checkpoint), prev.Origin, prev.VKey)
	if err != nil {
		return nil, fmt.Errorf("the previous checkpoint in the shard record: %w", err)
	}
	if final.Size != prevCP.Size || !bytes.Equal(final.Hash, prevCP.Hash) {
		return nil, fmt.Errorf("the shard record's previous checkpoint is size %d root %x, but the previous shard's final tree is size %d root %x", final.Size, final.Hash, prevCP.Size, prevCP.Hash)
	}
	for j, e := range prev.Earlier {
		if err := consistent(prev, e, final); err != nil {
			return nil, fmt.Errorf("earlier checkpoint %d of the previous shard is not consistent with its final one: %w", j, err)
		}
	}
	if err := checkEndorsement(rec.Endorsement, prev, final, s); err != nil {
		return nil, err
	}
	return final, nil
}

// parseRecord decodes a leaf as a shard record, strictly.
func parseRecord(entry []byte) (*record.Shard, error) {
	var env record.Envelope
	dec := json.NewDecoder(bytes.NewReader(entry))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("entry 0 is not a record envelope: %w", err)
	}
	if env.Kind != record.KindShard {
		return nil, fmt.Errorf("entry 0 is a %q record, want %q", env.Kind, record.KindShard)
	}
	var rec record.Shard
	dec = json.NewDecoder(bytes.NewReader(env.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return nil, fmt.Errorf("entry 0 is not a shard record body: %w", err)
	}
	return &rec, nil
}

// checkEndorsement checks that the previous key signed the endorsement of
// s (its origin and VKey) after the final tree.
func checkEndorsement(endorsement string, prev Shard, final *verify.Checkpoint, s Shard) error {
	v, err := fnote.NewVerifier(prev.VKey)
	if err != nil {
		return fmt.Errorf("previous key %q: %w", prev.VKey, err)
	}
	n, err := note.Open([]byte(endorsement), note.VerifierList(v))
	if err != nil {
		return fmt.Errorf("the endorsement is not signed by the previous shard's key %s: %w", prev.VKey, err)
	}
	want := record.ShardEndorsementText(prev.Origin, final.Size, final.Hash, s.Origin, s.VKey)
	if n.Text != want {
		got := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
		if len(got) == 6 && got[0] == record.ShardEndorsementHeader && got[5] != s.VKey {
			return fmt.Errorf("the previous key endorsed successor key %q, but the shard is listed with key %q", got[5], s.VKey)
		}
		return fmt.Errorf("the endorsement reads %q, want %q", n.Text, want)
	}
	return nil
}
