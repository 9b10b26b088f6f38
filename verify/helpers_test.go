package verify

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"testing"

	flog "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/formats/proof"
	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/verify/reftree"
)

const testOrigin = "ledger.example.org/fja/test"

// fixedKey derives a deterministic Ed25519 note key pair from label, so
// that fuzz seeds and example output are stable across runs.
func fixedKey(name, label string) (skey, vkey string) {
	seed := sha256.Sum256([]byte(label))
	skey, vkey, err := note.GenerateKey(bytes.NewReader(seed[:]), name)
	if err != nil {
		panic(err)
	}
	return skey, vkey
}

func mustSigner(skey string) note.Signer {
	s, err := note.NewSigner(skey)
	if err != nil {
		panic(err)
	}
	return s
}

var (
	testSKey, testVKey   = fixedKey(testOrigin, "fja test log key")
	otherSKey, otherVKey = fixedKey(testOrigin, "another key, same name")
	witSKey, witVKey     = fixedKey("witness.example.com", "witness")
)

// ecdsaSigner signs notes as C2SP signed-note algorithm 0x02 (the form
// formats/note.NewECDSAVerifier verifies): key hash = first 4 bytes of
// SHA-256(DER SPKI), signature = ASN.1 ECDSA over SHA-256(text).
type ecdsaSigner struct {
	name string
	hash uint32
	key  *ecdsa.PrivateKey
}

func (s *ecdsaSigner) Name() string    { return s.name }
func (s *ecdsaSigner) KeyHash() uint32 { return s.hash }
func (s *ecdsaSigner) Sign(msg []byte) ([]byte, error) {
	d := sha256.Sum256(msg)
	return ecdsa.SignASN1(rand.Reader, s.key, d[:])
}

func newECDSAKey(t testing.TB, name string) (*ecdsaSigner, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(der)
	hash := binary.BigEndian.Uint32(h[:])
	vkey := fmt.Sprintf("%s+%08x+%s", name, hash, base64.StdEncoding.EncodeToString(append([]byte{0x02}, der...)))
	return &ecdsaSigner{name: name, hash: hash, key: k}, vkey
}

func testEntries(n int) [][]byte {
	e := make([][]byte, n)
	for i := range e {
		e[i] = fmt.Appendf(nil, `{"kind":"decision","v":1,"body":{"decision_id":"d-%03d"}}`, i)
	}
	return e
}

func checkpointText(origin string, size uint64, root []byte) string {
	return string(flog.Checkpoint{Origin: origin, Size: size, Hash: root}.Marshal())
}

func signText(t testing.TB, text string, signers ...note.Signer) []byte {
	t.Helper()
	msg, err := note.Sign(&note.Note{Text: text}, signers...)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// makeReceipt builds a receipt for leaves[index] against a checkpoint of
// leaves[:size] signed by signers, straight from the reference tree.
func makeReceipt(t testing.TB, leaves [][]byte, index, size int, signers ...note.Signer) *Receipt {
	t.Helper()
	root := reftree.Root(leaves[:size])
	cp := signText(t, checkpointText(testOrigin, uint64(size), root), signers...)
	hashes := reftree.InclusionProof(index, leaves[:size])
	tp := proof.TLogProof{Index: uint64(index), Checkpoint: cp}
	for _, h := range hashes {
		tp.Hashes = append(tp.Hashes, [32]byte(h))
	}
	return &Receipt{
		Origin:         testOrigin,
		Index:          uint64(index),
		LeafHash:       reftree.LeafHash(leaves[index]),
		Entry:          leaves[index],
		Checkpoint:     string(cp),
		InclusionProof: hashes,
		TLogProof:      string(tp.Marshal()),
	}
}
