package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/api/workpool"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
)

// MaxBatchRecords is the most records POST /v1/decisions:batch takes.
const MaxBatchRecords = 1000

func (s *Server) writeRoutes() {
	e := s.echo
	limit := s.limitToken // authenticate first, then per token, or per address without one (limits.go)
	body := middleware.BodyLimit(fmt.Sprint(s.cfg.MaxBodyBytes) + "B")
	batchBody := middleware.BodyLimit(fmt.Sprint(s.cfg.MaxBatchBodyBytes) + "B")
	producer := s.requireRole(auth.Producer)

	e.POST("/v1/constitutions", s.postConstitution, limit, producer, body)
	e.POST("/v1/decisions", s.postDecision, limit, producer, body)
	e.POST(`/v1/decisions\:batch`, s.postDecisionBatch, limit, producer, batchBody)
	e.GET("/v1/decisions/:id", s.getDecision, limit)
	e.GET("/v1/decisions/:id/explanation", s.getExplanation, limit)
	e.GET("/v1/decisions/:id/receipt", s.getDecisionReceipt, limit, s.requireRole(auth.Producer, auth.Regulator, auth.Operator))
	e.DELETE("/v1/decisions/:id/private", s.deletePrivate, limit, s.requireRole(auth.Operator))
	s.contestRoutes(limit, body)
	e.GET("/v1/stats", s.getStats, limit, s.expensive)
	e.GET("/v1/rules", s.getRules, limit, s.expensive)
	e.GET("/v1/query", s.getQuery, limit, s.expensive)
}

func readBody(c echo.Context) ([]byte, error) {
	var b []byte
	var err error
	if n := c.Request().ContentLength; n > 0 {
		// The body limit middleware refused a larger Content-Length
		// already, and net/http ends the body after n bytes: one buffer of
		// the right size, not io.ReadAll's doubling.
		b = make([]byte, n)
		_, err = io.ReadFull(c.Request().Body, b)
	} else {
		b, err = io.ReadAll(c.Request().Body)
	}
	var mbe *http.MaxBytesError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &mbe):
		return nil, errorf(http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body is over the limit of %d bytes", mbe.Limit))
	case errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge:
		// echo's BodyLimit, for a body sent without Content-Length
		return nil, errorf(http.StatusRequestEntityTooLarge, "too_large", "request body is over the size limit")
	}
	if err != nil {
		return nil, badBody("reading the request body: " + err.Error())
	}
	return b, nil
}

// fromAudit maps the domain's errors to HTTP errors.
func fromAudit(err error) *Error {
	var ve *audit.ValidationError
	var se *audit.StateError
	switch {
	case errors.As(err, &ve):
		return &Error{Status: http.StatusBadRequest, ErrorBody: record.ErrorBody{Code: "invalid_record", Message: ve.Error(), Field: ve.Field}}
	case errors.As(err, &se):
		return errorf(http.StatusConflict, se.Code, se.Message)
	case errors.Is(err, audit.ErrForbidden):
		return errorf(http.StatusForbidden, "forbidden", err.Error())
	case errors.Is(err, audit.ErrConflict):
		return errorf(http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, audit.ErrNotFound):
		return notFound(err.Error())
	}
	return fromLedger(err)
}

// receiptOf makes the receipt of an append answered on c; with witnesses,
// against a cosigned checkpoint (fail-closed: waiting for one, see
// witness.go), else with the HeaderWitness header saying it is pending.
func (s *Server) receiptOf(c echo.Context, a *audit.Appended) (*verify.Receipt, error) {
	r, pending, err := s.appendReceipt(c.Request().Context(), a)
	if pending {
		c.Response().Header().Set(HeaderWitness, "pending")
	}
	return r, err
}

// appendReceipt is the receipt of an append, and whether its cosigned
// checkpoint is still pending (fail-closed mode only).
func (s *Server) appendReceipt(ctx context.Context, a *audit.Appended) (*verify.Receipt, bool, error) {
	r := NewReceipt(s.cfg.Origin, a.Ack)
	r.ContestToken = a.ContestToken
	return s.witnessed(ctx, r)
}

func status(a *audit.Appended) int {
	if a.Duplicate {
		return http.StatusOK
	}
	return http.StatusCreated
}

