package shard_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
	"github.com/fjaledger/fja/ledger/shard"
	"github.com/fjaledger/fja/ledger/signer"
	vshard "github.com/fjaledger/fja/verify/shard"
)

// openShard opens shard s of dir with the signer of its key spec (frozen
// when it is).
func openShard(t *testing.T, dir string, s shard.Info, spec string) *ledger.Log {
	t.Helper()
	st, err := badgerstore.Open(badgerstore.Config{Dir: shard.PathsOf(dir, s).Badger})
	if err != nil {
		t.Fatal(err)
	}
	cfg := ledger.Config{Origin: s.Origin, Storage: st, Frozen: s.State == shard.Frozen}
	if !cfg.Frozen {
		sg, err := signer.Load(context.Background(), s.Origin, spec)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Signers = []note.Signer{sg}
	}
	l, err := ledger.Open(cfg)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	return l
}

// chainOf reads every shard of dir as a verifier would, and verifies the
// chain from shard 1's key.
func chainOf(t *testing.T, dir string, m *shard.Manifest) error {
	t.Helper()
	var shards []vshard.Shard
	for _, s := range m.Shards {
		l := openShard(t, dir, s, shard.KeySpec(dir, s))
		h := l.Head()
		vs := vshard.Shard{Origin: s.Origin, VKey: s.VKey, Checkpoint: h.Checkpoint}
		if s.N > 1 {
			e, err := l.Entries(0, 1)
			if err != nil {
				t.Fatal(err)
			}
			p, err := l.InclusionProof(0, h.Size)
			if err != nil {
				t.Fatal(err)
			}
			vs.Entry0, vs.Entry0Proof = e[0], p
		}
		shards = append(shards, vs)
		l.Close()
	}
	_, err := vshard.Chain(shards)
	return err
}

func TestRotate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const o1 = "test.example/log/2026"
	skey, vkey1, err := signer.GenerateKey(rand.Reader, o1)
	if err != nil {
		t.Fatal(err)
	}
	if err := signer.WriteKeyFile(filepath.Join(dir, "dev-signer.key"), skey); err != nil {
		t.Fatal(err)
	}
	m, err := shard.Load(dir)
	if err != nil || m.Rotated() || m.Active().N != 1 {
		t.Fatalf("Load of a never rotated dir = %+v, %v; want one active shard 1", m, err)
	}
	l1 := openShard(t, dir, shard.Info{N: 1, Origin: o1, State: shard.Active}, filepath.Join(dir, "dev-signer.key"))
	for i := range 5 {
		if _, err := l1.Append(ctx, fmt.Appendf(nil, "shard 1 entry %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// ledgerd running: Badger's lock makes rotate fail before changing anything.
	if _, err := shard.Rotate(ctx, shard.RotateConfig{Dir: dir, Origin: "test.example/log/2027"}); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("Rotate while the store is open = %v, want the lock error", err)
	}
	final := l1.Head()
	l1.Close()

	m, err = shard.Rotate(ctx, shard.RotateConfig{Dir: dir, Origin: "test.example/log/2027"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Shards) != 2 || m.Shards[0].State != shard.Frozen || m.Shards[0].VKey != vkey1 || m.Shards[0].Final != string(final.Checkpoint) ||
		m.Shards[1].State != shard.Active || m.Shards[1].Dir != filepath.Join("shards", "2") {
		t.Fatalf("manifest after rotate = %+v", m)
	}
	if again, err := shard.Load(dir); err != nil || len(again.Shards) != 2 || again.Shards[1].VKey != m.Shards[1].VKey {
		t.Fatalf("Load after rotate = %+v, %v", again, err)
	}
	if _, err := shard.Rotate(ctx, shard.RotateConfig{Dir: dir, Origin: o1}); err == nil || !strings.Contains(err.Error(), "needs a new origin") {
		t.Fatalf("Rotate to an origin in use = %v, want a refusal", err)
	}

	// The frozen shard refuses appends; the new one takes them after its
	// shard record.
	f := openShard(t, dir, m.Shards[0], "")
	if _, err := f.Append(ctx, []byte("late")); err == nil {
		t.Fatal("append to the frozen shard succeeded")
	}
	f.Close()
	l2 := openShard(t, dir, m.Shards[1], shard.KeySpec(dir, m.Shards[1]))
	if h := l2.Head(); h.Size != 1 {
		t.Fatalf("new shard size = %d, want 1 (its shard record)", h.Size)
	}
	if a, err := l2.Append(ctx, []byte("shard 2 entry")); err != nil || a.Index != 1 {
		t.Fatalf("append to shard 2 = %+v, %v; want index 1", a, err)
	}
	l2.Close()

	// A third shard under a key file the operator made.
	const o3 = "test.example/log/2028"
	skey3, _, err := signer.GenerateKey(rand.Reader, o3)
	if err != nil {
		t.Fatal(err)
	}
	k3 := filepath.Join(t.TempDir(), "k3")
	if err := signer.WriteKeyFile(k3, skey3); err != nil {
		t.Fatal(err)
	}
	if m, err = shard.Rotate(ctx, shard.RotateConfig{Dir: dir, Origin: o3, Key: k3}); err != nil {
		t.Fatal(err)
	}
	if err := chainOf(t, dir, m); err != nil {
		t.Fatalf("chain of three shards: %v", err)
	}
}

func TestPublishURL(t *testing.T) {
	for _, c := range []struct {
		base string
		n    int
		want string
	}{
		{"s3://b/logs/dev", 1, "s3://b/logs/dev"},
		{"s3://b/logs/dev", 2, "s3://b/logs/dev/shards/2"},
		{"s3://b/", 3, "s3://b/shards/3"},
	} {
		if got := shard.PublishURL(c.base, shard.Info{N: c.n}); got != c.want {
			t.Errorf("PublishURL(%q, shard %d) = %q, want %q", c.base, c.n, got, c.want)
		}
	}
}
