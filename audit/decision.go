package audit

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/fjaledger/fja/audit/vault"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/verify/record"
)

// AppendDecision validates a POST /v1/decisions request body and logs the
// decision. Private content is sealed outside the tree and replaced by its
// commitments; a contest token is made when the producer brought none.
func (b *Book) AppendDecision(ctx context.Context, raw []byte) (*Appended, error) {
	reqp, err := DecodeDecisionRequest(raw) // validated and decoded in one pass
	if err != nil {
		return nil, err
	}
	req := *reqp
	d := req.Decision
	if err := checkOperator(ctx, d.System.Operator); err != nil {
		return nil, err
	}
	if err := b.checkDecision(&d, req.Private); err != nil {
		return nil, err
	}
	var sent decisionSpans
	parts, err := decisionParts(&req, &sent)
	if err != nil {
		return nil, err
	}
	key := recordKey(KindDecision, d.DecisionID)
	probe, err := b.cfg.Log.Probe([]byte(key))
	if err != nil {
		return nil, err
	}
	if probe.Found {
		// A resubmission: nothing new is sealed or made; the contest token
		// is handed out again while its delivery window lasts.
		out, err := b.appendRecord(ctx, &pendingRecord{kind: KindDecision, id: d.DecisionID, parts: parts, probe: probe})
		if err != nil {
			return nil, err
		}
		out.ContestToken = b.redeliver(out.Ack.Entry)
		return out, nil
	}
	if err := b.loggedBefore(d.DecisionID); err != nil {
		return nil, err
	}

	r := &pendingRecord{kind: KindDecision, id: d.DecisionID, parts: parts, probe: probe, extra: make([]ledger.KV, 0, 3)}
	var sealed []sealedPart
	if p := req.Private; p != nil && (p.Request != nil || p.Response != nil) {
		var err error
		if sealed, err = commitPrivate(&d, p); err != nil {
			return nil, err
		}
	}
	var token string
	if d.Contest == nil {
		// The token is recomputed for a retry, never stored (delivery.go).
		t, h, err := b.delivery.issue(d.DecisionID, b.cfg.Now())
		if err != nil {
			return nil, err
		}
		token, d.Contest = t, &ContestStanding{TokenSHA256: h}
	} else {
		// A producer-supplied token hash stands for this decision only.
		h := d.Contest.TokenSHA256
		release, err := b.claims.claim(h, d.DecisionID, func() (string, error) { return b.tokenHashOwner(h) })
		if err != nil {
			return nil, err
		}
		defer release()
	}
	// Every decision's token hash is indexed (it is public in the leaf: a
	// producer could otherwise copy another decision's).
	thKey, err := tokenHashKey(d.Contest.TokenSHA256)
	if err != nil {
		return nil, err
	}
	r.extra = append(r.extra, ledger.KV{Key: thKey, Value: []byte(d.DecisionID)})
	// d differs from the decision sent at most in the members filled in
	// above: its contest and its commitments.
	r.body = respliceDecisionJCS(parts[0], &sent, &d)
	ix := newDecisionIndexer(&d)
	r.index = func(idx uint64, _ time.Time) []ledger.KV { return ix.at(idx) }
	if len(r.body) > ledger.MaxEntrySize-256 {
		return nil, &ValidationError{Field: "(root)", Message: fmt.Sprintf("the logged record would be %d bytes, the most a leaf takes is %d", len(r.body), ledger.MaxEntrySize-256)}
	}
	// Sealed last: nothing is kept for a request refused above. (A vault
	// slot taken by a request that then fails, or loses a race to the
	// same id, is an orphan key sealing nothing kept: harmless.)
	if sealed != nil {
		m, slot, err := b.sealPrivate(key, appendOpening(nil, sealed), parts...)
		if err != nil {
			return nil, err
		}
		r.digest, r.slot, r.sealed = m, slot, true
	} else {
		r.digest = b.digest(parts...)
	}
	out, err := b.appendRecord(ctx, r)
	if err != nil {
		return nil, err
	}
	if out.Duplicate {
		// a concurrent twin of this request was logged first
		out.ContestToken = b.redeliver(out.Ack.Entry)
	} else {
		out.ContestToken = token
	}
	return out, nil
}

