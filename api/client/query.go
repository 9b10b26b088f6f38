package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"net/url"

	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
	"github.com/fjaledger/fja/verify/recount"
)

// QueryRun is the outcome of fetching the pages of a query.
type QueryRun struct {
	Pages []*record.QueryAnswer
	// Checkpoints are each page's verified checkpoint (none when the
	// client does not verify).
	Checkpoints []*verify.Checkpoint
	// ProofErrs are the records whose proof failed, when fetched leniently.
	ProofErrs []recount.Problem
}

// QueryAll asks GET /v1/query with params, following next_cursor when all
// (a cursor sent twice is an error: paging would not end). Every page MUST
// scan the range of the first (its end may grow). When the client
// verifies, every page's checkpoint is opened with the pinned key and
// never goes backwards (the same root at the same size, a verified
// consistency proof to a larger one), and every record's leaf hash and
// inclusion proof hold against its page's checkpoint; a record that fails
// is an error, or with lenient a problem in ProofErrs.
func (c *Client) QueryAll(ctx context.Context, params url.Values, all, lenient bool) (*QueryRun, error) {
	run := &QueryRun{}
	params = maps.Clone(params)
	seen := map[string]bool{}
	var last *verify.Checkpoint
	for {
		p, _, err := c.Query(ctx, params)
		if err != nil {
			return nil, err
		}
		if len(run.Pages) > 0 {
			first := run.Pages[0].Scanned
			if p.Scanned.From != first.From || p.Scanned.To < run.Pages[len(run.Pages)-1].Scanned.To {
				return nil, fmt.Errorf("page %d scanned [%d, %d), page 1 [%d, %d): the window's range moved between pages", len(run.Pages)+1, p.Scanned.From, p.Scanned.To, first.From, first.To)
			}
		}
		if c.Verifies() {
			cp, err := c.nextCheckpoint(ctx, last, p.Checkpoint)
			if err != nil {
				return nil, err
			}
			last = cp
			if p.Scanned.To > cp.Size || p.Scanned.From > p.Scanned.To {
				return nil, fmt.Errorf("scanned range [%d, %d) is not within the checkpoint's tree of size %d", p.Scanned.From, p.Scanned.To, cp.Size)
			}
			for _, r := range p.Records {
				if err := CheckRecord(r.Index, r.Entry, r.LeafHash, r.InclusionProof, cp); err != nil {
					if !lenient {
						return nil, err
					}
					idx := r.Index
					run.ProofErrs = append(run.ProofErrs, recount.Problem{Kind: "proof", Index: &idx, Message: err.Error()})
				}
			}
			run.Checkpoints = append(run.Checkpoints, cp)
		}
		run.Pages = append(run.Pages, p)
		if !all || p.NextCursor == "" {
			return run, nil
		}
		if seen[p.NextCursor] {
			return nil, fmt.Errorf("the server sent the cursor %q twice: paging would not end", p.NextCursor)
		}
		seen[p.NextCursor] = true
		params.Set("cursor", p.NextCursor)
	}
}

// nextCheckpoint opens text with the pinned key and checks it does not go
// backwards from last (nil for none): same root at the same size, or a
// verified consistency proof from last.
func (c *Client) nextCheckpoint(ctx context.Context, last *verify.Checkpoint, text string) (*verify.Checkpoint, error) {
	cp, err := verify.OpenCheckpoint([]byte(text), c.origin, c.cfg.VerifierKey, c.cfg.OtherKeys...)
	if err != nil {
		return nil, fmt.Errorf("the answer's checkpoint does NOT verify: %w", err)
	}
	if p := last; p != nil {
		switch {
		case cp.Size < p.Size:
			return nil, fmt.Errorf("the checkpoint went backwards between pages: size %d after %d", cp.Size, p.Size)
		case cp.Size == p.Size && !bytes.Equal(cp.Hash, p.Hash):
			b64 := base64.StdEncoding.EncodeToString
			return nil, fmt.Errorf("two checkpoints of size %d with different roots %s and %s: the log forked", cp.Size, b64(p.Hash), b64(cp.Hash))
		case cp.Size > p.Size && p.Size > 0:
			if err := c.CheckConsistent(ctx, p, cp); err != nil {
				return nil, err
			}
		}
	}
	return cp, nil
}

// CheckConsistent verifies that the larger of two checkpoints (in either
// order) extends the smaller: the consistency proof between them is
// fetched and verified; none is needed for equal sizes (the roots must be
// equal) or the empty tree (its root must be SHA-256 of nothing).
func (c *Client) CheckConsistent(ctx context.Context, a, b *verify.Checkpoint) error {
	old, nw := a, b
	if old.Size > nw.Size {
		old, nw = nw, old
	}
	var proof [][]byte
	if old.Size != nw.Size && old.Size != 0 {
		var err error
		if proof, err = c.Consistency(ctx, old.Size, nw.Size); err != nil {
			return err
		}
	}
	if err := verify.Consistency(old.Size, nw.Size, proof, old.Hash, nw.Hash); err != nil {
		return fmt.Errorf("the checkpoints of sizes %d and %d are NOT consistent: %w", old.Size, nw.Size, err)
	}
	return nil
}

// CheckRecord checks that entry hashes to leafHash and is proven at idx
// in the tree of cp.
func CheckRecord(idx uint64, entry, leafHash []byte, proof [][]byte, cp *verify.Checkpoint) error {
	if lh := verify.LeafHash(entry); !bytes.Equal(lh, leafHash) {
		b64 := base64.StdEncoding.EncodeToString
		return fmt.Errorf("record %d: leaf hash %s is not the hash of the entry (%s)", idx, b64(leafHash), b64(lh))
	}
	if err := verify.Inclusion(idx, cp.Size, leafHash, proof, cp.Hash); err != nil {
		return fmt.Errorf("record %d: inclusion proof does NOT verify: %w", idx, err)
	}
	return nil
}

// OpenCheckpoint opens a signed checkpoint (as an answer carries it) with
// the pinned key.
func (c *Client) OpenCheckpoint(text string) (*verify.Checkpoint, error) {
	return c.nextCheckpoint(context.Background(), nil, text)
}
