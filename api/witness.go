package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/verify"
)

// Cosigned is the source of witness-cosigned checkpoints
// (*github.com/fjaledger/fja/ledger/witness.Cosigner).
type Cosigned interface {
	// Latest is the latest checkpoint that satisfies the witness policy,
	// with its size (nil, 0: none yet).
	Latest() (checkpoint []byte, size uint64)
	// WaitCosigned returns once a checkpoint of at least size satisfies
	// the policy.
	WaitCosigned(ctx context.Context, size uint64) ([]byte, uint64, error)
}

// WitnessMode says what the server does when no cosigned checkpoint covers
// what it must answer.
type WitnessMode string

const (
	// WitnessOpen (fail-open): serve the log-signed checkpoint, and
	// receipts against it, when no cosigned one covers the entry.
	WitnessOpen WitnessMode = "open"
	// WitnessClosed (fail-closed): appends wait for a cosigned checkpoint
	// covering the new entry (503 with Retry-After past WitnessWait), and
	// only cosigned checkpoints are served.
	WitnessClosed WitnessMode = "closed"
)

const defaultWitnessWait = 10 * time.Second

// codeNotWitnessed is the error code of fail-closed mode's 503.
const codeNotWitnessed = "not_witnessed"

func (s *Server) closed() bool { return s.cfg.Witness != nil && s.cfg.WitnessMode == WitnessClosed }

func (s *Server) witnessWait() time.Duration {
	if s.cfg.WitnessWait > 0 {
		return s.cfg.WitnessWait
	}
	return defaultWitnessWait
}

// errNotCosigned is the 503 of fail-closed mode (with Retry-After, set
// for every 503 by errorHandler).
func (s *Server) errNotCosigned(what string) error {
	return errorf(http.StatusServiceUnavailable, codeNotWitnessed,
		what+": no checkpoint satisfying the witness policy yet; retry later")
}

// servedCheckpoint is the checkpoint GET /checkpoint serves (see
// ServedCheckpoint); fail-closed with no cosigned checkpoint yet, a 503.
func (s *Server) servedCheckpoint() ([]byte, error) {
	cp, _ := ServedCheckpoint(s.cfg.Log, s.cfg.Witness, s.cfg.WitnessMode)
	if cp == nil {
		return nil, s.errNotCosigned("checkpoint")
	}
	return cp, nil
}

// ServedCheckpoint is the checkpoint GET /checkpoint serves for log l and
// cosigner w (nil: no witnessing), with its tree size: the cosigned
// checkpoint of the current head when there is one; else, fail-open, the
// log-signed head, and fail-closed, the latest cosigned checkpoint (nil, 0
// while there is none). The publisher mirrors the same (ledgerd --publish).
func ServedCheckpoint(l *ledger.Log, w Cosigned, mode WitnessMode) ([]byte, uint64) {
	head := l.Head()
	if w == nil {
		return head.Checkpoint, head.Size
	}
	cp, size := w.Latest()
	switch {
	case cp != nil && size == head.Size:
		return cp, size
	case mode != WitnessClosed:
		return head.Checkpoint, head.Size
	}
	return cp, size
}

// cosignedReceipt makes the receipt of entry idx (entry bytes given)
// against the latest cosigned checkpoint, waiting for one that covers idx
// when wait is set (fail-closed). ok is false when there is no cosigning,
// or (not waiting) no cosigned checkpoint covers idx.
func (s *Server) cosignedReceipt(ctx context.Context, idx uint64, entry []byte, wait bool) (r *verify.Receipt, ok bool, err error) {
	if s.cfg.Witness == nil {
		return nil, false, nil
	}
	cp, size := s.cfg.Witness.Latest()
	if size <= idx || cp == nil {
		if !wait {
			return nil, false, nil
		}
		wctx, cancel := context.WithTimeout(ctx, s.witnessWait())
		defer cancel()
		cp, size, err = s.cfg.Witness.WaitCosigned(wctx, idx+1)
		if err != nil {
			if ctx.Err() != nil {
				return nil, false, ctx.Err()
			}
			s.cfg.Logger.Warn("no cosigned checkpoint in time", "index", idx, "waited", s.witnessWait(), "err", err)
			return nil, false, s.errNotCosigned(fmt.Sprintf("entry %d is logged", idx))
		}
	}
	proof, err := s.cfg.Log.InclusionProof(idx, size)
	if err != nil {
		return nil, false, err
	}
	return NewReceipt(s.cfg.Origin, &ledger.Ack{Index: idx, Entry: entry, LeafHash: ledger.LeafHash(entry),
		Checkpoint: cp, Size: size, Proof: proof}), true, nil
}

// witnessed replaces r (an append's receipt) by one against a cosigned
// checkpoint: fail-closed, waiting for one that covers the entry; fail-open,
// only if one already does.
//
// An append is committed before this runs, so it is never answered as a
// failure: fail-closed, when no cosigned checkpoint covers it within
// WitnessWait, r itself (log-signed) is returned with pending set, and the
// cosigned receipt follows from GET /v1/decisions/{id}/receipt. (A 503
// here would cost the subject the one-time contest token in r.)
func (s *Server) witnessed(ctx context.Context, r *verify.Receipt) (w *verify.Receipt, pending bool, err error) {
	w, ok, err := s.cosignedReceipt(ctx, r.Index, r.Entry, s.closed())
	var e *Error
	switch {
	case errors.As(err, &e) && e.Code == codeNotWitnessed:
		return r, true, nil
	case err != nil:
		return nil, false, err
	case !ok:
		return r, false, nil
	}
	w.ContestToken = r.ContestToken
	return w, false, nil
}

// HeaderWitness is the response header of an append answered in
// fail-closed mode before its cosigned checkpoint existed: "pending".
const HeaderWitness = "Fja-Witness"

func (s *Server) checkpoint(c echo.Context) error {
	cp, err := s.servedCheckpoint()
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, cacheShort)
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", cp)
}
