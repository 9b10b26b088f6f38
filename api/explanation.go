package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"

	"github.com/labstack/echo/v4"

	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/verify/explanation"
	"github.com/fjaledger/fja/verify/record"
)

// getExplanation answers GET /v1/decisions/{id}/explanation for the
// regulator, or the subject with X-Contest-Token (the standing rules of
// GET /v1/decisions/{id}): the record.Explanation of the decision, in the
// canonical bytes explanation.Verify checks, every record proven against
// the log's current checkpoint. It holds no private content, so it is not
// an access. With ?download=1 it is sent as a file to save.
func (s *Server) getExplanation(c echo.Context) error {
	id := c.Param("id")
	download := c.QueryParam("download")
	if download != "" && download != "0" && download != "1" {
		return fieldError("download", fmt.Sprintf("download is %q, want 1 (send as a file) or 0", truncate(download, 40)))
	}
	_, _, rec, err := s.decisionForReader(c, id)
	if err != nil {
		return err
	}
	var d audit.Decision
	if err := json.Unmarshal(rec.Envelope.Body, &d); err != nil {
		return err
	}
	con, err := s.cfg.Book.Get(audit.KindConstitution, d.Constitution.ID+"@"+d.Constitution.Version)
	if err != nil {
		return err // every logged decision cites a logged constitution
	}
	head := s.cfg.Log.Head() // read once: every proof is against this checkpoint
	dp, err := s.proven(rec, head.Size)
	if err != nil {
		return err
	}
	cp, err := s.proven(con, head.Size)
	if err != nil {
		return err
	}
	contests, err := s.provenContests(c, id, head.Size)
	if err != nil {
		return err
	}
	e, err := explanation.Assemble(s.cfg.Origin, explanation.KeyName(s.cfg.VerifierKeys[0]), string(head.Checkpoint),
		dp, cp, contests, s.cfg.Book.ContestWindow())
	if err != nil {
		return err
	}
	b, err := explanation.Encode(e)
	if err != nil {
		return err
	}
	if download == "1" {
		c.Response().Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="explanation-%s.json"`, safeFileName(id)))
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
}

// provenContests are the contests of decision id, in log order, each with
// its resolution once logged, proven in the tree of the given size.
func (s *Server) provenContests(c echo.Context, id string, size uint64) ([]record.ProvenContest, error) {
	ids, err := s.cfg.Book.ContestsOf(c.Request().Context(), id)
	if err != nil {
		return nil, err
	}
	out := make([]record.ProvenContest, 0, len(ids))
	for _, cid := range ids {
		st, err := s.cfg.Book.ContestStatus(cid)
		if err != nil {
			return nil, err
		}
		if st.Contest.Index >= size || (st.Resolution != nil && st.Resolution.Index >= size) {
			continue // logged after the checkpoint read: the next answer has it
		}
		var pc record.ProvenContest
		if pc.Contest, err = s.proven(st.Contest, size); err != nil {
			return nil, err
		}
		if st.Resolution != nil {
			if pc.Resolution, err = s.proven(st.Resolution, size); err != nil {
				return nil, err
			}
		}
		out = append(out, pc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Contest.Index < out[j].Contest.Index })
	return out, nil
}

// safeFileName keeps the letters, digits, '-', '_' and '.' of a decision
// id for a Content-Disposition file name.
func safeFileName(id string) string {
	b := []byte(id)
	for i, ch := range b {
		ok := ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.'
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}
