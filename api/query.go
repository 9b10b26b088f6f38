package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/fjaledger/fja/api/auth"
	"github.com/fjaledger/fja/api/params"
	"github.com/fjaledger/fja/audit"
	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/verify"
	"github.com/fjaledger/fja/verify/record"
)

// QueryRecord is one record of a query answer, proven against the answer's
// checkpoint.
type QueryRecord = record.QueryRecord

// QueryAnswer is the body of GET /v1/query.
type QueryAnswer = record.QueryAnswer

// AccessPurposeHeader states why private content is read; private reads
// without it are refused (400 naming it).
const AccessPurposeHeader = "X-Access-Purpose"

// getQuery answers the regulator with the matching records of the window,
// each with its inclusion proof against one checkpoint, and the index
// range [from, to) that exactly covers the window, so that anyone can
// re-scan it from the public tiles and check nothing was left out.
//
// Every parameter is checked before any index is read. With private=true
// the X-Access-Purpose header is required and at most
// audit.MaxAccessRecords records are answered per page; the private
// content is answered only after an access record naming the records it
// came from is logged (no log entry, no content).
func (s *Server) getQuery(c echo.Context) error {
	who, err := s.roleOf(c, auth.Regulator)
	if err != nil {
		return err
	}
	req, err := params.ParseQuery(c.QueryParams())
	if err != nil {
		return paramError(err)
	}
	f, err := filterOf(req)
	if err != nil {
		return err
	}
	withPrivate, limit, cursor := req.Private, req.Limit, req.Cursor
	var purpose string
	if withPrivate {
		if purpose, err = accessPurpose(c); err != nil {
			return err
		}
	}
	ctx := c.Request().Context()
	if req.Shard != 0 {
		return s.queryShardPage(c, f, req.Kind, req.Shard, cursor, limit, withPrivate)
	}
	res, err := s.cfg.Book.Query(ctx, f, req.Kind, cursor, limit)
	if err != nil {
		return readError(err)
	}
	proofs, err := s.cfg.Log.InclusionProofs(res.Indices, res.Head.Size)
	if err != nil {
		return err
	}
	ans := QueryAnswer{Records: make([]QueryRecord, 0, len(res.Indices)), Checkpoint: string(res.Head.Checkpoint),
		Scanned: Scanned{From: res.From, To: res.To}}
	var read []audit.AccessedRecord
	for i, idx := range res.Indices {
		es, err := s.cfg.Log.Entries(idx, 1)
		if err != nil {
			return err
		}
		rec := QueryRecord{Index: idx, Entry: es[0], LeafHash: ledger.LeafHash(es[0]), InclusionProof: nonNil(proofs[i])}
		if withPrivate {
			var ar *audit.AccessedRecord
			if rec.Private, ar, err = s.privateOf(idx, es[0]); err != nil {
				return err
			}
			if ar != nil {
				read = append(read, *ar)
			}
		}
		ans.Records = append(ans.Records, rec)
	}
	if res.More {
		ans.NextCursor = params.FormatCursor(res.Next)
	}
	if cursor == 0 {
		if ans.Shards, err = s.queryFrozen(ctx, f, req.Kind, limit); err != nil {
			return err
		}
	}
	if len(read) > 0 {
		if ans.AccessReceipt, err = s.logAccess(ctx, who, purpose, "GET /v1/query", read); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, ans)
}

// queryFrozen answers the first page of the query in each frozen shard,
// each record proven against the shard's final checkpoint.
func (s *Server) queryFrozen(ctx context.Context, f audit.Filter, kind string, limit int) ([]record.ShardAnswer, error) {
	var out []record.ShardAnswer
	for _, fz := range s.cfg.Frozen {
		if fz.Book == nil {
			continue
		}
		sa, err := shardPage(ctx, fz, f, kind, 0, limit)
		if err != nil {
			return nil, err
		}
		out = append(out, *sa)
	}
	return out, nil
}

// shardPage is the page of the query in frozen shard fz from cursor,
// each record proven against the shard's final checkpoint; its
// next_cursor names the shard (params.ShardCursor).
func shardPage(ctx context.Context, fz Shard, f audit.Filter, kind string, cursor uint64, limit int) (*record.ShardAnswer, error) {
	res, err := fz.Book.Query(ctx, f, kind, cursor, limit)
	if err != nil {
		return nil, readError(err)
	}
	proofs, err := fz.Log.InclusionProofs(res.Indices, res.Head.Size)
	if err != nil {
		return nil, err
	}
	sa := record.ShardAnswer{N: fz.N, Origin: fz.Origin, Checkpoint: string(res.Head.Checkpoint),
		Scanned: Scanned{From: res.From, To: res.To}, Records: make([]QueryRecord, 0, len(res.Indices))}
	for i, idx := range res.Indices {
		es, err := fz.Log.Entries(idx, 1)
		if err != nil {
			return nil, err
		}
		sa.Records = append(sa.Records, QueryRecord{Index: idx, Entry: es[0], LeafHash: ledger.LeafHash(es[0]), InclusionProof: nonNil(proofs[i])})
	}
	if res.More {
		sa.NextCursor = params.ShardCursor(fz.N, res.Next)
	}
	return &sa, nil
}

