package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fjaledger/fja/ledger"
)

// Contest-token delivery: a decision's contest token reaches its producer
// even when the first answer is lost (a dropped connection, a timeout, a
// witness that was late), and exists nowhere on the server once the
// delivery window has passed.
//
// Contracts:
//   - The token the ledger makes for a decision is
//     base64url(HMAC-SHA256(K_h, "fja/contest-token/v1" 0x00 decision_id)),
//     where K_h is the delivery key of the hour h (UTC, Unix hours) in which
//     the request was taken. Nothing is stored per record: a producer that
//     sends the same request again within DeliveryWindow of the decision's
//     logged_at gets the token recomputed from K_h, checked against the
//     token_sha256 in the leaf. Without K_h the token is unpredictable.
//   - Delivery keys are vault slots (never written to the index store, which
//     keeps old versions until compaction); the index store maps
//     "dk/" + hour(8) to the slot. A key is durable before the mapping is
//     written, and the mapping before any token made with it is handed out.
//   - The key of hour h is destroyed (its slot zeroed) once h ended more
//     than DeliveryWindow ago: then no token of that hour can be made again,
//     from the server or from its data directory.

// DefaultDeliveryWindow is how long a producer's retry gets the contest
// token of a decision back (Config.DeliveryWindow).
const DefaultDeliveryWindow = 24 * time.Hour

const prefixDeliveryKey = "dk/" // "dk/" + hour(8) -> vault slot(8)

// KeySlots is what token delivery needs from the vault: keys in numbered
// slots that can be destroyed. Implementations MUST make a key durable by
// the time Sync returns after NewKey, and Destroy MUST leave nothing in the
// data directory from which the key can be read back.
type KeySlots interface {
	NewKey() (slot uint64, key []byte, err error)
	KeyAt(slot uint64) ([]byte, error)
	DestroySlot(slot uint64) error
	Sync() error
}

// deliveryKeys holds the delivery keys of the hours still inside the
// window, loaded or made on first use.
type deliveryKeys struct {
	slots  KeySlots
	index  ledger.IndexStore
	window time.Duration

	mu   sync.Mutex // guards keys; held across the rare key creation only
	keys map[int64][]byte
}

func hourOf(t time.Time) int64 { return t.Unix() / 3600 }

func deliveryKeyName(h int64) []byte {
	return binary.BigEndian.AppendUint64([]byte(prefixDeliveryKey), uint64(h))
}

// key returns the delivery key of hour h; create makes it if it does not
// exist (else a missing key is ErrNotFound).
func (d *deliveryKeys) key(h int64, create bool) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if k, ok := d.keys[h]; ok {
		return k, nil
	}
	v, err := d.index.Get(deliveryKeyName(h))
	switch {
	case err == nil:
		if len(v) != 8 {
			return nil, fmt.Errorf("audit: delivery key of hour %d: slot value has %d bytes, want 8", h, len(v))
		}
		k, err := d.slots.KeyAt(binary.BigEndian.Uint64(v))
		if err != nil {
			return nil, fmt.Errorf("audit: delivery key of hour %d: %w", h, err)
		}
		d.keys[h] = k
		return k, nil
	case !errors.Is(err, ledger.ErrNotFound):
		return nil, err
	case !create:
		return nil, fmt.Errorf("%w: no delivery key for hour %d", ErrNotFound, h)
	}
	slot, k, err := d.slots.NewKey()
	if err != nil {
		return nil, err
	}
	if err := d.slots.Sync(); err != nil {
		return nil, err
	}
	if err := d.index.Update([]ledger.KV{{Key: deliveryKeyName(h), Value: binary.BigEndian.AppendUint64(nil, slot)}}, nil); err != nil {
		return nil, err
	}
	d.keys[h] = k
	return k, nil
}

func deliveryToken(key []byte, decisionID string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("fja/contest-token/v1\x00"))
	m.Write([]byte(decisionID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// issue makes the contest token of a decision taken at now.
func (d *deliveryKeys) issue(decisionID string, now time.Time) (token, tokenSHA256 string, err error) {
	k, err := d.key(hourOf(now), true)
	if err != nil {
		return "", "", err
	}
	t := deliveryToken(k, decisionID)
	return t, TokenHash(t), nil
}

// redeliver returns the contest token of a decision logged at loggedAt
// whose leaf holds tokenSHA256, if now is inside the delivery window and
// the token was made by the ledger ("" otherwise). The request was taken
// at most an hour before it was logged, so two hours are tried.
func (d *deliveryKeys) redeliver(decisionID, tokenSHA256 string, loggedAt, now time.Time) string {
	if now.Sub(loggedAt) >= d.window {
		return ""
	}
	for _, h := range []int64{hourOf(loggedAt), hourOf(loggedAt) - 1} {
		k, err := d.key(h, false)
		if err != nil {
			continue
		}
		t := deliveryToken(k, decisionID)
		if subtle.ConstantTimeCompare([]byte(TokenHash(t)), []byte(tokenSHA256)) == 1 {
			return t
		}
	}
	return ""
}

// sweep destroys the delivery keys of every hour that ended more than the
// window before now, and returns how many it destroyed.
func (d *deliveryKeys) sweep(ctx context.Context, now time.Time) (int, error) {
	// An hour h may be redelivered until (h+2)*3600 + window (requests
	// logged in hour h+1 may carry a token of hour h).
	limit := hourOf(now.Add(-d.window)) - 2
	var expired []int64
	var slots []uint64
	err := d.index.Scan(ctx, []byte(prefixDeliveryKey), nil, func(k, v []byte) bool {
		if len(k) != len(prefixDeliveryKey)+8 || len(v) != 8 {
			return true
		}
		h := int64(binary.BigEndian.Uint64(k[len(prefixDeliveryKey):]))
		if h > limit {
			return false // keys sort by hour
		}
		expired = append(expired, h)
		slots = append(slots, binary.BigEndian.Uint64(v))
		return true
	})
	if err != nil {
		return 0, err
	}
	for i, h := range expired {
		d.mu.Lock()
		delete(d.keys, h)
		d.mu.Unlock()
		if err := d.slots.DestroySlot(slots[i]); err != nil {
			return i, fmt.Errorf("audit: destroying the delivery key of hour %d: %w", h, err)
		}
		if err := d.index.Update(nil, [][]byte{deliveryKeyName(h)}); err != nil {
			return i, err
		}
	}
	return len(expired), nil
}
