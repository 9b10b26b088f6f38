package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/fjaledger/fja/ledger"
	"github.com/fjaledger/fja/verify/record"
)

// Error is the JSON error body: {"error":{"code":"...","message":"...","field":"..."}}.
//
// The vocabulary (also in openapi.json and the README): 400 bad_request
// (a parameter, header or body that is malformed) or invalid_record (a
// record that fails validation), each naming its field; 401
// unauthorized; 403 forbidden; 404 not_found; 405 method_not_allowed; 409
// conflict and the contest states (not_contestable, window_closed, ...);
// 413 too_large, stating the limit; 422 too_many_groups; 429
// rate_limited; 503 overloaded, query_timeout, canceled, unavailable,
// shutting_down (with Retry-After) or log_stopped; 500 internal.
type Error struct {
	Status int `json:"-"`
	// ErrorBody is the wire shape (code, message, field), declared once in
	// verify/record. Field names what a 400 is about: the failing field of
	// a record (outcome.action), the query parameter (jurisdiction) or
	// header (X-Access-Purpose) at fault, or, when no single one is, body,
	// query or path. Every 400 carries it; other errors may.
	record.ErrorBody
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, msg string) *Error {
	return &Error{Status: status, ErrorBody: record.ErrorBody{Code: code, Message: msg}}
}

func badRequest(msg string) *Error { return errorf(http.StatusBadRequest, "bad_request", msg) }

// badBody is a 400 about the request body as a whole.
func badBody(msg string) *Error {
	e := badRequest(msg)
	e.Field = "body"
	return e
}
func notFound(msg string) *Error { return errorf(http.StatusNotFound, "not_found", msg) }

// fromLedger maps ledger errors to HTTP errors; anything unknown is an
// internal error whose detail is logged, not shown.
func fromLedger(err error) *Error {
	switch {
	case errors.Is(err, ledger.ErrInvalidRange):
		return badRequest(err.Error())
	case errors.Is(err, ledger.ErrNotFound):
		return notFound(err.Error())
	case errors.Is(err, ledger.ErrTooLarge):
		return errorf(http.StatusRequestEntityTooLarge, "too_large", err.Error())
	case errors.Is(err, ledger.ErrPushback):
		return errorf(http.StatusServiceUnavailable, "overloaded", err.Error())
	case errors.Is(err, ledger.ErrClosed):
		return errorf(http.StatusServiceUnavailable, "shutting_down", err.Error())
	case errors.Is(err, ledger.ErrStopped):
		// The message names the failed commit and its cause; the log
		// takes no append until an operator restarts it.
		return errorf(http.StatusServiceUnavailable, "log_stopped", err.Error())
	}
	return nil
}

// toError maps any error a handler returns to the JSON error it is
// answered with; internal is false for errors the client caused.
func toError(err error) (e *Error, internal bool) {
	var he *echo.HTTPError
	switch {
	case errors.As(err, &e):
	case errors.As(err, &he):
		e = errorf(he.Code, codeForStatus(he.Code), http.StatusText(he.Code))
		if m, ok := he.Message.(string); ok && m != "" {
			e.Message = m
		}
	default:
		if e = fromAudit(err); e == nil {
			return errorf(http.StatusInternalServerError, "internal", "internal error; see the server log"), true
		}
	}
	return e, false
}

// handleError renders every error, echo's own included, as the JSON body.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	e, internal := toError(err)
	if e.Status == http.StatusRequestEntityTooLarge && e.Code == "too_large" && !strings.Contains(e.Message, "limit of") {
		// echo's BodyLimit says only "Request Entity Too Large": a 413
		// states the limit, so that the client knows what would pass.
		e.Message = fmt.Sprintf("request body is over the limit of %d bytes of %s %s (GET /v1/log lists the limits)",
			s.bodyLimit(c.Request().URL.Path), c.Request().Method, c.Request().URL.Path)
	}
	if e.Status == http.StatusBadRequest && e.Field == "" {
		e.Field = wholeInput(c.Request())
	}
	if internal {
		s.cfg.Logger.Error("internal error", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	}
	if e.Status == http.StatusServiceUnavailable && e.Code != "log_stopped" {
		c.Response().Header().Set("Retry-After", "1")
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(e.Status)
		return
	}
	_ = c.JSON(e.Status, map[string]*Error{"error": e})
}

// wholeInput is the field of a 400 that no single field or parameter
// caused: the request body, else the query string, else the path.
func wholeInput(r *http.Request) string {
	switch {
	case r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch:
		return "body"
	case r.URL.RawQuery != "":
		return "query"
	}
	return "path"
}

// bodyLimit is the body limit of the route at path.
func (s *Server) bodyLimit(path string) int64 {
	if strings.HasSuffix(path, ":batch") {
		return s.cfg.MaxBatchBodyBytes
	}
	return s.cfg.MaxBodyBytes
}

func codeForStatus(s int) string {
	switch s {
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusServiceUnavailable:
		return "unavailable"
	}
	if s >= 500 {
		return "internal"
	}
	return "bad_request"
}