func (s *Server) postConstitution(c echo.Context) error {
	raw, err := readBody(c)
	if err != nil {
		return err
	}
	a, err := s.cfg.Book.PublishConstitution(c.Request().Context(), raw)
	if err != nil {
		return err
	}
	r, err := s.receiptOf(c, a)
	if err != nil {
		return err
	}
	return c.JSON(status(a), map[string]any{"receipt": r, "constitution": a.ID})
}

func (s *Server) postDecision(c echo.Context) error {
	raw, err := readBody(c)
	if err != nil {
		return err
	}
	a, err := s.cfg.Book.AppendDecision(producerContext(c), raw)
	if err != nil {
		return err
	}
	r, err := s.receiptOf(c, a)
	if err != nil {
		return err
	}
	return writeJSON(c, status(a), appendReceiptJSON(make([]byte, 0, 2*len(r.Entry)+4096), r), r)
}

// writeJSON answers code with body b, the encoding/json encoding of v
// made by hand (appendReceiptJSON, appendBatchJSON), plus the newline
// echo's serializer ends it with. A pretty (or debug) answer is left to
// echo: it indents.
func writeJSON(c echo.Context, code int, b []byte, v any) error {
	if c.Request().URL.RawQuery != "" || c.Echo().Debug {
		if _, pretty := c.QueryParams()["pretty"]; pretty || c.Echo().Debug {
			return c.JSON(code, v)
		}
	}
	b = append(b, '\n')
	// With its length stated the answer goes out as it is, not in chunks
	// (net/http chunks what it cannot buffer whole: most receipts).
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(len(b)))
	return c.JSONBlob(code, b)
}

// producerContext is the request context of an append, carrying the
// operators the producer token may log for (if its entry lists any).
func producerContext(c echo.Context) context.Context {
	ctx := c.Request().Context()
	if e := tokenEntry(c); e != nil && len(e.Operators) > 0 {
		ctx = audit.WithOperators(ctx, e.Operators)
	}
	return ctx
}

// BatchResult is one element of the POST /v1/decisions:batch answer: the
// server's typed form of record.BatchResult (the wire shape, declared
// there), which appendBatchResultJSON writes by hand.
// Duplicate is set when the record was logged before (the first receipt;
// a single append answers 200 then, not 201). WitnessPending is set
// (fail-closed mode) when the receipt is log-signed because no cosigned
// checkpoint covered it in time (see HeaderWitness).
type BatchResult struct {
	Receipt        *verify.Receipt `json:"receipt,omitempty"`
	Duplicate      bool            `json:"duplicate,omitempty"`
	WitnessPending bool            `json:"witness_pending,omitempty"`
	Error          *Error          `json:"error,omitempty"`
}

func (s *Server) postDecisionBatch(c echo.Context) error {
	raw, err := readBody(c)
	if err != nil {
		return err
	}
	// Split, not decoded: each record is decoded on its own, and a long
	// array costs no more than its first MaxBatchRecords+1 elements.
	reqs, err := audit.SplitJSONArray(raw, MaxBatchRecords)
	if errors.Is(err, audit.ErrTooManyItems) {
		return badBody(fmt.Sprintf("batch has more than %d records, want 1..%d", MaxBatchRecords, MaxBatchRecords))
	}
	if err != nil {
		return badBody("want a JSON array of decision requests: " + err.Error())
	}
	if len(reqs) == 0 {
		return badBody(fmt.Sprintf("batch has 0 records, want 1..%d", MaxBatchRecords))
	}
	results := make([]BatchResult, len(reqs))
	ctx := producerContext(c)
	// Records are appended by up to batchWorkers goroutines (this one
	// among them), each taking the next record in turn: enough in flight
	// for the log to commit them in large groups, and few goroutines, so
	// that their stacks grow once (decoding is deep), not once a record.
	// Every record gets its own result, in request order.
	//
	// Fail-closed, a receipt may wait up to WitnessWait for a cosigned
	// checkpoint: those waits are not taken record after record by the
	// workers but all at once, once every record is appended.
	waiting := s.closed()
	appended := make([]*audit.Appended, len(reqs))
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= len(reqs) {
				return
			}
			if r := reqs[i]; int64(len(r)) > s.cfg.MaxBodyBytes {
				// Held to the limit of a single request, before it is decoded.
				results[i] = BatchResult{Error: errorf(http.StatusRequestEntityTooLarge, "too_large",
					fmt.Sprintf("record %d is %d bytes, over the limit of %d bytes for one record", i, len(r), s.cfg.MaxBodyBytes))}
			} else {
				results[i], appended[i] = s.appendOne(ctx, r, waiting)
			}
		}
	}
	var wg sync.WaitGroup
	for range min(len(reqs), batchWorkers) - 1 {
		workpool.Go(&wg, work)
	}
	work()
	wg.Wait()
	for i, a := range appended {
		if a != nil {
			workpool.Go(&wg, func() { results[i] = s.resultOf(ctx, a) })
		}
	}
	wg.Wait()
	buf := answerBufs.Get().(*[]byte)
	*buf = appendBatchJSON((*buf)[:0], results)
	err = writeJSON(c, http.StatusOK, *buf, map[string]any{"results": results})
	if cap(*buf) <= 8<<20 { // the rare huge answer is not kept
		answerBufs.Put(buf)
	}
	return err
}

