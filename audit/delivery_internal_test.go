package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"testing"
)

// TestDeliveryTokenContract checks the contest token against the formula
// the delivery contract states (delivery.go), computed with crypto/hmac:
// base64url(HMAC-SHA256(K_h, "fja/contest-token/v1" 0x00 decision_id)).
// Producers and auditors may recompute it; it must not drift.
func TestDeliveryTokenContract(t *testing.T) {
	for _, c := range []struct{ key, id string }{
		{"k", "dec-1"},
		{"a delivery key of thirty-two by", "7f9c1c2e-0d4e-4bb8-9a51-2f0c7a7e3b11"},
		{string(make([]byte, 100)), ""}, // a key longer than SHA-256's block is hashed first
	} {
		m := hmac.New(sha256.New, []byte(c.key))
		m.Write([]byte("fja/contest-token/v1\x00"))
		m.Write([]byte(c.id))
		want := base64.RawURLEncoding.EncodeToString(m.Sum(nil))
		if got := deliveryToken([]byte(c.key), c.id); got != want {
			t.Errorf("deliveryToken(%q, %q) = %s, want %s", c.key, c.id, got, want)
		}
	}
}
