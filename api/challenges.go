package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/verify/record"
)

// challengeRoutes: a rule is challenged by the subject of a decision citing
// it (its contest token in the body, no bearer token) or by a stakeholder;
// a reviewer answers; operators and stakeholders propose amendments. The
// challenger, reviewers and regulators read a challenge's state.
func (s *Server) challengeRoutes() {
	e := s.echo
	limit := s.limitToken
	body := middleware.BodyLimit(fmt.Sprint(s.cfg.MaxBodyBytes) + "B")
	e.POST("/v1/challenges", s.postChallenge, limit, body)
	e.GET("/v1/challenges/:id", s.getChallenge, limit)
	e.POST("/v1/challenges/:id/response", s.postChallengeResponse, limit, s.requireRole(auth.Reviewer), body)
	e.POST("/v1/amendments", s.postAmendment, limit, s.requireRole(auth.Operator, auth.Stakeholder), body)
}

// postChallenge files a challenge. With contest_token in the body the
// subject's standing is checked by audit (a wrong token is the same 404
// as an unknown decision); without it the caller needs a stakeholder
// bearer token (401 without a token, 403 with one of another role).
func (s *Server) postChallenge(c echo.Context) error {
	who, err := s.authenticate(c)
	if err != nil {
		return err
	}
	raw, err := readBody(c)
	if err != nil {
		return err
	}
	var standing struct {
		ContestToken string `json:"contest_token"`
	}
	// A body that does not decode is left to audit's validation (400).
	if json.Unmarshal(raw, &standing) == nil && standing.ContestToken == "" {
		switch {
		case who == nil:
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="fja-ledger"`)
			return errorf(http.StatusUnauthorized, "unauthorized", "a challenge needs decision_id and contest_token of a decision citing the rule, or a stakeholder bearer token")
		case who.Role != auth.Stakeholder:
			return errorf(http.StatusForbidden, "forbidden", "token "+who.Name+" has role "+string(who.Role)+"; a challenge needs a stakeholder token, or the contest_token of a decision citing the rule")
		}
	}
	stakeholder := ""
	if who != nil && who.Role == auth.Stakeholder {
		stakeholder = who.Name
	}
	a, ch, err := s.cfg.Book.FileChallenge(c.Request().Context(), raw, stakeholder)
	if err != nil {
		return err
	}
	rc, err := s.receiptOf(c, a)
	if err != nil {
		return err
	}
	return c.JSON(status(a), record.ChallengeFiled{Receipt: rc, ChallengeID: a.ID, DueBy: ch.DueBy})
}

func (s *Server) postChallengeResponse(c echo.Context) error {
	raw, err := readBody(c)
	if err != nil {
		return err
	}
	a, r, err := s.cfg.Book.RespondChallenge(c.Request().Context(), c.Param("id"), raw)
	if err != nil {
		return err
	}
	rc, err := s.receiptOf(c, a)
	if err != nil {
		return err
	}
	return c.JSON(status(a), record.ChallengeResponseLogged{Receipt: rc, ChallengeID: a.ID, Outcome: r.Outcome, AmendmentID: r.AmendmentID})
}

func (s *Server) postAmendment(c echo.Context) error {
	raw, err := readBody(c)
	if err != nil {
		return err
	}
	a, am, err := s.cfg.Book.ProposeAmendment(c.Request().Context(), raw)
	if err != nil {
		return err
	}
	rc, err := s.receiptOf(c, a)
	if err != nil {
		return err
	}
	return c.JSON(status(a), record.AmendmentLogged{Receipt: rc, AmendmentID: a.ID, Constitution: am.Constitution.Ref(), CommentUntil: am.CommentUntil})
}

// getChallenge answers a challenge's state to reviewers and regulators,
// to the stakeholder token that filed it, and to the subject whose
// decision gave standing (X-Contest-Token); to anyone else, the same 404
// as an unknown id.
func (s *Server) getChallenge(c echo.Context) error {
	id := c.Param("id")
	who, staff, token, err := s.staffOrSubject(c, auth.Stakeholder)
	if err != nil {
		return err
	}
	stakeholder := who != nil && who.Role == auth.Stakeholder
	unknown := notFound("no challenge " + id + " for this token")
	st, err := s.cfg.Book.ChallengeStatus(id)
	if errors.Is(err, audit.ErrNotFound) {
		return unknown
	}
	if err != nil {
		return err
	}
	if !staff {
		sd := st.Body.Standing
		filer := stakeholder && sd.Basis == record.StandingStakeholder && sd.Stakeholder == who.Name
		subject := token != "" && sd.Decision != nil && s.cfg.Book.CheckToken(sd.Decision.DecisionID, token)
		if !filer && !subject {
			return unknown
		}
	}
	head := s.cfg.Log.Head()
	v := record.ChallengeView{ChallengeID: id, Rule: st.Body.Rule, Status: st.Status, DueBy: st.Body.DueBy,
		FiledAt: st.Challenge.Envelope.LoggedAt, Checkpoint: string(head.Checkpoint)}
	if v.Challenge, err = s.proven(st.Challenge, head.Size); err != nil {
		return err
	}
	if st.Response != nil {
		v.Outcome, v.AmendmentID = st.ResponseBody.Outcome, st.ResponseBody.AmendmentID
		if v.Response, err = s.proven(st.Response, head.Size); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, v)
}

// staffOrSubject admits a read open to reviewers and regulators (staff),
// to tokens of the roles also (whose standing the handler checks), and to
// the subject's X-Contest-Token (token, which the handler checks): no
// token at all is 401, a bearer token of another role 403.
func (s *Server) staffOrSubject(c echo.Context, also ...auth.Role) (who *auth.Entry, staff bool, token string, err error) {
	who, err = s.authenticate(c)
	if err != nil {
		return nil, false, "", err
	}
	token = c.Request().Header.Get("X-Contest-Token")
	staff = who != nil && (who.Role == auth.Reviewer || who.Role == auth.Regulator)
	roles := rolesText(append([]auth.Role{auth.Reviewer, auth.Regulator}, also...))
	switch {
	case staff, token != "", who != nil && slices.Contains(also, who.Role):
		return who, staff, token, nil
	case who != nil:
		return nil, false, "", errorf(http.StatusForbidden, "forbidden", "token "+who.Name+" has role "+string(who.Role)+"; this route needs "+roles+", or the subject's X-Contest-Token")
	}
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="fja-ledger"`)
	return nil, false, "", errorf(http.StatusUnauthorized, "unauthorized", "this route needs a "+roles+" bearer token, or the subject's X-Contest-Token")
}
