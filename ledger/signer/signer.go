// Package signer provides checkpoint signers: golang.org/x/mod/sumdb/note
// Signers that sign through github.com/sigstore/sigstore/pkg/signature
// signers, so that a key can live in a file or in a KMS or HSM.
//
// Two note signature algorithms are supported:
//
//   - 0x01, Ed25519 (C2SP signed-note). The key hash and verifier key are
//     exactly those of x/mod's note package. Every checkpoint the log signs
//     MUST carry an Ed25519 signature: C2SP witnesses accept only that.
//   - 0x02, ECDSA P-256 with SHA-256. The verifier key bytes are 0x02 followed
//     by the DER SubjectPublicKeyInfo of the public key, the key hash is the
//     first four bytes (big-endian) of SHA-256 of that DER, and a signature is
//     an ASN.1 ECDSA signature over SHA-256 of the note text. This is what
//     github.com/transparency-dev/formats/note.NewECDSAVerifier verifies (as
//     for Rekor v2). It MAY be added as a second signature by operators who
//     keep keys in a KMS.
//
// Invariant: a Signer never returns a signature that does not verify under its
// VerifierKey. Each signature is checked against the public key before Sign
// returns it, so a misconfigured KMS key (wrong hash, wrong key version)
// fails loudly instead of publishing an unverifiable checkpoint.
//
// Errors never include private key material.
package signer

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
	"github.com/sigstore/sigstore/pkg/signature/options"
	"golang.org/x/mod/sumdb/note"
)

// Note signature algorithm identifiers (the first byte of a verifier key).
const (
	AlgEd25519 byte = 0x01 // Ed25519, C2SP signed-note
	AlgECDSA   byte = 0x02 // ECDSA P-256 with SHA-256, key = DER SPKI
)

var (
	// ErrMalformedKey is returned (wrapped) for a note key string that
	// cannot be parsed or whose key hash does not match its key.
	ErrMalformedKey = errors.New("malformed note key")
	// ErrUnsupportedKey is returned (wrapped) for a key of an algorithm,
	// type or curve this package cannot sign with.
	ErrUnsupportedKey = errors.New("unsupported key")
)

// Signer is a note.Signer backed by a sigstore signature.Signer; it also
// knows its verifier key. It is safe for concurrent use if the underlying
// sigstore signer is (the in-memory and KMS signers are).
type Signer struct {
	name   string
	hash   uint32
	alg    byte
	pubkey []byte // alg || key bytes, as in the verifier key
	s      signature.Signer
	sign   func(msg []byte) ([]byte, error)
}

var _ note.Signer = (*Signer)(nil)

// Name returns the key name, which is the log origin.
func (s *Signer) Name() string { return s.name }

// KeyHash returns the note key hash carried in each signature line.
func (s *Signer) KeyHash() uint32 { return s.hash }

// Algorithm returns the note signature algorithm: AlgEd25519 or AlgECDSA.
func (s *Signer) Algorithm() byte { return s.alg }

// Sign signs msg (the note text) through the sigstore signer. The signature
// is verified against the signer's public key before it is returned.
func (s *Signer) Sign(msg []byte) ([]byte, error) { return s.sign(msg) }

// VerifierKey returns the note verifier key "<name>+<8 hex>+<base64(alg||key)>".
func (s *Signer) VerifierKey() string {
	return fmt.Sprintf("%s+%08x+%s", s.name, s.hash, base64.StdEncoding.EncodeToString(s.pubkey))
}

// GenerateKey makes a new Ed25519 note key for origin, in x/mod note form:
// skey is "PRIVATE+KEY+<origin>+<hash>+<base64(0x01||seed)>" and vkey is the
// matching verifier key. A nil rand means crypto/rand.
func GenerateKey(rand io.Reader, origin string) (skey, vkey string, err error) {
	if err := CheckName(origin); err != nil {
		return "", "", err
	}
	return note.GenerateKey(rand, origin)
}

