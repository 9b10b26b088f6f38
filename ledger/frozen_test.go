package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/ledger/badgerstore"
)

// A frozen log serves the tree and checkpoint it was frozen at, signs
// nothing, and refuses appends with ErrFrozen.
func TestFrozenLogRefusesAppends(t *testing.T) {
	s, _ := newKey(t)
	dir := t.TempDir()
	l := openLog(t, dir, s, nil)
	for _, e := range []string{"a", "b", "c"} {
		if _, err := l.Append(context.Background(), []byte(e)); err != nil {
			t.Fatal(err)
		}
	}
	final := l.Head()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	f := openLog(t, dir, nil, func(c *ledger.Config) { c.Signers, c.Frozen = nil, true })
	defer f.Close()
	if !f.Frozen() {
		t.Fatal("Frozen() = false for a log opened frozen")
	}
	if h := f.Head(); h.Size != 3 || !bytes.Equal(h.Checkpoint, final.Checkpoint) {
		t.Fatalf("frozen head = size %d, checkpoint %q; want size 3 and the final checkpoint %q", h.Size, h.Checkpoint, final.Checkpoint)
	}
	if _, err := f.Append(context.Background(), []byte("d")); !errors.Is(err, ledger.ErrFrozen) {
		t.Fatalf("Append to a frozen log: err = %v, want ErrFrozen", err)
	}
	if _, err := f.AppendStamped(context.Background(), []byte("k"), nil); !errors.Is(err, ledger.ErrFrozen) {
		t.Fatalf("AppendStamped to a frozen log: err = %v, want ErrFrozen", err)
	}
	es, err := f.Entries(0, 3)
	if err != nil || len(es) != 3 || string(es[2]) != "c" {
		t.Fatalf("Entries of a frozen log = %q, %v; want a, b, c", es, err)
	}
}

// A log that never stored a checkpoint cannot be opened frozen.
func TestFrozenNeedsCheckpoint(t *testing.T) {
	st, err := badgerstore.Open(badgerstore.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = ledger.Open(ledger.Config{Origin: testOrigin, Storage: st, Frozen: true})
	if err == nil {
		t.Fatal("Open frozen of an empty store succeeded, want an error")
	}
}