// tokenHashOwner returns the id of the logged decision whose contest token
// hash is h ("" if none), under its key or, for a decision logged before
// that key, its legacy one.
func (b *Book) tokenHashOwner(h string) (string, error) {
	k, err := tokenHashKey(h)
	if err != nil {
		return "", err
	}
	for _, key := range [][]byte{k, tokenHashLegacyKey(h)} {
		v, err := b.cfg.Index.Get(key)
		if err == nil {
			return string(v), nil
		}
		if !errors.Is(err, ledger.ErrNotFound) {
			return "", err
		}
	}
	return "", nil
}

// commitPrivate replaces the private section p of d (at least one part
// set) by its commitments in d, each under a fresh random salt, and
// returns the parts of its opening, to seal (names in increasing order).
func commitPrivate(d *Decision, p *DecisionPrivate) ([]sealedPart, error) {
	salts := make([]byte, 2*saltSize) // one read for both parts
	if _, err := rand.Read(salts); err != nil {
		return nil, err
	}
	parts := make([]sealedPart, 0, 2)
	if p.Request != nil { // "request" sorts before "response"
		salt := salts[:saltSize:saltSize]
		parts = append(parts, sealedPart{name: "request", salt: salt, text: *p.Request})
		d.Request = &Commitment{Commitment: commitmentOf(salt, *p.Request)}
	}
	if p.Response != nil {
		salt := salts[saltSize:]
		parts = append(parts, sealedPart{name: "response", salt: salt, text: *p.Response})
		d.Response = &Commitment{Commitment: commitmentOf(salt, *p.Response)}
	}
	return parts, nil
}

// decisionParts are the canonical parts of a decision request that its
// digest covers: the decision as sent (before the ledger fills anything
// in) and its private section. sp, if not nil, gets the spans of the sent
// decision's members the ledger may fill in (respliceDecisionJCS).
func decisionParts(req *DecisionRequest, sp *decisionSpans) ([][]byte, error) {
	sentRecord, err := appendDecisionJCSSpans(make([]byte, 0, 2048), &req.Decision, sp)
	if err != nil {
		return nil, err
	}
	p := req.Private
	if p != nil && (p.Request != nil && !utf8.ValidString(*p.Request) || p.Response != nil && !utf8.ValidString(*p.Response)) {
		// canonicalRecord writes invalid UTF-8 as encoding/json does
		// (escaped U+FFFD), and the digest of requests logged so far
		// was made so.
		sentPrivate, err := canonicalRecord(p)
		if err != nil {
			return nil, err
		}
		return [][]byte{sentRecord, sentPrivate}, nil
	}
	n := len(`{"request":"","response":""}`) // room for both, unless escaped
	if p != nil && p.Request != nil {
		n += len(*p.Request)
	}
	if p != nil && p.Response != nil {
		n += len(*p.Response)
	}
	return [][]byte{sentRecord, appendPrivateJCS(make([]byte, 0, n), p)}, nil
}

// appendPrivateJCS appends the JCS form of p (null for nil, members
// omitted when nil), written by hand as appendDecisionJCS is: it MUST
// equal canonicalRecord(p) for valid UTF-8 (TestPrivateJCS).
func appendPrivateJCS(b []byte, p *DecisionPrivate) []byte {
	if p == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	if p.Request != nil { // "request" sorts before "response"
		b = append(b, `"request":`...)
		b = appendJCSString(b, *p.Request)
	}
	if p.Response != nil {
		if p.Request != nil {
			b = append(b, ',')
		}
		b = append(b, `"response":`...)
		b = appendJCSString(b, *p.Response)
	}
	return append(b, '}')
}

// checkDecision applies the rules beyond the schema (record.CheckPrivate,
// record.CheckDecision) and refuses d with the first it breaks.
func (b *Book) checkDecision(d *Decision, p *DecisionPrivate) error {
	if field, msg := record.CheckPrivate(d, p); field != "" {
		return &ValidationError{Field: field, Message: msg}
	}
	if v := record.CheckDecision(d, b.publishedRules); len(v) > 0 {
		return &ValidationError{Field: v[0].Field, Message: v[0].Message()}
	}
	return nil
}

// publishedRules is the record.Published of the constitutions logged so
// far: in this shard, else in the earlier shards (newest first), whose
// constitutions stay in force after a rotation.
func (b *Book) publishedRules(ref string) (func(string) bool, bool) {
	b.mu.RLock()
	rules, ok := b.constitutions[ref]
	b.mu.RUnlock()
	if !ok {
		for i := len(b.cfg.Earlier) - 1; i >= 0; i-- {
			if f, ok := b.cfg.Earlier[i].Book.publishedRules(ref); ok {
				return f, true
			}
		}
	}
	return func(id string) bool { return rules[id] }, ok
}

