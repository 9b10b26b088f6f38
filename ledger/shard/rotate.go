package shard

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	flog "github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/audit/vault"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
	"github.com/fjaledger/fja/ledger/signer"
	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
)

// RotateConfig configures Rotate.
type RotateConfig struct {
	// Dir is the data directory (ledgerd stopped).
	Dir string
	// Origin is the new shard's origin; it MUST differ from every earlier
	// shard's.
	Origin string
	// Key is the new shard's signer spec (a key file for Origin, or a KMS
	// reference); empty: Rotate generates an Ed25519 key file,
	// shards/<n>/signer.key.
	Key string
	// OldKey is the active shard's signer spec, which signs the
	// endorsement; empty: the one in the manifest, or for shard 1 the
	// development key (dev-signer.key) if there is one.
	OldKey string
	// Logger receives Badger's messages (nil: discarded).
	Logger *slog.Logger
}

// Rotate freezes the active shard of c.Dir at its latest signed
// checkpoint and starts the next shard, whose entry 0 is the shard record
// (see the package doc). It returns the new manifest.
func Rotate(ctx context.Context, c RotateConfig) (*Manifest, error) {
	if err := signer.CheckName(c.Origin); err != nil {
		return nil, fmt.Errorf("shard: new origin: %w", err)
	}
	m, err := Load(c.Dir)
	if err != nil {
		return nil, err
	}
	old := m.Active()
	for _, s := range m.Shards {
		if s.Origin == c.Origin {
			return nil, fmt.Errorf("shard: origin %q is shard %d's; a new shard needs a new origin", c.Origin, s.N)
		}
	}
	oldSpec := c.OldKey
	if oldSpec == "" {
		oldSpec = KeySpec(c.Dir, old)
	}
	if oldSpec == "" {
		oldSpec = filepath.Join(c.Dir, "dev-signer.key")
		if _, err := os.Stat(oldSpec); err != nil {
			return nil, fmt.Errorf("shard: the active shard %d signs with ledgerd's --key: give it as the old key (%w)", old.N, err)
		}
	}
	final, err := finalCheckpoint(ctx, c.Dir, old, oldSpec)
	if err != nil {
		return nil, err
	}
	old.Origin, old.VKey, old.State, old.Final = final.origin, final.signer.VerifierKey(), Frozen, string(final.cp.Raw)

	next := Info{N: old.N + 1, Origin: c.Origin, Dir: DirOf(old.N + 1), State: Active, Key: c.Key}
	if next.Key != "" && !containsScheme(next.Key) {
		// Kept in the manifest: a relative path would later be read
		// against the data directory (KeySpec), not where rotate ran.
		if next.Key, err = filepath.Abs(next.Key); err != nil {
			return nil, err
		}
	}
	nd := filepath.Join(c.Dir, next.Dir)
	if _, err := os.Stat(nd); !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("shard: %s exists already (left by an interrupted rotation?): remove it and rotate again", nd)
	}
	if err := os.MkdirAll(nd, 0o700); err != nil {
		return nil, err
	}
	if next.Key == "" {
		skey, _, err := signer.GenerateKey(rand.Reader, c.Origin)
		if err != nil {
			return nil, err
		}
		next.Key = filepath.Join(next.Dir, "signer.key")
		if err := signer.WriteKeyFile(filepath.Join(c.Dir, next.Key), skey); err != nil {
			return nil, err
		}
	}
	ns, err := signer.Load(ctx, c.Origin, KeySpec(c.Dir, next))
	if err != nil {
		return nil, fmt.Errorf("shard: new key: %w", err)
	}
	if ns.Algorithm() != signer.AlgEd25519 {
		return nil, fmt.Errorf("shard: new key %s: the log's key must be Ed25519, got algorithm 0x%02x", c.Key, ns.Algorithm())
	}
	next.VKey = ns.VerifierKey()
	text := record.ShardEndorsementText(old.Origin, final.cp.Size, final.cp.Hash, next.Origin, next.VKey)
	endorsement, err := note.Sign(&note.Note{Text: text}, final.signer)
	if err != nil {
		return nil, fmt.Errorf("shard: signing the endorsement with the old key: %w", err)
	}
	rec := record.Shard{Endorsement: string(endorsement),
		Previous: record.ShardPrevious{Origin: old.Origin, VKey: old.VKey, Checkpoint: old.Final}}
	if err := startShard(ctx, c, next, ns, rec); err != nil {
		return nil, err
	}
	m.Shards[len(m.Shards)-1] = old
	m.Shards = append(m.Shards, next)
	if err := m.save(c.Dir); err != nil {
		return nil, err
	}
	return m, nil
}

// final is the frozen shard's last checkpoint and the key that signed it.
type final struct {
	origin string
	signer *signer.Signer
	cp     *verify.Checkpoint
}

