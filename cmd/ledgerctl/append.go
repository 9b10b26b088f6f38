package main

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

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/verify/record"
)

// maxBatch is the most records one POST /v1/decisions:batch takes (DESIGN.md §6).
const maxBatch = 1000

func newAppendCmd() *cobra.Command {
	var (
		kind, receipts string
		batch, conc    int
		progress       bool
		vo             verifyOptions
	)
	cmd := &cobra.Command{
		Use:   "append [FILE|-] [--kind decision|constitution] [--receipts DIR] [--batch N] [--key VKEY]",
		Short: "Append decisions (or constitutions) and collect their receipts",
		Long: `append reads one JSON request, JSON lines (one request per line) or a JSON
array of requests from FILE, or from standard input if FILE is - or absent,
and POSTs each to /v1/decisions (or /v1/constitutions with --kind
constitution) with the --token (LEDGER_TOKEN) as bearer token.

With --batch N > 1 decisions go in groups of up to N (at most 1000) to
/v1/decisions:batch, one group at a time; otherwise -c single requests are in
flight. 429 and 503 answers are retried (5 tries) honouring Retry-After.

With --receipts DIR each receipt is written, exactly as the server returned it,
to DIR/<decision_id>.receipt.json (<constitution_id>@<version> for
constitutions). A duplicate's receipt never replaces an existing file, which
may hold the contest token only the first receipt carries. With --key every
receipt is verified offline before it is written; one that fails is an error.

One line per record: "index N  ID  created|duplicate", or with --json one
object {"record","id","index","status","error"} per line. Exit status 1 if any
record failed.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageErrorf("append takes at most one input file, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if kind != "decision" && kind != "constitution" {
				return usageErrorf("--kind must be decision or constitution, not %q", kind)
			}
			if batch < 0 || batch > maxBatch {
				return usageErrorf("--batch must be between 1 and %d", maxBatch)
			}
			if batch > 1 && kind != "decision" {
				return usageErrorf("--batch works for decisions only")
			}
			if conc < 1 {
				return usageErrorf("-c must be at least 1")
			}
			a := &appender{kind: record.Kind(kind), dir: receipts, batch: batch, conc: conc, json: globals(cmd).JSON}
			var err error
			if a.c, a.origin, err = vo.client(cmd, len(vo.keys) > 0); err != nil {
				return err
			}
			name := "-"
			if len(args) == 1 {
				name = args[0]
			}
			var data []byte
			if name == "-" {
				data, err = io.ReadAll(cmd.InOrStdin())
			} else {
				data, err = os.ReadFile(name)
			}
			if err != nil {
				return err
			}
			raws, err := client.SplitRequests(data)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if receipts != "" {
				if err := os.MkdirAll(receipts, 0o755); err != nil {
					return err
				}
			}
			return a.run(cmd, raws, progress)
		},
	}
	f := cmd.Flags()
	f.StringVar(&kind, "kind", "decision", "what the input holds: decision or constitution")
	f.StringVar(&receipts, "receipts", "", "write each receipt to `DIR`/<id>.receipt.json")
	f.IntVar(&batch, "batch", 0, "send decisions in groups of up to `N` (<= 1000) to /v1/decisions:batch")
	f.IntVarP(&conc, "concurrency", "c", 8, "single requests in flight")
	f.BoolVar(&progress, "progress", false, "draw a progress bar on stderr even if it is not a terminal")
	vo.register(cmd)
	f.Lookup("key").Usage = "verify every receipt offline with the log verifier `key` (vkey text, or a file holding it); repeatable" // optional here
	return cmd
}

// appendResult is the outcome of one record, printed as one line.
type appendResult struct {
	Record int           `json:"record"` // 1-based position in the input
	ID     string        `json:"id"`
	Index  *uint64       `json:"index,omitempty"`
	Status string        `json:"status"` // created, duplicate or error
	Error  *client.Error `json:"error,omitempty"`
}

// appender sends the records through the client (which verifies each
// receipt with --key) and prints one line per record in input order.
type appender struct {
	kind        record.Kind
	dir, origin string
	batch, conc int
	json        bool
	c           *client.Client

	out     io.Writer
	bar     *progressbar.ProgressBar
	mu      sync.Mutex
	next    int
	pending map[int]appendResult
	failed  int
	fatal   error
	cancel  context.CancelFunc
}

func (a *appender) run(cmd *cobra.Command, raws []json.RawMessage, progress bool) error {
	a.out, a.pending = cmd.OutOrStdout(), map[int]appendResult{}
	if errw := cmd.ErrOrStderr(); len(raws) > 1 && (progress || isTerminal(errw)) {
		a.bar = newBar(errw, int64(len(raws)), "append", "records")
	}
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	a.cancel = cancel
	a.c.AppendAll(ctx, a.kind, raws, a.batch, a.conc, func(n int, ap *client.Appended, err error) {
		a.done(ctx, n, raws[n], ap, err)
	})
	a.flush()
	if a.bar != nil {
		_ = a.bar.Finish()
	}
	if a.fatal != nil {
		return a.fatal
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	fmt.Fprintln(cmd.ErrOrStderr(), a.verifiedLine(len(raws)-a.failed))
	if a.failed > 0 {
		return fmt.Errorf("%d of %d records failed", a.failed, len(raws))
	}
	return nil
}

// verifiedLine says what was checked of the n receipts answered: with
// --key, each one offline; without, nothing.
func (a *appender) verifiedLine(n int) string {
	if !a.c.Verifies() {
		return fmt.Sprintf("%d receipts NOT verified (no --key): give --key VKEY to check each against the log's key", n)
	}
	return fmt.Sprintf("%d receipts verified offline with the key of %s: checkpoint signature, inclusion proof, and the logged entry is the record sent", n, a.origin)
}

// done stores the receipt of record n and queues its line; an
// authentication failure stops the run (every record would get it).
func (a *appender) done(ctx context.Context, n int, raw json.RawMessage, ap *client.Appended, err error) {
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
	res := appendResult{Record: n + 1, ID: client.RecordID(a.kind, raw), Status: "created"}
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
		res.Error = asAPIError(err)
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
	if a.bar != nil {
		_ = a.bar.Add(1)
	}
}

// asAPIError is err as the error of one record's line.
func asAPIError(err error) *client.Error {
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
func (a *appender) flush() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for n := a.next; len(a.pending) > 0; n++ {
		if r, ok := a.pending[n]; ok {
			delete(a.pending, n)
			a.print(r)
		}
	}
}

func (a *appender) print(r appendResult) {
	if a.bar != nil {
		_ = a.bar.Clear()
	}
	if a.json {
		_ = json.NewEncoder(a.out).Encode(r)
		return
	}
	if r.ID == "" {
		r.ID = "-"
	}
	if r.Error != nil {
		fmt.Fprintf(a.out, "record %d  %s  error: %v\n", r.Record, r.ID, r.Error)
		return
	}
	fmt.Fprintf(a.out, "index %d  %s  %s\n", *r.Index, r.ID, r.Status)
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9._:@-]+$`)

// writeReceipt writes the receipt as the server sent it to DIR/<id>.receipt.json
// (DIR/entry-<index>.receipt.json for an id unfit for a file name). A
// duplicate's never replaces a file: the first may hold the contest token.
func (a *appender) writeReceipt(id string, ap *client.Appended) error {
	if a.dir == "" {
		return nil
	}
	if !safeName.MatchString(id) {
		id = "entry-" + strconv.FormatUint(ap.Index(), 10)
	}
	p := filepath.Join(a.dir, id+".receipt.json")
	if _, err := os.Stat(p); ap.Duplicate && err == nil {
		return nil
	}
	if err := writeFile(p, ap.Raw); err != nil {
		return fmt.Errorf("writing receipt: %w", err)
	}
	return nil
}