// answerBufs hold batch answers while they are written (a few MB for the
// largest batches: reused, not allocated and cleared anew). A buffer goes
// back once the answer is written: nothing keeps it.
var answerBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1<<20); return &b }}

// batchWorkers is the most goroutines appending the records of one batch.
// A record waits for its commit on the goroutine that appended it, so this
// is also the most records of one batch in flight, and what the log can
// group into one commit is at most this times the batches at hand. At 64,
// eight clients sending 250 records a batch had at most 512 records in
// flight, half a commit group (ledger.Config.MaxBatch, 1024), and each
// batch waited for about four commits; at 256, a batch of 250 is in
// flight whole (refused decisions batched: 17.8–19.7K/s at 64, 21.7–22.6K/s
// at 256, issue 10's note). The goroutines are pooled (workpool), so their
// number costs stacks, not their growth.
const batchWorkers = 256

// appendOne appends one record of a batch: every record gets its own
// receipt or error, so one bad record does not fail the others. When
// receipt waiting is set (fail-closed), a record appended is returned in
// a (its result is resultOf(a)), so that the batch waits for witnesses
// for all its records at once; else it is nil.
func (s *Server) appendOne(ctx context.Context, raw []byte, waiting bool) (BatchResult, *audit.Appended) {
	a, err := s.cfg.Book.AppendDecision(ctx, raw)
	if err != nil {
		e := fromAudit(err)
		if e == nil {
			s.cfg.Logger.Error("batch append", "err", err)
			e = errorf(http.StatusInternalServerError, "internal", "internal error; see the server log")
		}
		return BatchResult{Error: e}, nil
	}
	if waiting {
		return BatchResult{}, a
	}
	return s.resultOf(ctx, a), nil
}

// resultOf is the batch result of the append a.
func (s *Server) resultOf(ctx context.Context, a *audit.Appended) BatchResult {
	r, pending, err := s.appendReceipt(ctx, a)
	if err != nil {
		e, _ := toError(err)
		return BatchResult{Error: e}
	}
	return BatchResult{Receipt: r, Duplicate: a.Duplicate, WitnessPending: pending}
}

// receiptAt is the receipt of entry idx against the latest head, without
// a contest token; with witnesses, against the latest cosigned checkpoint
// when it covers idx (fail-closed: waiting for one).
func (s *Server) receiptAt(ctx context.Context, idx uint64) (*verify.Receipt, error) {
	head := s.cfg.Log.Head()
	es, err := s.cfg.Log.Entries(idx, 1)
	if err != nil {
		return nil, err
	}
	if r, ok, err := s.cosignedReceipt(ctx, idx, es[0], s.closed()); err != nil || ok {
		return r, err
	}
	proof, err := s.cfg.Log.InclusionProof(idx, head.Size)
	if err != nil {
		return nil, err
	}
	return NewReceipt(s.cfg.Origin, &ledger.Ack{Index: idx, Entry: es[0], LeafHash: ledger.LeafHash(es[0]),
		Checkpoint: head.Checkpoint, Size: head.Size, Root: head.Root, Proof: proof}), nil
}

func (s *Server) getDecisionReceipt(c echo.Context) error {
	loc, err := s.findRecord(audit.KindDecision, c.Param("id"))
	if err != nil {
		return err
	}
	r, err := s.receiptIn(c.Request().Context(), loc)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (s *Server) deletePrivate(c echo.Context) error {
	id := c.Param("id")
	if err := s.cfg.Book.ErasePrivate(audit.KindDecision, id); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"decision_id": id, "erased": true})
}
