package audit

import (
	"context"
	"errors"
	"fmt"

	"github.com/fjaledger/fja/verify/record"
)

// KindShard is the kind of a shard record (DESIGN.md §4): entry 0 of
// every shard after the first.
const KindShard = record.KindShard

// AppendShard logs rec as the shard record of a new shard. It MUST be the
// shard's first entry: it is refused once the log holds anything (the
// record's place at index 0 is what verify/shard checks). The record is
// keyed by the previous shard's origin, so a retry returns the first
// receipt.
func (b *Book) AppendShard(ctx context.Context, rec record.Shard) (*Appended, error) {
	raw, err := canonicalRecord(rec)
	if err != nil {
		return nil, err
	}
	if err := Validate("shard.v1", raw); err != nil {
		return nil, err
	}
	if n := b.cfg.Log.Head().Size; n != 0 {
		if idx, err := b.lookup(KindShard, rec.Previous.Origin); err == nil && idx == 0 {
			return b.appendRecord(ctx, &pendingRecord{kind: KindShard, id: rec.Previous.Origin, body: raw, digest: b.digest(raw)})
		}
		return nil, fmt.Errorf("audit: a shard record is entry 0 of a new shard; this log holds %d entries already", n)
	}
	return b.appendRecord(ctx, &pendingRecord{kind: KindShard, id: rec.Previous.Origin, body: raw, digest: b.digest(raw),
		extra: kindIndex(KindShard)})
}

// EarlierShard is a frozen shard's book and origin (Config.Earlier).
type EarlierShard struct {
	Origin string
	Book   *Book
}

// decisionInShards is decisionForToken over this book, then the earlier
// shards' books, newest first. shard is the origin of the earlier shard
// the decision was found in ("" for this book) and in its book.
func (b *Book) decisionInShards(id, token string) (rec *Record, d *Decision, shard *EarlierShard, err error) {
	rec, d, err = b.decisionForToken(id, token)
	for i := len(b.cfg.Earlier) - 1; i >= 0 && errors.Is(err, ErrNotFound); i-- {
		e := &b.cfg.Earlier[i]
		if rec, d, err = e.Book.decisionForToken(id, token); err == nil {
			shard = e
		}
	}
	return rec, d, shard, err
}

// loggedBefore refuses (ErrConflict) a decision id already logged in the
// shard before this one, so that a producer's retry across a rotation
// does not log the decision twice. Only the newest earlier shard is
// looked up (one index read per append): retries come within the
// delivery window, not shards later.
func (b *Book) loggedBefore(decisionID string) error {
	if len(b.cfg.Earlier) == 0 {
		return nil
	}
	e := b.cfg.Earlier[len(b.cfg.Earlier)-1]
	_, err := e.Book.lookup(KindDecision, decisionID)
	switch {
	case err == nil:
		return fmt.Errorf("%w: decision %s is logged in the earlier shard %s; GET /v1/decisions/%s/receipt answers its receipt", ErrConflict, decisionID, e.Origin, decisionID)
	case errors.Is(err, ErrNotFound):
		return nil
	}
	return err
}