// Private returns the private content of a record (part name -> text), for
// the regulator role. ErrNotFound if there is none or it was erased.
func (b *Book) Private(kind Kind, id string) (map[string]string, error) {
	key := recordKey(kind, id)
	none := fmt.Errorf("%w: %s has no private content (or it was erased)", ErrNotFound, key)
	var pt []byte
	s, blob, err := b.sealedOf(key)
	switch {
	case err == nil:
		k, err := b.cfg.Vault.Key(s)
		if errors.Is(err, vault.ErrDestroyed) {
			return nil, none
		}
		if err != nil {
			return nil, fmt.Errorf("audit: key of %s: %w", key, err)
		}
		if pt, err = vault.Unseal(k, key, blob); err != nil {
			return nil, err
		}
	case errors.Is(err, ledger.ErrNotFound):
		// The legacy layout: a key file per record.
		blob, err := b.cfg.Index.Get([]byte(prefixPrivate + key))
		if errors.Is(err, ledger.ErrNotFound) {
			return nil, none
		}
		if err != nil {
			return nil, err
		}
		k, err := b.cfg.Vault.LegacyKey(key)
		if errors.Is(err, vault.ErrDestroyed) {
			return nil, none
		}
		if err != nil {
			return nil, err
		}
		if pt, err = vault.Unseal(k, key, blob); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	parts, err := parseOpening(pt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	out := make(map[string]string, len(parts))
	for _, p := range parts {
		out[p.name] = p.text
	}
	return out, nil
}

// sealedOf returns the vault slot and sealed blob of a record's private
// content (ledger.ErrNotFound if it has none in the slot layout): from its
// m/ value, or for a record logged before the blob moved there, its v/
// value.
func (b *Book) sealedOf(key string) (vault.Slot, []byte, error) {
	// Only a value longer than a vault-keyed digest holds a blob: a
	// 32-byte digest under the server secret may begin with any byte.
	switch m, err := b.cfg.Index.Get([]byte(prefixDigest + key)); {
	case err == nil && len(m) > vaultDigestSize && m[0] == digestVaultSealed:
		return vault.Slot(binary.BigEndian.Uint64(m[1:9])), m[vaultDigestSize:], nil
	case err != nil && !errors.Is(err, ledger.ErrNotFound):
		return 0, nil, err
	}
	v, err := b.cfg.Index.Get([]byte(prefixSealed + key))
	if err != nil {
		return 0, nil, err
	}
	if len(v) < 8 {
		return 0, nil, fmt.Errorf("audit: index %s%s holds %d bytes, want a slot (8) and a sealed blob", prefixSealed, key, len(v))
	}
	return vault.Slot(binary.BigEndian.Uint64(v)), v[8:], nil
}

// ErasePrivate destroys the private content of a record (GDPR Art. 17) —
// a decision's request and response, a contest's grounds: the key is
// zeroed in the vault (and made durable), then the sealed blob and the
// request digest are dropped from the index. Stale copies of both may stay
// in the index's files until compaction, but both were bound to the
// destroyed key: they can neither be opened nor confirm a guess. The leaf,
// its receipt and every proof stay valid. ErrNotFound if the record is
// unknown or has no private content left. A retry after a crash between
// the two steps finishes the erasure.
func (b *Book) ErasePrivate(kind Kind, id string) error {
	key := recordKey(kind, id)
	if _, err := b.lookup(kind, id); err != nil {
		return err
	}
	none := fmt.Errorf("%w: %s has no private content (or it was erased already)", ErrNotFound, key)
	s, _, err := b.sealedOf(key)
	switch {
	case err == nil:
		if err := b.cfg.Vault.Destroy(s); err != nil {
			return err
		}
		return b.cfg.Index.Update(nil, [][]byte{[]byte(prefixSealed + key), []byte(prefixDigest + key)})
	case !errors.Is(err, ledger.ErrNotFound):
		return err
	}
	// The legacy layout: a key file per record.
	if _, err := b.cfg.Index.Get([]byte(prefixPrivate + key)); errors.Is(err, ledger.ErrNotFound) {
		return none
	} else if err != nil {
		return err
	}
	if err := b.cfg.Vault.DestroyLegacy(key); err != nil && !errors.Is(err, vault.ErrDestroyed) {
		return err
	}
	return b.cfg.Index.Update(nil, [][]byte{[]byte(prefixPrivate + key), []byte(prefixDigest + key)})
}
