package verify

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/verify/reftree"
)

func TestOpenCheckpoint(t *testing.T) {
	leaves := testEntries(10)
	root := reftree.Root(leaves)
	text := checkpointText(testOrigin, 10, root)
	logSigner := mustSigner(testSKey)
	ecSigner, ecVKey := newECDSAKey(t, testOrigin)
	wit := mustSigner(witSKey)

	t.Run("ed25519", func(t *testing.T) {
		signed := signText(t, text, logSigner)
		cp, err := OpenCheckpoint(signed, testOrigin, testVKey)
		if err != nil {
			t.Fatal(err)
		}
		if cp.Origin != testOrigin || cp.Size != 10 || !bytes.Equal(cp.Hash, root) || !bytes.Equal(cp.Raw, signed) || len(cp.Note.Sigs) != 1 {
			t.Errorf("got %+v", cp)
		}
	})
	t.Run("ecdsa log key", func(t *testing.T) {
		signed := signText(t, text, ecSigner)
		if _, err := OpenCheckpoint(signed, testOrigin, ecVKey); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("both log keys and a witness", func(t *testing.T) {
		signed := signText(t, text, logSigner, ecSigner, wit)
		cp, err := OpenCheckpoint(signed, testOrigin, testVKey, ecVKey, witVKey)
		if err != nil {
			t.Fatal(err)
		}
		if len(cp.Note.Sigs) != 3 {
			t.Errorf("verified %d signatures, want 3", len(cp.Note.Sigs))
		}
		// Unknown keys are tolerated as long as the log key signed.
		cp, err = OpenCheckpoint(signed, testOrigin, ecVKey)
		if err != nil {
			t.Fatal(err)
		}
		if len(cp.Note.Sigs) != 1 || len(cp.Note.UnverifiedSigs) != 2 {
			t.Errorf("got %d verified, %d unverified signatures, want 1 and 2", len(cp.Note.Sigs), len(cp.Note.UnverifiedSigs))
		}
	})
	t.Run("extension lines", func(t *testing.T) {
		signed := signText(t, text+"ext one\next two\n", logSigner)
		cp, err := OpenCheckpoint(signed, testOrigin, testVKey)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(cp.Extensions, "|") != "ext one|ext two" {
			t.Errorf("Extensions = %q", cp.Extensions)
		}
	})

	good := signText(t, text, logSigner)
	sigLines := string(good[len(text)+1:])
	for _, tc := range []struct {
		name   string
		signed []byte
		origin string
		key    string
		others []string
		is     error
	}{
		{"wrong key same name", good, testOrigin, otherVKey, nil, ErrBadSignature},
		{"witness key as log key", good, testOrigin, witVKey, nil, ErrBadSignature},
		{"signed only by witness", signText(t, text, wit), testOrigin, testVKey, []string{witVKey}, ErrBadSignature},
		{"signed only by unknown", signText(t, text, wit), testOrigin, testVKey, nil, ErrBadSignature},
		{"wrong origin", good, "ledger.example.org/other", testVKey, nil, ErrOriginMismatch},
		{"tampered size", bytes.Replace(good, []byte("\n10\n"), []byte("\n11\n"), 1), testOrigin, testVKey, nil, ErrBadSignature},
		{"duplicate signature line", append(bytes.Clone(good), sigLines...), testOrigin, testVKey, nil, ErrMalformed},
		{"duplicate unknown signature line", signText(t, text, logSigner, wit, wit), testOrigin, testVKey, nil, ErrMalformed},
		{"garbage", []byte("hello\x00world"), testOrigin, testVKey, nil, ErrMalformed},
		{"empty", nil, testOrigin, testVKey, nil, ErrMalformed},
		{"no signatures", []byte(text + "\n"), testOrigin, testVKey, nil, ErrMalformed},
		{"bad vkey", good, testOrigin, "not a key", nil, ErrBadKey},
		{"bad vkey base64", good, testOrigin, testOrigin + "+01234567+!!!", nil, ErrBadKey},
		{"bad vkey hash", good, testOrigin, replaceKeyHash(testVKey), nil, ErrBadKey},
		{"bad extra key", good, testOrigin, testVKey, []string{"junk"}, ErrBadKey},
		{"extra key repeats log key", good, testOrigin, testVKey, []string{testVKey}, ErrBadKey},
		{"size leading zero", signText(t, testOrigin+"\n010\n"+b64(root)+"\n", logSigner), testOrigin, testVKey, nil, ErrMalformed},
		{"size plus sign", signText(t, testOrigin+"\n+10\n"+b64(root)+"\n", logSigner), testOrigin, testVKey, nil, ErrMalformed},
		{"size negative", signText(t, testOrigin+"\n-1\n"+b64(root)+"\n", logSigner), testOrigin, testVKey, nil, ErrMalformed},
		{"size overflow", signText(t, testOrigin+"\n18446744073709551616\n"+b64(root)+"\n", logSigner), testOrigin, testVKey, nil, ErrMalformed},
		{"short hash", signText(t, testOrigin+"\n10\n"+b64(root[:31])+"\n", logSigner), testOrigin, testVKey, nil, ErrMalformed},
		{"hash unpadded", signText(t, testOrigin+"\n10\n"+strings.TrimRight(b64(root), "=")+"\n", logSigner), testOrigin, testVKey, nil, ErrMalformed},
		{"two lines only", signText(t, testOrigin+"\n10\n", logSigner), testOrigin, testVKey, nil, ErrMalformed},
		{"empty origin", signText(t, "\n10\n"+b64(root)+"\n", logSigner), "", testVKey, nil, ErrMalformed},
		{"empty extension line", signText(t, text+"\n", logSigner), testOrigin, testVKey, nil, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cp, err := OpenCheckpoint(tc.signed, tc.origin, tc.key, tc.others...)
			if !errors.Is(err, tc.is) {
				t.Fatalf("OpenCheckpoint = %+v, %v; want error %v", cp, err, tc.is)
			}
			if cp != nil {
				t.Errorf("OpenCheckpoint returned a checkpoint with error %v", err)
			}
		})
	}
}

func TestOpenCheckpointRejectsInvalidSignatureByKnownKey(t *testing.T) {
	text := checkpointText(testOrigin, 1, reftree.Root(testEntries(1)))
	good := signText(t, text, mustSigner(testSKey))
	// A signature line by the known key with a corrupted signature.
	bad := bytes.Clone(good)
	i := bytes.LastIndexByte(bad[:len(bad)-1], ' ')
	bad[i+10] ^= 'A' ^ 'B'
	if bytes.Equal(bad, good) {
		bad[i+10] = 'C'
	}
	if _, err := OpenCheckpoint(bad, testOrigin, testVKey); !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want ErrBadSignature or ErrMalformed", err)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// replaceKeyHash returns vkey with a wrong key hash.
func replaceKeyHash(vkey string) string {
	parts := strings.SplitN(vkey, "+", 3)
	if parts[1] == "00000000" {
		parts[1] = "00000001"
	} else {
		parts[1] = "00000000"
	}
	return strings.Join(parts, "+")
}

var _ note.Signer = (*ecdsaSigner)(nil)
