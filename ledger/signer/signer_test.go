package signer_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fjaledger/fja/ledger/signer"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms/fake"
	"github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

const origin = "example.com/fja-test"

func newEd25519(t *testing.T) (*signer.Signer, string) {
	t.Helper()
	skey, vkey, err := signer.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signer.FromNoteKey(skey)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.VerifierKey(); got != vkey {
		t.Fatalf("VerifierKey() = %q, GenerateKey vkey = %q", got, vkey)
	}
	return s, skey
}

func newFakeKMS(t *testing.T) (*signer.Signer, *ecdsa.PrivateKey) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(context.Background(), fake.KmsCtxKey{}, priv)
	s, err := signer.FromKMS(ctx, origin, "fakekms://test")
	if err != nil {
		t.Fatal(err)
	}
	return s, priv
}

func signNote(t *testing.T, text string, signers ...note.Signer) []byte {
	t.Helper()
	msg, err := note.Sign(&note.Note{Text: text}, signers...)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestEd25519MatchesXMod(t *testing.T) {
	s, skey := newEd25519(t)
	ref, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != ref.Name() || s.KeyHash() != ref.KeyHash() {
		t.Errorf("got name %q hash %08x, x/mod has %q %08x", s.Name(), s.KeyHash(), ref.Name(), ref.KeyHash())
	}
	if s.Algorithm() != signer.AlgEd25519 {
		t.Errorf("Algorithm() = %#x, want %#x", s.Algorithm(), signer.AlgEd25519)
	}
	// Ed25519 is deterministic: same key, same message, same bytes.
	msg := []byte("hello\n")
	got, err := s.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ref.Sign(msg)
	if string(got) != string(want) {
		t.Errorf("signature differs from x/mod's")
	}
	if !strings.HasPrefix(s.VerifierKey(), origin+"+") {
		t.Errorf("VerifierKey() = %q, want prefix %q", s.VerifierKey(), origin+"+")
	}
}

func TestEd25519SignedNoteOpens(t *testing.T) {
	s, _ := newEd25519(t)
	msg := signNote(t, "some text\n", s)

	xv, err := note.NewVerifier(s.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(msg, note.VerifierList(xv)); err != nil {
		t.Errorf("x/mod verifier: %v", err)
	}
	fv, err := fnote.NewVerifier(s.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(msg, note.VerifierList(fv)); err != nil {
		t.Errorf("formats verifier: %v", err)
	}
}

func TestFromSigstoreEd25519(t *testing.T) {
	sv, priv, err := signature.NewDefaultED25519SignerVerifier()
	if err != nil {
		t.Fatal(err)
	}
	s, err := signer.FromSigstore(origin, sv)
	if err != nil {
		t.Fatal(err)
	}
	want, err := note.NewEd25519VerifierKey(origin, priv.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if s.VerifierKey() != want {
		t.Errorf("VerifierKey() = %q, want %q", s.VerifierKey(), want)
	}
	v, _ := note.NewVerifier(want)
	if _, err := note.Open(signNote(t, "x\n", s), note.VerifierList(v)); err != nil {
		t.Error(err)
	}
}

func TestECDSAFakeKMS(t *testing.T) {
	s, priv := newFakeKMS(t)
	if s.Algorithm() != signer.AlgECDSA {
		t.Errorf("Algorithm() = %#x, want %#x", s.Algorithm(), signer.AlgECDSA)
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(der)
	if want := binary.BigEndian.Uint32(h[:]); s.KeyHash() != want {
		t.Errorf("KeyHash() = %08x, want %08x", s.KeyHash(), want)
	}
	_, b64, _ := strings.Cut(s.VerifierKey()[len(origin)+1:], "+")
	if want := base64.StdEncoding.EncodeToString(append([]byte{0x02}, der...)); b64 != want {
		t.Errorf("vkey key = %s, want %s", b64, want)
	}

	v, err := fnote.NewECDSAVerifier(s.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(signNote(t, "ecdsa\n", s), note.VerifierList(v)); err != nil {
		t.Error(err)
	}
	// The generic formats constructor dispatches on the algorithm byte.
	if _, err := fnote.NewVerifier(s.VerifierKey()); err != nil {
		t.Error(err)
	}
}

func TestCheckpointSignedByBoth(t *testing.T) {
	ed, _ := newEd25519(t)
	ec, _ := newFakeKMS(t)
	cp := log.Checkpoint{Origin: origin, Size: 42, Hash: make([]byte, 32)}
	msg := signNote(t, string(cp.Marshal()), ed, ec)

	edV, err := note.NewVerifier(ed.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	ecV, err := fnote.NewECDSAVerifier(ec.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	got, _, n, err := log.ParseCheckpoint(msg, origin, edV, ecV)
	if err != nil {
		t.Fatal(err)
	}
	if got.Size != 42 {
		t.Errorf("size = %d, want 42", got.Size)
	}
	if len(n.Sigs) != 2 {
		t.Errorf("verified %d signatures, want 2", len(n.Sigs))
	}
}

func TestFromSigstoreRejects(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	ph, err := signature.LoadED25519phSigner(edPriv)
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]crypto.PrivateKey{"P-384": p384, "RSA": rsaKey} {
		ss, err := signature.LoadSigner(key, crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := signer.FromSigstore(origin, ss); !errors.Is(err, signer.ErrUnsupportedKey) {
			t.Errorf("%s: err = %v, want ErrUnsupportedKey", name, err)
		}
	}
	if _, err := signer.FromSigstore(origin, ph); !errors.Is(err, signer.ErrUnsupportedKey) {
		t.Errorf("Ed25519ph: err = %v, want ErrUnsupportedKey", err)
	}
	sv, _, _ := signature.NewDefaultED25519SignerVerifier()
	for _, bad := range []string{"", "has space", "a+b"} {
		if _, err := signer.FromSigstore(bad, sv); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
}

// A signer loaded for another hash still signs SHA-256: the digest is passed
// explicitly.
func TestECDSAOtherDefaultHash(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ss, err := signature.LoadECDSASigner(priv, crypto.SHA384)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signer.FromSigstore(origin, ss)
	if err != nil {
		t.Fatal(err)
	}
	v, err := fnote.NewECDSAVerifier(s.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(signNote(t, "x\n", s), note.VerifierList(v)); err != nil {
		t.Error(err)
	}
}

// lyingSigner reports one public key and signs with another, like a KMS
// reference pointing at the wrong key version.
type lyingSigner struct {
	signature.Signer
	pub crypto.PublicKey
}

func (l lyingSigner) PublicKey(...signature.PublicKeyOption) (crypto.PublicKey, error) {
	return l.pub, nil
}

func TestSignatureCheckedBeforeReturn(t *testing.T) {
	ecA, _, _ := signature.NewDefaultECDSASignerVerifier()
	_, ecB, _ := signature.NewDefaultECDSASignerVerifier()
	edA, _, _ := signature.NewDefaultED25519SignerVerifier()
	_, edB, _ := signature.NewDefaultED25519SignerVerifier()
	for name, l := range map[string]lyingSigner{
		"ECDSA":   {ecA, ecB.Public()},
		"Ed25519": {edA, edB.Public()},
	} {
		s, err := signer.FromSigstore(origin, l)
		if err != nil {
			t.Fatal(err)
		}
		if sig, err := s.Sign([]byte("x\n")); err == nil {
			t.Errorf("%s: returned a signature (%x) that does not verify", name, sig)
		}
	}
}

func TestFromNoteKeyMalformed(t *testing.T) {
	skey, _, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.SplitN(skey, "+", 5)
	join := func(fields ...string) string { return strings.Join(fields, "+") }
	key, _ := base64.StdEncoding.DecodeString(f[4])
	wrongAlg := append([]byte{0x02}, key[1:]...)
	short := key[:20]
	flipHash := "00000000"
	if f[3] == flipHash {
		flipHash = "00000001"
	}
	for name, bad := range map[string]string{
		"empty":        "",
		"too few":      join(f[0], f[1], f[2], f[3]),
		"not private":  join("PUBLIC", f[1], f[2], f[3], f[4]),
		"vkey":         join(f[2], f[3], f[4]),
		"bad base64":   join(f[0], f[1], f[2], f[3], "!!!not base64"),
		"empty key":    join(f[0], f[1], f[2], f[3], ""),
		"wrong alg":    join(f[0], f[1], f[2], f[3], base64.StdEncoding.EncodeToString(wrongAlg)),
		"short seed":   join(f[0], f[1], f[2], f[3], base64.StdEncoding.EncodeToString(short)),
		"wrong hash":   join(f[0], f[1], f[2], flipHash, f[4]),
		"hash not hex": join(f[0], f[1], f[2], "zzzzzzzz", f[4]),
		"hash short":   join(f[0], f[1], f[2], f[3][:7], f[4]),
		"wrong name":   join(f[0], f[1], "other", f[3], f[4]),
		"empty name":   join(f[0], f[1], "", f[3], f[4]),
	} {
		s, err := signer.FromNoteKey(bad)
		if err == nil {
			t.Errorf("%s: FromNoteKey accepted %q (signer %v)", name, bad, s)
			continue
		}
		// x/mod must agree that the key is bad.
		if _, xerr := note.NewSigner(bad); xerr == nil {
			t.Errorf("%s: x/mod accepts a key we reject: %v", name, err)
		}
		if strings.Contains(err.Error(), f[4]) {
			t.Errorf("%s: error leaks the private key: %v", name, err)
		}
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	skey, vkey, err := signer.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "key")
	if err := signer.WriteKeyFile(path, skey); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, name := range []string{origin, ""} {
		s, err := signer.Load(ctx, name, path)
		if err != nil {
			t.Fatalf("Load(%q): %v", name, err)
		}
		if s.VerifierKey() != vkey {
			t.Errorf("Load(%q) vkey = %q, want %q", name, s.VerifierKey(), vkey)
		}
	}
	_, err = signer.Load(ctx, "other.example/log", path)
	if err == nil || !strings.Contains(err.Error(), `is for origin "`+origin+`", want "other.example/log"`) {
		t.Errorf("name mismatch: err = %v", err)
	}
	if _, err := signer.Load(ctx, origin, filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}
}

func TestLoadKMS(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ctx := context.WithValue(context.Background(), fake.KmsCtxKey{}, priv)
	s, err := signer.Load(ctx, origin, "fakekms://test")
	if err != nil {
		t.Fatal(err)
	}
	if s.Algorithm() != signer.AlgECDSA {
		t.Errorf("Algorithm() = %#x, want %#x", s.Algorithm(), signer.AlgECDSA)
	}
	if _, err := signer.Load(ctx, "", "fakekms://test"); err == nil {
		t.Error("KMS key without a name accepted")
	}
	if _, err := signer.Load(ctx, origin, "nosuchkms://x"); err == nil {
		t.Error("unknown KMS scheme accepted")
	}
}

func TestWriteKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	if err := signer.WriteKeyFile(path, "first"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("mode = %v, want 0600", mode)
	}
	if err := signer.WriteKeyFile(path, "second"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("overwrite: err = %v, want fs.ErrExist", err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != "first\n" {
		t.Errorf("file = %q, want %q", b, "first\n")
	}
}

func TestGenerateKeyBadOrigin(t *testing.T) {
	for _, bad := range []string{"", "a b", "a+b", "a\nb"} {
		if _, _, err := signer.GenerateKey(rand.Reader, bad); err == nil {
			t.Errorf("GenerateKey(%q) succeeded", bad)
		}
	}
}

func FuzzFromNoteKey(f *testing.F) {
	skey, _, _ := note.GenerateKey(rand.Reader, origin)
	f.Add(skey)
	f.Add("PRIVATE+KEY+a+00000000+AQ==")
	f.Fuzz(func(t *testing.T, skey string) {
		s, err := signer.FromNoteKey(skey)
		if err != nil {
			return
		}
		ref, err := note.NewSigner(strings.TrimSpace(skey))
		if err != nil {
			t.Fatalf("accepted a key x/mod rejects: %v", err)
		}
		if s.Name() != ref.Name() || s.KeyHash() != ref.KeyHash() {
			t.Fatalf("got %q %08x, x/mod %q %08x", s.Name(), s.KeyHash(), ref.Name(), ref.KeyHash())
		}
	})
}

func TestReplaceKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	if err := signer.WriteKeyFile(path, "first"); err != nil {
		t.Fatal(err)
	}
	if err := signer.ReplaceKeyFile(path, "second"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	fi, _ := os.Stat(path)
	if string(b) != "second\n" || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file = %q mode %v, want %q mode 0600", b, fi.Mode().Perm(), "second\n")
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Fatalf("%d files left beside the key, want none", len(ents)-1)
	}
	if err := signer.ReplaceKeyFile(filepath.Join(path, "not-a-dir", "key"), "x"); err == nil {
		t.Fatal("a key file in a missing directory replaced")
	}
}
