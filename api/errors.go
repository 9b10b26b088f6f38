package api

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/fjaledger/fja/ledger"
)

// Error is the JSON error body: {"error":{"code":"...","message":"..."}}.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field names the failing field of an invalid record, when known.
	Field string `json:"field,omitempty"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}

func badRequest(msg string) *Error { return errorf(http.StatusBadRequest, "bad_request", msg) }
func notFound(msg string) *Error   { return errorf(http.StatusNotFound, "not_found", msg) }

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