// finalCheckpoint reads the active shard's latest checkpoint and checks
// that spec's key signed it.
func finalCheckpoint(ctx context.Context, dir string, s Info, spec string) (*final, error) {
	st, err := badgerstore.OpenExisting(PathsOf(dir, s).Badger)
	if err != nil {
		return nil, fmt.Errorf("shard: shard %d: %w", s.N, err)
	}
	state, err := st.Load()
	st.Close()
	if err != nil {
		return nil, err
	}
	i := bytes.Index(state.Checkpoint, []byte("\n\n"))
	var c flog.Checkpoint
	if i < 0 {
		return nil, fmt.Errorf("shard: shard %d has no signed checkpoint", s.N)
	}
	if _, err := c.Unmarshal(state.Checkpoint[:i+1]); err != nil {
		return nil, fmt.Errorf("shard: shard %d's checkpoint: %w", s.N, err)
	}
	if s.Origin != "" && c.Origin != s.Origin {
		return nil, fmt.Errorf("shard: shard %d's checkpoint is for %q, the manifest says %q", s.N, c.Origin, s.Origin)
	}
	sg, err := signer.Load(ctx, c.Origin, spec)
	if err != nil {
		return nil, fmt.Errorf("shard: old key: %w", err)
	}
	cp, err := verify.OpenCheckpoint(state.Checkpoint, c.Origin, sg.VerifierKey())
	if err != nil {
		return nil, fmt.Errorf("shard: shard %d's checkpoint does not verify under the old key %s: %w", s.N, sg.VerifierKey(), err)
	}
	return &final{origin: c.Origin, signer: sg, cp: cp}, nil
}

// startShard creates the new shard's store, vault and log, and logs its
// shard record as entry 0.
func startShard(ctx context.Context, c RotateConfig, s Info, sg note.Signer, rec record.Shard) (err error) {
	p := PathsOf(c.Dir, s)
	st, err := badgerstore.Open(badgerstore.Config{Dir: p.Badger, Logger: c.Logger})
	if err != nil {
		return err
	}
	v, err := vault.Open(p.Vault)
	if err != nil {
		st.Close()
		return err
	}
	defer func() { err = errors.Join(err, v.Close()) }()
	l, err := ledger.Open(ledger.Config{Origin: s.Origin, Signers: []note.Signer{sg}, Storage: st, Presync: v.Sync, Logger: c.Logger})
	if err != nil {
		st.Close()
		return err
	}
	defer func() { err = errors.Join(err, l.Close()) }()
	secret, err := LoadSecret(c.Dir)
	if err != nil {
		return err
	}
	b, err := audit.Open(audit.Config{Log: l, Index: st, Vault: v, Secret: secret, Logger: c.Logger})
	if err != nil {
		return err
	}
	defer b.Close()
	a, err := b.AppendShard(ctx, rec)
	if err != nil {
		return fmt.Errorf("shard: logging the shard record: %w", err)
	}
	if a.Ack.Index != 0 {
		return fmt.Errorf("shard: the shard record went to index %d, want 0", a.Ack.Index)
	}
	return nil
}

// Opened is a frozen shard opened for reads: its log, record book and
// vault (erasure of its private content still works).
type Opened struct {
	Info  Info
	Log   *ledger.Log
	Book  *audit.Book
	vault *vault.Vault
}

// OpenFrozen opens frozen shard s of data directory dir for reads, with
// the audit settings of cfg (its Log, Index, Vault and Secret are set
// here). Close it after use.
func OpenFrozen(dir string, s Info, cfg audit.Config) (*Opened, error) {
	if s.State != Frozen {
		return nil, fmt.Errorf("shard: shard %d is %s, not frozen", s.N, s.State)
	}
	p := PathsOf(dir, s)
	st, err := badgerstore.Open(badgerstore.Config{Dir: p.Badger, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("shard %d: %w", s.N, err)
	}
	l, err := ledger.Open(ledger.Config{Origin: s.Origin, Storage: st, Frozen: true, Logger: cfg.Logger})
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("shard %d: %w", s.N, err)
	}
	if h := l.Head(); string(h.Checkpoint) != s.Final {
		l.Close()
		return nil, fmt.Errorf("shard %d: the stored checkpoint is not the final one in the manifest (size %d)", s.N, h.Size)
	}
	v, err := vault.Open(p.Vault)
	if err != nil {
		l.Close()
		return nil, err
	}
	if cfg.Secret, err = LoadSecret(dir); err != nil {
		l.Close()
		v.Close()
		return nil, err
	}
	cfg.Log, cfg.Index, cfg.Vault = l, st, v
	b, err := audit.Open(cfg)
	if err != nil {
		l.Close()
		v.Close()
		return nil, fmt.Errorf("shard %d: %w", s.N, err)
	}
	return &Opened{Info: s, Log: l, Book: b, vault: v}, nil
}

// Close closes the shard's book, log and vault.
func (o *Opened) Close() error {
	return errors.Join(o.Book.Close(), o.Log.Close(), o.vault.Close())
}
