package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/fjaledger/fja/verify"
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
			a := &appender{kind: kind, dir: receipts, batch: batch, conc: conc, g: globals(cmd)}
			if len(vo.keys) > 0 {
				var err error
				if a.origin, a.key, a.others, err = vo.resolve(); err != nil {
					return err
				}
				a.checkOrigin = vo.origin != ""
			}
			name := "-"
			if len(args) == 1 {
				name = args[0]
			}
			var data []byte
			var err error
			if name == "-" {
				data, err = io.ReadAll(cmd.InOrStdin())
			} else {
				data, err = os.ReadFile(name)
			}
			if err != nil {
				return err
			}
			raws, err := splitRecords(data)
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

// splitRecords splits the input into requests: a JSON array, or a stream of
// JSON values (one document, or JSON lines). Nothing is sent when any of it
// is not JSON.
func splitRecords(data []byte) ([]json.RawMessage, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, errors.New("no records in the input")
	}
	lineAt := func(off int64) int {
		return 1 + bytes.Count(data[:len(data)-len(trimmed)+int(min(off, int64(len(trimmed))))], []byte("\n"))
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if trimmed[0] == '[' {
		var arr []json.RawMessage
		if err := dec.Decode(&arr); err != nil {
			return nil, fmt.Errorf("not a JSON array of requests: %w (line %d)", err, lineAt(dec.InputOffset()))
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, fmt.Errorf("data after the JSON array (line %d)", lineAt(dec.InputOffset()))
		}
		if len(arr) == 0 {
			return nil, errors.New("no records in the input")
		}
		return arr, nil
	}
	var out []json.RawMessage
	for {
		var m json.RawMessage
		err := dec.Decode(&m)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			off := dec.InputOffset()
			var se *json.SyntaxError
			if errors.As(err, &se) {
				off = se.Offset
			}
			return nil, fmt.Errorf("record %d is not JSON: %w (line %d)", len(out)+1, err, lineAt(off))
		}
		out = append(out, m)
	}
}

// appendResult is the outcome of one record, printed as one line.
type appendResult struct {
	Record int       `json:"record"` // 1-based position in the input
	ID     string    `json:"id"`
	Index  *uint64   `json:"index,omitempty"`
	Status string    `json:"status"` // created, duplicate or error
	Error  *apiError `json:"error,omitempty"`
}

type appendItem struct {
	n   int // 0-based position in the input
	id  string
	raw json.RawMessage
}

type appender struct {
	kind, dir   string
	batch, conc int
	g           globalOptions
	// with --key
	key, origin string
	others      []string
	checkOrigin bool

	client *apiClient
	out    io.Writer
	bar    *progressbar.ProgressBar

	mu      sync.Mutex
	next    int
	pending map[int]appendResult
	failed  int
	fatal   error
	cancel  context.CancelFunc
}

func (a *appender) run(cmd *cobra.Command, raws []json.RawMessage, progress bool) error {
	a.client = newAPIClient(a.g)
	a.out = cmd.OutOrStdout()
	a.pending = map[int]appendResult{}
	errw := cmd.ErrOrStderr()
	if len(raws) > 1 && (progress || isTerminal(errw)) {
		a.bar = progressbar.NewOptions(len(raws),
			progressbar.OptionSetWriter(errw),
			progressbar.OptionSetDescription("append"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetItsString("records"),
			progressbar.OptionShowIts(),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(errw) }),
		)
	}
	items := make([]appendItem, len(raws))
	for i, r := range raws {
		items[i] = appendItem{n: i, id: recordID(a.kind, r), raw: r}
	}
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	a.cancel = cancel

	if a.batch > 1 {
		for i := 0; i < len(items) && ctx.Err() == nil; i += a.batch {
			a.postBatch(ctx, items[i:min(i+a.batch, len(items))])
		}
	} else {
		work := make(chan appendItem)
		var wg sync.WaitGroup
		for range min(a.conc, len(items)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for it := range work {
					if ctx.Err() == nil {
						a.postOne(ctx, it)
					}
				}
			}()
		}
		for _, it := range items {
			work <- it
		}
		close(work)
		wg.Wait()
	}
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
	fmt.Fprintln(cmd.ErrOrStderr(), a.verifiedLine(len(items)-a.failed))
	if a.failed > 0 {
		return fmt.Errorf("%d of %d records failed", a.failed, len(items))
	}
	return nil
}

