package audit

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fjaledger/fja/audit/vault"
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

// deliveryKeys holds the delivery keys of the hours still inside the
// window, loaded or made on first use.
type deliveryKeys struct {
	slots  *vault.Vault
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
		k, err := d.slots.Key(vault.Slot(binary.BigEndian.Uint64(v)))
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
	// The slot is marked used (prefixSlot) like a record's, so that a key
	// file restored from an older backup is refused rather than hand the
	// slot out again.
	if err := d.index.Update([]ledger.KV{
		{Key: deliveryKeyName(h), Value: binary.BigEndian.AppendUint64(nil, uint64(slot))},
		{Key: binary.BigEndian.AppendUint64([]byte(prefixSlot), uint64(slot))},
	}, nil); err != nil {
		return nil, err
	}
	d.keys[h] = k
	return k, nil
}

func deliveryToken(key []byte, decisionID string) string {
	var sum [sha256.Size]byte
	vault.AppendMAC(sum[:0], key, deliveryTokenLabel, []byte(decisionID))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// deliveryTokenLabel precedes the decision id in its contest token's MAC.
var deliveryTokenLabel = []byte("fja/contest-token/v1\x00")

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
	var slots []vault.Slot
	err := d.index.Scan(ctx, []byte(prefixDeliveryKey), nil, func(k, v []byte) bool {
		if len(k) != len(prefixDeliveryKey)+8 || len(v) != 8 {
			return true
		}
		h := int64(binary.BigEndian.Uint64(k[len(prefixDeliveryKey):]))
		if h > limit {
			return false // keys sort by hour
		}
		expired = append(expired, h)
		slots = append(slots, vault.Slot(binary.BigEndian.Uint64(v)))
		return true
	})
	if err != nil {
		return 0, err
	}
	for i, h := range expired {
		d.mu.Lock()
		delete(d.keys, h)
		d.mu.Unlock()
		if err := d.slots.Destroy(slots[i]); err != nil && !errors.Is(err, vault.ErrDestroyed) {
			return i, fmt.Errorf("audit: destroying the delivery key of hour %d: %w", h, err)
		}
		if err := d.index.Update(nil, [][]byte{deliveryKeyName(h)}); err != nil {
			return i, err
		}
	}
	return len(expired), nil
}

// sweepEvery is how often the Book destroys expired delivery keys.
const sweepEvery = time.Minute

// sweepLoop destroys expired delivery keys until stop is closed.
func (b *Book) sweepLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		if _, err := b.delivery.sweep(context.Background(), b.cfg.Now()); err != nil {
			b.cfg.Logger.Error("destroying expired contest-token delivery keys", "err", err)
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// redeliver is the contest token of the decision logged in entry (the first
// of a resubmitted request), while the delivery window lasts; "" otherwise.
func (b *Book) redeliver(entry []byte) string {
	env, err := ParseEnvelope(entry)
	if err != nil || env.Kind != KindDecision {
		return ""
	}
	var d struct {
		DecisionID string `json:"decision_id"`
		Contest    *struct {
			TokenSHA256 string `json:"token_sha256"`
		} `json:"contest"`
	}
	at, err := time.Parse(time.RFC3339Nano, env.LoggedAt)
	if err != nil || json.Unmarshal(env.Body, &d) != nil || d.Contest == nil {
		return ""
	}
	return b.delivery.redeliver(d.DecisionID, d.Contest.TokenSHA256, at, b.cfg.Now())
}

// SweepDeliveryKeys destroys now the delivery keys whose window has passed
// (the Book does it every minute on its own) and returns how many.
func (b *Book) SweepDeliveryKeys(ctx context.Context) (int, error) {
	return b.delivery.sweep(ctx, b.cfg.Now())
}
