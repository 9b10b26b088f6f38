package monitor

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/fjaledger/fja/verify/tile"
)

// Client is the part of a log's read API a monitor uses. Nothing it
// returns is trusted: checkpoints are opened with the key, proofs and
// tiles verified. The monitor does no I/O of its own and holds no HTTP
// client: api/client implements Client over HTTP (Client.MonitorSource)
// and imports nothing of the server, so an auditor builds a monitor from
// the two; a test or another transport plugs in here.
type Client interface {
	// Checkpoint returns the log's latest signed checkpoint (GET /checkpoint).
	Checkpoint(ctx context.Context) ([]byte, error)
	// ConsistencyProof returns the RFC 6962 consistency proof between two
	// tree sizes (GET /v1/proofs/consistency). When the log answered but
	// its answer is not such a proof, the error wraps a *MalformedProofError
	// holding the answer: that is the log's own statement, evidence of
	// misbehavior. Any other error (network, timeout, HTTP status) is a
	// failure to ask, evidence of nothing.
	ConsistencyProof(ctx context.Context, from, to uint64) ([][]byte, error)
	// Fetcher fetches tiles and entry bundles (C2SP tlog-tiles).
	Fetcher() tile.Fetcher
}

// MalformedProofError is an answer to a consistency proof request that the
// log served with 200 OK but that is not the proof asked for: not the JSON
// of DESIGN.md §5, or a proof between other sizes. Body is the answer
// verbatim, for the evidence.
type MalformedProofError struct {
	URL      string
	From, To uint64
	Body     []byte
	Err      error
}

func (e *MalformedProofError) Error() string {
	return fmt.Sprintf("GET %s: the log answered 200 OK with something that is not the consistency proof from %d to %d: %v", e.URL, e.From, e.To, e.Err)
}

func (e *MalformedProofError) Unwrap() error { return e.Err }

// Source is a place checkpoints are gossiped from: another monitor's
// copy, a witness, a file kept by hand. Read returns signed checkpoints in
// the format ParseCheckpoints reads.
type Source struct {
	Name string // shown in reports and evidence
	Read func(ctx context.Context) ([]byte, error)
}

// FileSource reads gossiped checkpoints from a file (at most 64 MiB).
func FileSource(name string) Source {
	return Source{Name: name, Read: func(context.Context) ([]byte, error) {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return io.ReadAll(io.LimitReader(f, 64<<20))
	}}
}

// ParseCheckpoints splits a gossip file into signed notes. The format: one
// or more signed checkpoints, each byte for byte as GET /checkpoint serves
// it, separated by one or more blank lines. A note is its text lines, the
// one blank line that ends its text, and the signature lines after it
// ("— name base64"); the next blank line, or the next line that is not a
// signature line, ends it. Lines starting with '#' between notes are
// comments. Nothing is verified here.
func ParseCheckpoints(data []byte) [][]byte {
	var (
		notes [][]byte
		cur   []string
		sigs  int  // signature lines of cur
		inSig bool // past cur's blank line
	)
	flush := func() {
		if len(cur) > 0 {
			notes = append(notes, []byte(strings.Join(cur, "\n")+"\n"))
		}
		cur, sigs, inSig = nil, 0, false
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		switch {
		case len(cur) == 0 && (line == "" || strings.HasPrefix(line, "#")):
			// between notes
		case line == "" && !inSig:
			cur = append(cur, line)
			inSig = true
		case line == "":
			flush()
		case inSig && !strings.HasPrefix(line, "\u2014 ") && sigs > 0:
			flush()
			if !strings.HasPrefix(line, "#") {
				cur = append(cur, line)
			}
		default:
			if inSig {
				sigs++
			}
			cur = append(cur, line)
		}
	}
	flush()
	return notes
}