// verifiedLine says what was checked of the n receipts answered: with
// --key, each one offline; without, nothing.
func (a *appender) verifiedLine(n int) string {
	if a.key == "" {
		return fmt.Sprintf("%d receipts NOT verified (no --key): give --key VKEY to check each against the log's key", n)
	}
	return fmt.Sprintf("%d receipts verified offline with the key of %s: checkpoint signature, inclusion proof, and the logged entry is the record sent", n, a.origin)
}

func (a *appender) path() string {
	if a.kind == "constitution" {
		return "/v1/constitutions"
	}
	return "/v1/decisions"
}

// abort stops the run on an error every other request would get too.
func (a *appender) abort(err error) {
	a.mu.Lock()
	if a.fatal == nil {
		a.fatal = err
	}
	a.mu.Unlock()
	a.cancel()
}

// isFatal reports whether err is an authentication or authorization
// failure: the same token fails for every record.
func isFatal(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden)
}

func (a *appender) postOne(ctx context.Context, it appendItem) {
	code, body, err := a.client.do(ctx, http.MethodPost, a.path(), it.raw, nil)
	if isFatal(err) {
		a.abort(fmt.Errorf("POST %s: %w", a.path(), err))
		return
	}
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		a.done(it, nil, false, err)
		return
	}
	receipt := body
	if a.kind == "constitution" {
		var w struct {
			Receipt json.RawMessage `json:"receipt"`
		}
		if err := json.Unmarshal(body, &w); err != nil || len(w.Receipt) == 0 || string(w.Receipt) == "null" {
			a.done(it, nil, false, &apiError{Code: "bad_response", Message: "the answer has no receipt: " + clip(body)})
			return
		}
		receipt = w.Receipt
	}
	a.done(it, receipt, code == http.StatusOK, nil)
}

// postBatch sends one group, retrying records the sequencer pushed back.
func (a *appender) postBatch(ctx context.Context, group []appendItem) {
	for try := 1; len(group) > 0; try++ {
		var buf bytes.Buffer
		buf.WriteByte('[')
		for i, it := range group {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.Write(it.raw)
		}
		buf.WriteByte(']')
		_, body, err := a.client.do(ctx, http.MethodPost, "/v1/decisions:batch", buf.Bytes(), nil)
		if isFatal(err) {
			a.abort(fmt.Errorf("POST /v1/decisions:batch: %w", err))
			return
		}
		if ctx.Err() != nil {
			return
		}
		var res struct {
			Results []struct {
				Receipt   json.RawMessage `json:"receipt"`
				Error     *apiError       `json:"error"`
				Duplicate bool            `json:"duplicate"`
			} `json:"results"`
		}
		if err == nil {
			if jerr := json.Unmarshal(body, &res); jerr != nil || len(res.Results) != len(group) {
				err = &apiError{Code: "bad_response", Message: fmt.Sprintf("want %d results: %s", len(group), clip(body))}
			}
		}
		if err != nil {
			for _, it := range group {
				a.done(it, nil, false, err)
			}
			return
		}
		var again []appendItem
		for i, r := range res.Results {
			switch {
			case r.Error != nil && retryableCode(r.Error.Code) && try < maxTries:
				again = append(again, group[i])
			case r.Error != nil:
				a.done(group[i], nil, false, r.Error)
			case len(r.Receipt) == 0 || string(r.Receipt) == "null":
				a.done(group[i], nil, false, &apiError{Code: "bad_response", Message: "result has neither receipt nor error"})
			default:
				a.done(group[i], r.Receipt, r.Duplicate, nil)
			}
		}
		group = again
		if len(group) > 0 && sleepCtx(ctx, backoff(try, "")) != nil {
			return
		}
	}
}

