package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fjaledger/fja/verify/record"
)

// ErrClosed is returned by a Batcher's Submit and Add after Close.
var ErrClosed = errors.New("client: batcher is closed")

// BatcherConfig configures a Batcher.
type BatcherConfig struct {
	// MaxRecords is the most records one batch call carries (default and
	// cap: the server's limits.max_batch_records, or 1000 when unknown).
	MaxRecords int
	// MaxDelay is the longest a record waits for others to join its batch
	// (default 10ms).
	MaxDelay time.Duration
	// QueueSize bounds the records waiting to be sent (default
	// 4*MaxRecords): Submit blocks while it is full (backpressure), until
	// there is room or its context ends.
	QueueSize int
}

// Batcher groups single decision appends from many goroutines into POST
// /v1/decisions:batch calls, by size (MaxRecords) and time (MaxDelay).
// One batch is in flight at a time; each caller gets its own receipt or
// error, verified as Client.AppendDecision's are. A batch whose call fails
// as a whole fails each of its records with that error. Close sends what
// is queued and stops.
type Batcher struct {
	c     *Client
	cfg   BatcherConfig
	queue chan *Future
	flush chan chan struct{}
	done  chan struct{}

	mu     sync.RWMutex
	closed bool
}

// Future is the pending answer of one submitted record.
type Future struct {
	raw  json.RawMessage
	done chan struct{}
	a    *Appended
	err  error
}

// Wait returns the record's receipt or error, once its batch is answered,
// or the context's error.
func (f *Future) Wait(ctx context.Context) (*Appended, error) {
	select {
	case <-f.done:
		return f.a, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// NewBatcher starts a batcher that appends through c. Its goroutine runs
// until Close.
func (c *Client) NewBatcher(cfg BatcherConfig) *Batcher {
	if cfg.MaxRecords <= 0 || cfg.MaxRecords > 1000 {
		cfg.MaxRecords = 1000
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = 10 * time.Millisecond
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 4 * cfg.MaxRecords
	}
	b := &Batcher{c: c, cfg: cfg, queue: make(chan *Future, cfg.QueueSize),
		flush: make(chan chan struct{}), done: make(chan struct{})}
	go b.run()
	return b
}

// NewBatcherFor is NewBatcher with MaxRecords capped at the server's
// published limit (GET /v1/log).
func (c *Client) NewBatcherFor(ctx context.Context, cfg BatcherConfig) (*Batcher, error) {
	info, err := c.Log(ctx)
	if err != nil {
		return nil, err
	}
	if n := info.Limits.MaxBatchRecords; n > 0 && (cfg.MaxRecords <= 0 || cfg.MaxRecords > n) {
		cfg.MaxRecords = n
	}
	return c.NewBatcher(cfg), nil
}

// Submit queues one decision request and returns its future. It blocks
// while the queue is full, until there is room (nil error), the context
// ends (its error) or the batcher is closed (ErrClosed).
func (b *Batcher) Submit(ctx context.Context, req *record.DecisionRequest) (*Future, error) {
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	return b.SubmitJSON(ctx, raw)
}

// SubmitJSON is Submit for a request body already encoded.
func (b *Batcher) SubmitJSON(ctx context.Context, raw json.RawMessage) (*Future, error) {
	f := &Future{raw: raw, done: make(chan struct{})}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return nil, ErrClosed
	}
	select {
	case b.queue <- f:
		return f, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Add appends one decision through the batcher and waits for its receipt:
// Submit then Wait.
func (b *Batcher) Add(ctx context.Context, req *record.DecisionRequest) (*Appended, error) {
	f, err := b.Submit(ctx, req)
	if err != nil {
		return nil, err
	}
	return f.Wait(ctx)
}

// Flush sends the records queued so far without waiting for MaxDelay, and
// returns once they are answered (or ctx ends).
func (b *Batcher) Flush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case b.flush <- ack:
	case <-b.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops taking records, sends those queued, and returns once every
// one is answered. It may be called more than once.
func (b *Batcher) Close() error {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.queue)
	}
	b.mu.Unlock()
	<-b.done
	return nil
}

func (b *Batcher) run() {
	defer close(b.done)
	var batch []*Future
	var timer *time.Timer
	var expired <-chan time.Time
	send := func() {
		if timer != nil {
			timer.Stop()
			timer, expired = nil, nil
		}
		if len(batch) > 0 {
			b.send(batch)
			batch = nil
		}
	}
	for {
		select {
		case f, ok := <-b.queue:
			if !ok {
				send()
				return
			}
			batch = append(batch, f)
			if len(batch) == 1 {
				timer = time.NewTimer(b.cfg.MaxDelay)
				expired = timer.C
			}
			if len(batch) >= b.cfg.MaxRecords {
				send()
			}
		case <-expired:
			send()
		case ack := <-b.flush:
			for {
				for len(b.queue) > 0 && len(batch) < b.cfg.MaxRecords {
					f, ok := <-b.queue
					if !ok {
						break
					}
					batch = append(batch, f)
				}
				if len(batch) == 0 {
					break
				}
				send()
			}
			close(ack)
		}
	}
}

// send makes one batch call and hands each future its outcome. The call's
// context is not any caller's: a caller that stops waiting does not cut
// the others' batch.
func (b *Batcher) send(batch []*Future) {
	raws := make([]json.RawMessage, len(batch))
	for i, f := range batch {
		raws[i] = f.raw
	}
	items, err := b.c.AppendBatch(context.Background(), raws)
	for i, f := range batch {
		if err != nil {
			f.err = fmt.Errorf("batch of %d records: %w", len(batch), err)
		} else {
			f.a, f.err = items[i].Appended, items[i].Err
		}
		close(f.done)
	}
}
