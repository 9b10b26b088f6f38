package audit

import (
	"context"
	"time"
)

// ContestsOf returns the ids of the contests filed against decision id,
// in the order of their ids (empty for none, or an unknown decision).
func (b *Book) ContestsOf(ctx context.Context, decisionID string) ([]string, error) {
	var ids []string
	prefix := prefixContestOfDecision + decisionID + "/"
	if err := b.cfg.Index.Scan(ctx, []byte(prefix), nil, func(k, _ []byte) bool {
		ids = append(ids, string(k[len(prefix):]))
		return true
	}); err != nil {
		return nil, err
	}
	return ids, nil
}

// ContestWindow is how long after it is logged a decision can be contested
// (Config.ContestWindow, defaulted).
func (b *Book) ContestWindow() time.Duration { return b.cfg.ContestWindow }
