package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/ledger"
)

// QueryRecord is one record of a query answer, proven against the answer's
// checkpoint.
type QueryRecord struct {
	Index          uint64   `json:"index"`
	Entry          []byte   `json:"entry"`
	LeafHash       []byte   `json:"leaf_hash"`
	InclusionProof [][]byte `json:"inclusion_proof"`
	// Private is the record's private content (decision prompt and
	// response, contest grounds), with private=true, while not erased.
	Private map[string]string `json:"private,omitempty"`
}

// QueryAnswer is the body of GET /v1/query.
type QueryAnswer struct {
	Records    []QueryRecord `json:"records"`
	Checkpoint string        `json:"checkpoint"`
	Scanned    Scanned       `json:"scanned"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// getQuery answers the regulator with the matching records of the window,
// each with its inclusion proof against one checkpoint, and the index
// range [from, to) that exactly covers the window, so that anyone can
// re-scan it from the public tiles and check nothing was left out.
func (s *Server) getQuery(c echo.Context) error {
	if _, err := s.roleOf(c, auth.Regulator); err != nil {
		return err
	}
	f, err := parseFilter(c)
	if err != nil {
		return err
	}
	limit := 100
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return badRequest(fmt.Sprintf("limit is %q, want a whole number 1..1000", truncate(v, 20)))
		}
		limit = n
	}
	withPrivate := false
	switch v := c.QueryParam("private"); v {
	case "", "false":
	case "true":
		withPrivate = true
	default:
		return badRequest(fmt.Sprintf("private is %q, want true or false", truncate(v, 20)))
	}
	var cursor uint64
	if v := c.QueryParam("cursor"); v != "" {
		if cursor, err = parseUint("cursor", v); err != nil {
			return err
		}
	}
	res, err := s.cfg.Book.Query(c.Request().Context(), f, c.QueryParam("kind"), cursor, limit)
	if err != nil {
		return err
	}
	proofs, err := s.cfg.Log.InclusionProofs(res.Indices, res.Head.Size)
	if err != nil {
		return err
	}
	ans := QueryAnswer{Records: make([]QueryRecord, 0, len(res.Indices)), Checkpoint: string(res.Head.Checkpoint),
		Scanned: Scanned{From: res.From, To: res.To}}
	for i, idx := range res.Indices {
		es, err := s.cfg.Log.Entries(idx, 1)
		if err != nil {
			return err
		}
		rec := QueryRecord{Index: idx, Entry: es[0], LeafHash: ledger.LeafHash(es[0]), InclusionProof: nonNil(proofs[i])}
		if withPrivate {
			if rec.Private, err = s.privateOf(es[0]); err != nil {
				return err
			}
		}
		ans.Records = append(ans.Records, rec)
	}
	if res.More {
		ans.NextCursor = strconv.FormatUint(res.Next, 10)
	}
	return c.JSON(http.StatusOK, ans)
}

// roleOf requires a bearer token of role.
func (s *Server) roleOf(c echo.Context, role auth.Role) (*auth.Entry, error) {
	who, err := s.authenticate(c)
	if err != nil {
		return nil, err
	}
	switch {
	case who == nil:
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="fja-ledger"`)
		return nil, errorf(http.StatusUnauthorized, "unauthorized", "this route needs a "+string(role)+" bearer token")
	case who.Role != role:
		return nil, errorf(http.StatusForbidden, "forbidden", "token "+who.Name+" has role "+string(who.Role)+"; this route needs "+string(role))
	}
	return who, nil
}

// privateOf returns the private content of a logged decision or contest,
// if any remains.
func (s *Server) privateOf(entry []byte) (map[string]string, error) {
	env, err := audit.ParseEnvelope(entry)
	if err != nil {
		return nil, err
	}
	var ids struct {
		DecisionID string `json:"decision_id"`
		ContestID  string `json:"contest_id"`
	}
	if err := json.Unmarshal(env.Body, &ids); err != nil {
		return nil, err
	}
	id := ids.DecisionID
	switch env.Kind {
	case audit.KindDecision:
	case audit.KindContest:
		id = ids.ContestID
	default:
		return nil, nil
	}
	p, err := s.cfg.Book.Private(env.Kind, id)
	if errors.Is(err, audit.ErrNotFound) {
		return nil, nil
	}
	return p, err
}
