package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"

	"github.com/labstack/echo/v4"

	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/ledger"
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
	_, _, loc, err := s.decisionAnywhere(c, id)
	if err != nil {
		return err
	}
	rec := loc.rec
	var d audit.Decision
	if err := json.Unmarshal(rec.Envelope.Body, &d); err != nil {
		return err
	}
	ref := d.Constitution.ID + "@" + d.Constitution.Version
	con, err := loc.book.Get(audit.KindConstitution, ref)
	if errors.Is(err, audit.ErrNotFound) && !loc.active(s) {
		return s.notOneShard(id, loc, fmt.Sprintf("the constitution it cites, %s, is logged in an earlier shard", ref))
	}
	if err != nil {
		return err // every logged decision cites a logged constitution
	}
	// Read once: every proof is against this checkpoint, the active
	// shard's current one or a frozen shard's final one.
	head := loc.log.Head()
	dp, err := provenAt(loc.log, rec, head.Size)
	if err != nil {
		return err
	}
	cp, err := provenAt(loc.log, con, head.Size)
	if err != nil {
		return err
	}
	var contests []record.ProvenContest
	if loc.active(s) {
		contests, err = provenContests(c.Request().Context(), s.cfg.Book, s.cfg.Log, id, head.Size, nil)
	} else {
		contests, err = s.frozenContests(c, id, loc, head.Size)
	}
	if err != nil {
		return err
	}
	vkey := s.cfg.VerifierKeys[0]
	if !loc.active(s) {
		vkey = s.cfg.Frozen[loc.n-1].VKey
	}
	e, err := explanation.Assemble(loc.origin, explanation.KeyName(vkey), string(head.Checkpoint),
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

// provenContests are the contests of decision id logged in the shard of
// book and l, in log order, each with its resolution once logged there,
// proven in l's tree of the given size. open, when set, is asked about a
// contest without a resolution in that shard (frozenContests).
func provenContests(ctx context.Context, book *audit.Book, l *ledger.Log, id string, size uint64, open func(cid string) error) ([]record.ProvenContest, error) {
	ids, err := book.ContestsOf(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]record.ProvenContest, 0, len(ids))
	for _, cid := range ids {
		st, err := book.ContestStatus(cid)
		if err != nil {
			return nil, err
		}
		if st.Contest.Index >= size || (st.Resolution != nil && st.Resolution.Index >= size) {
			continue // logged after the checkpoint read: the next answer has it
		}
		if st.Resolution == nil && open != nil {
			if err := open(cid); err != nil {
				return nil, err
			}
		}
		var pc record.ProvenContest
		if pc.Contest, err = provenAt(l, st.Contest, size); err != nil {
			return nil, err
		}
		if st.Resolution != nil {
			if pc.Resolution, err = provenAt(l, st.Resolution, size); err != nil {
				return nil, err
			}
		}
		out = append(out, pc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Contest.Index < out[j].Contest.Index })
	return out, nil
}

// notOneShard refuses (409 not_one_shard) the explanation of a decision
// of a frozen shard whose records are not all in that shard: an
// explanation proves every record under one checkpoint.
func (s *Server) notOneShard(id string, loc *located, why string) error {
	return errorf(http.StatusConflict, "not_one_shard", fmt.Sprintf(
		"decision %s is logged in frozen shard %d and %s; an explanation proves all its records under one checkpoint, so it is answered only when they are all in the decision's shard (GET /v1/decisions/%s/receipt and GET /v1/contests/{id} prove them one by one)", id, loc.n, why, id))
}

// frozenContests are provenContests for a decision of the frozen shard
// loc, proven against its final checkpoint of size: its contests and
// their resolutions must all be logged in that shard (notOneShard).
func (s *Server) frozenContests(c echo.Context, id string, loc *located, size uint64) ([]record.ProvenContest, error) {
	ctx := c.Request().Context()
	for n := loc.n + 1; n <= s.activeShard(); n++ { // contests filed after the freeze
		book := s.cfg.Book
		if n < s.activeShard() {
			book = s.cfg.Frozen[n-1].Book
		}
		if book == nil {
			continue
		}
		if ids, err := book.ContestsOf(ctx, id); err != nil {
			return nil, err
		} else if len(ids) > 0 {
			return nil, s.notOneShard(id, loc, fmt.Sprintf("contest %s of it is logged in shard %d", ids[0], n))
		}
	}
	// Open when frozen, but resolved since (in a later shard)?
	return provenContests(ctx, loc.book, loc.log, id, size, func(cid string) error {
		later, err := s.cfg.Book.ContestStatus(cid)
		switch {
		case err == nil && later.Resolution != nil:
			return s.notOneShard(id, loc, fmt.Sprintf("contest %s of it is resolved in a later shard", cid))
		case err != nil && !errors.Is(err, audit.ErrNotFound):
			return err
		}
		return nil
	})
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
