package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"

	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/verify/record"
)

// AppendResult is the outcome of one record of an Append run: one line of
// its output, or one JSON object {"record","id","index","status","error"}.
type AppendResult struct {
	Record int           `json:"record"` // 1-based position in the input
	ID     string        `json:"id"`
	Index  *uint64       `json:"index,omitempty"`
	Status string        `json:"status"` // created, duplicate or error
	Error  *client.Error `json:"error,omitempty"`
}

// VerifiedLine says what was checked of the n receipts c answered: with
// a verifier key, each one offline (against origin); without, nothing.
func VerifiedLine(c *client.Client, origin string, n int) string {
	if !c.Verifies() {
		return fmt.Sprintf("%d receipts NOT verified (no --key): give --key VKEY to check each against the log's key", n)
	}
	return fmt.Sprintf("%d receipts verified offline with the key of %s: checkpoint signature, inclusion proof, and the logged entry is the record sent", n, origin)
}

// Append sends records of one kind through a client (Client.AppendAll:
// which verifies each receipt when it has the key) and writes one result
// per record to Out, in input order whatever order the answers come in:
// "index N  ID  created|duplicate", or "record N  ID  error: ...", or with
// JSON one AppendResult per line.
//
// With Dir (created first if missing) each receipt is written, exactly as
// the server returned it, to Dir/<id>.receipt.json (Dir/entry-<index>.receipt.json for an id unfit
// for a file name) by WriteFile. A duplicate's receipt never replaces an
// existing file: the first may hold the contest token.
//
// An authentication failure (client.IsAuth) stops the run: every record
// would get it.
type Append struct {
	Client      *client.Client
	Kind        record.Kind
	Batch, Conc int // see Client.AppendAll
	Dir         string
	WriteFile   func(name string, b []byte) error
	Out         io.Writer
	JSON        bool
	// BeforeLine, if set, is called before each line is written (to
	// clear a progress bar); Done after each record is answered.
	BeforeLine, Done func()

	mu      sync.Mutex
	next    int
	pending map[int]AppendResult
	failed  int
	fatal   error
	cancel  context.CancelFunc
}

// Run appends raws and returns how many records failed, or the error that
// stopped the run (an authentication failure, ctx's end).
func (a *Append) Run(ctx context.Context, raws []json.RawMessage) (failed int, err error) {
	if a.Dir != "" {
		// made before the first record is sent, so that no receipt is lost to it
		if err := os.MkdirAll(a.Dir, 0o755); err != nil {
			return 0, err
		}
	}
	a.pending = map[int]AppendResult{}
	ctx, a.cancel = context.WithCancel(ctx)
	defer a.cancel()
	a.Client.AppendAll(ctx, a.Kind, raws, a.Batch, a.Conc, func(n int, ap *client.Appended, err error) {
		a.done(ctx, n, raws[n], ap, err)
	})
	a.flush()
	if a.fatal != nil {
		return a.failed, a.fatal
	}
	return a.failed, ctx.Err()
}

// done stores the receipt of record n and queues its line.
func (a *Append) done(ctx context.Context, n int, raw json.RawMessage, ap *client.Appended, err error) {
	if client.IsAuth(err) {
		a.mu.Lock()
		if a.fatal == nil {
			a.fatal = err
		}
		a.mu.Unlock()
		a.cancel()
		return
	}
	if ctx.Err() != nil {
		return
	}
	res := AppendResult{Record: n + 1, ID: client.RecordID(a.Kind, raw), Status: "created"}
	if err == nil {
		if ap.Duplicate {
			res.Status = "duplicate"
		}
		idx := ap.Index()
		res.Index = &idx
		err = a.writeReceipt(res.ID, ap)
	}
	if err != nil {
		res.Status, res.Index = "error", nil
		res.Error = asError(err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if res.Error != nil {
		a.failed++
	}
	a.pending[n] = res
	for r, ok := a.pending[a.next]; ok; r, ok = a.pending[a.next] {
		delete(a.pending, a.next)
		a.next++
		a.print(r)
	}
	if a.Done != nil {
		a.Done()
	}
}

// asError is err as the error of one record's line.
func asError(err error) *client.Error {
	var ae *client.Error
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, client.ErrReceipt):
		return &client.Error{ErrorBody: record.ErrorBody{Code: "receipt_invalid", Message: err.Error()}}
	}
	return &client.Error{ErrorBody: record.ErrorBody{Code: "client", Message: err.Error()}}
}

// flush prints results still held back behind a record that was never
// answered (the run was aborted).
func (a *Append) flush() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for n := a.next; len(a.pending) > 0; n++ {
		if r, ok := a.pending[n]; ok {
			delete(a.pending, n)
			a.print(r)
		}
	}
}

func (a *Append) print(r AppendResult) {
	if a.BeforeLine != nil {
		a.BeforeLine()
	}
	if a.JSON {
		_ = json.NewEncoder(a.Out).Encode(r)
		return
	}
	if r.ID == "" {
		r.ID = "-"
	}
	if r.Error != nil {
		fmt.Fprintf(a.Out, "record %d  %s  error: %v\n", r.Record, r.ID, r.Error)
		return
	}
	fmt.Fprintf(a.Out, "index %d  %s  %s\n", *r.Index, r.ID, r.Status)
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9._:@-]+$`)

// writeReceipt writes the receipt of record id to Dir (see Append).
func (a *Append) writeReceipt(id string, ap *client.Appended) error {
	if a.Dir == "" {
		return nil
	}
	if !safeName.MatchString(id) {
		id = "entry-" + strconv.FormatUint(ap.Index(), 10)
	}
	p := filepath.Join(a.Dir, id+".receipt.json")
	if _, err := os.Stat(p); ap.Duplicate && err == nil {
		return nil
	}
	if err := a.WriteFile(p, ap.Raw); err != nil {
		return fmt.Errorf("writing receipt: %w", err)
	}
	return nil
}