// FromNoteKey parses an x/mod note private key (Ed25519 only) and returns a
// Signer that signs via signature.LoadED25519Signer. Its key hash and
// verifier key are exactly those x/mod's note.NewSigner computes.
func FromNoteKey(skey string) (*Signer, error) {
	f := strings.SplitN(strings.TrimSpace(skey), "+", 5) // base64 may contain '+'
	if len(f) != 5 {
		return nil, fmt.Errorf("%w: got %d '+'-separated fields, want 5 (PRIVATE+KEY+<name>+<hash>+<key>)", ErrMalformedKey, len(f))
	}
	if f[0] != "PRIVATE" || f[1] != "KEY" {
		return nil, fmt.Errorf("%w: does not start with PRIVATE+KEY+ (is this a verifier key?)", ErrMalformedKey)
	}
	name, hash16, key64 := f[2], f[3], f[4]
	if err := CheckName(name); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedKey, err)
	}
	hash, err := parseHash(hash16)
	if err != nil {
		return nil, err
	}
	key, err := base64.StdEncoding.DecodeString(key64)
	if err != nil {
		return nil, fmt.Errorf("%w: key is not valid base64: %v", ErrMalformedKey, err)
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("%w: empty key", ErrMalformedKey)
	}
	if alg := key[0]; alg != AlgEd25519 {
		return nil, fmt.Errorf("%w: private key algorithm 0x%02x, want 0x%02x (Ed25519)", ErrUnsupportedKey, alg, AlgEd25519)
	}
	seed := key[1:]
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: got %d-byte Ed25519 seed, want %d", ErrMalformedKey, len(seed), ed25519.SeedSize)
	}
	ss, err := signature.LoadED25519Signer(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		return nil, fmt.Errorf("loading Ed25519 key: %w", err)
	}
	s, err := fromEd25519(name, ss, ss.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	if s.hash != hash {
		return nil, fmt.Errorf("%w: key hash is %08x, but the key for name %q has hash %08x", ErrMalformedKey, hash, name, s.hash)
	}
	return s, nil
}

// FromSigstore adapts a sigstore signer as a note signer named name.
//
// An ECDSA P-256 signer becomes note algorithm 0x02 (see the package
// comment); it is asked to sign SHA-256 digests, so it MUST accept SHA-256
// (load KMS keys with crypto.SHA256). An Ed25519 signer becomes algorithm
// 0x01 with x/mod's key hash. Any other key type is an error.
func FromSigstore(name string, s signature.Signer) (*Signer, error) {
	return fromSigstore(context.Background(), name, s)
}

func fromSigstore(ctx context.Context, name string, s signature.Signer) (*Signer, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	if s == nil {
		return nil, errors.New("nil sigstore signer")
	}
	switch s.(type) {
	case *signature.ED25519phSigner, *signature.ED25519phSignerVerifier:
		// Same public key type as Ed25519, incompatible signatures.
		return nil, fmt.Errorf("%w: Ed25519ph signer, want pure Ed25519 or ECDSA P-256", ErrUnsupportedKey)
	}
	pub, err := s.PublicKey(options.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("getting public key of signer: %w", err)
	}
	switch pub := pub.(type) {
	case ed25519.PublicKey:
		return fromEd25519(name, s, pub)
	case *ecdsa.PublicKey:
		return fromECDSA(name, s, pub)
	default:
		return nil, fmt.Errorf("%w: public key is %T, want Ed25519 or ECDSA P-256", ErrUnsupportedKey, pub)
	}
}

func fromEd25519(name string, s signature.Signer, pub ed25519.PublicKey) (*Signer, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: got %d-byte Ed25519 public key, want %d", ErrUnsupportedKey, len(pub), ed25519.PublicKeySize)
	}
	pubkey := append([]byte{AlgEd25519}, pub...)
	return &Signer{
		name:   name,
		hash:   noteKeyHash(name, pubkey),
		alg:    AlgEd25519,
		pubkey: pubkey,
		s:      s,
		sign: func(msg []byte) ([]byte, error) {
			sig, err := s.SignMessage(bytes.NewReader(msg))
			if err != nil {
				return nil, fmt.Errorf("signing note with Ed25519 key %s: %w", name, err)
			}
			if !ed25519.Verify(pub, msg, sig) {
				return nil, fmt.Errorf("Ed25519 signer for %s returned a signature that does not verify under its public key", name)
			}
			return sig, nil
		},
	}, nil
}

