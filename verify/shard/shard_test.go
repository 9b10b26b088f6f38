package shard_test

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/verify/record"
	"github.com/fjaledger/fja/verify/reftree"
	"github.com/fjaledger/fja/verify/shard"
)

type key struct {
	s    note.Signer
	vkey string
}

func newKey(t *testing.T, origin string) key {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return key{s, vkey}
}

func sign(t *testing.T, text string, k key) []byte {
	t.Helper()
	b, err := note.Sign(&note.Note{Text: text}, k.s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func checkpoint(t *testing.T, origin string, leaves [][]byte, k key) []byte {
	t.Helper()
	root := reftree.Root(leaves)
	return sign(t, fmt.Sprintf("%s\n%d\n%s\n", origin, len(leaves), b64(root)), k)
}

func b64(b []byte) string {
	s, _ := json.Marshal(b)
	return strings.Trim(string(s), `"`)
}

// chain builds a valid two-shard chain: shard 1 with five entries (and an
// earlier checkpoint at three), shard 2 with its shard record and two
// entries. tamper may change the shard record before it is logged.
func chain(t *testing.T, tamper func(rec *record.Shard, k1, k2 key)) ([]shard.Shard, key) {
	t.Helper()
	o1, o2 := "test.example/log/1", "test.example/log/2"
	k1, k2 := newKey(t, o1), newKey(t, o2)
	var l1 [][]byte
	for i := range 5 {
		l1 = append(l1, fmt.Appendf(nil, "entry %d", i))
	}
	final := checkpoint(t, o1, l1, k1)
	rec := record.Shard{
		Endorsement: string(sign(t, record.ShardEndorsementText(o1, 5, reftree.Root(l1), o2, k2.vkey), k1)),
		Previous:    record.ShardPrevious{Origin: o1, VKey: k1.vkey, Checkpoint: string(final)},
	}
	if tamper != nil {
		tamper(&rec, k1, k2)
	}
	body, _ := json.Marshal(rec)
	entry0, _ := json.Marshal(record.Envelope{Body: body, Kind: record.KindShard, LoggedAt: "2026-12-03T06:00:00Z", V: 1})
	l2 := [][]byte{entry0, []byte("a"), []byte("b")}
	return []shard.Shard{
		{Origin: o1, VKey: k1.vkey, Checkpoint: final,
			Earlier: []shard.Seen{{Checkpoint: checkpoint(t, o1, l1[:3], k1), Proof: reftree.ConsistencyProof(3, l1)}}},
		{Origin: o2, VKey: k2.vkey, Checkpoint: checkpoint(t, o2, l2, k2), Entry0: entry0, Entry0Proof: reftree.InclusionProof(0, l2)},
	}, k1
}

func TestChainVerifies(t *testing.T) {
	s, _ := chain(t, nil)
	links, err := shard.Chain(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 2 || links[0].Final == nil || links[0].Final.Size != 5 || links[1].Checkpoint.Size != 3 {
		t.Fatalf("links = %+v, want shard 1 final at 5 and shard 2 at 3", links)
	}
}

func TestChainDetectsTampering(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func(rec *record.Shard, k1, k2 key)
		shards func([]shard.Shard, key)
		want   string
	}{
		{name: "previous checkpoint not the final one", want: "final tree is size 5",
			tamper: func(rec *record.Shard, k1, _ key) {
				rec.Previous.Checkpoint = string(checkpoint(t, rec.Previous.Origin, [][]byte{[]byte("entry 0")}, k1))
			}},
		{name: "successor key not endorsed", want: "endorsed successor key",
			tamper: func(rec *record.Shard, k1, _ key) {
				other := newKey(t, "test.example/log/2")
				rec.Endorsement = string(sign(t, strings.Replace(strings.Split(rec.Endorsement, "\n\n")[0]+"\n",
					strings.Split(rec.Endorsement, "\n")[5], other.vkey, 1), k1))
			}},
		{name: "endorsement signed by the new key", want: "not signed by the previous shard's key",
			tamper: func(rec *record.Shard, _, k2 key) {
				rec.Endorsement = string(sign(t, strings.Split(rec.Endorsement, "\n\n")[0]+"\n", k2))
			}},
		{name: "previous checkpoint signed by another key", want: "previous checkpoint in the shard record",
			tamper: func(rec *record.Shard, _, _ key) {
				other := newKey(t, rec.Previous.Origin)
				rec.Previous.Checkpoint = string(sign(t, strings.Split(rec.Previous.Checkpoint, "\n\n")[0]+"\n", other))
			}},
		{name: "frozen shard grew", want: "but the previous shard's final tree is size 6",
			shards: func(s []shard.Shard, k1 key) {
				var l1 [][]byte
				for i := range 6 {
					l1 = append(l1, fmt.Appendf(nil, "entry %d", i))
				}
				s[0].Checkpoint = checkpoint(t, s[0].Origin, l1, k1)
				s[0].Earlier[0].Proof = reftree.ConsistencyProof(3, l1)
			}},
		{name: "entry 0 not in the shard", want: "entry 0 is not in the shard's checkpoint",
			shards: func(s []shard.Shard, _ key) { s[1].Entry0 = []byte("x") }},
		{name: "inconsistent earlier checkpoint", want: "earlier checkpoint 0",
			shards: func(s []shard.Shard, _ key) { s[0].Earlier[0].Proof = s[0].Earlier[0].Proof[1:] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, k1 := chain(t, tc.tamper)
			if tc.shards != nil {
				tc.shards(s, k1)
			}
			_, err := shard.Chain(s)
			if !errors.Is(err, shard.ErrBrokenChain) {
				t.Fatalf("Chain = %v, want ErrBrokenChain", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Chain = %v, want it to say %q", err, tc.want)
			}
		})
	}
}
