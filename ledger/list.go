package ledger

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Index lists. A list is an ordered set of items (entry index, value) named
// by a key; it is stored as list blocks, each an index key
//
//	name || last(8)    the name, then the block's last entry index, big-endian
//
// whose value is its items in increasing index order, each
//
//	uvarint(index - previous)  uvarint(len(value))  value
//
// where previous is the index of the item before it in the block, or 0 for
// the first item (whose delta is then its index). The sequencer writes one
// block per list per batch (KV.List); Reindex-like tools may write larger
// ones. Because a block is keyed by its last index, the first block at or
// after name || i (in key order) is the first that can hold an item with
// index >= i, so a list is read from any index with one seek. The blocks of
// one list MUST NOT overlap: every item of a block is above the last index
// of the block before it.

// ListBlockKey is the key of the block of list name whose last item has
// index last.
func ListBlockKey(name []byte, last uint64) []byte {
	k := make([]byte, len(name), len(name)+8)
	copy(k, name)
	return binary.BigEndian.AppendUint64(k, last)
}

// ErrListBlock is wrapped by the errors of a malformed list block.
var ErrListBlock = errors.New("malformed index list block")

// ListItems calls fn for each item of the list block stored under key,
// whose list name is len(key)-8 bytes long, in index order, until fn
// returns false. value is valid during the call only. It fails (wrapping
// ErrListBlock) on a block that does not decode, whose indices do not
// increase, or whose last index is not the one its key names; fn may have
// seen the items before the fault.
func ListItems(key, block []byte, fn func(index uint64, value []byte) bool) error {
	if len(key) < 8 {
		return fmt.Errorf("%w: key %x is shorter than an index", ErrListBlock, key)
	}
	last := binary.BigEndian.Uint64(key[len(key)-8:])
	if len(block) == 0 {
		return fmt.Errorf("%w: key %x: empty block", ErrListBlock, key)
	}
	var idx uint64
	for n, first := 0, true; len(block) > 0; n, first = n+1, false {
		d, w := binary.Uvarint(block)
		if w <= 0 {
			return fmt.Errorf("%w: key %x: item %d: bad index delta", ErrListBlock, key, n)
		}
		if (!first && d == 0) || idx+d < idx {
			return fmt.Errorf("%w: key %x: item %d: index delta %d after %d does not increase", ErrListBlock, key, n, d, idx)
		}
		idx += d
		block = block[w:]
		l, w := binary.Uvarint(block)
		if w <= 0 || l > uint64(len(block)-w) {
			return fmt.Errorf("%w: key %x: item %d: bad value length", ErrListBlock, key, n)
		}
		v := block[w : w+int(l)]
		block = block[w+int(l):]
		if idx > last || (len(block) == 0 && idx != last) {
			return fmt.Errorf("%w: key %x: item %d has index %d, the key says the block ends at %d", ErrListBlock, key, n, idx, last)
		}
		if !fn(idx, v) {
			return nil
		}
	}
	return nil
}

// ListBuilder gathers list items and makes their blocks: one block per
// list of the items added since the last Blocks. Items MUST be added in
// increasing index order per list.
type ListBuilder struct {
	lists map[string]*listBlock
	order []string // list names, first added first (for a deterministic output)
}

type listBlock struct {
	value []byte
	last  uint64
	n     int
}

// listItemMax is the most bytes one item adds to a block's value beside
// its own value.
const listItemMax = 2 * binary.MaxVarintLen64

// Add adds the item (index, value) to the list name. It fails if index is
// not above the list's previous item.
func (b *ListBuilder) Add(name []byte, index uint64, value []byte) error {
	if b.lists == nil {
		b.lists = map[string]*listBlock{}
	}
	lb := b.lists[string(name)]
	if lb == nil {
		lb = &listBlock{}
		b.lists[string(name)] = lb
		b.order = append(b.order, string(name))
	} else if index <= lb.last {
		return fmt.Errorf("ledger: list %q: item %d after item %d, want increasing indices", name, index, lb.last)
	}
	if lb.n == 0 {
		lb.value = binary.AppendUvarint(lb.value, index)
	} else {
		lb.value = binary.AppendUvarint(lb.value, index-lb.last)
	}
	lb.value = binary.AppendUvarint(lb.value, uint64(len(value)))
	lb.value = append(lb.value, value...)
	lb.last, lb.n = index, lb.n+1
	return nil
}

// Len is the number of lists with items not yet made into blocks.
func (b *ListBuilder) Len() int { return len(b.order) }

// Blocks returns the block of each list with items, and empties b.
func (b *ListBuilder) Blocks() []KV {
	kvs := make([]KV, 0, len(b.order))
	for _, name := range b.order {
		lb := b.lists[name]
		kvs = append(kvs, KV{Key: ListBlockKey([]byte(name), lb.last), Value: lb.value})
	}
	clear(b.lists)
	b.order = b.order[:0]
	return kvs
}

// IsListBlockOf reports whether key is a block key of the list name.
func IsListBlockOf(name, key []byte) bool {
	return len(key) == len(name)+8 && bytes.HasPrefix(key, name)
}