func fromECDSA(name string, s signature.Signer, pub *ecdsa.PublicKey) (*Signer, error) {
	if pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: ECDSA key on curve %s, want P-256", ErrUnsupportedKey, pub.Curve.Params().Name)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encoding ECDSA public key: %w", err)
	}
	h := sha256.Sum256(der)
	return &Signer{
		name:   name,
		hash:   binary.BigEndian.Uint32(h[:4]),
		alg:    AlgECDSA,
		pubkey: append([]byte{AlgECDSA}, der...),
		s:      s,
		sign: func(msg []byte) ([]byte, error) {
			// Pass the digest explicitly so the note is always signed over
			// SHA-256, whatever hash the signer defaults to; a signer that
			// cannot sign SHA-256 digests fails here.
			digest := sha256.Sum256(msg)
			sig, err := s.SignMessage(bytes.NewReader(msg),
				options.WithDigest(digest[:]), options.WithCryptoSignerOpts(crypto.SHA256))
			if err != nil {
				return nil, fmt.Errorf("signing note with ECDSA key %s: %w", name, err)
			}
			if !ecdsa.VerifyASN1(pub, digest[:], sig) {
				return nil, fmt.Errorf("ECDSA signer for %s returned a signature that does not verify as ASN.1 ECDSA over SHA-256 under its public key", name)
			}
			return sig, nil
		},
	}, nil
}

// FromKMS loads a sigstore KMS reference (awskms://, gcpkms://, azurekms://,
// hashivault://, or any provider registered with sigstore's kms package) with
// kms.Get(ctx, ref, crypto.SHA256) and adapts it with FromSigstore.
//
// This package registers no provider: the binary imports the providers it
// supports (for example _ "github.com/sigstore/sigstore/pkg/signature/kms/aws").
func FromKMS(ctx context.Context, name, ref string) (*Signer, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	sv, err := kms.Get(ctx, ref, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("loading KMS key %q: %w", ref, err)
	}
	s, err := fromSigstore(ctx, name, sv)
	if err != nil {
		return nil, fmt.Errorf("KMS key %q: %w", ref, err)
	}
	return s, nil
}

// Load returns the signer named by spec: a KMS reference if spec contains
// "://" (see FromKMS; name is required), else the path of a key file written
// by `ledgerctl keygen` (see FromNoteKey). For a key file, when name is not
// empty the key's name MUST equal name.
func Load(ctx context.Context, name, spec string) (*Signer, error) {
	if strings.Contains(spec, "://") {
		if name == "" {
			return nil, fmt.Errorf("KMS key %q: an origin name is required (KMS keys carry none)", spec)
		}
		return FromKMS(ctx, name, spec)
	}
	b, err := os.ReadFile(spec)
	if err != nil {
		return nil, fmt.Errorf("reading key file: %w", err)
	}
	s, err := FromNoteKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", spec, err)
	}
	if name != "" && s.Name() != name {
		return nil, fmt.Errorf("key file %s is for origin %q, want %q", spec, s.Name(), name)
	}
	return s, nil
}

// WriteKeyFile writes skey and a newline to a new file at path with mode
// 0600. It fails, with an error wrapping fs.ErrExist, if path exists: a key
// file is never silently overwritten.
func WriteKeyFile(path, skey string) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("creating key file: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("writing key file: %w", cerr)
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	if _, err := io.WriteString(f, skey+"\n"); err != nil {
		return fmt.Errorf("writing key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("writing key file: %w", err)
	}
	return nil
}

// ReplaceKeyFile writes skey to a new file next to path (as
// WriteKeyFile) and renames it over path, so the old key stays in place
// if writing fails.
func ReplaceKeyFile(path, skey string) error {
	tmp := filepath.Join(filepath.Dir(path), fmt.Sprintf(".%s.%s.tmp", filepath.Base(path), rand.Text()))
	if err := WriteKeyFile(tmp, skey); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replacing key file: %w", err)
	}
	return nil
}

// noteKeyHash is x/mod note's key hash: the first four bytes (big-endian)
// of SHA-256(name || "\n" || alg || key).
func noteKeyHash(name string, pubkey []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte("\n"))
	h.Write(pubkey)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// checkName applies x/mod note's rule for key names.
func CheckName(name string) error {
	if name == "" || !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsSpace) >= 0 || strings.Contains(name, "+") {
		return fmt.Errorf("invalid key name %q: want non-empty UTF-8 with no spaces or '+'", name)
	}
	return nil
}

func parseHash(hash16 string) (uint32, error) {
	h, err := strconv.ParseUint(hash16, 16, 32)
	if len(hash16) != 8 || err != nil {
		return 0, fmt.Errorf("%w: key hash %q is not 8 hex digits", ErrMalformedKey, hash16)
	}
	return uint32(h), nil
}
