package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/fjaledger/fja/api/client"
	rpt "github.com/fjaledger/fja/api/client/report"
	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/recount"
)

// expPageSize is the page size asked of GET /v1/query (its maximum).
const expPageSize = 1000

// expFilterNames are the filters of GET /v1/query besides the window
// (DESIGN.md §6), as flag and parameter names (flag contest-status is
// parameter contest_status).
var expFilterNames = []string{"kind", "operator", "model", "action", "category", "rule", "flag", "jurisdiction", "contest-status"}

func newExportCmd() *cobra.Command {
	var (
		format, from, to, out string
		progress              bool
		filters               = map[string]*string{}
		vo                    verifyOptions
	)
	cmd := &cobra.Command{
		Use:   "export --format jsonl --from T --to T [filters] [--out FILE|-] [--key VKEY]",
		Short: "Export the records of a time window, with proofs, as JSON lines",
		Long: `export pages through GET /v1/query (regulator --token; pages of 1000,
following next_cursor) for the records logged in [--from, --to) (RFC 3339, on
logged_at, --to exclusive) that match the filters, and writes one JSON object
per line, for loading into an analytics engine:

  {"index":I,"logged_at":"...","kind":"decision","record":{<the logged envelope:
   body, kind, logged_at, v>},"leaf_hash":"b64","inclusion_proof":["b64",...],
   "checkpoint":"<the signed checkpoint the proof is against>"}

Filters (combined with AND): --kind, --operator, --model, --action,
--category, --rule, --flag, --jurisdiction, --contest-status
(open|resolved|overdue|none).

With --key every page's checkpoint is verified with the log's verifier key,
every record's leaf hash and inclusion proof against it, and a checkpoint that
changes between pages is checked to be consistent with the one before; nothing
of a page is written before its proofs verify. In every case the records must
lie in the index range the server says it scanned, in increasing index order,
with logged_at in the window.

--out - (the default) writes to standard output; a FILE is written whole or
not at all. A progress bar over the scanned index range is drawn on stderr on
a terminal, or with --progress. Only --format jsonl exists.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "jsonl" {
				return usageErrorf("--format %q is not supported: only jsonl", format)
			}
			fromT, toT, err := rptWindow(from, to)
			if err != nil {
				return err
			}
			e := &expRunner{g: globals(cmd), from: fromT, to: toT, errw: cmd.ErrOrStderr(), progress: progress}
			e.c = e.g.client()
			e.params = url.Values{"from": {rpt.Time(fromT)}, "to": {rpt.Time(toT)}, "limit": {strconv.Itoa(expPageSize)}}
			for _, name := range expFilterNames {
				if v := *filters[name]; v != "" {
					e.params.Set(expFilterParam(name), v)
				}
			}
			if _, err := paramsQuery(e.params); err != nil {
				return err
			}
			if len(vo.keys) > 0 {
				origin, key, others, err := vo.resolve()
				if err != nil {
					return err
				}
				e.keys = &rpt.Keys{Origin: origin, Key: key, Others: others}
			}
			var res *expResult
			if out == "-" {
				w := bufio.NewWriterSize(cmd.OutOrStdout(), 1<<16)
				if res, err = e.run(cmd.Context(), w); err != nil {
					w.Flush()
					return err
				}
				if err := w.Flush(); err != nil {
					return err
				}
			} else {
				if res, err = e.toFile(cmd.Context(), out); err != nil {
					return err
				}
			}
			msg := fmt.Sprintf("exported %d records from entries [%d, %d) at checkpoint size %d", res.Records, res.Scanned.From, res.Scanned.To, res.Size)
			if e.keys != nil {
				msg += ", every proof verified"
			}
			if out == "-" {
				fmt.Fprintln(cmd.ErrOrStderr(), msg)
				return nil
			}
			return printResult(cmd, map[string]any{"out": out, "records": res.Records, "scanned": res.Scanned, "size": res.Size, "verified": e.keys != nil},
				msg+" to "+out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "jsonl", "output format: jsonl (the only one)")
	f.StringVar(&from, "from", "", "start of the window, RFC 3339, on logged_at (required)")
	f.StringVar(&to, "to", "", "end of the window, RFC 3339, exclusive (required)")
	f.StringVar(&out, "out", "-", "write to `FILE` (- for standard output)")
	f.BoolVar(&progress, "progress", false, "draw a progress bar on stderr even if it is not a terminal")
	for _, name := range expFilterNames {
		filters[name] = f.String(name, "", "only records with this "+expFilterParam(name))
	}
	f.Lookup("kind").Usage = "only records of this `kind`: decision, constitution, contest, resolution or access (default: every kind; name the file after what it holds)"
	vo.register(cmd)
	f.Lookup("key").Usage = "verify every checkpoint and proof with the log verifier `key` (vkey text, or a file holding it); repeatable" // optional here
	return cmd
}

func expFilterParam(flag string) string {
	if flag == "contest-status" {
		return "contest_status"
	}
	return flag
}

// expLine is one line of the export.
type expLine struct {
	Index          uint64          `json:"index"`
	LoggedAt       string          `json:"logged_at"`
	Kind           string          `json:"kind"`
	Record         json.RawMessage `json:"record"`
	LeafHash       []byte          `json:"leaf_hash"`
	InclusionProof [][]byte        `json:"inclusion_proof"`
	Checkpoint     string          `json:"checkpoint"`
}

type expResult struct {
	Records int
	Scanned recount.Range
	Size    uint64 // of the last checkpoint
}

type expRunner struct {
	c        *client.Client
	g        globalOptions
	keys     *rpt.Keys
	params   url.Values
	from, to time.Time
	errw     io.Writer
	progress bool
}

// toFile exports to name through a temporary file renamed on success.
func (e *expRunner) toFile(ctx context.Context, name string) (res *expResult, err error) {
	err = writeFileWith(name, func(w io.Writer) error {
		res, err = e.run(ctx, w)
		return err
	})
	return res, err
}

func (e *expRunner) run(ctx context.Context, w io.Writer) (*expResult, error) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	var (
		res     expResult
		bar     *progressbar.ProgressBar
		prevCP  *rpt.Checkpoint
		cursor  string
		next    uint64 // the least index the next record may have
		started bool
	)
	defer func() {
		if bar != nil {
			_ = bar.Finish()
		}
	}()
	for page := 1; ; page++ {
		q := url.Values{}
		for k, v := range e.params {
			q[k] = v
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		path := "/v1/query?" + q.Encode()
		_, body, err := e.c.Do(ctx, http.MethodGet, path, nil, nil)
		if err != nil {
			return nil, serverErr("GET", path, err)
		}
		var p queryPage
		if err := json.Unmarshal(body, &p); err != nil {
			return nil, fmt.Errorf("GET %s: %w", path, err)
		}
		cp, err := rpt.ParseCheckpoint(p.Checkpoint, e.keys)
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", page, err)
		}
		if p.Scanned.From > p.Scanned.To || p.Scanned.To > cp.Size {
			return nil, fmt.Errorf("page %d: scanned range [%d, %d) does not lie in the tree of size %d", page, p.Scanned.From, p.Scanned.To, cp.Size)
		}
		if !started {
			started = true
			res.Scanned = p.Scanned
			next = p.Scanned.From
			if e.progress || isTerminal(e.errw) {
				bar = newBar(e.errw, int64(p.Scanned.To-p.Scanned.From), "export", "entries")
			}
		} else if p.Scanned != res.Scanned {
			return nil, fmt.Errorf("page %d covers entries [%d, %d), page 1 covered [%d, %d): the log grew inside the window; use a --to in the past",
				page, p.Scanned.From, p.Scanned.To, res.Scanned.From, res.Scanned.To)
		}
		if prevCP != nil && prevCP.Text != cp.Text {
			if cp.Size < prevCP.Size {
				return nil, fmt.Errorf("page %d: the checkpoint went back from size %d to %d", page, prevCP.Size, cp.Size)
			}
			if e.keys != nil {
				if err := rpt.Consistent(ctx, e.c, *prevCP, cp); err != nil {
					return nil, fmt.Errorf("page %d: %w", page, err)
				}
			}
		}
		prevCP = &cp
		res.Size = cp.Size

		// check the whole page before writing any of it
		lines := make([]expLine, len(p.Records))
		for i, r := range p.Records {
			if r.Index < next || r.Index >= p.Scanned.To {
				return nil, fmt.Errorf("page %d: record index %d is out of order or outside the scanned range [%d, %d)", page, r.Index, p.Scanned.From, p.Scanned.To)
			}
			next = r.Index + 1
			if e.keys != nil {
				if lh := verify.LeafHash(r.Entry); !bytes.Equal(lh, r.LeafHash) {
					return nil, fmt.Errorf("entry %d does NOT verify: leaf hash %s is not the hash of the entry (%s)", r.Index, b64(r.LeafHash), b64(lh))
				}
				if err := verify.Inclusion(r.Index, cp.Size, r.LeafHash, r.InclusionProof, cp.RootHash()); err != nil {
					return nil, fmt.Errorf("entry %d does NOT verify against the checkpoint of size %d: %w", r.Index, cp.Size, err)
				}
			}
			var env struct {
				Kind     string `json:"kind"`
				LoggedAt string `json:"logged_at"`
			}
			if err := json.Unmarshal(r.Entry, &env); err != nil {
				return nil, fmt.Errorf("entry %d is not a JSON envelope: %w", r.Index, err)
			}
			at, err := time.Parse(time.RFC3339Nano, env.LoggedAt)
			if err != nil || at.Before(e.from) || !at.Before(e.to) {
				return nil, fmt.Errorf("entry %d was logged at %q, outside the window [%s, %s)", r.Index, env.LoggedAt, rpt.Time(e.from), rpt.Time(e.to))
			}
			if k := e.params.Get("kind"); k != "" && env.Kind != k {
				return nil, fmt.Errorf("entry %d is a %s, not a %s", r.Index, env.Kind, k)
			}
			lines[i] = expLine{Index: r.Index, LoggedAt: env.LoggedAt, Kind: env.Kind, Record: r.Entry,
				LeafHash: r.LeafHash, InclusionProof: r.InclusionProof, Checkpoint: p.Checkpoint}
		}
		for _, l := range lines {
			if err := enc.Encode(l); err != nil {
				return nil, err
			}
			res.Records++
		}
		if p.NextCursor == "" {
			if bar != nil {
				_ = bar.Set64(int64(p.Scanned.To - p.Scanned.From))
			}
			return &res, nil
		}
		if p.NextCursor == cursor {
			return nil, fmt.Errorf("page %d: the server answered the same cursor %q again", page, cursor)
		}
		cursor = p.NextCursor
		if bar != nil && next > p.Scanned.From {
			_ = bar.Set64(int64(next - p.Scanned.From))
		}
	}
}