// queryShardPage answers a cursor naming frozen shard n: the answer's
// shards hold that shard's next page alone; its own records are none,
// scanned empty, at the active shard's checkpoint. Private content of a
// frozen shard is not served (an access record naming another shard's
// record is not defined): private=true is refused.
func (s *Server) queryShardPage(c echo.Context, f audit.Filter, kind string, n int, cursor uint64, limit int, withPrivate bool) error {
	if n > len(s.cfg.Frozen) || s.cfg.Frozen[n-1].Book == nil {
		return fieldError("cursor", fmt.Sprintf("the cursor names shard %d; the frozen shards whose records this server reads are 1..%d", n, len(s.cfg.Frozen)))
	}
	if withPrivate {
		return fieldError("private", fmt.Sprintf("the cursor names frozen shard %d, whose private content is not served; want private=false", n))
	}
	sa, err := shardPage(c.Request().Context(), s.cfg.Frozen[n-1], f, kind, cursor, limit)
	if err != nil {
		return err
	}
	head := s.cfg.Log.Head()
	return c.JSON(http.StatusOK, QueryAnswer{Records: []QueryRecord{}, Checkpoint: string(head.Checkpoint),
		Scanned: Scanned{From: head.Size, To: head.Size}, Shards: []record.ShardAnswer{*sa}})
}

// accessPurpose returns the X-Access-Purpose of a private read: required,
// given once, 1 to audit.MaxPurpose characters without control
// characters.
func accessPurpose(c echo.Context) (string, error) {
	vs := c.Request().Header.Values(AccessPurposeHeader)
	if len(vs) > 1 {
		return "", fieldError(AccessPurposeHeader, fmt.Sprintf("%s is given %d times, want once", AccessPurposeHeader, len(vs)))
	}
	p := ""
	if len(vs) == 1 {
		p = strings.TrimSpace(vs[0])
	}
	if err := audit.CheckPurpose(p); err != nil {
		return "", fieldError(AccessPurposeHeader, fmt.Sprintf("%s %s; a read of private content is logged with its purpose before it is answered", AccessPurposeHeader, err))
	}
	return p, nil
}

// logAccess logs the access record of a private read and returns its
// receipt; the content MUST NOT be answered when it fails.
func (s *Server) logAccess(ctx context.Context, who *auth.Entry, purpose, route string, read []audit.AccessedRecord) (*verify.Receipt, error) {
	a, err := s.cfg.Book.LogAccess(ctx, audit.Access{Actor: audit.Actor{Name: who.Name, Role: string(who.Role)},
		Purpose: purpose, Records: read, Route: route})
	if err != nil {
		var ve *audit.ValidationError
		if errors.As(err, &ve) {
			// Everything the client sent was checked before: an access
			// record that does not validate is the server's fault (e.g. a
			// token name over 256 characters in the tokens file).
			return nil, fmt.Errorf("api: the access record does not validate: %w", err)
		}
		return nil, err
	}
	return NewReceipt(s.cfg.Origin, a.Ack), nil
}

// paramError is the 400 of a parameter params refused, naming it.
func paramError(err error) error {
	var pe *params.Error
	if errors.As(err, &pe) {
		return fieldError(pe.Param, pe.Message)
	}
	return err
}

// fieldError is a 400 bad_request naming the parameter or header at fault.
func fieldError(field, msg string) *Error {
	e := badRequest(msg)
	e.Field = field
	return e
}

// readError maps the errors of Query and Stats: an invalid parameter is a
// 400 naming it, too many groups a 422, and a deadline passed while
// scanning a 503 saying to narrow the request.
func readError(err error) error {
	var ve *audit.ValidationError
	switch {
	case errors.As(err, &ve):
		return fieldError(ve.Field, ve.Field+" "+ve.Message)
	case errors.Is(err, audit.ErrTooManyGroups):
		return &Error{Status: http.StatusUnprocessableEntity, ErrorBody: record.ErrorBody{Code: "too_many_groups", Message: err.Error(), Field: "group_by"}}
	case errors.Is(err, context.DeadlineExceeded):
		return errorf(http.StatusServiceUnavailable, "query_timeout",
			"the request took longer than the server allows and was stopped; narrow the window (from, to), add filters or ask for fewer groups")
	case errors.Is(err, context.Canceled):
		return errorf(http.StatusServiceUnavailable, "canceled", "the request was canceled while it was being answered")
	}
	return err
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

// privateOf returns the private content of a logged decision or contest
// at idx, if any remains, and the record it belongs to.
func (s *Server) privateOf(idx uint64, entry []byte) (map[string]string, *audit.AccessedRecord, error) {
	env, err := audit.ParseEnvelope(entry)
	if err != nil {
		return nil, nil, err
	}
	var ids struct {
		DecisionID string `json:"decision_id"`
		ContestID  string `json:"contest_id"`
	}
	if err := json.Unmarshal(env.Body, &ids); err != nil {
		return nil, nil, err
	}
	id := ids.DecisionID
	switch env.Kind {
	case audit.KindDecision:
	case audit.KindContest:
		id = ids.ContestID
	default:
		return nil, nil, nil
	}
	p, err := s.cfg.Book.Private(env.Kind, id)
	if errors.Is(err, audit.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return p, &audit.AccessedRecord{Kind: env.Kind, ID: id, Index: idx}, nil
}
