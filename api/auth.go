package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/fjaledger/fja/api/auth"
)

const (
	ctxTokenKey = "fja.token" // the token of a request that passed requireRole
	ctxAuthKey  = "fja.auth"  // the token authenticate found, kept for the request
)

// bearer returns the bearer token of a request, if any.
func bearer(c echo.Context) (string, bool) {
	h := c.Request().Header.Get(echo.HeaderAuthorization)
	tok, ok := strings.CutPrefix(h, "Bearer ")
	return strings.TrimSpace(tok), ok && strings.TrimSpace(tok) != ""
}

// authenticate resolves the bearer token, if one was sent; a token that
// was sent but is unknown is a 401, counted against the client address.
// Once the address is over Config.AuthFailRate, a request with a token is
// 429 before the token is hashed. A token found is kept for the rest of
// the request, so that the rate limit and the handler hash it once.
func (s *Server) authenticate(c echo.Context) (*auth.Entry, error) {
	tok, ok := bearer(c)
	if !ok {
		return nil, nil
	}
	if e, ok := c.Get(ctxAuthKey).(*auth.Entry); ok {
		return e, nil
	}
	addr := clientAddr(c)
	if wait, over := s.limits.authFail.exhausted(addr); over {
		return nil, tooMany(c, wait, fmt.Sprintf("client %s sent too many unknown bearer tokens (over %g/s)", addr, s.cfg.AuthFailRate))
	}
	if s.cfg.Tokens != nil {
		if e, ok := s.cfg.Tokens.Authenticate(tok); ok {
			c.Set(ctxAuthKey, &e)
			return &e, nil
		}
	}
	s.limits.authFail.spend(addr)
	c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="fja-ledger"`)
	return nil, errorf(http.StatusUnauthorized, "unauthorized", "the bearer token is not valid for this ledger")
}

// requireRole admits requests whose bearer token has one of roles: no
// token is 401, a token of another role is 403.
func (s *Server) requireRole(roles ...auth.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			e, err := s.authenticate(c)
			if err != nil {
				return err
			}
			if e == nil {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="fja-ledger"`)
				return errorf(http.StatusUnauthorized, "unauthorized", "this route needs a bearer token (Authorization: Bearer <token>)")
			}
			if !slices.Contains(roles, e.Role) {
				return errorf(http.StatusForbidden, "forbidden", "token "+e.Name+" has role "+string(e.Role)+"; this route needs "+rolesText(roles))
			}
			c.Set(ctxTokenKey, e)
			return next(c)
		}
	}
}

// tokenEntry is the authenticated token of a request that passed requireRole.
func tokenEntry(c echo.Context) *auth.Entry {
	e, _ := c.Get(ctxTokenKey).(*auth.Entry)
	return e
}

func rolesText(roles []auth.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, " or ")
}