func retryableCode(code string) bool { return code == "overloaded" || code == "shutting_down" }

// done checks and stores the receipt of one record and queues its line.
func (a *appender) done(it appendItem, receipt []byte, duplicate bool, err error) {
	res := appendResult{Record: it.n + 1, ID: it.id, Status: "created"}
	if duplicate {
		res.Status = "duplicate"
	}
	if err == nil {
		var idx uint64
		idx, err = a.checkReceipt(it, receipt)
		if err == nil {
			res.Index = &idx
			err = a.writeReceipt(it, idx, receipt, duplicate)
		}
	}
	if err != nil {
		res.Status = "error"
		res.Index = nil
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{Code: "client", Message: err.Error()}
		}
		res.Error = ae
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if res.Error != nil {
		a.failed++
	}
	a.pending[it.n] = res
	for {
		r, ok := a.pending[a.next]
		if !ok {
			break
		}
		delete(a.pending, a.next)
		a.next++
		a.print(r)
	}
	if a.bar != nil {
		_ = a.bar.Add(1)
	}
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
	if a.g.JSON {
		_ = json.NewEncoder(a.out).Encode(r)
		return
	}
	id := r.ID
	if id == "" {
		id = "-"
	}
	if r.Error != nil {
		fmt.Fprintf(a.out, "record %d  %s  error: %v\n", r.Record, id, r.Error)
		return
	}
	fmt.Fprintf(a.out, "index %d  %s  %s\n", *r.Index, id, r.Status)
}

