package audit_test

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/ledger"
)

// TestIndexFormat: a log with entries whose index carries no format mark
// (laid out by an earlier version) is refused at Open, naming the remedy;
// after Reindex it opens, and its queries answer.
func TestIndexFormat(t *testing.T) {
	dir := t.TempDir()
	skey, _, err := note.GenerateKey(rand.Reader, "format.example.org/log")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	tbk, err := openBook(t, dir, s)
	if err != nil {
		t.Fatalf("Open of a new log: %v", err)
	}
	c, err := os.ReadFile("../schemas/examples/constitution.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tbk.book.PublishConstitution(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	// as an earlier version left it: no mark
	if err := tbk.st.Update(nil, [][]byte{[]byte("meta/index-format")}); err != nil {
		t.Fatal(err)
	}
	tbk.close()

	tbk, err = openBook(t, dir, s)
	if !errors.Is(err, audit.ErrIndexFormat) {
		t.Fatalf("Open of a log of 1 entry without the format mark: %v, want ErrIndexFormat", err)
	}
	src := struct {
		*ledger.Log
		ledger.IndexStore
	}{tbk.log, tbk.st}
	if err := audit.Reindex(context.Background(), src, tbk.log.Head().Size, tbk.st, nil); err != nil {
		t.Fatal(err)
	}
	tbk.close()
	tbk, err = openBook(t, dir, s)
	if err != nil {
		t.Fatalf("Open after Reindex: %v", err)
	}
	res, err := tbk.book.Query(context.Background(), audit.Filter{}, "constitution", 0, 10)
	if err != nil || len(res.Indices) != 1 {
		t.Fatalf("query of the constitutions after Reindex: %+v, %v", res, err)
	}
}
