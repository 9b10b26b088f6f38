package api

import (
	"container/list"
	"sync"
	"sync/atomic"
)

// tileKey names a full hash tile (entries false) or a full entry bundle.
type tileKey struct {
	shard   int // the shard's number (package ledger/shard)
	entries bool
	level   uint8
	index   uint64
}

// tileCache is a least-recently-used cache of full tiles and full entry
// bundles, bounded by the bytes it holds.
//
// Contracts:
//   - Only immutable data may be put: a full tile or bundle (width 256)
//     that the log already has never changes, so a hit is always what the
//     log would answer. Partial tiles MUST NOT be put.
//   - Callers MUST NOT modify a slice they put or got.
//   - The bytes held never exceed the bound; an item larger than an
//     eighth of it is not kept (one huge bundle must not flush the rest).
//   - A nil *tileCache is a valid, empty cache that keeps nothing.
type tileCache struct {
	max          int64
	hits, misses atomic.Uint64

	mu    sync.Mutex
	size  int64
	order *list.List // of *tileItem, most recently used first
	items map[tileKey]*list.Element
}

type tileItem struct {
	key  tileKey
	data []byte
}

// newTileCache returns a cache of at most max bytes, or nil (no cache)
// when max is not positive.
func newTileCache(max int64) *tileCache {
	if max <= 0 {
		return nil
	}
	return &tileCache{max: max, order: list.New(), items: map[tileKey]*list.Element{}}
}

func (c *tileCache) get(k tileKey) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	el, ok := c.items[k]
	if ok {
		c.order.MoveToFront(el)
	}
	c.mu.Unlock()
	if !ok {
		c.misses.Add(1)
		return nil, false
	}
	c.hits.Add(1)
	return el.Value.(*tileItem).data, true
}

func (c *tileCache) put(k tileKey, data []byte) {
	n := int64(len(data))
	if c == nil || n > c.max/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[k]; ok {
		return // another request filled it meanwhile, with the same bytes
	}
	c.items[k] = c.order.PushFront(&tileItem{key: k, data: data})
	c.size += n
	for c.size > c.max {
		el := c.order.Back()
		it := el.Value.(*tileItem)
		c.order.Remove(el)
		delete(c.items, it.key)
		c.size -= int64(len(it.data))
	}
}

// bytes returns the bytes held.
func (c *tileCache) bytes() int64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}