// checkReceipt returns the receipt's index; with --key it verifies the
// receipt and that its entry is the record sent.
func (a *appender) checkReceipt(it appendItem, receipt []byte) (uint64, error) {
	if a.key == "" {
		var r struct {
			Index *uint64 `json:"index"`
		}
		if err := json.Unmarshal(receipt, &r); err != nil || r.Index == nil {
			return 0, &apiError{Code: "bad_response", Message: "the receipt has no index: " + clip(receipt)}
		}
		return *r.Index, nil
	}
	r, _, err := verify.VerifyReceipt(receipt, a.key, a.others...)
	if err != nil {
		return 0, &apiError{Code: "receipt_invalid", Message: "the receipt does NOT verify: " + err.Error()}
	}
	if a.checkOrigin && r.Origin != a.origin {
		return 0, &apiError{Code: "receipt_invalid", Message: fmt.Sprintf("the receipt is for origin %q, want %q", r.Origin, a.origin)}
	}
	var env struct {
		Body json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(r.Entry, &env); err != nil {
		return 0, &apiError{Code: "receipt_invalid", Message: "the receipt's entry is not a JSON envelope: " + err.Error()}
	}
	if got := recordID(a.kind, env.Body); it.id != "" && got != it.id {
		return 0, &apiError{Code: "receipt_invalid", Message: fmt.Sprintf("the receipt's entry is %q, not the record sent", got)}
	}
	return r.Index, nil
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9._:@-]+$`)

// receiptPath is DIR/<id>.receipt.json, or DIR/entry-<index>.receipt.json
// for an id unfit for a file name.
func (a *appender) receiptPath(id string, idx uint64) string {
	if !safeName.MatchString(id) {
		id = "entry-" + strconv.FormatUint(idx, 10)
	}
	return filepath.Join(a.dir, id+".receipt.json")
}

func (a *appender) writeReceipt(it appendItem, idx uint64, receipt []byte, duplicate bool) error {
	if a.dir == "" {
		return nil
	}
	p := a.receiptPath(it.id, idx)
	if duplicate {
		// Keep the first receipt: it may hold the contest token.
		if _, err := os.Stat(p); err == nil {
			return nil
		}
	}
	if err := writeFile(p, receipt); err != nil {
		return fmt.Errorf("writing receipt: %w", err)
	}
	return nil
}

// recordID is a request's decision_id, or constitution_id@version.
func recordID(kind string, raw []byte) string {
	var v struct {
		DecisionID     string `json:"decision_id"`
		ConstitutionID string `json:"constitution_id"`
		Version        string `json:"version"`
	}
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	if kind == "constitution" {
		if v.ConstitutionID == "" {
			return ""
		}
		return v.ConstitutionID + "@" + v.Version
	}
	return v.DecisionID
}

// apiError is the server's JSON error, or a client-side failure of a record.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Error says each thing once: the message (less a leading repeat of the
// code in words, as in "not found: ..."), then the HTTP status, the code
// and the field unless the message names it: "no contest con-1 (HTTP 404
// not_found)".
func (e *apiError) Error() string {
	msg := strings.TrimPrefix(e.Message, strings.ReplaceAll(e.Code, "_", " ")+": ")
	tag := e.Code
	if e.Status != 0 {
		tag = "HTTP " + strconv.Itoa(e.Status) + " " + tag
	}
	if e.Field != "" && !strings.Contains(msg, e.Field) {
		tag += ", field " + e.Field
	}
	return msg + " (" + tag + ")"
}

// apiClient talks to the ledger server: bearer token, bounded retries of
// 429 and 503 honouring Retry-After.
type apiClient struct {
	base, token string
	hc          *http.Client
}

const maxTries = 5

func newAPIClient(g globalOptions) *apiClient {
	return &apiClient{base: strings.TrimRight(g.URL, "/"), token: g.Token, hc: http.DefaultClient}
}

// do sends a request and returns the status and body of a 2xx answer, or
// an *apiError for an error answer. Only 429 and 503 are retried: the
// server did not act on them. A lost answer to a POST is not retried, as a
// repeat would get a receipt without the contest token.
func (c *apiClient) do(ctx context.Context, method, path string, body []byte, hdr http.Header) (int, []byte, error) {
	for try := 1; ; try++ {
		code, b, h, err := c.once(ctx, method, path, body, hdr)
		if err != nil {
			return 0, nil, err
		}
		if code >= 200 && code < 300 {
			return code, b, nil
		}
		ae := &apiError{Status: code}
		var w struct {
			Error *apiError `json:"error"`
		}
		if json.Unmarshal(b, &w) == nil && w.Error != nil && w.Error.Code != "" {
			ae.Code, ae.Message, ae.Field = w.Error.Code, w.Error.Message, w.Error.Field
		} else {
			ae.Code, ae.Message = "http_"+strconv.Itoa(code), http.StatusText(code)
			if t := clip(b); t != "" {
				ae.Message += ": " + t
			}
		}
		if (code != http.StatusTooManyRequests && code != http.StatusServiceUnavailable) || try >= maxTries {
			return code, b, ae
		}
		if err := sleepCtx(ctx, backoff(try, h.Get("Retry-After"))); err != nil {
			return 0, nil, err
		}
	}
}

func (c *apiClient) once(ctx context.Context, method, path string, body []byte, hdr http.Header) (int, []byte, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return 0, nil, nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 512<<20))
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, b, resp.Header, nil
}

// backoff is the wait before try+1: Retry-After when given (capped at 30s),
// else 250ms doubling up to 8s.
func backoff(try int, retryAfter string) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(retryAfter)); err == nil && s >= 0 {
		return min(time.Duration(s)*time.Second, 30*time.Second)
	}
	if t, err := http.ParseTime(retryAfter); err == nil {
		return min(max(time.Until(t), 0), 30*time.Second)
	}
	return min(250*time.Millisecond<<(try-1), 8*time.Second)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// clip is a short one-line excerpt of a response body for messages.
func clip(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
