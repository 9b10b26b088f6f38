package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
)

// contestRoutes: the subject files with the decision's contest token (no
// bearer token); a reviewer resolves; the subject, reviewers and
// regulators read the state.
func (s *Server) contestRoutes(limit, body echo.MiddlewareFunc) {
	e := s.echo
	e.POST("/v1/contests", s.postContest, limit, body)
	e.POST("/v1/contests/:id/resolution", s.postResolution, limit, s.requireRole(auth.Reviewer), body)
	e.GET("/v1/contests/:id", s.getContest, limit)
	e.DELETE("/v1/contests/:id/private", s.deleteContestPrivate, s.requireRole(auth.Operator), limit)
}

// deleteContestPrivate erases a contest's grounds text (crypto-shred, as
// DELETE /v1/decisions/{id}/private does for a decision): 404 when the
// contest is unknown or its grounds are erased already.
func (s *Server) deleteContestPrivate(c echo.Context) error {
	id := c.Param("id")
	if err := s.cfg.Book.ErasePrivate(audit.KindContest, id); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"contest_id": id, "erased": true})
}

// ContestFiled is the body of a 201 from POST /v1/contests.
type ContestFiled = record.ContestFiled

func (s *Server) postContest(c echo.Context) error {
	raw, err := readBody(c)
	if err != nil {
		return err
	}
	a, ct, err := s.cfg.Book.FileContest(c.Request().Context(), raw)
	if err != nil {
		return err
	}
	rc, err := s.receiptOf(c, a)
	if err != nil {
		return err
	}
	return c.JSON(status(a), ContestFiled{Receipt: rc, ContestID: a.ID, DueBy: ct.DueBy})
}

// ResolutionLogged is the body of a 201 from POST /v1/contests/{id}/resolution.
type ResolutionLogged = record.ResolutionLogged

func (s *Server) postResolution(c echo.Context) error {
	raw, err := readBody(c)
	if err != nil {
		return err
	}
	a, r, err := s.cfg.Book.Resolve(c.Request().Context(), c.Param("id"), raw)
	if err != nil {
		return err
	}
	rc, err := s.receiptOf(c, a)
	if err != nil {
		return err
	}
	return c.JSON(status(a), ResolutionLogged{Receipt: rc, ContestID: a.ID, Outcome: r.Outcome})
}

// RecordProof is a logged record with its inclusion proof.
type RecordProof = record.RecordProof

// ContestView is the body of GET /v1/contests/{id}: both records proven
// against one checkpoint.
type ContestView = record.ContestView

func (s *Server) getContest(c echo.Context) error {
	id := c.Param("id")
	_, staff, token, err := s.staffOrSubject(c)
	if err != nil {
		return err
	}
	unknown := notFound("no contest " + id + " for this token")
	st, err := s.cfg.Book.ContestStatus(id)
	if errors.Is(err, audit.ErrNotFound) {
		return unknown
	}
	if err != nil {
		return err
	}
	if !staff && !s.cfg.Book.CheckToken(st.Body.Decision.DecisionID, token) {
		return unknown
	}
	head := s.cfg.Log.Head()
	v := ContestView{ContestID: id, DecisionID: st.Body.Decision.DecisionID, Status: st.Status, DueBy: st.Body.DueBy,
		FiledAt: st.Contest.Envelope.LoggedAt, Checkpoint: string(head.Checkpoint)}
	if v.Contest, err = s.provenIn(st.Shard, st.Contest, head.Size); err != nil {
		return err
	}
	if st.Resolution != nil {
		if v.Resolution, err = s.provenIn(st.ResolutionShard, st.Resolution, head.Size); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) proven(rec *audit.Record, size uint64) (*RecordProof, error) {
	return provenAt(s.cfg.Log, rec, size)
}

// provenIn proves rec: against the active shard at size when in is nil,
// else against the final checkpoint of the frozen shard in is.
func (s *Server) provenIn(in *audit.EarlierShard, rec *audit.Record, size uint64) (*RecordProof, error) {
	if in == nil {
		return s.proven(rec, size)
	}
	for _, f := range s.cfg.Frozen {
		if f.Origin == in.Origin {
			head := f.Log.Head()
			p, err := provenAt(f.Log, rec, head.Size)
			if err != nil {
				return nil, err
			}
			p.Shard, p.Checkpoint = f.N, string(head.Checkpoint)
			return p, nil
		}
	}
	return nil, fmt.Errorf("api: no frozen shard has origin %q", in.Origin)
}

func provenAt(l *ledger.Log, rec *audit.Record, size uint64) (*RecordProof, error) {
	p, err := l.InclusionProof(rec.Index, size)
	if err != nil {
		return nil, err
	}
	return &RecordProof{Index: rec.Index, Entry: rec.Entry, LeafHash: verify.LeafHash(rec.Entry), InclusionProof: nonNil(p), Record: rec.Envelope}, nil
}
