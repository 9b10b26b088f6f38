package api

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/verify/record"
)

// DecisionView is the body of GET /v1/decisions/{id}.
type DecisionView = record.DecisionView

// getDecision answers the regulator, or the subject proving standing with
// the contest token in X-Contest-Token. A wrong token and an unknown id get
// the same 404, so ids cannot be probed.
//
// The regulator's read of a decision with private content is a private
// read: it needs the X-Access-Purpose header (400 naming it otherwise, and
// no content), and the content is answered only once an access record of
// the read is logged. The subject sees every logged access to the
// decision's private content (who, when, why).
//
// A decision in a frozen shard is answered from that shard (its proof
// against the shard's final checkpoint), without private content: an
// access record naming a record of another shard is not defined.
func (s *Server) getDecision(c echo.Context) error {
	id := c.Param("id")
	who, regulator, loc, err := s.decisionAnywhere(c, id)
	if err != nil {
		return err
	}
	rec := loc.rec
	ctx := c.Request().Context()
	var private map[string]string
	if regulator && loc.active(s) {
		p, err := s.cfg.Book.Private(audit.KindDecision, id)
		if err != nil && !errors.Is(err, audit.ErrNotFound) {
			return err
		}
		private = p
	}
	var purpose string
	if private != nil {
		if purpose, err = accessPurpose(c); err != nil {
			return err
		}
	}
	r, err := s.receiptIn(ctx, loc)
	if err != nil {
		return err
	}
	env, _ := json.Marshal(rec.Envelope)
	v := DecisionView{DecisionID: id, Index: rec.Index, Entry: r.Entry, LeafHash: r.LeafHash, Record: env,
		Checkpoint: r.Checkpoint, InclusionProof: r.InclusionProof}
	if private != nil {
		read := []audit.AccessedRecord{{Kind: audit.KindDecision, ID: id, Index: rec.Index}}
		if v.AccessReceipt, err = s.logAccess(ctx, who, purpose, "GET /v1/decisions/{id}", read); err != nil {
			return err
		}
		v.Private = private
	}
	if !regulator {
		if v.Accesses, v.AccessesTruncated, err = loc.book.Accesses(ctx, rec.Index); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, v)
}

// decisionAnywhere authenticates a read of decision id by the regulator,
// or by the subject proving standing with the contest token in
// X-Contest-Token (compared in constant time). A wrong token and an
// unknown id get the same 404, so ids cannot be probed; another role is
// 403, no credential at all 401.
//
// The decision is looked up in every shard (findRecord).
func (s *Server) decisionAnywhere(c echo.Context, id string) (who *auth.Entry, regulator bool, loc *located, err error) {
	if who, err = s.authenticate(c); err != nil {
		return nil, false, nil, err
	}
	regulator = who != nil && who.Role == auth.Regulator
	token := c.Request().Header.Get("X-Contest-Token")
	switch {
	case regulator:
	case token != "":
	case who != nil:
		return nil, false, nil, errorf(http.StatusForbidden, "forbidden", "token "+who.Name+" has role "+string(who.Role)+"; this route needs regulator, or the subject's X-Contest-Token")
	default:
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="fja-ledger"`)
		return nil, false, nil, errorf(http.StatusUnauthorized, "unauthorized", "this route needs a regulator bearer token or the subject's X-Contest-Token")
	}
	unknown := notFound("no decision " + id + " for this token")
	loc, err = s.findRecord(audit.KindDecision, id)
	if errors.Is(err, audit.ErrNotFound) {
		return nil, false, nil, unknown
	}
	if err != nil {
		return nil, false, nil, err
	}
	if !regulator {
		var d audit.Decision
		if err := json.Unmarshal(loc.rec.Envelope.Body, &d); err != nil {
			return nil, false, nil, err
		}
		want := ""
		if d.Contest != nil {
			want = d.Contest.TokenSHA256
		}
		if subtle.ConstantTimeCompare([]byte(audit.TokenHash(token)), []byte(want)) != 1 {
			return nil, false, nil, unknown
		}
	}
	return who, regulator, loc, nil
}
