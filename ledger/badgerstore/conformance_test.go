package badgerstore

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, dir string) storagetest.Store {
		s, err := Open(Config{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestBatchLimitsHold: a batch that the declared BatchLimits say fits
// commits, both at the record limit and at the byte limit; Badger refuses a
// batch one step past its real limits. So the limits are never optimistic.
func TestBatchLimitsHold(t *testing.T) {
	s, err := Open(Config{Dir: t.TempDir(), MemTableSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	lim := s.BatchLimits()
	if lim.MaxRecords <= 0 || lim.MaxBytes <= 0 || lim.ValueCap <= 0 {
		t.Fatalf("BatchLimits %+v, want positive limits", lim)
	}
	st := ledger.State{Size: 0, Checkpoint: []byte("cp")}
	stateCost := lim.RecordOverhead + int64(17+len(st.Checkpoint))
	key := func(i int) []byte { return fmt.Appendf(nil, "k%09d", i) }

	// As many records as declared: the state and MaxRecords-1 index keys.
	b := &ledger.Batch{State: st}
	for i := int64(0); i < lim.MaxRecords-1; i++ {
		b.Extra = append(b.Extra, ledger.KV{Key: key(int(i))})
	}
	if err := s.Commit(b); err != nil {
		t.Fatalf("a batch of %d records, the declared most: %v", lim.MaxRecords, err)
	}
	b.Extra = append(b.Extra, ledger.KV{Key: key(int(lim.MaxRecords)), Value: []byte{1}}, ledger.KV{Key: key(-1)})
	if err := s.Commit(b); !errors.Is(err, badger.ErrTxnTooBig) {
		t.Fatalf("a batch of %d records, past Badger's count: %v, want ErrTxnTooBig", len(b.Extra)+1, err)
	}

	// As many bytes as declared, in values just under the cap (the most a
	// record counts), then one more record past Badger's own limit.
	b = &ledger.Batch{State: st}
	left := lim.MaxBytes - stateCost
	v := bytes.Repeat([]byte{7}, int(lim.ValueCap))
	for i := 0; ; i++ {
		k := key(i)
		c := int64(len(k)) + lim.ValueCap + lim.RecordOverhead
		if c > left {
			// the rest in a record of a shorter value
			if rest := left - int64(len(k)) - lim.RecordOverhead; rest >= 0 {
				b.Extra = append(b.Extra, ledger.KV{Key: k, Value: v[:rest]})
				left = 0
			}
			break
		}
		b.Extra = append(b.Extra, ledger.KV{Key: k, Value: v})
		left -= c
	}
	if err := s.Commit(b); err != nil {
		t.Fatalf("a batch counting %d bytes, the declared most (%d records): %v", lim.MaxBytes-left, len(b.Extra)+1, err)
	}
	b.Extra = append(b.Extra, ledger.KV{Key: key(-2), Value: v}, ledger.KV{Key: key(-3), Value: v})
	if err := s.Commit(b); !errors.Is(err, badger.ErrTxnTooBig) {
		t.Fatalf("a batch past Badger's size: %v, want ErrTxnTooBig", err)
	}
}
