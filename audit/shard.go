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

// shardBook is the book of shard position k: Config.Earlier[k], or this
// book for k == len(Config.Earlier).
func (b *Book) shardBook(k int) (*Book, *EarlierShard) {
	if k == len(b.cfg.Earlier) {
		return b, nil
	}
	return b.cfg.Earlier[k].Book, &b.cfg.Earlier[k]
}

// contestInShards finds the contest with id in this book, then in the
// earlier shards' books, newest first: the book holding it, its index
// there, its position k (Config.Earlier[k], len(Config.Earlier) for this
// book) and its earlier shard (nil for this book).
func (b *Book) contestInShards(id string) (in *Book, idx uint64, k int, shard *EarlierShard, err error) {
	for k = len(b.cfg.Earlier); k >= 0; k-- {
		in, shard = b.shardBook(k)
		if idx, err = in.lookup(KindContest, id); !errors.Is(err, ErrNotFound) {
			break
		}
	}
	if err != nil {
		return nil, 0, 0, nil, err
	}
	return in, idx, k, shard, nil
}

// resolutionInShards finds the resolution of the contest with id logged
// in shard position k: in that shard, or in a later one where it names
// the contest's shard (contest_shard), and that shard (nil: this book).
// ErrNotFound while the contest is open.
func (b *Book) resolutionInShards(id string, k int) (*Record, *EarlierShard, error) {
	_, contestShard := b.shardBook(k)
	for j := k; j <= len(b.cfg.Earlier); j++ {
		in, e := b.shardBook(j)
		rec, r, err := getBody[Resolution](in, KindResolution, id)
		switch {
		case errors.Is(err, ErrNotFound):
			continue
		case err != nil:
			return nil, nil, err
		case j == k || (contestShard != nil && r.ContestShard == contestShard.Origin):
			return rec, e, nil
		}
	}
	return nil, nil, fmt.Errorf("%w: no resolution of contest %s", ErrNotFound, id)
}
