package report

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/url"
	"time"

	"github.com/fjaledger/fja/api/client"
	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
)

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

// ExportResult is what an export wrote.
type ExportResult struct {
	Records int
	Scanned record.Range
	Size    uint64 // of the last checkpoint
}

// Summary is the line said of an export: the records, the range scanned
// and the checkpoint's size, and, when verified, that every proof was.
func (r *ExportResult) Summary(verified bool) string {
	msg := fmt.Sprintf("exported %d records from entries [%d, %d) at checkpoint size %d", r.Records, r.Scanned.From, r.Scanned.To, r.Size)
	if verified {
		msg += ", every proof verified"
	}
	return msg
}

// Exporter writes the records of a window, with proofs, as JSON lines:
// one {"index","logged_at","kind","record","leaf_hash","inclusion_proof",
// "checkpoint"} per record. Every page MUST cover the range of the first;
// the records MUST lie in it, in increasing index order, with logged_at
// in [From, To) and of the kind asked. With Keys every page's checkpoint
// is verified, each record's leaf hash and inclusion proof against it,
// and a checkpoint that changes between pages is checked consistent with
// the one before; nothing of a page is written before its proofs verify.
type Exporter struct {
	Client   *client.Client
	Keys     *Keys
	Params   url.Values // the query parameters: window, filters, limit
	From, To time.Time
	// Progress, when set, is told the entries of the scanned range done
	// and their total.
	Progress func(done, total uint64)
}

// Run writes the export to w.
func (e *Exporter) Run(ctx context.Context, w io.Writer) (*ExportResult, error) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	var (
		res     ExportResult
		prevCP  *Checkpoint
		cursor  string
		next    uint64 // the least index the next record may have
		started bool
	)
	progress := func(done, total uint64) {
		if e.Progress != nil {
			e.Progress(done, total)
		}
	}
	for page := 1; ; page++ {
		q := maps.Clone(e.Params)
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		p, _, err := e.Client.Query(ctx, q)
		if err != nil {
			return nil, err
		}
		cp, err := ParseCheckpoint(p.Checkpoint, e.Keys)
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
			progress(0, p.Scanned.To-p.Scanned.From)
		} else if p.Scanned != res.Scanned {
			return nil, fmt.Errorf("page %d covers entries [%d, %d), page 1 covered [%d, %d): the log grew inside the window; use a --to in the past",
				page, p.Scanned.From, p.Scanned.To, res.Scanned.From, res.Scanned.To)
		}
		if prevCP != nil && prevCP.Text != cp.Text {
			if cp.Size < prevCP.Size {
				return nil, fmt.Errorf("page %d: the checkpoint went back from size %d to %d", page, prevCP.Size, cp.Size)
			}
			if e.Keys != nil {
				if err := Consistent(ctx, e.Client, *prevCP, cp); err != nil {
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
			if e.Keys != nil {
				if lh := verify.LeafHash(r.Entry); !bytes.Equal(lh, r.LeafHash) {
					return nil, fmt.Errorf("entry %d does NOT verify: leaf hash %s is not the hash of the entry (%s)", r.Index, base64.StdEncoding.EncodeToString(r.LeafHash), base64.StdEncoding.EncodeToString(lh))
				}
				if err := verify.Inclusion(r.Index, cp.Size, r.LeafHash, r.InclusionProof, cp.RootHash()); err != nil {
					return nil, fmt.Errorf("entry %d does NOT verify against the checkpoint of size %d: %w", r.Index, cp.Size, err)
				}
			}
			var env record.Envelope
			if err := json.Unmarshal(r.Entry, &env); err != nil {
				return nil, fmt.Errorf("entry %d is not a JSON envelope: %w", r.Index, err)
			}
			at, err := time.Parse(time.RFC3339Nano, env.LoggedAt)
			if err != nil || at.Before(e.From) || !at.Before(e.To) {
				return nil, fmt.Errorf("entry %d was logged at %q, outside the window [%s, %s)", r.Index, env.LoggedAt, Time(e.From), Time(e.To))
			}
			if k := e.Params.Get("kind"); k != "" && string(env.Kind) != k {
				return nil, fmt.Errorf("entry %d is a %s, not a %s", r.Index, env.Kind, k)
			}
			lines[i] = expLine{Index: r.Index, LoggedAt: env.LoggedAt, Kind: string(env.Kind), Record: r.Entry,
				LeafHash: r.LeafHash, InclusionProof: r.InclusionProof, Checkpoint: p.Checkpoint}
		}
		for _, l := range lines {
			if err := enc.Encode(l); err != nil {
				return nil, err
			}
			res.Records++
		}
		if p.NextCursor == "" {
			progress(p.Scanned.To-p.Scanned.From, p.Scanned.To-p.Scanned.From)
			return &res, nil
		}
		if p.NextCursor == cursor {
			return nil, fmt.Errorf("page %d: the server answered the same cursor %q again", page, cursor)
		}
		cursor = p.NextCursor
		if next > p.Scanned.From {
			progress(next-p.Scanned.From, p.Scanned.To-p.Scanned.From)
		}
	}
}
